//! `ipam bench seed`: writes a [`plan`](super::plan) into an empty SQLite store, fast.
//!
//! Rows go in with plain SQL against the documented schema (`migrations/sqlite`), many rows per
//! statement and one transaction per user, with `synchronous=OFF` on the seeding connection only
//! (a crash mid-seed leaves a store to delete, not one to trust). One thread builds a user's rows
//! ([`UserRows`]) while the previous user's are written. The derived state (host and block
//! bitmaps, host counts, quota counters, `ipam_user_stats`) is written from the same plan in the
//! same transaction; `ipam repair` finds nothing to fix afterwards.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use ipam_core::domain::country::HOSTS_PER_REGION;
use ipam_core::domain::{CountryCatalog, QuotaDefaults, SlotMap};
use ipam_core::storage::sqlite::SqliteStore;
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Sqlite, SqliteConnection};

use super::plan::{SeedSpec, plan};
use super::rows::{AuditRow, UserRows};

/// Rows per multi-row INSERT: 1,000 × 21 host columns stays under SQLite's 32,766 variables.
const ROWS_PER_STATEMENT: usize = 1_000;

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seeded {
    /// Users.
    pub(crate) users: u64,
    /// Regions.
    pub(crate) regions: u64,
    /// Hosts.
    pub(crate) hosts: u64,
    /// Audit records (one per allocation).
    pub(crate) audit_records: u64,
}

/// Seeds the empty SQLite store at `url` (migrating it first) with `spec`; `quota` is the
/// configured default, raised explicitly for any user who holds more.
pub(crate) async fn seed(url: &str, spec: &SeedSpec, quota: QuotaDefaults) -> anyhow::Result<Seeded> {
    let catalog = CountryCatalog::seed();
    let plans = plan(spec, &catalog).map_err(|e| anyhow::anyhow!(e))?;
    let store = SqliteStore::connect(url, 1).await?;
    store.prepare().await.context("cannot migrate the store")?;
    let mut conn = store.pool().acquire().await?;
    ensure_empty(&mut conn).await?;
    // Seeding only, on this connection only: the service's connections keep their own setting.
    sqlx::raw_sql("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY")
        .execute(&mut *conn)
        .await?;
    let now = Utc::now();
    let started = Instant::now();
    let users = plans.len();
    // Building a user's rows (ids, JSON, times) overlaps with writing the previous user's.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<anyhow::Result<UserRows>>(2);
    let builder = tokio::task::spawn_blocking(move || {
        for user in plans {
            if tx.blocking_send(UserRows::build(user, &catalog, now)).is_err() {
                break;
            }
        }
    });
    let mut total = Seeded::default();
    while let Some(rows) = rx.recv().await {
        let rows = rows?;
        write_user(&mut conn, &rows, quota).await?;
        total.users += 1;
        total.regions += rows.regions.len() as u64;
        total.hosts += rows.hosts.len() as u64;
        total.audit_records += rows.audit.len() as u64;
        if users >= 10 && total.users % (users as u64 / 10) == 0 {
            eprintln!("  {} users, {} hosts ({:.0?})", total.users, total.hosts, started.elapsed());
        }
    }
    builder.await?;
    sqlx::raw_sql("PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *conn).await?;
    drop(conn);
    store.pool().close().await;
    Ok(total)
}

/// Refuses a store that holds regions, hosts, audit records or quota rows.
async fn ensure_empty(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    for table in ["ipam_regions", "ipam_hosts", "ipam_audit_history", "ipam_user_quotas"] {
        let n: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(&mut *conn).await?;
        anyhow::ensure!(
            n == 0,
            "the store is not empty ({table} holds {n} rows): bench seed only writes into a new, empty database"
        );
    }
    Ok(())
}

/// One user's rows, derived state included, in one transaction.
async fn write_user(conn: &mut SqliteConnection, rows: &UserRows, quota: QuotaDefaults) -> anyhow::Result<()> {
    let mut tx = conn.begin().await?;
    insert_regions(&mut tx, rows).await?;
    insert_hosts(&mut tx, rows).await?;
    insert_audit(&mut tx, &rows.audit).await?;
    insert_derived(&mut tx, rows, quota).await?;
    tx.commit().await?;
    Ok(())
}

/// The regions with their final host bitmaps and counts (the plan says how full each one is).
async fn insert_regions(conn: &mut SqliteConnection, rows: &UserRows) -> anyhow::Result<()> {
    let planned = rows.regions.iter().zip(&rows.plan.regions).collect::<Vec<_>>();
    for chunk in planned.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ipam_regions (region_id, user_id, owner_id, owner, country_code, x_octet, y_octet,
                 region_name, name_key, description, status, tags, host_slots, allocated_hosts, created_at,
                 updated_at, created_by, updated_by) ",
        );
        qb.push_values(chunk, |mut b, ((r, at), plan)| {
            let held = plan.hosts.min(HOSTS_PER_REGION);
            let mut slots = SlotMap::empty();
            (1..=held).for_each(|z| slots.set(u8::try_from(z).unwrap_or(u8::MAX)));
            b.push_bind(r.id.to_string())
                .push_bind(r.user_id.to_string())
                .push_bind(r.owner_id.to_string())
                .push_bind(r.owner.to_string())
                .push_bind(r.country_code.to_string())
                .push_bind(i64::from(r.x))
                .push_bind(i64::from(r.y))
                .push_bind(r.name.to_string())
                .push_bind(r.name.key())
                .push_bind(r.description.to_string())
                .push_bind(r.status.as_str())
                .push_bind("{}")
                .push_bind(slots.to_bytes().to_vec())
                .push_bind(i64::from(held))
                .push_bind(at.clone())
                .push_bind(at.clone())
                .push_bind(r.created_by.to_string())
                .push_bind(r.updated_by.to_string());
        });
        qb.build().execute(&mut *conn).await.context("inserting regions")?;
    }
    Ok(())
}

