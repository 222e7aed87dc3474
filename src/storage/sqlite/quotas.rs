//! Quota records: usage counters kept in step with every allocation and release.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::audit::insert_audit;
use super::errors::db;
use super::filters::{push_page, total};
use super::rows::{QuotaRow, ts};
use crate::auth::Actor;
use crate::domain::{AuditEvent, Page, PageRequest, QuotaPatch, QuotaUsage, UserId};
use crate::error::Result;
use crate::storage::QuotaStore;

const QUOTA_COLUMNS: &str = "user_id, region_quota, host_quota, region_count, host_count, last_updated";

/// The user's usage, read inside the caller's transaction.
pub(super) async fn load(conn: &mut SqliteConnection, user: &UserId) -> Result<QuotaUsage> {
    let row: Option<QuotaRow> = sqlx::query_as(
        "SELECT user_id, region_quota, host_quota, region_count, host_count, last_updated
         FROM ipam_user_quotas WHERE user_id = ?1",
    )
    .bind(user.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    match row {
        Some(r) => r.try_into(),
        None => Ok(QuotaUsage::empty(user.clone())),
    }
}

/// Adds `regions` and `hosts` (either may be negative) to the user's counters.
pub(super) async fn bump(
    conn: &mut SqliteConnection,
    user: &UserId,
    regions: i64,
    hosts: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ipam_user_quotas (user_id, region_count, host_count, last_updated)
         VALUES (?1, MAX(?2, 0), MAX(?3, 0), ?4)
         ON CONFLICT (user_id) DO UPDATE SET
             region_count = MAX(region_count + ?2, 0),
             host_count = MAX(host_count + ?3, 0),
             last_updated = ?4",
    )
    .bind(user.as_str())
    .bind(regions)
    .bind(hosts)
    .bind(ts(now))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl QuotaStore for SqliteStore {
    async fn quota(&self, user: &UserId) -> Result<QuotaUsage> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        load(&mut conn, user).await
    }

    async fn quotas(&self, page: PageRequest) -> Result<Page<QuotaUsage>> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM ipam_user_quotas").fetch_one(&self.pool).await.map_err(db)?;
        let mut qb =
            QueryBuilder::<Sqlite>::new(format!("SELECT {QUOTA_COLUMNS} FROM ipam_user_quotas ORDER BY user_id"));
        push_page(&mut qb, page);
        let rows: Vec<QuotaRow> = qb.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        let items = rows.into_iter().map(QuotaUsage::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total(count), request: page })
    }

    async fn update_quota(
        &self,
        actor: &Actor,
        user: &UserId,
        patch: &QuotaPatch,
        now: DateTime<Utc>,
    ) -> Result<QuotaUsage> {
        let mut tx = self.write().await?;
        let mut usage = load(&mut tx, user).await?;
        let before = usage.snapshot();
        let changes = usage.apply(patch);
        if changes.is_empty() {
            return Ok(usage);
        }
        sqlx::query(
            "INSERT INTO ipam_user_quotas (user_id, region_quota, host_quota, region_count, host_count, last_updated)
             VALUES (?1, ?2, ?3, 0, 0, ?4)
             ON CONFLICT (user_id) DO UPDATE SET region_quota = ?2, host_quota = ?3, last_updated = ?4",
        )
        .bind(user.as_str())
        .bind(usage.region_quota.map(i64::from))
        .bind(usage.host_quota.map(i64::from))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_audit(&mut tx, &AuditEvent::quota(user, actor, before, changes, now)).await?;
        tx.commit().await.map_err(db)?;
        usage.last_updated = Some(now);
        Ok(usage)
    }
}
