//! Comments on regions and hosts.

use async_trait::async_trait;
use serde_json::{Value, json};
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::audit::insert_audit;
use super::errors::db;
use super::filters::total;
use super::hosts::fetch_host;
use super::regions::fetch_region;
use super::rows::{CommentRow, ts};
use crate::auth::Actor;
use crate::domain::{AuditAction, AuditEvent, Comment, CommentTarget, FieldChange, HostId, Page, PageRequest, UserId};
use crate::error::{IpamError, Result};
use crate::storage::CommentStore;

async fn host_exists(conn: &mut SqliteConnection, user: &UserId, id: &HostId) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM ipam_hosts WHERE user_id = ?1 AND host_id = ?2")
        .bind(user.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    Ok(found.is_some())
}

async fn target_exists(conn: &mut SqliteConnection, user: &UserId, target: &CommentTarget) -> Result<bool> {
    match target {
        CommentTarget::Region(id) => Ok(fetch_region(conn, user, id).await?.is_some()),
        CommentTarget::Host(id) => host_exists(conn, user, id).await,
    }
}

#[async_trait]
impl CommentStore for SqliteStore {
    async fn add_comment(&self, actor: &Actor, c: &Comment) -> Result<()> {
        let user = &actor.user_id;
        let mut tx = self.write().await?;
        let change = vec![FieldChange::new("comment", Value::Null, json!(c.text))];
        let event = match &c.target {
            CommentTarget::Region(id) => {
                let (region, _) = fetch_region(&mut tx, user, id)
                    .await?
                    .ok_or_else(|| IpamError::not_found("region", id.as_str()))?;
                AuditEvent::region(AuditAction::Comment, &region, actor, None, change, c.created_at)
            }
            CommentTarget::Host(id) => {
                let host =
                    fetch_host(&mut tx, user, id).await?.ok_or_else(|| IpamError::not_found("host", id.as_str()))?;
                AuditEvent::host(AuditAction::Comment, &host, actor, None, change, c.created_at)
            }
        };
        sqlx::query(
            "INSERT INTO ipam_comments (comment_id, user_id, resource_type, resource_id, text, author_id, author_username, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(c.id.as_str())
        .bind(user.as_str())
        .bind(c.target.kind())
        .bind(c.target.id())
        .bind(c.text.as_str())
        .bind(c.author_id.as_str())
        .bind(c.author.as_str())
        .bind(ts(c.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_audit(&mut tx, &event).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn comments(
        &self,
        user: &UserId,
        target: &CommentTarget,
        page: PageRequest,
    ) -> Result<Option<Page<Comment>>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        if !target_exists(&mut conn, user, target).await? {
            return Ok(None);
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ipam_comments WHERE user_id = ?1 AND resource_id = ?2")
            .bind(user.as_str())
            .bind(target.id())
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        let rows: Vec<CommentRow> = sqlx::query_as(
            "SELECT comment_id, user_id, resource_type, resource_id, text, author_id, author_username, created_at
             FROM ipam_comments WHERE user_id = ?1 AND resource_id = ?2
             ORDER BY created_at DESC, comment_id DESC LIMIT ?3 OFFSET ?4",
        )
        .bind(user.as_str())
        .bind(target.id())
        .bind(i64::try_from(page.limit()).unwrap_or(i64::MAX))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let items = rows.into_iter().map(Comment::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Some(Page { items, total: total(n), request: page }))
    }
}
