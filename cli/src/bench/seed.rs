//! `ipam bench seed`: writes a [`plan`](super::plan) into an empty SQLite store, fast.
//!
//! Rows go in with plain SQL against the documented schema (`migrations/sqlite`), many rows per
//! statement and one transaction per user, with `synchronous=OFF` on the seeding connection only
//! (a crash mid-seed leaves a store to delete, not one to trust). Every row is built from the
//! domain's own types (`Region`, `Host`, `AuditEvent::region/host`), so the audit trail and the
//! snapshots look exactly like the service's. The derived state (host and block bitmaps, host
//! counts, quota counters, `ipam_user_stats`) is written from the same plan in the same
//! transaction; `ipam repair` finds nothing to fix afterwards.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use ipam_core::auth::{Actor, Permission, Permissions};
use ipam_core::domain::country::HOSTS_PER_REGION;
use ipam_core::domain::{
    AuditAction, AuditEvent, CountryCatalog, CountryCode, Description, Host, HostDetails, HostId, HostStatus, Hostname,
    OwnerLabel, QuotaDefaults, Region, RegionId, RegionName, RegionStatus, SlotMap, Tags, UserId, Username,
};
use ipam_core::storage::sqlite::SqliteStore;
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Sqlite, SqliteConnection};

use super::plan::{Allocation, SeedSpec, UserPlan, plan, timeline};

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
    let mut total = Seeded::default();
    for user in &plans {
        let written = seed_user(&mut conn, user, &catalog, quota, now).await?;
        total.users += 1;
        total.regions += written.regions;
        total.hosts += written.hosts;
        total.audit_records += written.audit_records;
        if plans.len() >= 10 && (user.index + 1) % (plans.len() as u32 / 10) == 0 {
            eprintln!("  {} users, {} hosts ({:.0?})", total.users, total.hosts, started.elapsed());
        }
    }
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
async fn seed_user(
    conn: &mut SqliteConnection,
    user: &UserPlan,
    catalog: &CountryCatalog,
    quota: QuotaDefaults,
    now: DateTime<Utc>,
) -> anyhow::Result<Seeded> {
    let uid = UserId::from_stored(user.user_id());
    let actor = Actor {
        user_id: uid.clone(),
        username: Username::from_stored(user.user_id()),
        permissions: Permissions::of(&[Permission::Admin]),
    };
    let mut regions: Vec<Region> = Vec::with_capacity(user.regions.len());
    let mut hosts: Vec<Host> = Vec::new();
    let mut audit: Vec<AuditEvent> = Vec::new();
    for (at, allocation) in timeline(user, now) {
        match allocation {
            Allocation::Region(i) => {
                let r = region(&actor, &user.regions[i], catalog, i, at)?;
                audit.push(AuditEvent::region(AuditAction::Create, &r, &actor, None, vec![], at));
                regions.push(r);
            }
            Allocation::Host(i, z) => {
                // Regions are created before their hosts, so the region is already built; find
                // it by block, because `regions` is in creation order, which is the plan's order.
                let h = host(&actor, &regions[i], z, at)?;
                audit.push(AuditEvent::host(AuditAction::Create, &h, &actor, None, vec![], at));
                hosts.push(h);
            }
        }
    }
    let mut tx = conn.begin().await?;
    insert_regions(&mut tx, &regions, user).await?;
    insert_hosts(&mut tx, &hosts).await?;
    insert_audit(&mut tx, &audit).await?;
    insert_derived(&mut tx, &uid, user, quota, audit.last().map_or(now, |e| e.timestamp), audit.len()).await?;
    tx.commit().await?;
    Ok(Seeded { users: 1, regions: regions.len() as u64, hosts: hosts.len() as u64, audit_records: audit.len() as u64 })
}

/// The `i`-th region of a user, as the service would have created it (no hosts yet).
fn region(
    actor: &Actor,
    r: &super::plan::RegionPlan,
    catalog: &CountryCatalog,
    i: usize,
    at: DateTime<Utc>,
) -> anyhow::Result<Region> {
    let country = catalog.find(&r.country).context("planned country is in the catalog")?;
    let name = format!("{}-{:05}", country.code.as_str().to_lowercase(), i + 1);
    Ok(Region {
        id: RegionId::generate(),
        user_id: actor.user_id.clone(),
        owner_id: actor.user_id.clone(),
        owner: OwnerLabel::from_stored(actor.username.to_string()),
        country_code: CountryCode::from_stored(country.code.to_string()),
        x: r.x,
        y: r.y,
        name: RegionName::parse(&name).map_err(|e| anyhow::anyhow!("region name {name}: {e}"))?,
        description: Description::from_stored(String::new()),
        status: RegionStatus::Active,
        tags: Tags::default(),
        allocated_hosts: 0,
        created_at: at,
        updated_at: at,
        created_by: actor.user_id.clone(),
        updated_by: actor.user_id.clone(),
    })
}

