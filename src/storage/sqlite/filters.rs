//! Translation of the backend-neutral filters into SQL conditions (always bound parameters).

use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, FromRow, QueryBuilder, Sqlite, SqlitePool};

use super::errors::db;
use super::rows::ts;
use crate::domain::{OctetRange, Page, PageRequest, TagFilter, UserId};
use crate::error::{IpamError, Result};
use crate::storage::{AuditFilter, HostFilter, RegionFilter, TimeRange};

fn push_tags(qb: &mut QueryBuilder<Sqlite>, tags: &TagFilter) {
    for (key, value) in tags.conditions() {
        // Keys are restricted to [A-Za-z0-9_-], so the quoted JSON path is always well-formed.
        qb.push(" AND json_extract(tags, ").push_bind(format!("$.\"{key}\"")).push(") = ").push_bind(value.clone());
    }
}

fn push_time(qb: &mut QueryBuilder<Sqlite>, column: &str, range: &TimeRange) {
    if let Some(from) = range.from {
        qb.push(format!(" AND {column} >= ")).push_bind(ts(from));
    }
    if let Some(to) = range.to {
        qb.push(format!(" AND {column} <= ")).push_bind(ts(to));
    }
}

fn push_range(qb: &mut QueryBuilder<Sqlite>, r: &OctetRange, with_z: bool) {
    qb.push(" AND x_octet BETWEEN ").push_bind(i64::from(r.x.0)).push(" AND ").push_bind(i64::from(r.x.1));
    qb.push(" AND y_octet BETWEEN ").push_bind(i64::from(r.y.0)).push(" AND ").push_bind(i64::from(r.y.1));
    if with_z {
        qb.push(" AND z_octet BETWEEN ").push_bind(i64::from(r.z.0)).push(" AND ").push_bind(i64::from(r.z.1));
    }
}

/// ` WHERE …` for regions of `user` matching `f`.
pub(super) fn push_region_where(qb: &mut QueryBuilder<Sqlite>, user: &UserId, f: &RegionFilter) {
    qb.push(" WHERE user_id = ").push_bind(user.to_string());
    if let Some(codes) = &f.country_codes {
        if codes.is_empty() {
            qb.push(" AND 0");
        } else {
            qb.push(" AND country_code IN (");
            let mut list = qb.separated(", ");
            for c in codes {
                list.push_bind(c.to_string());
            }
            qb.push(")");
        }
    }
    if let Some(status) = f.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(owner) = &f.owner {
        qb.push(" AND (owner = ").push_bind(owner.to_string()).push(" OR owner_id = ").push_bind(owner.to_string());
        qb.push(")");
    }
    if let Some(needle) = &f.name_contains {
        qb.push(" AND instr(name_key, ").push_bind(needle.to_string()).push(") > 0");
    }
    push_tags(qb, &f.tags);
    push_time(qb, "created_at", &f.created);
    if let Some(r) = &f.within {
        push_range(qb, r, false);
    }
}

/// ` WHERE …` for hosts of `user` matching `f`.
pub(super) fn push_host_where(qb: &mut QueryBuilder<Sqlite>, user: &UserId, f: &HostFilter) {
    qb.push(" WHERE user_id = ").push_bind(user.to_string());
    if let Some(region) = &f.region_id {
        qb.push(" AND region_id = ").push_bind(region.to_string());
    }
    if let Some(ranges) = &f.x_ranges {
        if ranges.is_empty() {
            qb.push(" AND 0");
        } else {
            qb.push(" AND (");
            for (i, (lo, hi)) in ranges.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push("x_octet BETWEEN ").push_bind(i64::from(*lo)).push(" AND ").push_bind(i64::from(*hi));
            }
            qb.push(")");
        }
    }
    if let Some(needle) = &f.region_name_contains {
        qb.push(" AND region_id IN (SELECT region_id FROM ipam_regions WHERE user_id = ")
            .push_bind(user.to_string())
            .push(" AND instr(name_key, ")
            .push_bind(needle.to_string())
            .push(") > 0)");
    }
    if let Some(status) = f.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(needle) = &f.hostname_contains {
        qb.push(" AND instr(hostname, ").push_bind(needle.to_string()).push(") > 0");
    }
    if let Some(device) = f.device_type {
        qb.push(" AND device_type = ").push_bind(device.as_str());
    }
    if let Some(owner) = &f.owner {
        qb.push(" AND (owner = ").push_bind(owner.to_string()).push(" OR owner_id = ").push_bind(owner.to_string());
        qb.push(")");
    }
    push_tags(qb, &f.tags);
    push_time(qb, "created_at", &f.created);
    if let Some(r) = &f.within {
        push_range(qb, r, true);
    }
}

/// ` WHERE …` for audit events of `user` matching `f`.
pub(super) fn push_audit_where(qb: &mut QueryBuilder<Sqlite>, user: &UserId, f: &AuditFilter) {
    qb.push(" WHERE user_id = ").push_bind(user.to_string());
    if let Some(action) = f.action {
        qb.push(" AND action_type = ").push_bind(action.as_str());
    }
    if let Some(kind) = f.resource_type {
        qb.push(" AND resource_type = ").push_bind(kind.as_str());
    }
    if let Some(id) = &f.resource_id {
        qb.push(" AND resource_id = ").push_bind(id.clone());
    }
    if let Some(r) = &f.within {
        // Region events (no Z) match when their block overlaps; host events when inside.
        qb.push(" AND x_octet IS NOT NULL");
        push_range(qb, r, false);
        qb.push(" AND (z_octet IS NULL OR z_octet BETWEEN ")
            .push_bind(i64::from(r.z.0))
            .push(" AND ")
            .push_bind(i64::from(r.z.1))
            .push(")");
    }
    push_time(qb, "timestamp", &f.time);
}

/// ` LIMIT … OFFSET …`.
pub(super) fn push_page(qb: &mut QueryBuilder<Sqlite>, page: PageRequest) {
    qb.push(" LIMIT ")
        .push_bind(i64::try_from(page.limit()).unwrap_or(i64::MAX))
        .push(" OFFSET ")
        .push_bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
}

/// Reads a `COUNT(*)` result.
pub(super) fn total(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A page of `user`'s rows of `table` (selecting `columns`), newest first (`created_at`, then
/// `id_column`), with the real total: the list every per-user collection without filters has.
pub(super) async fn user_page<R, T>(
    pool: &SqlitePool,
    (table, columns, id_column): (&'static str, &'static str, &'static str),
    user: &UserId,
    page: PageRequest,
) -> Result<Page<T>>
where
    R: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
    T: TryFrom<R, Error = IpamError>,
{
    // Only static table and column names are formatted in; the values are bound.
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE user_id = ?1")))
        .bind(user.as_str())
        .fetch_one(pool)
        .await
        .map_err(db)?;
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE user_id = ?1 ORDER BY created_at DESC, {id_column} DESC LIMIT ?2 OFFSET ?3"
    );
    let rows: Vec<R> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(user.as_str())
        .bind(i64::try_from(page.limit()).unwrap_or(i64::MAX))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let items = rows.into_iter().map(T::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total: total(n), request: page })
}
