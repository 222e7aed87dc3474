//! Capacity events of allocations. The events themselves are built by the domain
//! (`DomainEvent::region_capacity`, `DomainEvent::country_capacity`) from the occupancy
//! counters each claim returns (`slots.rs`), never from scanning hosts or regions: every claim
//! sees the counter value it produced, so a threshold is crossed by exactly one claim even when
//! allocations race. This module only writes them.

use super::MongoStore;
use crate::domain::DomainEvent;

impl MongoStore {
    /// Writes the capacity event of an allocation, if there is one. The allocation stands
    /// whatever happens here, so a failure is logged rather than returned.
    pub(super) async fn publish_crossing(&self, event: Option<DomainEvent>) {
        let Some(event) = event else { return };
        let events = std::slice::from_ref(&event);
        if let Err(e) = self.publish(events).await {
            tracing::error!(error = %e, event = %event.event_type, "could not write a capacity event to the outbox");
        }
    }
}