/// Host Z of `region`, as the service would have created it.
fn host(actor: &Actor, region: &Region, z: u8, at: DateTime<Utc>) -> anyhow::Result<Host> {
    let name = format!("host-{:03}", z);
    Ok(Host {
        id: HostId::generate(),
        user_id: actor.user_id.clone(),
        region_id: region.id.clone(),
        x: region.x,
        y: region.y,
        z,
        hostname: Hostname::parse(&name).map_err(|e| anyhow::anyhow!("hostname {name}: {e}"))?,
        details: HostDetails::default(),
        owner: OwnerLabel::from_stored(actor.username.to_string()),
        owner_id: actor.user_id.clone(),
        status: HostStatus::Active,
        tags: Tags::default(),
        created_at: at,
        updated_at: at,
        created_by: actor.user_id.clone(),
        updated_by: actor.user_id.clone(),
    })
}

/// Stored time: fixed-width RFC 3339 UTC with microseconds, so text order is time order (the
/// format the schema documents in `0001_core_ipam.up.sql`).
fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The regions with their final host bitmaps and counts (the plan says how full each one is).
async fn insert_regions(conn: &mut SqliteConnection, regions: &[Region], user: &UserPlan) -> anyhow::Result<()> {
    for (n, chunk) in regions.chunks(ROWS_PER_STATEMENT).enumerate() {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ipam_regions (region_id, user_id, owner_id, owner, country_code, x_octet, y_octet,
                 region_name, name_key, description, status, tags, host_slots, allocated_hosts, created_at,
                 updated_at, created_by, updated_by) ",
        );
        qb.push_values(chunk.iter().enumerate(), |mut b, (j, r)| {
            let held = user.regions[n * ROWS_PER_STATEMENT + j].hosts;
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
                .push_bind(i64::from(held.min(HOSTS_PER_REGION)))
                .push_bind(ts(r.created_at))
                .push_bind(ts(r.updated_at))
                .push_bind(r.created_by.to_string())
                .push_bind(r.updated_by.to_string());
        });
        qb.build().execute(&mut *conn).await.context("inserting regions")?;
    }
    Ok(())
}

async fn insert_hosts(conn: &mut SqliteConnection, hosts: &[Host]) -> anyhow::Result<()> {
    for chunk in hosts.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ipam_hosts (host_id, user_id, region_id, x_octet, y_octet, z_octet, hostname, owner,
                 owner_id, status, tags, created_at, updated_at, created_by, updated_by) ",
        );
        qb.push_values(chunk, |mut b, h| {
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
                .push_bind(ts(h.created_at))
                .push_bind(ts(h.updated_at))
                .push_bind(h.created_by.to_string())
                .push_bind(h.updated_by.to_string());
        });
        qb.build().execute(&mut *conn).await.context("inserting hosts")?;
    }
    Ok(())
}

async fn insert_audit(conn: &mut SqliteConnection, events: &[AuditEvent]) -> anyhow::Result<()> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ipam_audit_history (audit_id, user_id, actor_id, actor_username, action_type,
                 resource_type, resource_id, ip_address, cidr, x_octet, y_octet, z_octet, snapshot, changes,
                 reason, metadata, timestamp) ",
        );
        qb.push_values(chunk, |mut b, e| {
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
                .push_bind(e.snapshot.to_string())
                .push_bind("[]")
                .push_bind(e.reason.clone())
                .push_bind(e.metadata.to_string())
                .push_bind(ts(e.timestamp));
        });
        qb.build().execute(&mut *conn).await.context("inserting audit records")?;
    }
    Ok(())
}

/// Block bitmaps, the quota row (raised explicitly above the default when needed) and the
/// statistics counters (the data version counts the audit records, as migration 8 does).
async fn insert_derived(
    conn: &mut SqliteConnection,
    uid: &UserId,
    user: &UserPlan,
    quota: QuotaDefaults,
    last: DateTime<Utc>,
    audit_records: usize,
) -> anyhow::Result<()> {
    let mut blocks: BTreeMap<u8, SlotMap> = BTreeMap::new();
    for r in &user.regions {
        blocks.entry(r.x).or_default().set(r.y);
    }
    for (x, ys) in &blocks {
        sqlx::query("INSERT INTO ipam_region_slots (user_id, x_octet, y_slots, used_count) VALUES (?1, ?2, ?3, ?4)")
            .bind(uid.as_str())
            .bind(i64::from(*x))
            .bind(ys.to_bytes().to_vec())
            .bind(i64::from(ys.count()))
            .execute(&mut *conn)
            .await?;
    }
    let regions = i64::try_from(user.regions.len())?;
    let hosts = i64::try_from(user.hosts())?;
    sqlx::query(
        "INSERT INTO ipam_user_quotas (user_id, region_quota, host_quota, region_count, host_count, last_updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(uid.as_str())
    .bind(regions.max(i64::from(quota.regions)))
    .bind(hosts.max(i64::from(quota.hosts)))
    .bind(regions)
    .bind(hosts)
    .bind(ts(last))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO ipam_user_stats (user_id, data_version, retired_regions, released_hosts, updated_at)
         VALUES (?1, ?2, 0, 0, ?3)",
    )
    .bind(uid.as_str())
    .bind(i64::try_from(audit_records)?)
    .bind(ts(last))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
