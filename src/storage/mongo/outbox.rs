//! The event outbox (`ipam_event_outbox`) and its fan-out into webhook deliveries.
//!
//! Events are written with the audit records of their change (`MongoStore::record_in`): in the
//! change's transaction on a replica set, right after the change on a standalone server (which
//! has no multi-document transactions). The fan-out is idempotent rather than transactional on
//! every deployment: the deliveries of an event are inserted first (the
//! unique index on `(event_id, webhook_id)` turns a repeat into duplicate-key errors, which mean
//! "already done"), and only then is the event marked dispatched. A crash in between leaves the
//! event undispatched, and the next pass completes it without duplicating anything. The event's
//! notifications and its mark are one transaction on a replica set (`settle_in`).

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{self, Bson, DateTime as BsonDateTime, Document, doc};
use mongodb::options::FindOptions;
use serde::{Deserialize, Serialize};

use super::documents::{corrupt, date, time};
use super::notify_unit::MongoUnit;
use super::tx::{Tx, atomically, run};
use super::webhook_docs::{DeliveryDoc, WebhookDoc};
use super::{MongoStore, errors, find_all};
use crate::domain::{Delivery, DeliveryId, DomainEvent, EventId, EventType, NotificationCreated, UserId, Webhook};
use crate::error::{IpamError, Result};
use crate::storage::{DispatchReport, OutboxStore, notify};

/// An outbox event (`_id` is the event id). `data` is stored as a BSON document so it can be
/// queried in the shell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct EventDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) event_type: String,
    pub(super) user_id: String,
    pub(super) occurred_at: BsonDateTime,
    pub(super) data: Bson,
    /// Null until the event has been fanned out.
    pub(super) dispatched_at: Option<BsonDateTime>,
}

impl EventDoc {
    /// The document of a new, undispatched event.
    pub(super) fn new(e: &DomainEvent) -> Result<Self> {
        Ok(Self {
            id: e.id.to_string(),
            event_type: e.event_type.as_str().to_owned(),
            user_id: e.user_id.to_string(),
            occurred_at: date(e.occurred_at),
            data: bson::to_bson(&e.data).map_err(errors::bson)?,
            dispatched_at: None,
        })
    }
}

impl TryFrom<EventDoc> for DomainEvent {
    type Error = IpamError;

    fn try_from(d: EventDoc) -> Result<Self> {
        Ok(DomainEvent {
            id: EventId::from_stored(d.id),
            event_type: EventType::from_stored(&d.event_type)
                .ok_or_else(|| corrupt(format!("event_type {}", d.event_type)))?,
            user_id: UserId::from_stored(d.user_id),
            occurred_at: time(d.occurred_at)?,
            data: d.data.into_relaxed_extjson(),
        })
    }
}

/// Events not fanned out yet (null matches a missing field too).
pub(super) fn undispatched() -> Document {
    doc! { "dispatched_at": Bson::Null }
}

/// Marks event `id` dispatched, only if no other pass did already.
pub(super) fn mark_dispatched(id: &str, now: DateTime<Utc>) -> (Document, Document) {
    (doc! { "_id": id, "dispatched_at": Bson::Null }, doc! { "$set": { "dispatched_at": date(now) } })
}

/// Dispatched events that happened before `before`.
pub(super) fn prunable_events(before: DateTime<Utc>) -> Document {
    doc! { "dispatched_at": { "$ne": Bson::Null }, "occurred_at": { "$lt": date(before) } }
}

/// The webhooks that hear of an event of `kind` in `user`'s namespace (`ping` reaches any
/// active webhook, as `WebhookEvents::includes` has it).
pub(super) fn subscribers(user: &UserId, kind: EventType) -> Document {
    let mut d = doc! { "user_id": user.as_str(), "is_active": true };
    if kind != EventType::Ping {
        // Matches any element of the `events` array.
        d.insert("events", kind.as_str());
    }
    d
}

impl MongoStore {
    pub(super) fn outbox(&self) -> Collection<EventDoc> {
        self.db.collection("ipam_event_outbox")
    }

    /// Appends domain events to the outbox, as one unit of work.
    pub(super) async fn publish(&self, events: &[DomainEvent]) -> Result<()> {
        atomically!(self, |tx| self.publish_in(tx, events).await)
    }