async fn insert_hosts(conn: &mut SqliteConnection, rows: &UserRows) -> anyhow::Result<()> {
    for chunk in rows.hosts.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ipam_hosts (host_id, user_id, region_id, x_octet, y_octet, z_octet, hostname, owner,
                 owner_id, status, tags, created_at, updated_at, created_by, updated_by) ",
        );
        qb.push_values(chunk, |mut b, (h, at)| {
            b.push_bind(h.id.to_string())
                .push_bind(h.user_id.to_string())
                .push_bind(h.region_id.to_string())
                .push_bind(i64::from(h.x))
                .push_bind(i64::from(h.y))
                .push_bind(i64::from(h.z))
                .push_bind(h.hostname.to_string())
                .push_bind(h.owner.to_string())
                .push_bind(h.owner_id.to_string())
                .push_bind(h.status.as_str())
                .push_bind("{}")
                .push_bind(at.clone())
                .push_bind(at.clone())
                .push_bind(h.created_by.to_string())
                .push_bind(h.updated_by.to_string());
        });
        qb.build().execute(&mut *conn).await.context("inserting hosts")?;
    }
    Ok(())
}

async fn insert_audit(conn: &mut SqliteConnection, audit: &[AuditRow]) -> anyhow::Result<()> {
    for chunk in audit.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ipam_audit_history (audit_id, user_id, actor_id, actor_username, action_type,
                 resource_type, resource_id, ip_address, cidr, x_octet, y_octet, z_octet, snapshot, changes,
                 reason, metadata, timestamp) ",
        );
        qb.push_values(chunk, |mut b, row| {
            let e = &row.event;
            b.push_bind(e.id.to_string())
                .push_bind(e.user_id.to_string())
                .push_bind(e.actor_id.to_string())
                .push_bind(e.actor_username.to_string())
                .push_bind(e.action.as_str())
                .push_bind(e.resource_type.as_str())
                .push_bind(e.resource_id.clone())
                .push_bind(e.ip_address.clone())
                .push_bind(e.cidr.clone())
                .push_bind(e.x.map(i64::from))
                .push_bind(e.y.map(i64::from))
                .push_bind(e.z.map(i64::from))
                .push_bind(row.snapshot.clone())
                .push_bind("[]")
                .push_bind(e.reason.clone())
                .push_bind(row.metadata.clone())
                .push_bind(row.timestamp.clone());
        });
        qb.build().execute(&mut *conn).await.context("inserting audit records")?;
    }
    Ok(())
}

/// Block bitmaps, the quota row (raised explicitly above the default when needed) and the
/// statistics counters (the data version counts the audit records, as migration 8 does).
async fn insert_derived(conn: &mut SqliteConnection, rows: &UserRows, quota: QuotaDefaults) -> anyhow::Result<()> {
    let user = rows.user.as_str();
    let last = rows.audit.last().map_or_else(|| super::rows::ts(Utc::now()), |a| a.timestamp.clone());
    let mut blocks: BTreeMap<u8, SlotMap> = BTreeMap::new();
    for r in &rows.plan.regions {
        blocks.entry(r.x).or_default().set(r.y);
    }
    for (x, ys) in &blocks {
        sqlx::query("INSERT INTO ipam_region_slots (user_id, x_octet, y_slots, used_count) VALUES (?1, ?2, ?3, ?4)")
            .bind(user)
            .bind(i64::from(*x))
            .bind(ys.to_bytes().to_vec())
            .bind(i64::from(ys.count()))
            .execute(&mut *conn)
            .await?;
    }
    let regions = i64::try_from(rows.plan.regions.len())?;
    let hosts = i64::try_from(rows.plan.hosts())?;
    sqlx::query(
        "INSERT INTO ipam_user_quotas (user_id, region_quota, host_quota, region_count, host_count, last_updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(user)
    .bind(regions.max(i64::from(quota.regions)))
    .bind(hosts.max(i64::from(quota.hosts)))
    .bind(regions)
    .bind(hosts)
    .bind(&last)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO ipam_user_stats (user_id, data_version, retired_regions, released_hosts, updated_at)
         VALUES (?1, ?2, 0, 0, ?3)",
    )
    .bind(user)
    .bind(i64::try_from(rows.audit.len())?)
    .bind(&last)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
