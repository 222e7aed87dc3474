//! Webhook subscriptions (`ipam_webhooks`). The delivery side of `WebhookStore` lives in
//! `deliveries.rs`; this file holds the trait implementation and delegates to it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;

use super::documents::date;
use super::webhook_docs::{DeliveryDoc, WebhookDoc};
use super::{MongoStore, errors, find_page};
use crate::domain::{
    AttemptRecorded, Delivery, DeliveryAttempt, DeliveryId, Page, PageRequest, UserId, Webhook, WebhookId, WebhookPatch,
};
use crate::error::Result;
use crate::storage::{AttemptOutcome, WebhookStore};

pub(super) use crate::storage::conflicts::too_many_webhooks;

/// One of the user's webhooks.
pub(super) fn owned(user: &UserId, id: &WebhookId) -> Document {
    doc! { "_id": id.as_str(), "user_id": user.as_str() }
}

/// The update a patch makes: re-enabling resets the failure count and clears the reason it
/// was disabled; disabling keeps the count.
pub(super) fn patch_update(patch: &WebhookPatch, now: DateTime<Utc>) -> Document {
    let mut set = doc! { "updated_at": date(now) };
    match patch.is_active {
        Some(true) => {
            set.insert("is_active", true);
            set.insert("failure_count", 0_i64);
            set.insert("disabled_reason", Bson::Null);
        }
        Some(false) => {
            set.insert("is_active", false);
        }
        None => {}
    }
    if let Some(events) = &patch.events {
        set.insert("events", events.names());
    }
    if let Some(description) = &patch.description {
        set.insert("description", description.as_ref().map(|d| d.to_string()));
    }
    doc! { "$set": set }
}

impl MongoStore {
    pub(super) fn webhooks(&self) -> Collection<WebhookDoc> {
        self.db.collection("ipam_webhooks")
    }
}

#[async_trait]
impl WebhookStore for MongoStore {
    async fn create_webhook(&self, webhook: &Webhook, max: u32) -> Result<()> {
        let mine = doc! { "user_id": webhook.user_id.as_str() };
        if self.webhooks().count_documents(mine.clone()).await.map_err(errors::db)? >= u64::from(max) {
            return Err(too_many_webhooks(max));
        }
        self.webhooks().insert_one(WebhookDoc::new(webhook)).await.map_err(errors::db)?;
        // Without transactions, concurrent creations can all pass the check: look again, and
        // keep only the oldest `max` (ids are time-ordered), so exactly the late ones back out.
        let older = doc! { "user_id": webhook.user_id.as_str(), "_id": { "$lte": webhook.id.as_str() } };
        if self.webhooks().count_documents(older).await.map_err(errors::db)? > u64::from(max) {
            self.webhooks().delete_one(doc! { "_id": webhook.id.as_str() }).await.map_err(errors::db)?;
            return Err(too_many_webhooks(max));
        }
        Ok(())
    }

    async fn webhook(&self, user: &UserId, id: &WebhookId) -> Result<Option<Webhook>> {
        self.webhooks().find_one(owned(user, id)).await.map_err(errors::db)?.map(Webhook::try_from).transpose()
    }

    async fn list_webhooks(&self, user: &UserId, page: PageRequest) -> Result<Page<Webhook>> {
        let sort = doc! { "created_at": -1, "_id": -1 };
        find_page(&self.webhooks(), doc! { "user_id": user.as_str() }, sort, page, Webhook::try_from).await
    }

    async fn update_webhook(
        &self,
        user: &UserId,
        id: &WebhookId,
        patch: &WebhookPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Webhook>> {
        let updated = self
            .webhooks()
            .find_one_and_update(owned(user, id), patch_update(patch, now))
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?;
        updated.map(Webhook::try_from).transpose()
    }

    async fn delete_webhook(&self, user: &UserId, id: &WebhookId) -> Result<bool> {
        let deleted = self.webhooks().delete_one(owned(user, id)).await.map_err(errors::db)?;
        if deleted.deleted_count == 0 {
            return Ok(false);
        }
        self.deliveries().delete_many(doc! { "webhook_id": id.as_str() }).await.map_err(errors::db)?;
        Ok(true)
    }

    async fn list_deliveries(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        page: PageRequest,
    ) -> Result<Option<Page<Delivery>>> {
        if self.webhooks().find_one(owned(user, webhook)).await.map_err(errors::db)?.is_none() {
            return Ok(None);
        }
        let filter = doc! { "webhook_id": webhook.as_str(), "user_id": user.as_str() };
        let sort = doc! { "created_at": -1, "_id": -1 };
        Ok(Some(find_page(&self.deliveries(), filter, sort, page, Delivery::try_from).await?))
    }

    async fn create_delivery(&self, delivery: &Delivery) -> Result<()> {
        self.deliveries().insert_one(DeliveryDoc::new(delivery)).await.map_err(errors::db)?;
        Ok(())
    }

    async fn requeue_delivery(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Delivery> {
        self.requeue(user, webhook, id, now).await
    }

    async fn claim_delivery(
        &self,
        id: &DeliveryId,
        holder: &str,
        now: DateTime<Utc>,
        early: Duration,
        lease: Duration,
    ) -> Result<Option<(Delivery, Webhook)>> {
        self.claim(id, holder, now, early, lease).await
    }

    async fn record_attempt(
        &self,
        id: &DeliveryId,
        holder: &str,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<AttemptRecorded>> {
        self.log_attempt(id, holder, attempt, outcome, disable_after, now).await
    }

    async fn overdue_deliveries(&self, due_before: DateTime<Utc>, limit: u32) -> Result<Vec<DeliveryId>> {
        self.overdue(due_before, limit).await
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        self.prune_finished(before).await
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{ConflictKind, IpamError};
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::domain::{Description, WebhookEvents};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    #[test]
    fn re_enabling_resets_the_failure_count_and_the_reason() {
        let patch = WebhookPatch { is_active: Some(true), ..WebhookPatch::default() };
        assert_eq!(
            patch_update(&patch, now()),
            doc! { "$set": {
                "updated_at": date(now()), "is_active": true, "failure_count": 0_i64, "disabled_reason": Bson::Null,
            }}
        );
    }

    #[test]
    fn disabling_keeps_the_count_and_other_fields_are_set_as_given() {
        let patch = WebhookPatch {
            is_active: Some(false),
            events: Some(WebhookEvents::parse(&["region.created", "host.released"]).unwrap()),
            description: Some(None),
        };
        assert_eq!(
            patch_update(&patch, now()),
            doc! { "$set": {
                "updated_at": date(now()), "is_active": false, "events": ["region.created", "host.released"],
                "description": Bson::Null,
            }}
        );
        let patch =
            WebhookPatch { description: Some(Some(Description::parse("pager").unwrap())), ..WebhookPatch::default() };
        assert_eq!(patch_update(&patch, now()), doc! { "$set": { "updated_at": date(now()), "description": "pager" } });
    }

    #[test]
    fn the_cap_is_a_conflict_worded_like_the_saved_filter_cap() {
        let IpamError::Conflict { kind, message, details } = too_many_webhooks(10) else { panic!("not a conflict") };
        assert_eq!(kind, ConflictKind::Conflict);
        assert_eq!(message, "at most 10 webhooks are allowed; delete one first");
        assert_eq!(details.get("limit"), Some(&json!(10)));
        assert_eq!(
            owned(&UserId::parse("u1").unwrap(), &WebhookId::from_stored("W1".into())),
            doc! {
                "_id": "W1", "user_id": "u1"
            }
        );
    }
}
