//! [`NotifyUnit`] over MongoDB: what notification work reads and writes inside one unit of work
//! (a transaction on a replica set, plain idempotent steps on a standalone server).
//!
//! Why notifications are upserted on `(user_id, dedup_key)` instead of inserted: inside a
//! transaction any write error, a duplicate key included, aborts the whole transaction, so "it
//! is already there" must not be an error. An upsert that finds the key matches and inserts
//! nothing; two racing first upserts meet the unique index outside a transaction (the loser
//! retries once and matches) or a write conflict inside one (the transaction is retried).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{self, Document, doc};
use serde::de::DeserializeOwned;

use super::notification_docs::{NotificationDoc, RuleStateDoc};
use super::tx::{Tx, run};
use super::{MongoStore, errors, find_all};
use crate::domain::notification_rule::{ObservedResource, ResourceKey, RuleState, WatchedKind, WatchedResource};
use crate::domain::{
    Country, CountryCatalog, DomainEvent, Notification, NotificationRule, NotificationSettings, Preferences, Region,
    Reservation, ReservationId, RuleId, UserId,
};
use crate::error::Result;
use crate::storage::notify::NotifyUnit;

/// A unit of work of `store`, seen as a [`NotifyUnit`].
pub(super) struct MongoUnit<'a> {
    store: &'a MongoStore,
    tx: &'a mut Tx,
}

impl<'a> MongoUnit<'a> {
    pub(super) fn new(store: &'a MongoStore, tx: &'a mut Tx) -> Self {
        Self { store, tx }
    }
}

/// Every document of `coll` matching `filter`, sorted, read inside `tx`.
async fn find_in<T>(tx: &mut Tx, coll: &Collection<T>, filter: Document, sort: Document) -> Result<Vec<T>>
where
    T: DeserializeOwned + Send + Sync,
{
    let found = match tx.session() {
        Some(s) => match coll.find(filter).sort(sort).session(&mut *s).await {
            Ok(mut cursor) => cursor.stream(s).try_collect().await,
            Err(e) => Err(e),
        },
        None => return find_all(coll, filter, Some(sort)).await,
    };
    found.map_err(|e| errors::db(tx.note(e)))
}

/// The upsert that stores `n` unless its owner already has its dedup key.
pub(super) fn insert_unless_known(n: &Notification) -> Result<(Document, Document)> {
    let mut fields = bson::to_document(&NotificationDoc::new(n)).map_err(errors::bson)?;
    // Set by the filter's equality on insert; naming them twice is refused by some servers.
    fields.remove("user_id");
    fields.remove("dedup_key");
    Ok((doc! { "user_id": n.user_id.as_str(), "dedup_key": &n.dedup_key }, doc! { "$setOnInsert": fields }))
}

