//! Domain events: what happened, in the shape webhook receivers get. Events are derived from
//! the audit records of a unit of work (so the two never disagree) plus the capacity crossings
//! an allocation causes, and are stored in the outbox together with the change.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

mod capacity;
mod notification;

use super::audit::{AuditAction, AuditEvent, AuditResource};
use super::ids::{EventId, UserId};

/// The kinds of event a webhook can subscribe to (plus `ping`, sent by the test endpoint).
/// Notification rules can match every subscribable kind but `notification.created`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A region was allocated.
    RegionCreated,
    /// A region's fields changed.
    RegionUpdated,
    /// A region was retired.
    RegionRetired,
    /// A host was allocated.
    HostAllocated,
    /// A host's fields changed.
    HostUpdated,
    /// A host was released (or retired with its region).
    HostReleased,
    /// An address was reserved.
    ReservationCreated,
    /// A reservation became an allocation.
    ReservationConverted,
    /// A reservation passed its expiry.
    ReservationExpired,
    /// A region or country crossed the warning threshold upward.
    CapacityWarning,
    /// A region or country crossed the critical threshold upward.
    CapacityCritical,
    /// A notification rule with the `webhook` channel fired (never matched by rules, so that a
    /// rule's notification cannot trigger rules in turn).
    NotificationCreated,
    /// The test event of `POST /ipam/webhooks/{id}/test`.
    Ping,
}

