//! The notification inbox (`ipam_notifications`): filters and the `NotificationStore`. Every
//! read adds `expires_at > now`: the TTL index deletes an expired document only when its
//! monitor next runs (about once a minute), and until then it must not be seen.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::FindOptions;

use super::documents::date;
use super::notification_docs::NotificationDoc;
use super::{MongoStore, errors, find_page};
use crate::domain::{Notification, NotificationId, Page, PageRequest, UserId};
use crate::error::{IpamError, Result};
use crate::storage::{NotificationFilter, NotificationStore};

/// How many expired notifications one cleanup round deletes at most.
const EXPIRY_BATCH: u32 = 500;

/// How often a mark is decided again when the notification changed between read and write.
const MARK_ATTEMPTS: u32 = 5;

/// The user's unexpired notifications matching `f`.
pub(super) fn notification_filter(user: &UserId, f: &NotificationFilter, now: DateTime<Utc>) -> Document {
    let mut filter = doc! { "user_id": user.as_str(), "expires_at": { "$gt": date(now) } };
    if let Some(read) = f.is_read {
        filter.insert("is_read", read);
    }
    if let Some(severity) = f.severity {
        filter.insert("severity", severity.as_str());
    }
    if let Some(t) = f.notification_type {
        filter.insert("notification_type", t.as_str());
    }
    let mut created = Document::new();
    if let Some(after) = f.created_after {
        created.insert("$gte", date(after));
    }
    if let Some(before) = f.created_before {
        created.insert("$lte", date(before));
    }
    if !created.is_empty() {
        filter.insert("created_at", created);
    }
    filter
}

/// One of the user's unexpired notifications.
fn owned(user: &UserId, id: &NotificationId, now: DateTime<Utc>) -> Document {
    doc! { "_id": id.as_str(), "user_id": user.as_str(), "expires_at": { "$gt": date(now) } }
}

/// The notification as `before` was read: a mark lands only if nobody marked it meanwhile.
fn unchanged_since(before: &Notification) -> Document {
    doc! {
        "_id": before.id.as_str(),
        "is_read": before.is_read,
        "read_at": before.read_at.map_or(Bson::Null, |t| Bson::DateTime(date(t))),
    }
}

/// Writes a mark as the domain decided it (`Notification::mark`).
fn marked(after: &Notification) -> Document {
    doc! { "$set": { "is_read": after.is_read, "read_at": after.read_at.map(date) } }
}

fn newest_first() -> Document {
    doc! { "created_at": -1, "_id": -1 }
}

#[async_trait]
impl NotificationStore for MongoStore {
    async fn insert_notification(&self, n: &Notification) -> Result<bool> {
        match self.notifications().insert_one(NotificationDoc::new(n)).await {
            Ok(_) => Ok(true),
            Err(e) if errors::is_duplicate_dedup_key(&e) => Ok(false),
            Err(e) => Err(errors::db(e)),
        }
    }

