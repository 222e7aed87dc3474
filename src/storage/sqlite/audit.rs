//! The audit trail: written inside each mutation's transaction, read with filters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::errors::db;
use super::filters::{push_audit_where, push_page, total};
use super::outbox::insert_event;
use super::rows::{AuditRow, ts};
use crate::domain::statistics::StatsDelta;
use crate::domain::{AuditEvent, AuditId, DomainEvent, Page, PageRequest, UserId};
use crate::error::Result;
use crate::storage::{AuditFilter, AuditStore};

const AUDIT_COLUMNS: &str = "audit_id, user_id, actor_id, actor_username, action_type, resource_type, resource_id, \
     ip_address, cidr, x_octet, y_octet, z_octet, snapshot, changes, reason, metadata, timestamp";

/// Appends an event (inside the caller's transaction), with the domain event it stands for, if
/// any, in the outbox: the change, its audit record and its event commit together or not at all.
pub(super) async fn insert_audit(conn: &mut SqliteConnection, e: &AuditEvent) -> Result<()> {
    let changes = serde_json::to_string(&e.changes).map_err(crate::error::IpamError::internal)?;
    sqlx::query(
        "INSERT INTO ipam_audit_history (audit_id, user_id, actor_id, actor_username, action_type, resource_type,
             resource_id, ip_address, cidr, x_octet, y_octet, z_octet, snapshot, changes, reason, metadata, timestamp)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )
    .bind(e.id.as_str())
    .bind(e.user_id.as_str())
    .bind(e.actor_id.as_str())
    .bind(e.actor_username.as_str())
    .bind(e.action.as_str())
    .bind(e.resource_type.as_str())
    .bind(&e.resource_id)
    .bind(&e.ip_address)
    .bind(&e.cidr)
    .bind(e.x.map(i64::from))
    .bind(e.y.map(i64::from))
    .bind(e.z.map(i64::from))
    .bind(e.snapshot.to_string())
    .bind(changes)
    .bind(&e.reason)
    .bind(e.metadata.to_string())
    .bind(ts(e.timestamp))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if let Some(event) = DomainEvent::from_audit(e) {
        insert_event(conn, &event).await?;
    }
    for delta in StatsDelta::of(std::slice::from_ref(e)) {
        add_stats(conn, &delta, e.timestamp).await?;
    }
    Ok(())
}

/// Adds a unit of work's counters to its user's row (`ipam_user_stats`), creating it.
async fn add_stats(conn: &mut SqliteConnection, d: &StatsDelta, at: DateTime<Utc>) -> Result<()> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO ipam_user_stats (user_id, data_version, retired_regions, released_hosts, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id) DO UPDATE SET data_version = data_version + excluded.data_version,
             retired_regions = retired_regions + excluded.retired_regions,
             released_hosts = released_hosts + excluded.released_hosts, updated_at = excluded.updated_at",
    )
    .bind(d.user_id.as_str())
    .bind(n(d.versions))
    .bind(n(d.retired_regions))
    .bind(n(d.released_hosts))
    .bind(ts(at))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_events(&self, user: &UserId, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEvent>> {
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM ipam_audit_history");
        push_audit_where(&mut count, user, filter);
        let n: i64 = count.build_query_scalar().fetch_one(&self.pool).await.map_err(db)?;

        let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {AUDIT_COLUMNS} FROM ipam_audit_history"));
        push_audit_where(&mut qb, user, filter);
        qb.push(" ORDER BY timestamp DESC, audit_id DESC");
        push_page(&mut qb, page);
        let rows: Vec<AuditRow> = qb.build_query_as().fetch_all(&self.pool).await.map_err(db)?;
        let items = rows.into_iter().map(AuditEvent::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total(n), request: page })
    }

    async fn audit_event(&self, user: &UserId, id: &AuditId) -> Result<Option<AuditEvent>> {
        let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {AUDIT_COLUMNS} FROM ipam_audit_history"));
        qb.push(" WHERE user_id = ").push_bind(user.to_string()).push(" AND audit_id = ").push_bind(id.to_string());
        let row: Option<AuditRow> = qb.build_query_as().fetch_optional(&self.pool).await.map_err(db)?;
        row.map(AuditEvent::try_from).transpose()
    }
}