impl EventType {
    /// Every event a webhook can subscribe to.
    pub const SUBSCRIBABLE: &'static [EventType] = &[
        Self::RegionCreated,
        Self::RegionUpdated,
        Self::RegionRetired,
        Self::HostAllocated,
        Self::HostUpdated,
        Self::HostReleased,
        Self::ReservationCreated,
        Self::ReservationConverted,
        Self::ReservationExpired,
        Self::CapacityWarning,
        Self::CapacityCritical,
        Self::NotificationCreated,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegionCreated => "region.created",
            Self::RegionUpdated => "region.updated",
            Self::RegionRetired => "region.retired",
            Self::HostAllocated => "host.allocated",
            Self::HostUpdated => "host.updated",
            Self::HostReleased => "host.released",
            Self::ReservationCreated => "reservation.created",
            Self::ReservationConverted => "reservation.converted",
            Self::ReservationExpired => "reservation.expired",
            Self::CapacityWarning => "capacity.warning",
            Self::CapacityCritical => "capacity.critical",
            Self::NotificationCreated => "notification.created",
            Self::Ping => "ping",
        }
    }

    /// Parses a subscribable name (`host.retired` is accepted as the original's alias of
    /// `host.released`).
    pub fn parse_subscribable(raw: &str) -> Result<Self, String> {
        let wanted = raw.trim().to_ascii_lowercase();
        if wanted == "host.retired" {
            return Ok(Self::HostReleased);
        }
        Self::SUBSCRIBABLE.iter().copied().find(|e| e.as_str() == wanted).ok_or_else(|| {
            format!(
                "unknown event '{}': must be one of {}",
                super::address::shorten(raw.trim()),
                Self::SUBSCRIBABLE.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// True when a notification rule may match this kind: every subscribable kind but
    /// `notification.created`, which a rule's own `webhook` channel raises (matching it would
    /// let one notification trigger another without end).
    pub fn can_trigger_rules(self) -> bool {
        self != Self::Ping && self != Self::NotificationCreated
    }

    /// Parses an event name a notification rule may match (a subscribable name, except
    /// `notification.created`).
    pub fn parse_rule_event(raw: &str) -> Result<Self, String> {
        let refused = || {
            format!(
                "'notification.created' cannot trigger a rule (a rule's own notifications raise it); \
                 must be one of {}",
                Self::rule_event_names().join(", ")
            )
        };
        match Self::parse_subscribable(raw) {
            Ok(e) if e.can_trigger_rules() => Ok(e),
            Ok(_) => Err(refused()),
            Err(_) => Err(format!(
                "unknown event '{}': must be one of {}",
                super::address::shorten(raw.trim()),
                Self::rule_event_names().join(", ")
            )),
        }
    }

    fn rule_event_names() -> Vec<&'static str> {
        Self::SUBSCRIBABLE.iter().filter(|e| e.can_trigger_rules()).map(|e| e.as_str()).collect()
    }

    /// Parses any stored name, `ping` included.
    pub fn from_stored(raw: &str) -> Option<Self> {
        if raw == "ping" { Some(Self::Ping) } else { Self::parse_subscribable(raw).ok() }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Utilisation thresholds, in percent, that raise capacity events when crossed upward.
pub const CAPACITY_WARNING_PERCENT: f64 = 80.0;
/// See [`CAPACITY_WARNING_PERCENT`].
pub const CAPACITY_CRITICAL_PERCENT: f64 = 95.0;

/// One domain event as stored in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainEvent {
    /// Identifier (receivers see it as `event_id`).
    pub id: EventId,
    /// What happened.
    pub event_type: EventType,
    /// Whose namespace it happened in (only their webhooks hear of it).
    pub user_id: UserId,
    /// When the change was made.
    pub occurred_at: DateTime<Utc>,
    /// The resource's public fields.
    pub data: Value,
}

const REGION_FIELDS: &[&str] = &["region_id", "region_name", "cidr", "country_code", "status"];
const HOST_FIELDS: &[&str] = &["host_id", "hostname", "ip_address", "region_id"];
const RESERVATION_FIELDS: &[&str] = &["reservation_id", "resource_type", "reserved_address", "expires_at", "status"];

impl DomainEvent {
    /// The event an audit record stands for, if it is one receivers hear about. Updates carry
    /// the fields as they are after the change.
    pub fn from_audit(e: &AuditEvent) -> Option<Self> {
        use AuditAction as A;
        use AuditResource as R;
        let (event_type, fields) = match (e.resource_type, e.action) {
            (R::Region, A::Create) => (EventType::RegionCreated, REGION_FIELDS),
            (R::Region, A::Update) => (EventType::RegionUpdated, REGION_FIELDS),
            (R::Region, A::Retire) => (EventType::RegionRetired, REGION_FIELDS),
            (R::Host, A::Create) => (EventType::HostAllocated, HOST_FIELDS),
            (R::Host, A::Update) => (EventType::HostUpdated, HOST_FIELDS),
            (R::Host, A::Release | A::Retire) => (EventType::HostReleased, HOST_FIELDS),
            (R::Reservation, A::Reserve) => (EventType::ReservationCreated, RESERVATION_FIELDS),
            (R::Reservation, A::Convert) => (EventType::ReservationConverted, RESERVATION_FIELDS),
            (R::Reservation, A::Expire) => (EventType::ReservationExpired, RESERVATION_FIELDS),
            _ => return None,
        };
        let mut source = e.snapshot.as_object().cloned().unwrap_or_default();
        for change in &e.changes {
            source.insert(change.field.clone(), change.new_value.clone());
        }
        if e.resource_type == R::Host {
            source.entry("ip_address").or_insert_with(|| json!(e.ip_address));
        }
        if e.resource_type == R::Reservation {
            source.insert("reserved_address".into(), e.metadata["reserved_address"].clone());
            source.insert("resource_type".into(), e.metadata["resource_type"].clone());
            if e.action == A::Expire {
                source.insert("status".into(), json!("expired"));
            }
        }
        let data: Map<String, Value> =
            fields.iter().map(|f| ((*f).to_owned(), source.get(*f).cloned().unwrap_or(Value::Null))).collect();
        Some(Self {
            id: EventId::generate(),
            event_type,
            user_id: e.user_id.clone(),
            occurred_at: e.timestamp,
            data: Value::Object(data),
        })
    }

    /// The test event a webhook's owner sends to it.
    pub fn ping(user: &UserId, webhook_id: &str, at: DateTime<Utc>) -> Self {
        Self {
            id: EventId::generate(),
            event_type: EventType::Ping,
            user_id: user.clone(),
            occurred_at: at,
            data: json!({ "webhook_id": webhook_id, "message": "This is a test event from IPAM." }),
        }
    }

    /// The JSON body receivers get: `{event_id, event_type, timestamp, user_id, data}`. It is
    /// serialised once, stored with the delivery, and signed over exactly these bytes.
    pub fn body(&self) -> String {
        json!({
            "event_id": self.id,
            "event_type": self.event_type.as_str(),
            "timestamp": self.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "user_id": self.user_id,
            "data": self.data,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::FieldChange;

    fn audit(resource: AuditResource, action: AuditAction, snapshot: Value) -> AuditEvent {
        AuditEvent {
            id: crate::domain::AuditId::generate(),
            user_id: UserId::parse("u1").unwrap(),
            actor_id: UserId::parse("u1").unwrap(),
            actor_username: crate::domain::Username::parse("alice").unwrap(),
            action,
            resource_type: resource,
            resource_id: "r".into(),
            ip_address: Some("10.1.2.3".into()),
            cidr: Some("10.1.2.0/24".into()),
            x: Some(1),
            y: Some(2),
            z: Some(3),
            snapshot,
            changes: vec![],
            reason: None,
            metadata: json!({}),
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn subscriptions_accept_the_listed_names_and_the_host_retired_alias() {
        assert_eq!(EventType::parse_subscribable("HOST.ALLOCATED"), Ok(EventType::HostAllocated));
        assert_eq!(EventType::parse_subscribable("host.retired"), Ok(EventType::HostReleased));
        let err = EventType::parse_subscribable("ping").unwrap_err();
        assert!(err.contains("region.created"), "{err}");
        assert!(EventType::parse_subscribable("region.deleted").is_err());
    }

    #[test]
    fn webhooks_may_subscribe_to_notification_created_but_rules_may_not_match_it() {
        assert_eq!(EventType::parse_subscribable("notification.created"), Ok(EventType::NotificationCreated));
        assert_eq!(EventType::from_stored("notification.created"), Some(EventType::NotificationCreated));
        let err = EventType::parse_rule_event("notification.created").unwrap_err();
        assert!(err.contains("cannot trigger a rule"), "{err}");
        let unknown = EventType::parse_rule_event("ping").unwrap_err();
        assert!(unknown.contains("host.allocated") && !unknown.contains("notification.created"), "{unknown}");
        assert_eq!(EventType::parse_rule_event("host.retired"), Ok(EventType::HostReleased));
        let matchable = EventType::SUBSCRIBABLE.iter().filter(|e| e.can_trigger_rules()).count();
        assert_eq!(matchable, EventType::SUBSCRIBABLE.len() - 1);
    }

    #[test]
    fn a_region_update_event_carries_the_new_values_and_only_public_fields() {
        let mut e = audit(
            AuditResource::Region,
            AuditAction::Update,
            json!({"region_id": "R1", "region_name": "old", "cidr": "10.1.2.0/24", "country_code": "US",
                   "status": "Active", "description": "secret notes", "owner": "bob"}),
        );
        e.changes = vec![FieldChange::new("region_name", json!("old"), json!("new"))];
        let ev = DomainEvent::from_audit(&e).unwrap();
        assert_eq!(ev.event_type, EventType::RegionUpdated);
        assert_eq!(
            ev.data,
            json!({"region_id": "R1", "region_name": "new", "cidr": "10.1.2.0/24", "country_code": "US", "status": "Active"})
        );
    }

    #[test]
    fn comments_quotas_and_shares_raise_no_event() {
        assert!(DomainEvent::from_audit(&audit(AuditResource::Region, AuditAction::Comment, json!({}))).is_none());
        assert!(DomainEvent::from_audit(&audit(AuditResource::Quota, AuditAction::QuotaUpdate, json!({}))).is_none());
        assert!(DomainEvent::from_audit(&audit(AuditResource::Share, AuditAction::Create, json!({}))).is_none());
    }

    #[test]
    fn the_body_has_the_documented_envelope() {
        let e = DomainEvent::ping(&UserId::parse("u1").unwrap(), "W1", Utc::now());
        let body: Value = serde_json::from_str(&e.body()).unwrap();
        for key in ["event_id", "event_type", "timestamp", "user_id", "data"] {
            assert!(body.get(key).is_some(), "{key} missing");
        }
        assert_eq!(body["event_type"], "ping");
    }
}
