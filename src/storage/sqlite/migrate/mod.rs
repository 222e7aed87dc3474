//! Applies the versioned schema from `ipam-migrations` and records each step in
//! `ipam_migrations`. Safe to run from several processes at once: each migration is checked and
//! applied inside one `BEGIN IMMEDIATE` transaction.

use std::time::Instant;

use chrono::Utc;
use ipam_migrations::{HISTORY_TABLE, MIGRATIONS};

pub use crate::storage::migrations::{Applied, MigrationState};
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::rows::{parse_ts, ts};

const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS ipam_migrations (
    version        INTEGER PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    applied_at     TEXT,
    rolled_back_at TEXT,
    duration_ms    INTEGER NOT NULL DEFAULT 0
)";

async fn ensure_history(pool: &SqlitePool) -> anyhow::Result<()> {
    debug_assert_eq!(HISTORY_TABLE, "ipam_migrations");
    sqlx::query(CREATE_HISTORY).execute(pool).await?;
    Ok(())
}

/// Applies every migration not yet in force, oldest first.
pub async fn apply_pending(pool: &SqlitePool) -> anyhow::Result<Vec<Applied>> {
    ensure_history(pool).await?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let in_force: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM ipam_migrations WHERE version = ?1 AND applied_at IS NOT NULL AND rolled_back_at IS NULL",
        )
        .bind(i64::from(m.version))
        .fetch_optional(&mut *tx)
        .await?;
        if in_force.is_some() {
            continue;
        }
        let started = Instant::now();
        sqlx::raw_sql(AssertSqlSafe(m.sqlite_up))
            .execute(&mut *tx)
            .await
            .map_err(|e| anyhow::anyhow!("migration {} ({}) failed: {e}", m.version, m.name))?;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        sqlx::query(
            "INSERT INTO ipam_migrations (version, name, description, applied_at, rolled_back_at, duration_ms)
             VALUES (?1, ?2, ?3, ?4, NULL, ?5)
             ON CONFLICT (version) DO UPDATE SET applied_at = excluded.applied_at, rolled_back_at = NULL,
                 duration_ms = excluded.duration_ms",
        )
        .bind(i64::from(m.version))
        .bind(m.name)
        .bind(m.description)
        .bind(ts(Utc::now()))
        .bind(i64::try_from(duration_ms).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, duration_ms, "applied migration");
        applied.push(Applied { migration: *m, duration_ms });
    }
    Ok(applied)
}

/// Every known migration and whether it is in force.
pub async fn status(pool: &SqlitePool) -> anyhow::Result<Vec<MigrationState>> {
    ensure_history(pool).await?;
    let rows = sqlx::query("SELECT version, applied_at FROM ipam_migrations WHERE rolled_back_at IS NULL")
        .fetch_all(pool)
        .await?;
    let mut states = Vec::new();
    for m in MIGRATIONS {
        let applied_at = rows
            .iter()
            .find(|r| r.get::<i64, _>("version") == i64::from(m.version))
            .and_then(|r| r.get::<Option<String>, _>("applied_at"))
            .map(|t| parse_ts(&t))
            .transpose()?;
        states.push(MigrationState { migration: *m, applied_at });
    }
    Ok(states)
}

/// Rolls back the most recent migration in force with its down DDL (the tables it created are
/// dropped; its alterations of older tables are undone, their rows kept), recording it so it
/// can be applied again. `None` when nothing is applied.
pub async fn rollback_latest(pool: &SqlitePool) -> anyhow::Result<Option<ipam_migrations::Migration>> {
    let Some(state) = status(pool).await?.into_iter().rev().find(|s| s.applied_at.is_some()) else {
        return Ok(None);
    };
    let m = state.migration;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::raw_sql(AssertSqlSafe(m.sqlite_down))
        .execute(&mut *tx)
        .await
        .map_err(|e| anyhow::anyhow!("rollback of migration {} ({}) failed: {e}", m.version, m.name))?;
    sqlx::query("UPDATE ipam_migrations SET rolled_back_at = ?1 WHERE version = ?2")
        .bind(ts(Utc::now()))
        .bind(i64::from(m.version))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(m))
}

/// Compares the live tables and indexes with the latest schema (every migration's tables, with
/// the indexes later alterations added).
pub async fn verify_indexes(pool: &SqlitePool) -> anyhow::Result<Vec<crate::storage::migrations::IndexReport>> {
    use crate::storage::migrations::{LiveIndex, compare, expected_collections};
    let mut reports = Vec::new();
    for spec in expected_collections() {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
            .bind(spec.name)
            .fetch_optional(pool)
            .await?;
        // Automatic indexes (primary keys) have no SQL and are not part of the spec. SQLite has no
        // TTL: a spec's TTL index is a plain index here, so only names, keys and uniqueness count.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
        )
        .bind(spec.name)
        .fetch_all(pool)
        .await?;
        let live: Vec<LiveIndex> = rows
            .into_iter()
            .map(|(name, sql)| {
                let keys = sql.split_once('(').map(|(_, k)| k.trim_end_matches(')').to_owned()).unwrap_or_default();
                LiveIndex {
                    unique: sql.to_uppercase().starts_with("CREATE UNIQUE"),
                    name,
                    keys,
                    expire_after_secs: None,
                }
            })
            .collect();
        reports.push(compare(&spec, exists.is_some(), &live, |_, _| true));
    }
    Ok(reports)
}

#[async_trait::async_trait]
impl crate::storage::SchemaAdmin for super::SqliteStore {
    async fn prepare(&self) -> anyhow::Result<Vec<Applied>> {
        super::SqliteStore::prepare(self).await
    }

    async fn migration_status(&self) -> anyhow::Result<Vec<MigrationState>> {
        status(self.pool()).await
    }

    async fn rollback_latest(&self) -> anyhow::Result<Option<ipam_migrations::Migration>> {
        rollback_latest(self.pool()).await
    }

    async fn verify_indexes(&self) -> anyhow::Result<Vec<crate::storage::migrations::IndexReport>> {
        verify_indexes(self.pool()).await
    }
}

#[cfg(test)]
mod tests;
