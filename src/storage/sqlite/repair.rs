//! `ipam repair` on SQLite: rebuild bitmaps, host counts and quota counters from the rows, and
//! the retired/released counters from the audit history.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::errors::db;
use super::rows::{slots, ts};
use crate::domain::{SlotMap, UserId};
use crate::error::Result;
use crate::storage::repair::Truth;
use crate::storage::{RepairMode, RepairReport};

fn octet(v: i64) -> u8 {
    u8::try_from(v).unwrap_or_default()
}

/// Rebuilds the derived data in one write transaction (rolled back in `Check` mode, so a check
/// reports exactly what a repair would fix).
pub(super) async fn repair(pool: &SqlitePool, now: DateTime<Utc>, mode: RepairMode) -> Result<RepairReport> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
    let regions: Vec<(String, String, i64, i64, Vec<u8>, i64)> =
        sqlx::query_as("SELECT region_id, user_id, x_octet, y_octet, host_slots, allocated_hosts FROM ipam_regions")
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
    let hosts: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT region_id, user_id, z_octet FROM ipam_hosts").fetch_all(&mut *tx).await.map_err(db)?;
    let mut truth = Truth::default();
    for (id, user, x, y, _, _) in &regions {
        truth.region(id, &UserId::from_stored(user.clone()), octet(*x), octet(*y));
    }
    for (region, user, z) in &hosts {
        truth.host(region, &UserId::from_stored(user.clone()), octet(*z));
    }
    let mut report = RepairReport::default();
    // Users whose derived data changed: their data version moves, so that no cached result
    // computed from the wrong figures is served again.
    let mut touched: BTreeSet<UserId> = BTreeSet::new();

    for (id, user, _, _, bitmap, allocated) in &regions {
        let want = truth.hosts.get(id).copied().unwrap_or_default();
        if slots(bitmap)? != want || *allocated != i64::from(want.count()) {
            sqlx::query("UPDATE ipam_regions SET host_slots = ?1, allocated_hosts = ?2 WHERE region_id = ?3")
                .bind(want.to_bytes().to_vec())
                .bind(i64::from(want.count()))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            report.regions_fixed += 1;
            touched.insert(UserId::from_stored(user.clone()));
        }
    }

    let stored: Vec<(String, i64, Vec<u8>, i64)> =
        sqlx::query_as("SELECT user_id, x_octet, y_slots, used_count FROM ipam_region_slots")
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
    let mut stored: BTreeMap<(UserId, u8), (SlotMap, i64)> = stored
        .into_iter()
        .map(|(u, x, bytes, n)| Ok(((UserId::from_stored(u), octet(x)), (slots(&bytes)?, n))))
        .collect::<Result<_>>()?;
    for ((user, x), want) in &truth.blocks {
        let have = stored.remove(&(user.clone(), *x));
        if have != Some((*want, i64::from(want.count()))) {
            sqlx::query(
                "INSERT INTO ipam_region_slots (user_id, x_octet, y_slots, used_count) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, x_octet) DO UPDATE SET y_slots = ?3, used_count = ?4",
            )
            .bind(user.as_str())
            .bind(i64::from(*x))
            .bind(want.to_bytes().to_vec())
            .bind(i64::from(want.count()))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            report.block_maps_fixed += 1;
            touched.insert(user.clone());
        }
    }
    for (user, x) in stored.into_keys() {
        sqlx::query("DELETE FROM ipam_region_slots WHERE user_id = ?1 AND x_octet = ?2")
            .bind(user.as_str())
            .bind(i64::from(x))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        report.block_maps_fixed += 1;
        touched.insert(user);
    }

    let quotas: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT user_id, region_count, host_count FROM ipam_user_quotas")
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
    let mut users: BTreeMap<UserId, (i64, i64)> =
        quotas.into_iter().map(|(u, r, h)| (UserId::from_stored(u), (r, h))).collect();
    for user in truth.counts.keys() {
        users.entry(user.clone()).or_insert((-1, -1));
    }
    for (user, have) in users {
        let (r, h) = truth.counts.get(&user).copied().unwrap_or_default();
        if have != (i64::from(r), i64::from(h)) {
            sqlx::query(
                "INSERT INTO ipam_user_quotas (user_id, region_count, host_count, last_updated) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id) DO UPDATE SET region_count = ?2, host_count = ?3, last_updated = ?4",
            )
            .bind(user.as_str())
            .bind(i64::from(r))
            .bind(i64::from(h))
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            report.quotas_fixed += 1;
            touched.insert(user);
        }
    }

    let counters = counters_from_history(&mut tx).await?;
    let stored: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT user_id, retired_regions, released_hosts FROM ipam_user_stats")
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
    let stored: BTreeMap<UserId, (i64, i64)> =
        stored.into_iter().map(|(u, r, h)| (UserId::from_stored(u), (r, h))).collect();
    let users: BTreeSet<&UserId> = counters.keys().chain(stored.keys()).collect();
    for user in users {
        let want = counters.get(user).copied().unwrap_or_default();
        if stored.get(user).copied().unwrap_or_default() != want {
            sqlx::query(
                "INSERT INTO ipam_user_stats (user_id, data_version, retired_regions, released_hosts, updated_at)
                 VALUES (?1, 0, ?2, ?3, ?4)
                 ON CONFLICT (user_id) DO UPDATE SET retired_regions = ?2, released_hosts = ?3, updated_at = ?4",
            )
            .bind(user.as_str())
            .bind(want.0)
            .bind(want.1)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            report.counters_fixed += 1;
            touched.insert(user.clone());
        }
    }
    for user in &touched {
        sqlx::query(
            "INSERT INTO ipam_user_stats (user_id, data_version, updated_at) VALUES (?1, 1, ?2)
             ON CONFLICT (user_id) DO UPDATE SET data_version = data_version + 1, updated_at = ?2",
        )
        .bind(user.as_str())
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    match mode {
        RepairMode::Apply => tx.commit().await.map_err(db)?,
        RepairMode::Check => tx.rollback().await.map_err(db)?,
    }
    Ok(report)
}

/// Each user's retired regions and released hosts, counted from the audit history (the same
/// rule as `StatsDelta::of`); users with neither are left out.
async fn counters_from_history(conn: &mut sqlx::SqliteConnection) -> Result<BTreeMap<UserId, (i64, i64)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT user_id,
                SUM(CASE WHEN resource_type = 'region' AND action_type = 'retire' THEN 1 ELSE 0 END),
                SUM(CASE WHEN resource_type = 'host' AND action_type IN ('release', 'retire') THEN 1 ELSE 0 END)
         FROM ipam_audit_history
         WHERE action_type IN ('release', 'retire')
         GROUP BY user_id",
    )
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(rows.into_iter().map(|(u, r, h)| (UserId::from_stored(u), (r, h))).filter(|(_, c)| *c != (0, 0)).collect())
}