impl MongoUnit<'_> {
    async fn held_in(&mut self, user: &UserId, c: &Country) -> Result<u32> {
        let filter = doc! { "user_id": user.as_str(), "country_code": c.code.as_str() };
        let n = run!(self.tx, self.store.regions().count_documents(filter)).map_err(errors::db)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

#[async_trait]
impl NotifyUnit for MongoUnit<'_> {
    async fn active_rules(&mut self, user: &UserId) -> Result<Vec<NotificationRule>> {
        let filter = doc! { "user_id": user.as_str(), "is_active": true };
        let docs = find_in(self.tx, &self.store.rules(), filter, doc! { "created_at": 1, "_id": 1 }).await?;
        docs.into_iter().map(NotificationRule::try_from).collect()
    }

    async fn settings(&mut self, user: &UserId) -> Result<NotificationSettings> {
        let found =
            run!(self.tx, self.store.preferences_coll().find_one(doc! { "_id": user.as_str() })).map_err(errors::db)?;
        let prefs = found.map(Preferences::try_from).transpose()?;
        Ok(prefs.map(|p| NotificationSettings::from_preferences(&p.notification_settings)).unwrap_or_default())
    }

    async fn observe(&mut self, user: &UserId, what: &WatchedResource) -> Result<Option<ObservedResource>> {
        match what {
            WatchedResource::Region(id) => {
                let filter = doc! { "_id": id.as_str(), "user_id": user.as_str() };
                let found = run!(self.tx, self.store.regions().find_one(filter)).map_err(errors::db)?;
                Ok(found.map(Region::try_from).transpose()?.map(|r| ObservedResource::region(&r)))
            }
            WatchedResource::Country(code) => {
                let Some(c) = CountryCatalog::seed().by_code(code).cloned() else { return Ok(None) };
                let held = self.held_in(user, &c).await?;
                Ok(Some(ObservedResource::country(user, &c, held)))
            }
        }
    }

    async fn observe_all(&mut self, user: &UserId, kind: WatchedKind) -> Result<Vec<ObservedResource>> {
        match kind {
            WatchedKind::Region => {
                let filter = doc! { "user_id": user.as_str() };
                let docs = find_in(self.tx, &self.store.regions(), filter, doc! { "x_octet": 1, "y_octet": 1 }).await?;
                docs.into_iter().map(|d| Region::try_from(d).map(|r| ObservedResource::region(&r))).collect()
            }
            WatchedKind::Country => {
                let mut seen = Vec::new();
                for c in CountryCatalog::seed().all().iter().filter(|c| !c.is_reserved) {
                    let held = self.held_in(user, c).await?;
                    seen.push(ObservedResource::country(user, c, held));
                }
                Ok(seen)
            }
        }
    }

    async fn rule_state(&mut self, rule: &RuleId, key: &ResourceKey) -> Result<Option<RuleState>> {
        let filter = doc! { "_id": RuleStateDoc::id(rule, key) };
        let found = run!(self.tx, self.store.rule_states().find_one(filter)).map_err(errors::db)?;
        found.map(RuleState::try_from).transpose()
    }

    async fn save_rule_state(&mut self, user: &UserId, state: &RuleState, now: DateTime<Utc>) -> Result<()> {
        let (filter, update) = super::rules::upsert_state(state, user, now);
        for attempt in 1..=2 {
            match run!(self.tx, self.store.rule_states().update_one(filter.clone(), update.clone()).upsert(true)) {
                Ok(_) => return Ok(()),
                // Two first upserts of one pair outside a transaction: the loser matches next time.
                Err(e) if attempt == 1 && self.tx.session().is_none() && errors::duplicate_index(&e).is_some() => {}
                Err(e) => return Err(errors::db(e)),
            }
        }
        Ok(())
    }

    async fn insert_notification(&mut self, n: &Notification) -> Result<bool> {
        let (filter, update) = insert_unless_known(n)?;
        for attempt in 1..=2 {
            match run!(self.tx, self.store.notifications().update_one(filter.clone(), update.clone()).upsert(true)) {
                Ok(done) => return Ok(done.upserted_id.is_some()),
                Err(e) if attempt == 1 && self.tx.session().is_none() && errors::is_duplicate_dedup_key(&e) => {}
                Err(e) => return Err(errors::db(e)),
            }
        }
        Ok(false)
    }

    async fn publish(&mut self, event: &DomainEvent) -> Result<()> {
        self.store.publish_in(self.tx, std::slice::from_ref(event)).await
    }

    async fn reservation(&mut self, user: &UserId, id: &ReservationId) -> Result<Option<Reservation>> {
        let filter = doc! { "_id": id.as_str(), "user_id": user.as_str() };
        let found = run!(self.tx, self.store.reservations().find_one(filter)).map_err(errors::db)?;
        found.map(Reservation::try_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::webhook::fixtures::webhook;
    use crate::domain::{AttemptOutcome, DeliveryId};

    #[test]
    fn a_notification_is_upserted_on_its_owner_and_dedup_key_and_only_set_on_insert() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap();
        let after = AttemptOutcome::Dead.webhook_after(&webhook(true, 9, now), 10, now);
        let n = Notification::webhook_disabled(&after, &DeliveryId::generate(), 1, now).unwrap();
        let (filter, update) = insert_unless_known(&n).unwrap();
        assert_eq!(filter, doc! { "user_id": n.user_id.as_str(), "dedup_key": &n.dedup_key });
        let fields = update.get_document("$setOnInsert").unwrap();
        assert_eq!(update.len(), 1, "nothing is changed on a notification already stored");
        assert_eq!(fields.get_str("_id").unwrap(), n.id.as_str());
        assert_eq!(fields.get_str("notification_type").unwrap(), "webhook_disabled");
        assert!(!fields.get_bool("is_read").unwrap());
        assert!(fields.get("user_id").is_none() && fields.get("dedup_key").is_none(), "the filter sets those");
    }
}
