//! Webhook subscriptions (`ipam_webhooks`). The delivery side of `WebhookStore` lives in
//! `deliveries.rs`; this file holds the trait implementation and delegates to it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::Collection;
use mongodb::bson::{Document, doc};

use super::deliveries::{WEBHOOK_UPDATE_ATTEMPTS, unchanged_since};
use super::documents::date;
use super::webhook_docs::{DeliveryDoc, WebhookDoc};
use super::{MongoStore, errors, find_page, insert_within_cap};
use crate::domain::{
    AttemptRecorded, Delivery, DeliveryAttempt, DeliveryId, Page, PageRequest, UserId, Webhook, WebhookId, WebhookPatch,
};
use crate::error::{IpamError, Result};
use crate::storage::{AttemptOutcome, WebhookStore};

pub(super) use crate::storage::conflicts::too_many_webhooks;

/// One of the user's webhooks.
pub(super) fn owned(user: &UserId, id: &WebhookId) -> Document {
    doc! { "_id": id.as_str(), "user_id": user.as_str() }
}

/// Writes the fields a patch can change, as the domain decided them (`Webhook::patched`).
pub(super) fn patched_fields(after: &Webhook) -> Document {
    doc! { "$set": {
        "is_active": after.is_active,
        "failure_count": i64::from(after.failure_count),
        "disabled_reason": after.disabled_reason.as_deref(),
        "events": after.events.names(),
        "description": after.description.as_ref().map(|d| d.to_string()),
        "updated_at": date(after.updated_at),
    }}
}

impl MongoStore {
    pub(super) fn webhooks(&self) -> Collection<WebhookDoc> {
        self.db.collection("ipam_webhooks")
    }
}

#[async_trait]
impl WebhookStore for MongoStore {
    async fn create_webhook(&self, webhook: &Webhook, max: u32) -> Result<()> {
        let doc = WebhookDoc::new(webhook);
        if insert_within_cap(&self.webhooks(), &doc, webhook.user_id.as_str(), webhook.id.as_str(), max).await? {
            Ok(())
        } else {
            Err(too_many_webhooks(max))
        }
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
        // The domain decides from the webhook as read (re-enabling resets failures only when it
        // was disabled), so the write lands only if a delivery's outcome did not change the
        // fields that decision read in between; otherwise decide again (see `unchanged_since`).
        for _ in 0..WEBHOOK_UPDATE_ATTEMPTS {
            let Some(read) = self.webhooks().find_one(owned(user, id)).await.map_err(errors::db)? else {
                return Ok(None);
            };
            let before = Webhook::try_from(read)?;
            let after = before.patched(patch, now);
            let mut filter = unchanged_since(&before);
            filter.insert("user_id", user.as_str());
            let written = self.webhooks().update_one(filter, patched_fields(&after)).await.map_err(errors::db)?;
            if written.matched_count == 1 {
                return Ok(Some(after));
            }
        }
        Err(IpamError::internal(format!(
            "webhook {id} kept changing during {WEBHOOK_UPDATE_ATTEMPTS} attempts to patch it"
        )))
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
    use mongodb::bson::Bson;
    use serde_json::json;

    use super::*;
    use crate::domain::{Description, WebhookEvents};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    #[test]
    fn a_patch_writes_every_patchable_field_as_the_domain_decided_it() {
        let url = crate::domain::WebhookUrl::parse("https://hooks.example.com/ipam").unwrap();
        let events = WebhookEvents::parse(&["region.created"]).unwrap();
        let mut w = Webhook::new(UserId::parse("u1").unwrap(), url, events, None, now());
        w.is_active = false;
        w.failure_count = 10;
        w.disabled_reason = Some("disabled after 10 consecutive failed deliveries".into());
        let patch = WebhookPatch {
            is_active: Some(true),
            events: Some(WebhookEvents::parse(&["region.created", "host.released"]).unwrap()),
            description: Some(Some(Description::parse("pager").unwrap())),
        };
        let later = now() + chrono::Duration::minutes(5);
        assert_eq!(
            patched_fields(&w.patched(&patch, later)),
            doc! { "$set": {
                "is_active": true, "failure_count": 0_i64, "disabled_reason": Bson::Null,
                "events": ["region.created", "host.released"], "description": "pager", "updated_at": date(later),
            }}
        );
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
