//! Event rules in motion: a rule that lists an event type reports every event of that type in
//! its owner's namespace, once per event (the dedup key names the rule and the event, so an
//! event dispatched twice is reported once). Event rules have no cooldown: each event is news.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{NotificationRule, RuleConditions};
use crate::domain::event::{DomainEvent, EventType};
use crate::domain::notification::{About, Notification, NotificationResource, NotificationType};

impl NotificationRule {
    /// The notification `event` raises through this rule at `now`, if the rule is active, is
    /// its owner's and lists the event's type. `notification.created` never matches (it is what
    /// a rule's `webhook` channel raises), whatever was stored.
    pub fn on_event(&self, event: &DomainEvent, now: DateTime<Utc>) -> Option<Notification> {
        let RuleConditions::Events(types) = &self.conditions else { return None };
        let matches = self.is_active
            && event.user_id == self.user_id
            && event.event_type.can_trigger_rules()
            && types.contains(&event.event_type);
        matches.then(|| {
            Notification::unread(
                &self.user_id,
                (NotificationType::EventRule, self.severity),
                format!("Rule '{}': {}", self.rule_name, describe(event)),
                about(event),
                format!("rule:{}:event:{}", self.id, event.id),
                now,
            )
        })
    }
}

fn text<'a>(data: &'a Value, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// One sentence saying what happened.
fn describe(event: &DomainEvent) -> String {
    let d = &event.data;
    let region = || format!("region {} ({})", text(d, "region_name"), text(d, "cidr"));
    let host = || format!("host {} ({})", text(d, "hostname"), text(d, "ip_address"));
    let reserved = || text(d, "reserved_address").to_owned();
    match event.event_type {
        EventType::RegionCreated => format!("{} was created", region()),
        EventType::RegionUpdated => format!("{} was updated", region()),
        EventType::RegionRetired => format!("{} was retired", region()),
        EventType::HostAllocated => format!("{} was allocated", host()),
        EventType::HostUpdated => format!("{} was updated", host()),
        EventType::HostReleased => format!("{} was released", host()),
        EventType::ReservationCreated => format!("{} was reserved", reserved()),
        EventType::ReservationConverted => format!("the reservation of {} was converted", reserved()),
        EventType::ReservationExpired => format!("the reservation of {} expired", reserved()),
        EventType::CapacityWarning | EventType::CapacityCritical => {
            let r = &d["resource"];
            let name = r.get("region_name").or_else(|| r.get("country")).and_then(Value::as_str).unwrap_or("?");
            format!(
                "{} {} {name} reached {}% utilisation (threshold {}%)",
                if event.event_type == EventType::CapacityCritical { "critical:" } else { "warning:" },
                text(r, "kind"),
                d["utilization"],
                d["threshold"]
            )
        }
        EventType::NotificationCreated | EventType::Ping => event.event_type.as_str().to_owned(),
    }
}

/// The resource an event is about; no link when the event removed it.
fn about(event: &DomainEvent) -> Option<About> {
    let d = &event.data;
    let id = |data: &Value, key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
    let (kind, id, linked) = match event.event_type {
        EventType::RegionCreated | EventType::RegionUpdated => (NotificationResource::Region, id(d, "region_id"), true),
        EventType::RegionRetired => (NotificationResource::Region, id(d, "region_id"), false),
        EventType::HostAllocated | EventType::HostUpdated => (NotificationResource::Host, id(d, "host_id"), true),
        EventType::HostReleased => (NotificationResource::Host, id(d, "host_id"), false),
        EventType::ReservationCreated | EventType::ReservationConverted | EventType::ReservationExpired => {
            (NotificationResource::Reservation, id(d, "reservation_id"), true)
        }
        EventType::CapacityWarning | EventType::CapacityCritical => {
            let r = &d["resource"];
            match r.get("kind").and_then(Value::as_str) {
                Some("region") => (NotificationResource::Region, id(r, "region_id"), true),
                Some("country") => (NotificationResource::Country, id(r, "country_code"), true),
                _ => return None,
            }
        }
        EventType::NotificationCreated | EventType::Ping => return None,
    };
    Some(About { kind, id: id?, linked })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::notification::Severity;
    use crate::domain::notification_rule::fixtures::{event_rule, host_event, threshold_rule};

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    #[test]
    fn an_event_rule_reports_each_listed_event_once_with_a_key_naming_rule_and_event() {
        let rule = event_rule(&["host.allocated"]);
        let e = host_event(&rule.user_id, EventType::HostAllocated);
        let n = rule.on_event(&e, now()).unwrap();
        assert_eq!((n.notification_type, n.severity), (NotificationType::EventRule, Severity::Info));
        assert_eq!(n.message, "Rule 'Watch': host web-01 (10.1.2.3) was allocated");
        assert_eq!(n.resource_link.as_deref(), Some("/ipam/hosts/H1"));
        assert_eq!(n.dedup_key, format!("rule:{}:event:{}", rule.id, e.id));
        assert_eq!(rule.on_event(&e, now()).unwrap().dedup_key, n.dedup_key, "deterministic");
    }

    #[test]
    fn unlisted_foreign_or_inactive_never_match() {
        let rule = event_rule(&["host.allocated"]);
        assert_eq!(rule.on_event(&host_event(&rule.user_id, EventType::HostUpdated), now()), None);
        let mallory = UserId::parse("mallory").unwrap();
        assert_eq!(rule.on_event(&host_event(&mallory, EventType::HostAllocated), now()), None);
        let mut off = rule.clone();
        off.is_active = false;
        assert_eq!(off.on_event(&host_event(&rule.user_id, EventType::HostAllocated), now()), None);
        let threshold = threshold_rule(json!({"utilization_threshold": 10, "resource_type": "region"}));
        assert_eq!(threshold.on_event(&host_event(&rule.user_id, EventType::HostAllocated), now()), None);
    }

    #[test]
    fn notification_created_never_matches_even_if_stored_in_a_rule() {
        let mut rule = event_rule(&["host.allocated"]);
        rule.conditions = RuleConditions::Events(vec![EventType::HostAllocated, EventType::NotificationCreated]);
        let n = rule.on_event(&host_event(&rule.user_id, EventType::HostAllocated), now()).unwrap();
        assert_eq!(rule.on_event(&DomainEvent::notification_created(&n), now()), None);
    }

    #[test]
    fn removed_resources_are_named_but_not_linked() {
        let rule = event_rule(&["host.released"]);
        let n = rule.on_event(&host_event(&rule.user_id, EventType::HostReleased), now()).unwrap();
        assert_eq!((n.resource_id.as_deref(), n.resource_link), (Some("H1"), None));
    }

    #[test]
    fn capacity_events_link_the_region_or_country_that_filled_up() {
        let rule = event_rule(&["capacity.critical"]);
        let mut e = host_event(&rule.user_id, EventType::CapacityCritical);
        e.data = json!({"resource": {"kind": "country", "country_code": "ARE", "country": "United Arab Emirates",
                                     "used": 244, "capacity": 256}, "utilization": 95.31, "threshold": 95.0});
        let n = rule.on_event(&e, now()).unwrap();
        assert_eq!(
            n.message,
            "Rule 'Watch': critical: country United Arab Emirates reached 95.31% utilisation (threshold 95.0%)"
        );
        assert_eq!(n.resource_link.as_deref(), Some("/ipam/countries/ARE"));
    }
}
