//! The jobs, one file each: plain async functions over the [`Platform`], returning a summary.

pub mod bulk_tags;
pub mod deliver_webhook;
pub mod delivery_pruning;
pub mod dispatch_events;
pub mod forecast_recompute;
pub mod notification_cleanup;
pub mod outbox_relay;
pub mod reservation_expiry;
pub mod rule_catch_up;
pub mod share_expiry;

use crate::platform::{JobResult, Platform};
use crate::schedule::ScheduleName;

/// Runs the job of a schedule.
pub async fn run_scheduled(platform: &Platform, schedule: ScheduleName) -> JobResult {
    match schedule {
        ScheduleName::ReservationExpiry => reservation_expiry::run(platform).await,
        ScheduleName::ShareExpiry => share_expiry::run(platform).await,
        ScheduleName::NotificationCleanup => notification_cleanup::run(platform).await,
        ScheduleName::DeliveryPruning => delivery_pruning::run(platform).await,
        ScheduleName::OutboxRelay => outbox_relay::run(platform).await,
        ScheduleName::RuleCatchUp => rule_catch_up::run(platform).await,
        ScheduleName::ForecastRecompute => forecast_recompute::run(platform).await,
    }
}

/// Rows a sweep touches per unit of work (keeps each write transaction short).
pub(crate) const SWEEP_BATCH: u32 = 500;

/// Runs `batch` (one unit of work over at most `limit` rows) until a batch comes back short;
/// returns the total.
pub(crate) async fn sweep<F, Fut>(mut batch: F) -> anyhow::Result<u64>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ipam_core::error::Result<u64>>,
{
    let mut total = 0;
    loop {
        let n = batch(SWEEP_BATCH).await?;
        total += n;
        if n < u64::from(SWEEP_BATCH) {
            return Ok(total);
        }
    }
}
