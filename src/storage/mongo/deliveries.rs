//! Webhook deliveries (`ipam_webhook_deliveries`): requeueing, leasing, logging attempts and
//! their effect on the webhook, and the relay's and pruner's queries. Each state change is one
//! conditional update, so two workers can never both take or both finish a delivery; what an
//! attempt does to the delivery and its webhook is decided in `domain::delivery`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{self, Bson, Document, doc};
use mongodb::options::{FindOptions, ReturnDocument};

use super::documents::{corrupt, date};
use super::notify_unit::MongoUnit;
use super::tx::atomically;
use super::webhook_docs::{AttemptDoc, DeliveryDoc};
use super::{MongoStore, errors};
use crate::domain::{
    AttemptRecorded, Delivery, DeliveryAttempt, DeliveryId, DeliveryStep, Notification, UserId, Webhook,
    WebhookAfterAttempt, WebhookId,
};
use crate::error::{IpamError, Result};
use crate::storage::AttemptOutcome;
use crate::storage::notify::system_notice;

/// `t + d`, or an internal error when that leaves chrono's range.
fn later(t: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>> {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .ok_or_else(|| IpamError::internal(format!("duration {d:?} is out of range")))
}

/// The user's dead delivery `id` of `webhook`.
pub(super) fn requeue_filter(user: &UserId, webhook: &WebhookId, id: &DeliveryId) -> Document {
    doc! { "_id": id.as_str(), "user_id": user.as_str(), "webhook_id": webhook.as_str(), "state": "dead" }
}

/// Back to pending, due `now`, unleased, with a fresh round: the attempts so far (the array's
/// size, read by the same update) are the previous rounds'.
pub(super) fn requeue_update(now: DateTime<Utc>) -> Vec<Document> {
    vec![doc! { "$set": {
        "state": "pending",
        "next_attempt_at": date(now),
        "lease_until": Bson::Null,
        "lease_holder": Bson::Null,
        "round_start": { "$size": "$attempts" },
        "updated_at": date(now),
    }}]
}

pub(super) use crate::storage::conflicts::delivery_not_dead as not_dead;

/// Pending, due by `now + early`, and not leased (no lease, or one that ran out by `now`).
pub(super) fn claim_filter(id: &DeliveryId, now: DateTime<Utc>, due_by: DateTime<Utc>) -> Document {
    doc! {
        "_id": id.as_str(),
        "state": "pending",
        "next_attempt_at": { "$lte": date(due_by) },
        // `null` also matches a document without the field.
        "$or": [{ "lease_until": Bson::Null }, { "lease_until": { "$lte": date(now) } }],
    }
}

/// Leases a delivery to `holder` until `until`.
pub(super) fn claim_update(holder: &str, until: DateTime<Utc>) -> Document {
    doc! { "$set": { "lease_until": date(until), "lease_holder": holder } }
}

/// The pending delivery `id` as long as `holder` holds its lease.
pub(super) fn held_filter(id: &DeliveryId, holder: &str) -> Document {
    doc! { "_id": id.as_str(), "state": "pending", "lease_holder": holder }
}

/// Logs `attempt` and moves the delivery one `step`, releasing the lease.
pub(super) fn attempt_update(attempt: &DeliveryAttempt, step: DeliveryStep, now: DateTime<Utc>) -> Result<Document> {
    let logged = bson::to_bson(&AttemptDoc::new(attempt)).map_err(errors::bson)?;
    Ok(doc! {
        "$push": { "attempts": logged },
        "$set": {
            "state": step.state.as_str(),
            "next_attempt_at": step.next_attempt_at.map(date),
            "lease_until": Bson::Null,
            "lease_holder": Bson::Null,
            "updated_at": date(now),
        },
    })
}

/// How many times an attempt's effect on its webhook (or a patch) is decided again when another writer
/// changed the webhook between the read and the conditional write. Each miss means another
/// write landed, so a writer misses at most once per concurrent writer of that webhook; the
/// bound is well above the workers one webhook can have in flight and only stops a livelock.
pub(super) const WEBHOOK_UPDATE_ATTEMPTS: u32 = 64;

/// The webhook as the domain's decision read it: the fields that decision depends on
/// (`failure_count`, `is_active`) still hold the values it saw.
pub(super) fn unchanged_since(read: &Webhook) -> Document {
    doc! { "_id": read.id.as_str(), "failure_count": i64::from(read.failure_count), "is_active": read.is_active }
}

/// Sets the fields the decision changed from `before` to `after`; `None` when it changed nothing.
pub(super) fn webhook_update(before: &Webhook, after: &Webhook) -> Option<Document> {
    let mut set = Document::new();
    if after.failure_count != before.failure_count {
        set.insert("failure_count", i64::from(after.failure_count));
    }
    if after.last_delivery_at != before.last_delivery_at {
        set.insert("last_delivery", after.last_delivery_at.map(date));
    }
    if after.is_active != before.is_active {
        set.insert("is_active", after.is_active);
    }
    if after.disabled_reason != before.disabled_reason {
        set.insert("disabled_reason", after.disabled_reason.as_deref());
    }
    if after.updated_at != before.updated_at {
        set.insert("updated_at", date(after.updated_at));
    }
    (!set.is_empty()).then(|| doc! { "$set": set })
}

/// Pending deliveries due before `due_before` that no worker holds at that time.
pub(super) fn overdue_filter(due_before: DateTime<Utc>) -> Document {
    doc! {
        "state": "pending",
        "next_attempt_at": { "$lt": date(due_before) },
        "$or": [{ "lease_until": Bson::Null }, { "lease_until": { "$lte": date(due_before) } }],
    }
}

/// Finished deliveries last changed before `before`.
pub(super) fn prunable_deliveries(before: DateTime<Utc>) -> Document {
    doc! { "state": { "$in": ["succeeded", "dead"] }, "updated_at": { "$lt": date(before) } }
}

impl MongoStore {
    pub(super) fn deliveries(&self) -> Collection<DeliveryDoc> {
        self.db.collection("ipam_webhook_deliveries")
    }

    /// `WebhookStore::requeue_delivery`.
    pub(super) async fn requeue(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Delivery> {
        let requeued = self
            .deliveries()
            .find_one_and_update(requeue_filter(user, webhook, id), requeue_update(now))
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?;
        if let Some(d) = requeued {
            return Delivery::try_from(d);
        }
        let mine = doc! { "_id": id.as_str(), "user_id": user.as_str(), "webhook_id": webhook.as_str() };
        match self.deliveries().find_one(mine).await.map_err(errors::db)? {
            Some(d) => Err(not_dead(id, &d.state)),
            None => Err(IpamError::not_found("delivery", id.as_str())),
        }
    }

    /// `WebhookStore::claim_delivery`.
    pub(super) async fn claim(
        &self,
        id: &DeliveryId,
        holder: &str,
        now: DateTime<Utc>,
        early: Duration,
        lease: Duration,
    ) -> Result<Option<(Delivery, Webhook)>> {
        let claimed = self
            .deliveries()
            .find_one_and_update(claim_filter(id, now, later(now, early)?), claim_update(holder, later(now, lease)?))
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?;
        let Some(claimed) = claimed else { return Ok(None) };
        let hook = self.webhooks().find_one(doc! { "_id": &claimed.webhook_id }).await.map_err(errors::db)?;
        let Some(hook) = hook else {
            // Its webhook is gone: so is the delivery (it would otherwise be re-queued forever).
            self.deliveries().delete_one(doc! { "_id": id.as_str() }).await.map_err(errors::db)?;
            return Ok(None);
        };
        Ok(Some((Delivery::try_from(claimed)?, Webhook::try_from(hook)?)))
    }

    /// `WebhookStore::record_attempt`.
    pub(super) async fn log_attempt(
        &self,
        id: &DeliveryId,
        holder: &str,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<AttemptRecorded>> {
        let step = outcome.delivery_step();
        let logged = self
            .deliveries()
            .find_one_and_update(held_filter(id, holder), attempt_update(attempt, step, now)?)
            .await
            .map_err(errors::db)?;
        let Some(logged) = logged else { return Ok(None) };
        let webhook = WebhookId::from_stored(logged.webhook_id);
        let after = self.apply_to_webhook(&webhook, outcome, disable_after, now).await?;
        let mut recorded = AttemptRecorded::new(step, after.as_ref());
        // Right after the disabling it reports, like the webhook's own update: not one
        // transaction with the delivery's (see `apply_to_webhook`).
        if let Some(n) = after.and_then(|a| Notification::webhook_disabled(&a, id, attempt.attempt, now)) {
            // The attempt is recorded already: failing now would make the caller retry an
            // attempt that can no longer be recorded, and the notice would be lost all the same.
            match atomically!(self, |tx| system_notice(&mut MongoUnit::new(self, tx), &n, now).await) {
                Ok(notice) => recorded.notice = notice,
                Err(e) => tracing::error!(webhook = %n.resource_id.as_deref().unwrap_or("?"), error = %e,
                    "the notice of a disabled webhook could not be stored"),
            }
        }
        Ok(Some(recorded))
    }

    /// Applies an attempt's outcome to its webhook as the domain decides it; `None` when the
    /// webhook was deleted meanwhile.
    ///
    /// Why read, decide, then write conditionally: the decision (count a failure, disable at the
    /// limit with its reason, reset on success) lives once, in `AttemptOutcome::webhook_after`,
    /// instead of being re-expressed as an aggregation pipeline. The write only lands if the
    /// fields the decision read are still as read, so a concurrent attempt or owner patch in
    /// between makes it miss and the decision is taken again on the new values — as race-safe
    /// as the single-document pipeline update it replaces. Not `atomically!`: a standalone
    /// server has no transactions, and the delivery's own update above is already settled by
    /// its lease.
    async fn apply_to_webhook(
        &self,
        webhook: &WebhookId,
        outcome: AttemptOutcome,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookAfterAttempt>> {
        for _ in 0..WEBHOOK_UPDATE_ATTEMPTS {
            let read = self.webhooks().find_one(doc! { "_id": webhook.as_str() }).await.map_err(errors::db)?;
            let Some(read) = read else { return Ok(None) };
            let before = Webhook::try_from(read)?;
            let after = outcome.webhook_after(&before, disable_after, now);
            let Some(update) = webhook_update(&before, &after.webhook) else { return Ok(Some(after)) };
            let written = self.webhooks().update_one(unchanged_since(&before), update).await.map_err(errors::db)?;
            if written.matched_count == 1 {
                return Ok(Some(after));
            }
        }
        Err(IpamError::internal(format!(
            "webhook {webhook} kept changing during {WEBHOOK_UPDATE_ATTEMPTS} attempts to record a delivery's outcome"
        )))
    }

    /// `WebhookStore::overdue_deliveries`, oldest due first.
    pub(super) async fn overdue(&self, due_before: DateTime<Utc>, limit: u32) -> Result<Vec<DeliveryId>> {
        if limit == 0 {
            return Ok(Vec::new()); // a limit of 0 means "no limit" to the server
        }
        let options = FindOptions::builder()
            .sort(doc! { "next_attempt_at": 1, "_id": 1 })
            .projection(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .build();
        let ids: Collection<Document> = self.db.collection("ipam_webhook_deliveries");
        let cursor = ids.find(overdue_filter(due_before)).with_options(options).await.map_err(errors::db)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(errors::db)?;
        docs.iter()
            .map(|d| {
                let id = d.get_str("_id").map_err(|e| corrupt(format!("delivery _id: {e}")))?;
                Ok(DeliveryId::from_stored(id.to_owned()))
            })
            .collect()
    }

    /// `WebhookStore::prune_deliveries`.
    pub(super) async fn prune_finished(&self, before: DateTime<Utc>) -> Result<u64> {
        let r = self.deliveries().delete_many(prunable_deliveries(before)).await.map_err(errors::db)?;
        Ok(r.deleted_count)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    fn secs(n: i64) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(n)
    }

    fn attempt() -> DeliveryAttempt {
        DeliveryAttempt {
            attempt: 3,
            status_code: Some(500),
            response_time_ms: 42,
            error: Some("HTTP 500".into()),
            attempted_at: now(),
            next_retry_at: None,
        }
    }

    fn hook(active: bool, failures: u32) -> Webhook {
        crate::domain::webhook::fixtures::webhook(active, failures, now() - secs(3600))
    }

    #[test]
    fn a_claim_takes_only_a_due_pending_unleased_delivery() {
        let id = DeliveryId::from_stored("D1".into());
        let due_by = later(now(), Duration::from_secs(2)).unwrap();
        assert_eq!(
            claim_filter(&id, now(), due_by),
            doc! {
                "_id": "D1", "state": "pending", "next_attempt_at": { "$lte": date(now() + secs(2)) },
                "$or": [{ "lease_until": Bson::Null }, { "lease_until": { "$lte": date(now()) } }],
            }
        );
        let until = later(now(), Duration::from_secs(30)).unwrap();
        assert_eq!(
            claim_update("w1", until),
            doc! { "$set": { "lease_until": date(now() + secs(30)), "lease_holder": "w1" } }
        );
        assert_eq!(held_filter(&id, "w1"), doc! { "_id": "D1", "state": "pending", "lease_holder": "w1" });
        assert!(later(now(), Duration::from_secs(u64::MAX)).is_err());
    }

    #[test]
    fn each_outcome_sets_the_state_and_next_attempt_and_releases_the_lease() {
        let logged = bson::to_bson(&AttemptDoc::new(&attempt())).unwrap();
        let expect = |state: &str, next: Bson| {
            doc! {
                "$push": { "attempts": logged.clone() },
                "$set": {
                    "state": state, "next_attempt_at": next, "lease_until": Bson::Null, "lease_holder": Bson::Null,
                    "updated_at": date(now()),
                },
            }
        };
        let retry = now() + secs(60);
        assert_eq!(
            attempt_update(&attempt(), AttemptOutcome::RetryAt(retry).delivery_step(), now()).unwrap(),
            expect("pending", Bson::DateTime(date(retry)))
        );
        assert_eq!(
            attempt_update(&attempt(), AttemptOutcome::Succeeded.delivery_step(), now()).unwrap(),
            expect("succeeded", Bson::Null)
        );
        let dead = AttemptOutcome::Dead.delivery_step();
        assert_eq!(attempt_update(&attempt(), dead, now()).unwrap(), expect("dead", Bson::Null));
    }

    /// The update `outcome` makes to `before` (with a limit of 5).
    fn update(outcome: AttemptOutcome, before: &Webhook) -> Option<Document> {
        webhook_update(before, &outcome.webhook_after(before, 5, now()).webhook)
    }

    #[test]
    fn a_success_resets_the_failures_and_stamps_the_last_delivery() {
        assert_eq!(
            update(AttemptOutcome::Succeeded, &hook(true, 3)),
            Some(doc! { "$set": { "failure_count": 0_i64, "last_delivery": date(now()) } })
        );
    }

    #[test]
    fn a_failure_counts_and_disables_an_active_webhook_at_the_threshold() {
        assert_eq!(update(AttemptOutcome::Dead, &hook(true, 3)), Some(doc! { "$set": { "failure_count": 4_i64 } }));
        assert_eq!(
            update(AttemptOutcome::Dead, &hook(true, 4)),
            Some(doc! { "$set": {
                "failure_count": 5_i64, "is_active": false,
                "disabled_reason": "disabled after 5 consecutive failed deliveries", "updated_at": date(now()),
            }})
        );
        assert_eq!(
            update(AttemptOutcome::Dead, &hook(false, 4)),
            Some(doc! { "$set": { "failure_count": 5_i64 } }),
            "already disabled by hand"
        );
    }

    #[test]
    fn a_retry_writes_nothing_and_every_write_is_conditional_on_what_was_read() {
        assert_eq!(update(AttemptOutcome::RetryAt(now()), &hook(true, 3)), None);
        assert_eq!(update(AttemptOutcome::Abandoned, &hook(false, 3)), None);
        let read = hook(false, 3);
        assert_eq!(
            unchanged_since(&read),
            doc! { "_id": read.id.as_str(), "failure_count": 3_i64, "is_active": false }
        );
    }

    #[test]
    fn a_requeue_starts_a_new_round_of_a_dead_delivery() {
        let (user, hook, id) =
            (UserId::parse("u1").unwrap(), WebhookId::from_stored("W1".into()), DeliveryId::from_stored("D1".into()));
        assert_eq!(
            requeue_filter(&user, &hook, &id),
            doc! { "_id": "D1", "user_id": "u1", "webhook_id": "W1", "state": "dead" }
        );
        assert_eq!(
            requeue_update(now()),
            vec![doc! { "$set": {
                "state": "pending", "next_attempt_at": date(now()), "lease_until": Bson::Null,
                "lease_holder": Bson::Null, "round_start": { "$size": "$attempts" }, "updated_at": date(now()),
            }}]
        );
        let IpamError::Conflict { message, details, .. } = not_dead(&id, "pending") else { panic!("not a conflict") };
        assert!(message.contains("not dead") && message.contains("pending"), "{message}");
        assert_eq!(details.get("state"), Some(&json!("pending")));
    }

    #[test]
    fn the_relay_and_the_pruner_pick_the_right_deliveries() {
        assert_eq!(
            overdue_filter(now()),
            doc! {
                "state": "pending", "next_attempt_at": { "$lt": date(now()) },
                "$or": [{ "lease_until": Bson::Null }, { "lease_until": { "$lte": date(now()) } }],
            }
        );
        assert_eq!(
            prunable_deliveries(now()),
            doc! { "state": { "$in": ["succeeded", "dead"] }, "updated_at": { "$lt": date(now()) } }
        );
    }
}
