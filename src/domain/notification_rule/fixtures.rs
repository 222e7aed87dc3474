//! Rules, events and observed resources for the unit tests of what decides on rules.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{NotificationRule, RuleRequest};
use crate::domain::country::CountryCatalog;
use crate::domain::event::{DomainEvent, EventType};
use crate::domain::ids::{EventId, RegionId, UserId};

use super::{ObservedResource, WatchedResource};

/// The owner of every fixture rule.
pub(crate) fn alice() -> UserId {
    UserId::parse("alice").unwrap()
}

fn rule(conditions: serde_json::Value) -> NotificationRule {
    let req = RuleRequest {
        rule_name: "Watch",
        conditions: &conditions,
        severity: None,
        notification_channels: None,
        cooldown_minutes: None,
        is_active: None,
    };
    NotificationRule::create(&alice(), &req, &CountryCatalog::seed(), DateTime::<Utc>::UNIX_EPOCH).unwrap()
}

/// An active rule of alice's on `conditions` (a threshold object), default cooldown (60 min).
pub(crate) fn threshold_rule(conditions: serde_json::Value) -> NotificationRule {
    rule(conditions)
}

/// An active rule of alice's on the events named.
pub(crate) fn event_rule(events: &[&str]) -> NotificationRule {
    rule(json!({ "event_types": events }))
}

/// An event of `t` about host `web-01` (10.1.2.3) in `user`'s namespace.
pub(crate) fn host_event(user: &UserId, t: EventType) -> DomainEvent {
    DomainEvent {
        id: EventId::generate(),
        event_type: t,
        user_id: user.clone(),
        occurred_at: DateTime::<Utc>::UNIX_EPOCH,
        data: json!({"host_id": "H1", "hostname": "web-01", "ip_address": "10.1.2.3", "region_id": RegionId::generate()}),
    }
}

/// Alice's region `id` with `used` of its 254 hosts allocated.
pub(crate) fn region(id: &RegionId, used: u64) -> ObservedResource {
    ObservedResource {
        user_id: alice(),
        resource: WatchedResource::Region(id.clone()),
        name: "dc-east (10.1.2.0/24)".into(),
        used,
        capacity: 254,
    }
}
