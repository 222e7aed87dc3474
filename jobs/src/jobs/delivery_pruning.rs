//! Delivery-log pruning (daily): finished webhook deliveries older than 30 days, dispatched
//! outbox events older than 7 days, schedule history older than 30 days, bulk jobs finished
//! more than 7 days ago (with their results; MongoDB's TTL index deletes them too) and finished
//! queue tasks older than a day are deleted.

use chrono::Duration;

use crate::platform::{JobResult, Platform};

/// Days a finished delivery is kept (the seed's retention).
pub const DELIVERY_RETENTION_DAYS: i64 = 30;
/// Days a dispatched event is kept in the outbox.
pub const EVENT_RETENTION_DAYS: i64 = 7;

/// Prunes the logs.
pub async fn run(platform: &Platform) -> JobResult {
    let now = platform.now();
    let store = platform.store();
    let deliveries = store.prune_deliveries(now - Duration::days(DELIVERY_RETENTION_DAYS)).await?;
    let events = store.prune_events(now - Duration::days(EVENT_RETENTION_DAYS)).await?;
    let ticks = store.prune_ticks(now - Duration::days(DELIVERY_RETENTION_DAYS)).await?;
    let bulk_jobs = store.prune_bulk_jobs(now - ipam_core::domain::bulk::RETENTION).await?;
    let tasks = platform.queue().vacuum(std::time::Duration::from_secs(24 * 3600)).await?;
    Ok(format!(
        "{deliveries} deliveries, {events} events, {ticks} schedule runs, {bulk_jobs} bulk jobs and {tasks} finished \
         queue tasks pruned"
    ))
}
