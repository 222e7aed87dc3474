//! The storage of statistics: the per-user data version result caches key on, and the counts
//! the dashboard is computed from (`domain::statistics::Dashboard`). Every count is read by
//! index or from a maintained counter (`ipam_user_stats`, kept by the unit of work that writes
//! each audit record); no method reads every host.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::domain::statistics::{ActivityQuery, DailyActivity, DashboardCounts};
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
}
