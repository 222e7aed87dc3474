//! The allocation velocity use case: the caller's region and host allocations per hour of the
//! last day, or per day of the last 7, 30 or 90 (`domain::statistics::velocity`). Computed on
//! every request (not cached: the window moves with the clock), from two indexed reads of the
//! audit trail.

use chrono::{DateTime, NaiveTime, Utc};

use super::Ipam;
use crate::auth::Actor;
use crate::domain::audit::AuditResource;
use crate::domain::statistics::ActivityQuery;
use crate::domain::statistics::velocity::{Granularity, Velocity, VelocityRange, VelocityWindow, velocity};
use crate::error::Result;

impl Ipam {
    /// The caller's allocations (audited creations: released ones still count) over `range`,
    /// every bucket listed.
    pub async fn allocation_velocity(&self, actor: &Actor, range: VelocityRange) -> Result<Velocity> {
        let window = VelocityWindow::new(range, self.now());
        let regions = self.allocations(actor, &window, AuditResource::Region).await?;
        let hosts = self.allocations(actor, &window, AuditResource::Host).await?;
        Ok(velocity(&window, &regions, &hosts))
    }

    /// The caller's allocations of `resource` in `window`, per bucket: `(bucket start, count)`.
    async fn allocations(
        &self,
        actor: &Actor,
        window: &VelocityWindow,
        resource: AuditResource,
    ) -> Result<Vec<(DateTime<Utc>, u64)>> {
        let q = ActivityQuery { resource: Some(resource), x: None, y: None, from: window.from(), to: window.to() };
        Ok(match window.range.granularity() {
            Granularity::Hour => {
                let hours = self.store.hourly_activity(&actor.user_id, &q).await?;
                hours.into_iter().map(|h| (h.hour, h.allocations)).collect()
            }
            Granularity::Day => {
                let days = self.store.daily_activity(&actor.user_id, &q).await?;
                days.into_iter().map(|d| (d.day.and_time(NaiveTime::MIN).and_utc(), d.allocations)).collect()
            }
        })
    }
}
