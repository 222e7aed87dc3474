//! Notification rules (`ipam_notification_rules`) and the per-(rule, resource) state of
//! threshold rules (`ipam_notification_rule_state`): the `RuleStore`. A patch that re-arms a
//! rule and the re-arming of its states, and a rule's deletion and its states', are one unit of
//! work (`atomically!`: one transaction on a replica set).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Document, doc};

use super::documents::{corrupt, date};
use super::notification_docs::{RuleDoc, RuleStateDoc, conditions_document};
use super::notify_unit::MongoUnit;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors, find_all, find_page, insert_within_cap};
use crate::domain::{
    NotificationCreated, NotificationRule, Page, PageRequest, ResourceKey, RuleId, RulePatch, RuleState, UserId,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::too_many_rules;
use crate::storage::{RuleStore, notify};

/// How often a patch is decided again when the rule changed between read and write.
const PATCH_ATTEMPTS: u32 = 5;

/// One of the user's rules.
fn owned(user: &UserId, id: &RuleId) -> Document {
    doc! { "_id": id.as_str(), "user_id": user.as_str() }
}

/// Writes every field a patch can change, as the domain decided them (`NotificationRule::patched`).
fn patched_fields(after: &NotificationRule) -> Result<Document> {
    Ok(doc! { "$set": {
        "rule_name": after.rule_name.as_str(),
        "conditions": conditions_document(&after.conditions)?,
        "notification_channels": after.channels.names(),
        "severity": after.severity.as_str(),
        "cooldown_minutes": i64::from(after.cooldown.minutes()),
        "is_active": after.is_active,
        "updated_at": date(after.updated_at),
    }})
}

/// Re-arms every state of a rule (`above` false; crossings and last firing kept).
fn rearm(rule: &RuleId, now: DateTime<Utc>) -> (Document, Document) {
    (doc! { "rule_id": rule.as_str() }, doc! { "$set": { "above": false, "updated_at": date(now) } })
}

/// Inserts or replaces the state of `s`, owned by `user`: the pair the unique index holds is the
/// filter, and the rest is set either way.
pub(super) fn upsert_state(s: &RuleState, user: &UserId, now: DateTime<Utc>) -> (Document, Document) {
    let filter = doc! { "rule_id": s.rule_id.as_str(), "resource_key": s.resource_key.as_str() };
    let update = doc! {
        "$set": {
            "above": s.above,
            "crossings": i64::from(s.crossings),
            "last_fired_at": s.last_fired_at.map(date),
            "updated_at": date(now),
        },
        "$setOnInsert": { "_id": RuleStateDoc::id(&s.rule_id, &s.resource_key), "user_id": user.as_str() },
    };
    (filter, update)
}

/// How a patch attempt ended.
enum Patched {
    /// No such rule.
    Gone,
    /// The rule changed after it was read: decide again.
    Raced,
    /// Written.
    Done(NotificationRule),
}

impl MongoStore {
    /// Reads, patches and writes a rule, re-arming its states if the patch does, inside `tx`.
    async fn update_rule_in(
        &self,
        tx: &mut Tx,
        user: &UserId,
        id: &RuleId,
        patch: &RulePatch,
        now: DateTime<Utc>,
    ) -> Result<Patched> {
        let Some(read) = run!(tx, self.rules().find_one(owned(user, id))).map_err(errors::db)? else {
            return Ok(Patched::Gone);
        };
        let before = NotificationRule::try_from(read)?;
        let after = before.patched(patch, now);
        // Guarded by the version read (outside a transaction, a concurrent patch in between
        // would otherwise be overwritten with fields decided from the older rule).
        let mut guard = owned(user, id);
        guard.insert("updated_at", date(before.updated_at));
        let written = run!(tx, self.rules().update_one(guard, patched_fields(&after)?)).map_err(errors::db)?;
        if written.matched_count == 0 {
            return Ok(Patched::Raced);
        }
        if before.rearmed_by(patch) {
            let (filter, update) = rearm(id, now);
            run!(tx, self.rule_states().update_many(filter, update)).map_err(errors::db)?;
        }
        Ok(Patched::Done(after))
    }

    /// Deletes a rule and its states inside `tx`; false when there was no such rule.
    async fn delete_rule_in(&self, tx: &mut Tx, user: &UserId, id: &RuleId) -> Result<bool> {
        let deleted = run!(tx, self.rules().delete_one(owned(user, id))).map_err(errors::db)?;
        if deleted.deleted_count == 0 {
            return Ok(false);
        }
        run!(tx, self.rule_states().delete_many(doc! { "rule_id": id.as_str() })).map_err(errors::db)?;
        Ok(true)
    }
}

#[async_trait]
impl RuleStore for MongoStore {
    async fn create_rule(&self, rule: &NotificationRule, max: u32) -> Result<()> {
        let doc = RuleDoc::new(rule)?;
        if insert_within_cap(&self.rules(), &doc, rule.user_id.as_str(), rule.id.as_str(), max).await? {
            Ok(())
        } else {
            Err(too_many_rules(max))
        }
    }

    async fn rule(&self, user: &UserId, id: &RuleId) -> Result<Option<NotificationRule>> {
        self.rules().find_one(owned(user, id)).await.map_err(errors::db)?.map(NotificationRule::try_from).transpose()
    }

    async fn list_rules(&self, user: &UserId, page: PageRequest) -> Result<Page<NotificationRule>> {
        let sort = doc! { "created_at": -1, "_id": -1 };
        find_page(&self.rules(), doc! { "user_id": user.as_str() }, sort, page, NotificationRule::try_from).await
    }

    async fn update_rule(
        &self,
        user: &UserId,
        id: &RuleId,
        patch: &RulePatch,
        now: DateTime<Utc>,
    ) -> Result<Option<NotificationRule>> {
        for _ in 0..PATCH_ATTEMPTS {
            match atomically!(self, |tx| self.update_rule_in(tx, user, id, patch, now).await)? {
                Patched::Gone => return Ok(None),
                Patched::Done(rule) => return Ok(Some(rule)),
                Patched::Raced => continue,
            }
        }
        Err(IpamError::internal(format!("rule {id} kept changing during {PATCH_ATTEMPTS} attempts to patch it")))
    }

    async fn delete_rule(&self, user: &UserId, id: &RuleId) -> Result<bool> {
        atomically!(self, |tx| self.delete_rule_in(tx, user, id).await)
    }

    async fn active_rules(&self, user: &UserId) -> Result<Vec<NotificationRule>> {
        let filter = doc! { "user_id": user.as_str(), "is_active": true };
        let docs = find_all(&self.rules(), filter, Some(doc! { "created_at": 1, "_id": 1 })).await?;
        docs.into_iter().map(NotificationRule::try_from).collect()
    }

    async fn rule_state(&self, rule: &RuleId, resource: &ResourceKey) -> Result<Option<RuleState>> {
        let filter = doc! { "rule_id": rule.as_str(), "resource_key": resource.as_str() };
        self.rule_states().find_one(filter).await.map_err(errors::db)?.map(RuleState::try_from).transpose()
    }

    async fn save_rule_state(&self, s: &RuleState, now: DateTime<Utc>) -> Result<bool> {
        // The state's owner is the rule's. A rule deleted between this read and the upsert
        // leaves an orphan state behind; nothing reads it (states are only looked up through
        // their rule), so that race is harmless.
        let Some(rule) = self.rules().find_one(doc! { "_id": s.rule_id.as_str() }).await.map_err(errors::db)? else {
            return Ok(false);
        };
        let (filter, update) = upsert_state(s, &UserId::from_stored(rule.user_id), now);
        // Two first upserts of one pair race to insert; the loser meets the unique index and,
        // run again, finds the winner's document and updates it.
        for attempt in 1..=2 {
            match self.rule_states().update_one(filter.clone(), update.clone()).upsert(true).await {
                Ok(_) => return Ok(true),
                Err(e) if attempt == 1 && errors::duplicate_index(&e).is_some() => continue,
                Err(e) => return Err(errors::db(e)),
            }
        }
        unreachable!("the second attempt always returns")
    }

    async fn threshold_rule_owners(&self, after: Option<&UserId>, limit: u32) -> Result<Vec<UserId>> {
        if limit == 0 {
            return Ok(Vec::new()); // a $limit of 0 is refused by the server
        }
        let rules: Collection<Document> = self.db.collection("ipam_notification_rules");
        let cursor = rules.aggregate(threshold_owners_page(after, limit)).await.map_err(errors::db)?;
        let page: Vec<Document> = cursor.try_collect().await.map_err(errors::db)?;
        page.iter()
            .map(|d| {
                let id = d.get_str("_id").map_err(|e| corrupt(format!("rule owner: {e}")))?;
                Ok(UserId::from_stored(id.to_owned()))
            })
            .collect()
    }

    async fn catch_up_rules(&self, user: &UserId, now: DateTime<Utc>) -> Result<Vec<NotificationCreated>> {
        atomically!(self, |tx| notify::catch_up(&mut MongoUnit::new(self, tx), user, now).await)
    }
}

/// One page of the owners of active threshold rules, after `after` in id order: grouped, sorted
/// and limited by the server, so a page costs the same however many owners there are.
pub(super) fn threshold_owners_page(after: Option<&UserId>, limit: u32) -> [Document; 4] {
    let mut filter = doc! { "is_active": true, "conditions.utilization_threshold": { "$exists": true } };
    if let Some(after) = after {
        filter.insert("user_id", doc! { "$gt": after.as_str() });
    }
    [
        doc! { "$match": filter },
        doc! { "$group": { "_id": "$user_id" } },
        doc! { "$sort": { "_id": 1 } },
        doc! { "$limit": i64::from(limit) },
    ]
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mongodb::bson::Bson;

    use super::*;
    use crate::storage::mongo::notification_docs::tests::threshold_rule;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    #[test]
    fn owners_of_threshold_rules_are_paged_by_the_server_in_id_order() {
        let first = threshold_owners_page(None, 100);
        assert_eq!(
            first[0],
            doc! { "$match": { "is_active": true, "conditions.utilization_threshold": { "$exists": true } } }
        );
        assert_eq!(
            first[1..],
            [doc! { "$group": { "_id": "$user_id" } }, doc! { "$sort": { "_id": 1 } }, doc! { "$limit": 100_i64 },]
        );
        let next = threshold_owners_page(Some(&UserId::parse("u7").unwrap()), 100);
        assert_eq!(next[0].get_document("$match").unwrap().get_document("user_id").unwrap(), &doc! { "$gt": "u7" });
    }

    #[test]
    fn a_patch_writes_every_patchable_field_as_the_domain_decided_it() {
        let rule = threshold_rule(now());
        let later = now() + chrono::Duration::minutes(5);
        let patch = RulePatch { is_active: Some(false), ..Default::default() };
        assert_eq!(
            patched_fields(&rule.patched(&patch, later)).unwrap(),
            doc! { "$set": {
                "rule_name": "Watch", "conditions": { "utilization_threshold": 50_i64, "resource_type": "region" },
                "notification_channels": ["in_app"], "severity": "warning", "cooldown_minutes": 60_i64,
                "is_active": false, "updated_at": date(later),
            }}
        );
    }

    #[test]
    fn states_are_upserted_by_rule_and_resource_and_rearming_keeps_crossings_and_last_firing() {
        let rule = RuleId::from_stored("R1".into());
        let key = ResourceKey::from_stored("region:G1".into());
        let s = RuleState { rule_id: rule.clone(), resource_key: key, above: true, crossings: 2, last_fired_at: None };
        let (filter, update) = upsert_state(&s, &UserId::parse("u1").unwrap(), now());
        assert_eq!(filter, doc! { "rule_id": "R1", "resource_key": "region:G1" });
        assert_eq!(
            update,
            doc! {
                "$set": { "above": true, "crossings": 2_i64, "last_fired_at": Bson::Null, "updated_at": date(now()) },
                "$setOnInsert": { "_id": "R1:region:G1", "user_id": "u1" },
            }
        );
        assert_eq!(
            rearm(&rule, now()),
            (doc! { "rule_id": "R1" }, doc! { "$set": { "above": false, "updated_at": date(now()) } })
        );
    }
}
