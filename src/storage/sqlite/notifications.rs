//! The notification inbox (`ipam_notifications`): rows, filters and the `NotificationStore`.
//! Every read adds `expires_at > now`, so an expired row is invisible until the cleanup job
//! deletes it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::errors::{Unique, db, unique_violation};
use super::filters::{push_page, total};
use super::rows::{corrupt, parse_ts, ts};
use crate::domain::{
    Notification, NotificationId, NotificationResource, NotificationType, Page, PageRequest, Severity, UserId,
};
use crate::error::{IpamError, Result};
use crate::storage::{NotificationFilter, NotificationStore};

macro_rules! columns {
    () => {
        "notification_id, user_id, notification_type, severity, message, resource_type, resource_id, \
         resource_link, is_read, read_at, created_at, expires_at, dedup_key"
    };
}

/// How many expired rows one cleanup statement deletes at most: each batch is its own short
/// write, so a large backlog never holds the write lock for long.
const EXPIRY_BATCH: u32 = 500;

#[derive(sqlx::FromRow)]
struct NotificationRow {
    notification_id: String,
    user_id: String,
    notification_type: String,
    severity: String,
    message: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_link: Option<String>,
    is_read: bool,
    read_at: Option<String>,
    created_at: String,
    expires_at: String,
    dedup_key: Option<String>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = IpamError;

    fn try_from(r: NotificationRow) -> Result<Self> {
        let resource_type = r
            .resource_type
            .map(|t| NotificationResource::from_stored(&t).ok_or_else(|| corrupt(format!("resource_type '{t}'"))))
            .transpose()?;
        Ok(Notification {
            notification_type: NotificationType::from_stored(&r.notification_type)
                .ok_or_else(|| corrupt(format!("notification_type '{}'", r.notification_type)))?,
            severity: Severity::from_stored(&r.severity)
                .ok_or_else(|| corrupt(format!("severity '{}'", r.severity)))?,
            dedup_key: r
                .dedup_key
                .ok_or_else(|| corrupt(format!("notification {} has no dedup_key", r.notification_id)))?,
            id: NotificationId::from_stored(r.notification_id),
            user_id: UserId::from_stored(r.user_id),
            message: r.message,
            resource_type,
            resource_id: r.resource_id,
            resource_link: r.resource_link,
            is_read: r.is_read,
            read_at: r.read_at.as_deref().map(parse_ts).transpose()?,
            created_at: parse_ts(&r.created_at)?,
            expires_at: parse_ts(&r.expires_at)?,
        })
    }
}

/// `SELECT`/`COUNT` prefix plus ` WHERE …` for the user's unexpired notifications matching `f`.
fn select_where(head: &'static str, user: &UserId, f: &NotificationFilter, now: DateTime<Utc>) -> QueryBuilder<Sqlite> {
    let mut qb = QueryBuilder::new(head);
    qb.push(" FROM ipam_notifications WHERE user_id = ").push_bind(user.to_string());
    qb.push(" AND expires_at > ").push_bind(ts(now));
    if let Some(read) = f.is_read {
        qb.push(" AND is_read = ").push_bind(read);
    }
    if let Some(severity) = f.severity {
        qb.push(" AND severity = ").push_bind(severity.as_str());
    }
    if let Some(t) = f.notification_type {
        qb.push(" AND notification_type = ").push_bind(t.as_str());
    }
    if let Some(after) = f.created_after {
        qb.push(" AND created_at >= ").push_bind(ts(after));
    }
    if let Some(before) = f.created_before {
        qb.push(" AND created_at <= ").push_bind(ts(before));
    }
    qb
}

/// Stores a notification; false when its owner already has its dedup key.
pub(super) async fn insert(conn: &mut SqliteConnection, n: &Notification) -> Result<bool> {
    let inserted = sqlx::query(concat!(
        "INSERT INTO ipam_notifications (",
        columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))
    .bind(n.id.as_str())
    .bind(n.user_id.as_str())
    .bind(n.notification_type.as_str())
    .bind(n.severity.as_str())
    .bind(&n.message)
    .bind(n.resource_type.map(NotificationResource::as_str))
    .bind(&n.resource_id)
    .bind(&n.resource_link)
    .bind(n.is_read)
    .bind(n.read_at.map(ts))
    .bind(ts(n.created_at))
    .bind(ts(n.expires_at))
    .bind(&n.dedup_key)
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if unique_violation(&e) == Some(Unique::NotificationDedup) => Ok(false),
        Err(e) => Err(db(e)),
    }
}