    /// Appends domain events to the outbox, inside `tx`.
    pub(super) async fn publish_in(&self, tx: &mut Tx, events: &[DomainEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let docs = events.iter().map(EventDoc::new).collect::<Result<Vec<_>>>()?;
        run!(tx, self.outbox().insert_many(docs)).map_err(errors::db)?;
        Ok(())
    }

    /// The notifications of one event (`notify::on_event`) and its dispatched mark, inside
    /// `tx`; returns whether this pass marked it and what it created.
    async fn settle_in(
        &self,
        tx: &mut Tx,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<(u64, Vec<NotificationCreated>)> {
        let (filter, update) = mark_dispatched(event.id.as_str(), now);
        if tx.is_transaction() {
            // All or nothing, so the order is free: claim first, and a pass that lost the claim
            // to a concurrent one writes nothing at all.
            let marked = run!(tx, self.outbox().update_one(filter, update)).map_err(errors::db)?.modified_count;
            if marked == 0 {
                return Ok((0, Vec::new()));
            }
            return Ok((marked, notify::on_event(&mut MongoUnit::new(self, tx), event, now).await?));
        }
        // No transaction: every step is idempotent (dedup keys, upserted states) and the claim
        // comes last, so a crash in between leaves the event for the next pass to complete.
        let notes = notify::on_event(&mut MongoUnit::new(self, tx), event, now).await?;
        let marked = run!(tx, self.outbox().update_one(filter, update)).map_err(errors::db)?.modified_count;
        Ok((marked, notes))
    }

    /// Creates the deliveries of one event; returns the ids of those this call inserted.
    async fn fan_out(&self, event: &DomainEvent, now: DateTime<Utc>) -> Result<Vec<DeliveryId>> {
        let hooks: Vec<WebhookDoc> =
            find_all(&self.webhooks(), subscribers(&event.user_id, event.event_type), None).await?;
        let hooks = hooks.into_iter().map(Webhook::try_from).collect::<Result<Vec<_>>>()?;
        if hooks.is_empty() {
            return Ok(Vec::new());
        }
        let body = event.body();
        let deliveries: Vec<Delivery> = hooks
            .iter()
            .map(|w| Delivery::new(w, &event.id, event.event_type, body.clone(), event.occurred_at, now))
            .collect();
        // Unordered: every delivery that is not a duplicate lands, whatever the others do.
        let inserted = self.deliveries().insert_many(deliveries.iter().map(DeliveryDoc::new)).ordered(false).await;
        let duplicates: HashSet<usize> = match inserted {
            Ok(_) => HashSet::new(),
            Err(e) => errors::duplicates_only(&e).ok_or_else(|| errors::db(e))?,
        };
        Ok(deliveries.into_iter().enumerate().filter(|(i, _)| !duplicates.contains(i)).map(|(_, d)| d.id).collect())
    }
}

#[async_trait]
impl OutboxStore for MongoStore {
    async fn dispatch_events(&self, limit: u32, now: DateTime<Utc>) -> Result<DispatchReport> {
        let mut report = DispatchReport::default();
        if limit == 0 {
            return Ok(report); // a limit of 0 means "no limit" to the server
        }
        let options = FindOptions::builder().sort(doc! { "occurred_at": 1, "_id": 1 }).limit(i64::from(limit)).build();
        let cursor = self.outbox().find(undispatched()).with_options(options).await.map_err(errors::db)?;
        let pending: Vec<EventDoc> = cursor.try_collect().await.map_err(errors::db)?;
        for doc in pending {
            let id = doc.id.clone();
            let (filter, update) = mark_dispatched(&id, now);
            let event = match DomainEvent::try_from(doc) {
                Ok(event) => event,
                Err(e) => {
                    // One unreadable document must not stall every event behind it.
                    tracing::error!(event = %id, error = %e, "outbox event cannot be read; skipped");
                    self.outbox().update_one(filter, update).await.map_err(errors::db)?;
                    continue;
                }
            };
            let created = self.fan_out(&event, now).await?;
            let (marked, notes) = match atomically!(self, |tx| self.settle_in(tx, &event, now).await) {
                Ok(settled) => settled,
                Err(e) => {
                    // As on SQLite: notifications never hold up the outbox. The event is marked
                    // dispatched with its deliveries, and the failure is logged.
                    tracing::error!(event = %id, error = %e, "notifications of an event failed; skipped");
                    let (filter, update) = mark_dispatched(&id, now);
                    let marked = self.outbox().update_one(filter, update).await.map_err(errors::db)?;
                    (marked.modified_count, Vec::new())
                }
            };
            // A concurrent pass may have marked it first; the deliveries each inserted are theirs.
            report.events += marked;
            report.deliveries.extend(created);
            report.notifications.extend(notes);
        }
        Ok(report)
    }

    async fn outbox_backlog(&self) -> Result<(u64, Option<DateTime<Utc>>)> {
        let count = self.outbox().count_documents(undispatched()).await.map_err(errors::db)?;
        if count == 0 {
            return Ok((0, None));
        }
        let oldest = self
            .outbox()
            .find_one(undispatched())
            .sort(doc! { "occurred_at": 1, "_id": 1 })
            .await
            .map_err(errors::db)?;
        Ok((count, oldest.map(|d| time(d.occurred_at)).transpose()?))
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        let r = self.outbox().delete_many(prunable_events(before)).await.map_err(errors::db)?;
        Ok(r.deleted_count)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use serde_json::{Map, json};

    use super::*;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 30, 15).unwrap() + Duration::milliseconds(123)
    }

    fn user() -> UserId {
        UserId::parse("u1").unwrap()
    }

    fn through_bytes(d: &EventDoc) -> (Document, EventDoc) {
        let doc = bson::to_document(d).unwrap();
        let mut bytes = Vec::new();
        doc.to_writer(&mut bytes).unwrap();
        (doc, bson::from_document(Document::from_reader(&mut bytes.as_slice()).unwrap()).unwrap())
    }

    #[test]
    fn events_round_trip_undispatched_with_structured_data() {
        let mut resource = Map::new();
        resource.insert("kind".into(), json!("region"));
        resource.insert("cidr".into(), json!("10.1.2.0/24"));
        let e = DomainEvent::capacity_crossing(&user(), resource, (202, 204, 254), at()).unwrap();
        let (doc, back) = through_bytes(&EventDoc::new(&e).unwrap());
        assert_eq!(doc.get_str("_id").unwrap(), e.id.as_str());
        assert_eq!(doc.get_str("event_type").unwrap(), "capacity.warning");
        assert_eq!(doc.get_str("user_id").unwrap(), "u1");
        assert_eq!(doc.get("dispatched_at"), Some(&Bson::Null));
        assert_eq!(doc.get_datetime("occurred_at").unwrap().timestamp_millis(), at().timestamp_millis());
        let data = doc.get_document("data").unwrap();
        assert_eq!(data.get_document("resource").unwrap().get_str("cidr").unwrap(), "10.1.2.0/24");
        let back = DomainEvent::try_from(back).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.body(), e.body(), "receivers get the same bytes either way");
    }

