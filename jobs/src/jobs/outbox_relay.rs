//! The outbox relay (every 30 s): whatever was written but whose job never ran — an event whose
//! dispatch kick was lost, a delivery whose job died with its worker — is queued again. This is
//! what makes "a crash between the write and the enqueue loses nothing" true. Bulk jobs too: a
//! pending or processing job whose lease deadline (`IPAM_BULK_LEASE_SECS`, 60 s by default,
//! counted from its creation, then from each recorded batch) has passed is queued again, and
//! resumes from its cursor.

use chrono::Duration;

use crate::job::{Envelope, Job};
use crate::platform::{JobResult, Platform};

/// How long a due delivery may wait for its job before the relay queues it again.
const GRACE_SECS: i64 = 30;

/// Re-dispatches and re-queues what is stuck; refreshes the backlog gauges.
pub async fn run(platform: &Platform) -> JobResult {
    let (backlog, _) = platform.store().outbox_backlog().await?;
    crate::metrics::outbox_backlog(backlog);
    let dispatched =
        if backlog > 0 { super::dispatch_events::run(platform).await? } else { "nothing to dispatch".into() };
    let overdue = platform.store().overdue_deliveries(platform.now() - Duration::seconds(GRACE_SECS), 500).await?;
    for delivery_id in &overdue {
        platform.queue().push(Envelope::new(Job::DeliverWebhook { delivery_id: delivery_id.clone() })).await?;
    }
    let stalled = platform.store().stalled_bulk_jobs(platform.now(), 500).await?;
    for job_id in &stalled {
        platform.queue().push(Envelope::new(Job::BulkTags { job_id: job_id.clone() })).await?;
    }
    for (queue, depth) in platform.queue().depth().await? {
        crate::metrics::queue_depth(&queue, depth);
    }
    Ok(format!("{dispatched}; {} overdue deliveries and {} stalled bulk jobs re-queued", overdue.len(), stalled.len()))
}