const NEWEST_FIRST: &str = " ORDER BY created_at DESC, notification_id DESC";

async fn fetch(
    conn: &mut SqliteConnection,
    user: &UserId,
    id: &NotificationId,
    now: DateTime<Utc>,
) -> Result<Option<Notification>> {
    let row: Option<NotificationRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM ipam_notifications WHERE notification_id = ?1 AND user_id = ?2 AND expires_at > ?3"
    ))
    .bind(id.as_str())
    .bind(user.as_str())
    .bind(ts(now))
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Notification::try_from).transpose()
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn insert_notification(&self, n: &Notification) -> Result<bool> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        insert(&mut conn, n).await
    }

    async fn notifications(
        &self,
        user: &UserId,
        filter: &NotificationFilter,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page<Notification>> {
        let n: i64 = select_where("SELECT COUNT(*)", user, filter, now)
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        let mut qb = select_where(concat!("SELECT ", columns!()), user, filter, now);
        qb.push(NEWEST_FIRST);
        push_page(&mut qb, page);
        let rows: Vec<NotificationRow> = qb.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        let items = rows.into_iter().map(Notification::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total(n), request: page })
    }

    async fn unread_count(&self, user: &UserId, now: DateTime<Utc>) -> Result<u64> {
        let unread = NotificationFilter { is_read: Some(false), ..Default::default() };
        let n: i64 = select_where("SELECT COUNT(*)", user, &unread, now)
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(total(n))
    }

    async fn recent_unread(&self, user: &UserId, limit: u32, now: DateTime<Utc>) -> Result<Vec<Notification>> {
        let unread = NotificationFilter { is_read: Some(false), ..Default::default() };
        let mut qb = select_where(concat!("SELECT ", columns!()), user, &unread, now);
        qb.push(NEWEST_FIRST).push(" LIMIT ").push_bind(i64::from(limit));
        let rows: Vec<NotificationRow> = qb.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        rows.into_iter().map(Notification::try_from).collect()
    }

    async fn notification(
        &self,
        user: &UserId,
        id: &NotificationId,
        now: DateTime<Utc>,
    ) -> Result<Option<Notification>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch(&mut conn, user, id, now).await
    }

    async fn mark_notification(
        &self,
        user: &UserId,
        id: &NotificationId,
        is_read: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Notification>> {
        let mut tx = self.write().await?;
        let Some(before) = fetch(&mut tx, user, id, now).await? else { return Ok(None) };
        let after = before.mark(is_read, now);
        sqlx::query("UPDATE ipam_notifications SET is_read = ?2, read_at = ?3 WHERE notification_id = ?1")
            .bind(id.as_str())
            .bind(after.is_read)
            .bind(after.read_at.map(ts))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(after))
    }

    async fn mark_all_read(&self, user: &UserId, now: DateTime<Utc>) -> Result<u64> {
        // What `Notification::mark(true, now)` makes of an unread notification, for all at once.
        let done = sqlx::query(
            "UPDATE ipam_notifications SET is_read = 1, read_at = ?2
             WHERE user_id = ?1 AND is_read = 0 AND expires_at > ?2",
        )
        .bind(user.as_str())
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn delete_notification(&self, user: &UserId, id: &NotificationId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ipam_notifications WHERE notification_id = ?1 AND user_id = ?2")
            .bind(id.as_str())
            .bind(user.as_str())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_expired_notifications(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        let mut deleted = 0;
        while deleted < u64::from(limit) {
            let batch = EXPIRY_BATCH.min(limit - u32::try_from(deleted).unwrap_or(limit));
            let done = sqlx::query(
                "DELETE FROM ipam_notifications WHERE rowid IN
                     (SELECT rowid FROM ipam_notifications WHERE expires_at <= ?1 LIMIT ?2)",
            )
            .bind(ts(now))
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await
            .map_err(db)?;
            deleted += done.rows_affected();
            if done.rows_affected() < u64::from(batch) {
                break;
            }
        }
        Ok(deleted)
    }
}
