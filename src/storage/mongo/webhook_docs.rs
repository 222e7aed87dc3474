//! Document shapes of webhooks and their deliveries (`ipam_webhooks`, `ipam_webhook_deliveries`)
//! and their conversion to and from domain values. Field names are those of the migration-5
//! validators; a delivery's attempts are embedded as an array of subdocuments.

use mongodb::bson::DateTime as BsonDateTime;
use serde::{Deserialize, Serialize};

use super::documents::{corrupt, date, time};
use crate::domain::{
    Delivery, DeliveryAttempt, DeliveryId, DeliveryState, Description, EventId, EventType, UserId, Webhook,
    WebhookEvents, WebhookId, WebhookSecret, WebhookUrl,
};
use crate::error::{IpamError, Result};

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct WebhookDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) webhook_url: String,
    pub(super) secret_key: String,
    /// Wire names of the subscribed event types.
    pub(super) events: Vec<String>,
    pub(super) description: Option<String>,
    pub(super) is_active: bool,
    pub(super) failure_count: i64,
    /// Last successful delivery.
    pub(super) last_delivery: Option<BsonDateTime>,
    pub(super) disabled_reason: Option<String>,
    pub(super) created_at: BsonDateTime,
    pub(super) updated_at: BsonDateTime,
}

impl WebhookDoc {
    /// The document of a webhook.
    pub(super) fn new(w: &Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            user_id: w.user_id.to_string(),
            webhook_url: w.url.as_str().to_owned(),
            secret_key: w.secret.expose().to_owned(),
            events: w.events.names().into_iter().map(str::to_owned).collect(),
            description: w.description.as_ref().map(|d| d.to_string()),
            is_active: w.is_active,
            failure_count: i64::from(w.failure_count),
            last_delivery: w.last_delivery_at.map(date),
            disabled_reason: w.disabled_reason.clone(),
            created_at: date(w.created_at),
            updated_at: date(w.updated_at),
        }
    }
}

impl TryFrom<WebhookDoc> for Webhook {
    type Error = IpamError;

    fn try_from(d: WebhookDoc) -> Result<Self> {
        Ok(Webhook {
            url: WebhookUrl::from_stored(&d.webhook_url)
                .ok_or_else(|| corrupt(format!("webhook_url {}", d.webhook_url)))?,
            id: WebhookId::from_stored(d.id),
            user_id: UserId::from_stored(d.user_id),
            secret: WebhookSecret::from_stored(d.secret_key),
            events: WebhookEvents::from_stored(&d.events),
            description: d.description.map(Description::from_stored),
            is_active: d.is_active,
            failure_count: u32::try_from(d.failure_count)
                .map_err(|_| corrupt(format!("failure_count = {}", d.failure_count)))?,
            last_delivery_at: d.last_delivery.map(time).transpose()?,
            disabled_reason: d.disabled_reason,
            created_at: time(d.created_at)?,
            updated_at: time(d.updated_at)?,
        })
    }
}

/// One attempt, embedded in its delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct AttemptDoc {
    pub(super) attempt: i32,
    pub(super) status_code: Option<i32>,
    pub(super) response_time_ms: i64,
    pub(super) error: Option<String>,
    pub(super) attempted_at: BsonDateTime,
    pub(super) next_retry_at: Option<BsonDateTime>,
}

impl AttemptDoc {
    /// The subdocument of an attempt.
    pub(super) fn new(a: &DeliveryAttempt) -> Self {
        Self {
            attempt: i32::try_from(a.attempt).unwrap_or(i32::MAX),
            status_code: a.status_code.map(i32::from),
            response_time_ms: i64::try_from(a.response_time_ms).unwrap_or(i64::MAX),
            error: a.error.clone(),
            attempted_at: date(a.attempted_at),
            next_retry_at: a.next_retry_at.map(date),
        }
    }
}

impl TryFrom<AttemptDoc> for DeliveryAttempt {
    type Error = IpamError;