    #[test]
    fn an_unknown_event_type_is_corruption() {
        let mut d = EventDoc::new(&DomainEvent::ping(&user(), "W1", at())).unwrap();
        d.event_type = "region.deleted".into();
        assert!(matches!(DomainEvent::try_from(d), Err(IpamError::Internal(_))));
    }

    #[test]
    fn dispatch_marks_only_an_undispatched_event_and_prunes_only_dispatched_ones() {
        assert_eq!(undispatched(), doc! { "dispatched_at": Bson::Null });
        let (filter, update) = mark_dispatched("E1", at());
        assert_eq!(filter, doc! { "_id": "E1", "dispatched_at": Bson::Null });
        assert_eq!(update, doc! { "$set": { "dispatched_at": date(at()) } });
        assert_eq!(
            prunable_events(at()),
            doc! { "dispatched_at": { "$ne": Bson::Null }, "occurred_at": { "$lt": date(at()) } }
        );
    }

    #[test]
    fn subscribers_are_the_owners_active_webhooks_listing_the_type() {
        assert_eq!(
            subscribers(&user(), EventType::HostAllocated),
            doc! { "user_id": "u1", "is_active": true, "events": "host.allocated" }
        );
        assert_eq!(subscribers(&user(), EventType::Ping), doc! { "user_id": "u1", "is_active": true });
    }
}
