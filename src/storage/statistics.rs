//! The storage of statistics: the per-user data version result caches key on, and the counts
//! the dashboard is computed from (`domain::statistics::Dashboard`), the allocation history, and
//! the regions' utilisation ranking. Every count is read by index or from a maintained counter
//! (`ipam_user_stats`, kept by the unit of work that writes each audit record; each region's
//! host count); no method reads every host.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::statistics::{ActivityQuery, DailyActivity, DashboardCounts, HourlyActivity};
use crate::domain::{Region, UserId};
use crate::error::Result;

/// Statistics over one user's namespace.
#[async_trait]
pub trait StatisticsStore: Send + Sync {
    /// The user's data version: it moves with every audited change in their namespace, by any
    /// process (0 for a user who never changed anything).
    async fn data_version(&self, user: &UserId) -> Result<u64>;
    /// What the dashboard counts, at `now` (reservations and shares active at `now`, the
    /// allocations of the 7 days before it).
    async fn dashboard_counts(&self, user: &UserId, now: DateTime<Utc>) -> Result<DashboardCounts>;
    /// The user's allocations (audited creations) and releases (releases and retirements) of
    /// regions and hosts matching `q`, per UTC day, oldest first; days without any are left out.
    async fn daily_activity(&self, user: &UserId, q: &ActivityQuery) -> Result<Vec<DailyActivity>>;
    /// Like [`daily_activity`](Self::daily_activity), per UTC hour (`HH:00:00Z`), oldest first.
    async fn hourly_activity(&self, user: &UserId, q: &ActivityQuery) -> Result<Vec<HourlyActivity>>;
    /// Up to `limit` of the user's regions with the most hosts allocated (their maintained
    /// count), ties in address order (X, then Y): the regions' utilisation ranking.
    async fn most_utilized_regions(&self, user: &UserId, limit: u32) -> Result<Vec<Region>>;
}