    fn try_from(d: AttemptDoc) -> Result<Self> {
        Ok(DeliveryAttempt {
            attempt: u32::try_from(d.attempt).map_err(|_| corrupt(format!("attempt = {}", d.attempt)))?,
            status_code: d
                .status_code
                .map(|s| u16::try_from(s).map_err(|_| corrupt(format!("status_code = {s}"))))
                .transpose()?,
            response_time_ms: u64::try_from(d.response_time_ms)
                .map_err(|_| corrupt(format!("response_time_ms = {}", d.response_time_ms)))?,
            error: d.error,
            attempted_at: time(d.attempted_at)?,
            next_retry_at: d.next_retry_at.map(time).transpose()?,
        })
    }
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct DeliveryDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) webhook_id: String,
    pub(super) user_id: String,
    pub(super) event_id: String,
    pub(super) event_type: String,
    pub(super) body: String,
    pub(super) state: String,
    pub(super) attempts: Vec<AttemptDoc>,
    /// How many of `attempts` came before the last manual requeue (the current round starts
    /// after them); a requeue sets it to the number of attempts. Absent means 0.
    #[serde(default)]
    pub(super) round_start: i32,
    pub(super) next_attempt_at: Option<BsonDateTime>,
    /// A worker holds the delivery until then (absent or null: nobody does).
    pub(super) lease_until: Option<BsonDateTime>,
    pub(super) event_at: BsonDateTime,
    pub(super) created_at: BsonDateTime,
    pub(super) updated_at: BsonDateTime,
}

impl DeliveryDoc {
    /// The document of a delivery, unleased.
    pub(super) fn new(d: &Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            webhook_id: d.webhook_id.to_string(),
            user_id: d.user_id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.as_str().to_owned(),
            body: d.body.clone(),
            state: d.state.as_str().to_owned(),
            attempts: d.attempts.iter().map(AttemptDoc::new).collect(),
            round_start: i32::try_from(d.round_start).unwrap_or(i32::MAX),
            next_attempt_at: d.next_attempt_at.map(date),
            lease_until: None,
            event_at: date(d.event_at),
            created_at: date(d.created_at),
            updated_at: date(d.updated_at),
        }
    }
}

impl TryFrom<DeliveryDoc> for Delivery {
    type Error = IpamError;

