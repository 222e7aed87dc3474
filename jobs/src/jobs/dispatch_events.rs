//! Event dispatch: fans undispatched outbox events out to one delivery per subscribed webhook
//! and to their notifications (rules, system notices), and queues the deliveries.

use crate::job::{Envelope, Job};
use crate::platform::{JobResult, Platform};

/// Events fanned out per unit of work.
const BATCH: u32 = 100;

/// Dispatches until the outbox is empty.
pub async fn run(platform: &Platform) -> JobResult {
    let (mut events, mut deliveries, mut notifications) = (0u64, 0usize, 0usize);
    loop {
        let report = platform.store().dispatch_events(BATCH, platform.now()).await?;
        for delivery_id in &report.deliveries {
            platform.queue().push(Envelope::new(Job::DeliverWebhook { delivery_id: delivery_id.clone() })).await?;
        }
        crate::metrics::notifications_created(&report.notifications);
        notifications += report.notifications.len();
        events += report.events;
        deliveries += report.deliveries.len();
        // Stop only when this pass won nothing: a concurrent dispatcher may have taken part of
        // a full batch, so a short count does not mean the outbox is empty.
        if report.events == 0 {
            break;
        }
    }
    Ok(format!("{events} events dispatched, {deliveries} deliveries queued, {notifications} notifications created"))
}