    async fn notifications(
        &self,
        user: &UserId,
        filter: &NotificationFilter,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page<Notification>> {
        let filter = notification_filter(user, filter, now);
        find_page(&self.notifications(), filter, newest_first(), page, Notification::try_from).await
    }

    async fn unread_count(&self, user: &UserId, now: DateTime<Utc>) -> Result<u64> {
        let unread = NotificationFilter { is_read: Some(false), ..Default::default() };
        self.notifications().count_documents(notification_filter(user, &unread, now)).await.map_err(errors::db)
    }

    async fn recent_unread(&self, user: &UserId, limit: u32, now: DateTime<Utc>) -> Result<Vec<Notification>> {
        if limit == 0 {
            return Ok(Vec::new()); // a limit of 0 means "no limit" to the server
        }
        let unread = NotificationFilter { is_read: Some(false), ..Default::default() };
        let options = FindOptions::builder().sort(newest_first()).limit(i64::from(limit)).build();
        let cursor = self
            .notifications()
            .find(notification_filter(user, &unread, now))
            .with_options(options)
            .await
            .map_err(errors::db)?;
        let docs: Vec<NotificationDoc> = cursor.try_collect().await.map_err(errors::db)?;
        docs.into_iter().map(Notification::try_from).collect()
    }

    async fn notification(
        &self,
        user: &UserId,
        id: &NotificationId,
        now: DateTime<Utc>,
    ) -> Result<Option<Notification>> {
        let found = self.notifications().find_one(owned(user, id, now)).await.map_err(errors::db)?;
        found.map(Notification::try_from).transpose()
    }

    async fn mark_notification(
        &self,
        user: &UserId,
        id: &NotificationId,
        is_read: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Notification>> {
        // The domain decides from the notification as read (a second "read" keeps the first
        // read time), so the write is guarded by what it read; a concurrent mark in between
        // makes it decide again from the new state.
        for _ in 0..MARK_ATTEMPTS {
            let Some(read) = self.notifications().find_one(owned(user, id, now)).await.map_err(errors::db)? else {
                return Ok(None);
            };
            let before = Notification::try_from(read)?;
            let after = before.mark(is_read, now);
            let written =
                self.notifications().update_one(unchanged_since(&before), marked(&after)).await.map_err(errors::db)?;
            if written.matched_count == 1 {
                return Ok(Some(after));
            }
        }
        Err(IpamError::internal(format!("notification {id} kept changing during {MARK_ATTEMPTS} attempts to mark it")))
    }

    async fn mark_all_read(&self, user: &UserId, now: DateTime<Utc>) -> Result<u64> {
        // What `Notification::mark(true, now)` makes of an unread notification, for all at once.
        let unread = NotificationFilter { is_read: Some(false), ..Default::default() };
        let done = self
            .notifications()
            .update_many(
                notification_filter(user, &unread, now),
                doc! { "$set": { "is_read": true, "read_at": date(now) } },
            )
            .await
            .map_err(errors::db)?;
        Ok(done.modified_count)
    }

    async fn delete_notification(&self, user: &UserId, id: &NotificationId) -> Result<bool> {
        let filter = doc! { "_id": id.as_str(), "user_id": user.as_str() };
        let done = self.notifications().delete_one(filter).await.map_err(errors::db)?;
        Ok(done.deleted_count == 1)
    }

    async fn delete_expired_notifications(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        let expired = doc! { "expires_at": { "$lte": date(now) } };
        let ids = self.notifications().clone_with_type::<Document>();
        let mut deleted = 0;
        let mut left = limit;
        while left > 0 {
            let batch = EXPIRY_BATCH.min(left);
            let options = FindOptions::builder()
                .projection(doc! { "_id": 1 })
                .sort(doc! { "expires_at": 1 })
                .limit(i64::from(batch))
                .build();
            let cursor = ids.find(expired.clone()).with_options(options).await.map_err(errors::db)?;
            let found: Vec<Document> = cursor.try_collect().await.map_err(errors::db)?;
            let found: Vec<Bson> = found.into_iter().filter_map(|d| d.get("_id").cloned()).collect();
            let seen = u32::try_from(found.len()).unwrap_or(batch);
            if seen == 0 {
                break;
            }
            // Still guarded by expiry, so nothing unexpired can go; the TTL monitor may have
            // taken some of them meanwhile, which is fine.
            let mut these = expired.clone();
            these.insert("_id", doc! { "$in": found });
            deleted += self.notifications().delete_many(these).await.map_err(errors::db)?.deleted_count;
            if seen < batch {
                break;
            }
            left -= seen;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mongodb::bson::Bson;

    use super::*;
    use crate::domain::{NotificationType, Severity};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    #[test]
    fn the_filter_always_hides_expired_notifications_and_adds_each_condition_given() {
        let u = UserId::parse("u1").unwrap();
        assert_eq!(
            notification_filter(&u, &NotificationFilter::default(), now()),
            doc! { "user_id": "u1", "expires_at": { "$gt": date(now()) } }
        );
        let (after, before) = (now() - chrono::Duration::days(2), now() - chrono::Duration::days(1));
        let every = NotificationFilter {
            is_read: Some(false),
            severity: Some(Severity::Critical),
            notification_type: Some(NotificationType::WebhookDisabled),
            created_after: Some(after),
            created_before: Some(before),
        };
        assert_eq!(
            notification_filter(&u, &every, now()),
            doc! {
                "user_id": "u1", "expires_at": { "$gt": date(now()) }, "is_read": false, "severity": "critical",
                "notification_type": "webhook_disabled", "created_at": { "$gte": date(after), "$lte": date(before) },
            }
        );
        let only_before = NotificationFilter { created_before: Some(before), ..Default::default() };
        assert_eq!(
            notification_filter(&u, &only_before, now()).get_document("created_at").unwrap(),
            &doc! {
                "$lte": date(before)
            }
        );
    }

    #[test]
    fn a_mark_is_guarded_by_the_state_it_was_decided_from() {
        let n = crate::storage::mongo::notification_docs::tests::sample(now());
        assert_eq!(unchanged_since(&n), doc! { "_id": n.id.as_str(), "is_read": false, "read_at": Bson::Null });
        let read = n.mark(true, now());
        assert_eq!(marked(&read), doc! { "$set": { "is_read": true, "read_at": date(now()) } });
        assert_eq!(unchanged_since(&read), doc! { "_id": n.id.as_str(), "is_read": true, "read_at": date(now()) });
        assert_eq!(marked(&read.mark(false, now())), doc! { "$set": { "is_read": false, "read_at": Bson::Null } });
        assert_eq!(
            owned(&n.user_id, &n.id, now()),
            doc! { "_id": n.id.as_str(), "user_id": "u1", "expires_at": { "$gt": date(now()) } }
        );
    }
}
