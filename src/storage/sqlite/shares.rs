//! Shareable links.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::audit::insert_audit;
use super::errors::db;
use super::filters::total;
use super::rows::{corrupt, parse_ts, ts};
use crate::auth::Actor;
use crate::domain::{
    AuditAction, AuditEvent, Description, Page, PageRequest, Share, ShareId, ShareKind, ShareToken, UserId, Username,
};
use crate::error::{IpamError, Result};
use crate::storage::ShareStore;

macro_rules! share_columns {
    () => {
        "share_id, share_token, user_id, resource_type, resource_id, description, expires_at, view_count, \
         last_accessed, created_at, created_by, is_active"
    };
}

#[derive(sqlx::FromRow)]
struct ShareRow {
    share_id: String,
    share_token: String,
    user_id: String,
    resource_type: String,
    resource_id: String,
    description: Option<String>,
    expires_at: String,
    view_count: i64,
    last_accessed: Option<String>,
    created_at: String,
    created_by: String,
    is_active: bool,
}

impl TryFrom<ShareRow> for Share {
    type Error = IpamError;

    fn try_from(r: ShareRow) -> Result<Self> {
        Ok(Share {
            id: ShareId::from_stored(r.share_id),
            token: ShareToken::from_stored(r.share_token),
            user_id: UserId::from_stored(r.user_id),
            kind: ShareKind::parse(&r.resource_type).map_err(corrupt)?,
            resource_id: r.resource_id,
            description: r.description.map(Description::from_stored),
            expires_at: parse_ts(&r.expires_at)?,
            view_count: u64::try_from(r.view_count).map_err(|_| corrupt("view_count"))?,
            last_accessed: r.last_accessed.as_deref().map(parse_ts).transpose()?,
            created_at: parse_ts(&r.created_at)?,
            created_by: Username::from_stored(r.created_by),
            is_active: r.is_active,
        })
    }
}

/// Marks up to `limit` overdue active shares inactive, each audited, inside the caller's
/// transaction.
pub(super) async fn expire_overdue(conn: &mut SqliteConnection, now: DateTime<Utc>, limit: u32) -> Result<u64> {
    let rows: Vec<ShareRow> = sqlx::query_as(concat!(
        "UPDATE ipam_shares SET is_active = 0, updated_at = ?1
         WHERE share_id IN (SELECT share_id FROM ipam_shares WHERE is_active = 1 AND expires_at <= ?1
                            ORDER BY expires_at LIMIT ?2)
         RETURNING ",
        share_columns!()
    ))
    .bind(ts(now))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let system = Actor::system();
    let n = rows.len();
    for row in rows {
        let mut share = Share::try_from(row)?;
        share.is_active = true;
        insert_audit(&mut *conn, &AuditEvent::share(AuditAction::Expire, &share, &system, now)).await?;
    }
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

#[async_trait]
impl ShareStore for SqliteStore {
    async fn create_share(&self, actor: &Actor, s: &Share) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO ipam_shares (share_id, share_token, user_id, resource_type, resource_id, description, expires_at,
                 view_count, last_accessed, created_at, created_by, is_active, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, NULL, ?8, ?9, 1, ?8)",
        )
        .bind(s.id.as_str())
        .bind(s.token.as_str())
        .bind(s.user_id.as_str())
        .bind(s.kind.as_str())
        .bind(&s.resource_id)
        .bind(s.description.as_ref().map(|d| d.as_str()))
        .bind(ts(s.expires_at))
        .bind(ts(s.created_at))
        .bind(s.created_by.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_audit(&mut tx, &AuditEvent::share(AuditAction::Create, s, actor, s.created_at)).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn live_shares(&self, user: &UserId, page: PageRequest, now: DateTime<Utc>) -> Result<Page<Share>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ipam_shares WHERE user_id = ?1 AND is_active = 1 AND expires_at > ?2",
        )
        .bind(user.as_str())
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let rows: Vec<ShareRow> = sqlx::query_as(concat!(
            "SELECT ",
            share_columns!(),
            " FROM ipam_shares WHERE user_id = ?1 AND is_active = 1 AND expires_at > ?2
              ORDER BY created_at DESC, share_id DESC LIMIT ?3 OFFSET ?4"
        ))
        .bind(user.as_str())
        .bind(ts(now))
        .bind(i64::try_from(page.limit()).unwrap_or(i64::MAX))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let items = rows.into_iter().map(Share::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total(n), request: page })
    }

    async fn revoke_share(&self, actor: &Actor, id: &ShareId, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.write().await?;
        let row: Option<ShareRow> = sqlx::query_as(concat!(
            "UPDATE ipam_shares SET is_active = 0, updated_at = ?3
             WHERE user_id = ?1 AND share_id = ?2 AND is_active = 1 RETURNING ",
            share_columns!()
        ))
        .bind(actor.user_id.as_str())
        .bind(id.as_str())
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(false) };
        insert_audit(&mut tx, &AuditEvent::share(AuditAction::Revoke, &Share::try_from(row)?, actor, now)).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn live_share(&self, token: &ShareToken, now: DateTime<Utc>) -> Result<Option<Share>> {
        let row: Option<ShareRow> = sqlx::query_as(concat!(
            "SELECT ",
            share_columns!(),
            " FROM ipam_shares WHERE share_token = ?1 AND is_active = 1 AND expires_at > ?2"
        ))
        .bind(token.as_str())
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(Share::try_from).transpose()
    }

    async fn record_view(&self, id: &ShareId, now: DateTime<Utc>) -> Result<Option<Share>> {
        let row: Option<ShareRow> = sqlx::query_as(concat!(
            "UPDATE ipam_shares SET view_count = view_count + 1, last_accessed = ?2
             WHERE share_id = ?1 AND is_active = 1 AND expires_at > ?2 RETURNING ",
            share_columns!()
        ))
        .bind(id.as_str())
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(Share::try_from).transpose()
    }
}
