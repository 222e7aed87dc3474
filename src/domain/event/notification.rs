//! The `notification.created` event a rule with the `webhook` channel raises: the notification's
//! public fields, for the owner's webhooks that subscribe to it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{DomainEvent, EventType};
use crate::domain::ids::EventId;
use crate::domain::notification::Notification;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl DomainEvent {
    /// The event that tells `n`'s owner's webhooks about it, occurring when it was created. Its
    /// `dedup_key` stays internal; `is_read` is left out (it is always false here).
    pub fn notification_created(n: &Notification) -> Self {
        Self {
            id: EventId::generate(),
            event_type: EventType::NotificationCreated,
            user_id: n.user_id.clone(),
            occurred_at: n.created_at,
            data: json!({
                "notification_id": n.id,
                "notification_type": n.notification_type.as_str(),
                "severity": n.severity.as_str(),
                "message": n.message,
                "resource_type": n.resource_type.map(|r| r.as_str()),
                "resource_id": n.resource_id,
                "resource_link": n.resource_link,
                "created_at": rfc3339(n.created_at),
                "expires_at": rfc3339(n.expires_at),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::domain::notification_rule::fixtures::{event_rule, host_event};

    #[test]
    fn a_notification_created_event_carries_the_notifications_public_fields_only() {
        let rule = event_rule(&["host.allocated"]);
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let n = rule.on_event(&host_event(&rule.user_id, EventType::HostAllocated), at).unwrap();
        let e = DomainEvent::notification_created(&n);
        assert_eq!((e.event_type, &e.user_id, e.occurred_at), (EventType::NotificationCreated, &n.user_id, at));
        assert_eq!(e.data["notification_id"], json!(n.id));
        assert_eq!(e.data["notification_type"], "event_rule");
        assert_eq!(e.data["severity"], "info");
        assert_eq!(e.data["resource_type"], "host");
        assert_eq!(e.data["created_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(e.data.get("dedup_key"), None);
        let body: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(body["event_type"], "notification.created");
    }
}