    fn try_from(d: DeliveryDoc) -> Result<Self> {
        Ok(Delivery {
            id: DeliveryId::from_stored(d.id),
            webhook_id: WebhookId::from_stored(d.webhook_id),
            user_id: UserId::from_stored(d.user_id),
            event_id: EventId::from_stored(d.event_id),
            event_type: EventType::from_stored(&d.event_type)
                .ok_or_else(|| corrupt(format!("event_type {}", d.event_type)))?,
            body: d.body,
            state: DeliveryState::from_stored(&d.state).ok_or_else(|| corrupt(format!("state {}", d.state)))?,
            attempts: d.attempts.into_iter().map(DeliveryAttempt::try_from).collect::<Result<Vec<_>>>()?,
            round_start: u32::try_from(d.round_start)
                .map_err(|_| corrupt(format!("round_start = {}", d.round_start)))?,
            next_attempt_at: d.next_attempt_at.map(time).transpose()?,
            event_at: time(d.event_at)?,
            created_at: time(d.created_at)?,
            updated_at: time(d.updated_at)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use mongodb::bson::{self, Bson, Document};
    use serde::de::DeserializeOwned;

    use super::*;
    use crate::domain::DomainEvent;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 30, 15).unwrap() + Duration::milliseconds(123)
    }

    fn webhook() -> Webhook {
        let mut w = Webhook::new(
            UserId::parse("u1").unwrap(),
            WebhookUrl::parse("https://hooks.example.com/ipam?x=1").unwrap(),
            WebhookEvents::parse(&["host.allocated", "capacity.warning"]).unwrap(),
            Some(Description::parse("ops channel").unwrap()),
            at(),
        );
        w.failure_count = 2;
        w.last_delivery_at = Some(at() + Duration::seconds(5));
        w
    }

    /// Through BSON bytes and back, as the driver does.
    fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> (Document, T) {
        let doc = bson::to_document(value).unwrap();
        let mut bytes = Vec::new();
        doc.to_writer(&mut bytes).unwrap();
        let read = Document::from_reader(&mut bytes.as_slice()).unwrap();
        (doc, bson::from_document(read).unwrap())
    }

    #[test]
    fn webhooks_round_trip_under_the_validator_field_names() {
        let w = webhook();
        let (doc, back) = round_trip(&WebhookDoc::new(&w));
        assert_eq!(doc.get_str("_id").unwrap(), w.id.as_str());
        assert_eq!(doc.get_str("webhook_url").unwrap(), "https://hooks.example.com/ipam?x=1");
        assert_eq!(doc.get_str("secret_key").unwrap(), w.secret.expose());
        assert_eq!(
            doc.get_array("events").unwrap(),
            &vec![Bson::String("host.allocated".into()), Bson::String("capacity.warning".into())]
        );
        assert_eq!(doc.get_i64("failure_count").unwrap(), 2);
        assert_eq!(doc.get("disabled_reason"), Some(&Bson::Null));
        assert_eq!(doc.get_datetime("created_at").unwrap().timestamp_millis(), at().timestamp_millis());
        assert_eq!(Webhook::try_from(back).unwrap(), w);
    }

    #[test]
    fn deliveries_round_trip_with_embedded_attempts() {
        let w = webhook();
        let event = DomainEvent::ping(&w.user_id, w.id.as_str(), at());
        let mut d = Delivery::new(&w, &event.id, event.event_type, event.body(), event.occurred_at, at());
        d.attempts = vec![
            DeliveryAttempt {
                attempt: 1,
                status_code: Some(503),
                response_time_ms: 120,
                error: Some("HTTP 503".into()),
                attempted_at: at(),
                next_retry_at: Some(at() + Duration::seconds(60)),
            },
            DeliveryAttempt {
                attempt: 2,
                status_code: None,
                response_time_ms: 10_000,
                error: Some("timed out".into()),
                attempted_at: at() + Duration::seconds(60),
                next_retry_at: None,
            },
        ];
        d.state = DeliveryState::Dead;
        d.next_attempt_at = None;
        d.round_start = 1;
        let (doc, back) = round_trip(&DeliveryDoc::new(&d));
        assert_eq!(doc.get_str("state").unwrap(), "dead");
        assert_eq!(doc.get_str("event_type").unwrap(), "ping");
        assert_eq!(doc.get_i32("round_start").unwrap(), 1);
        assert_eq!(doc.get("lease_until"), Some(&Bson::Null));
        assert_eq!(doc.get("next_attempt_at"), Some(&Bson::Null));
        let first = doc.get_array("attempts").unwrap()[0].as_document().unwrap().clone();
        assert_eq!(
            first,
            bson::doc! {
                "attempt": 1, "status_code": 503, "response_time_ms": 120_i64, "error": "HTTP 503",
                "attempted_at": date(at()), "next_retry_at": date(at() + Duration::seconds(60)),
            }
        );
        assert_eq!(Delivery::try_from(back).unwrap(), d);
    }

    #[test]
    fn documents_without_a_round_start_are_in_their_first_round() {
        let w = webhook();
        let d = Delivery::new(&w, &EventId::generate(), EventType::HostAllocated, "{}".into(), at(), at());
        let mut doc = bson::to_document(&DeliveryDoc::new(&d)).unwrap();
        doc.remove("round_start");
        doc.remove("lease_until");
        let back: DeliveryDoc = bson::from_document(doc).unwrap();
        assert_eq!((back.round_start, back.lease_until), (0, None));
        assert_eq!(Delivery::try_from(back).unwrap().attempts_this_round(), 0);
    }

    #[test]
    fn corrupt_deliveries_are_internal_errors() {
        let w = webhook();
        let mut d =
            DeliveryDoc::new(&Delivery::new(&w, &EventId::generate(), EventType::Ping, "{}".into(), at(), at()));
        d.state = "lost".into();
        assert!(matches!(Delivery::try_from(d), Err(IpamError::Internal(_))));
        let mut h = WebhookDoc::new(&w);
        h.failure_count = -1;
        assert!(matches!(Webhook::try_from(h), Err(IpamError::Internal(_))));
    }
}
