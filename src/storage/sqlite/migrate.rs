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

/// Rolls back the most recent migration in force (its tables are dropped), recording it so it
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

/// Compares the live tables and indexes with every migration's collections.
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
        reports.push(compare(spec, exists.is_some(), &live, |_, _| true));
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
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStore;

    const NEW_TABLES: [&str; 3] = ["ipam_notifications", "ipam_notification_rules", "ipam_bulk_jobs"];

    async fn store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("ipam.db").display());
        (SqliteStore::connect(&url, 1).await.unwrap(), dir)
    }

    async fn exec(pool: &SqlitePool, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await.map(drop)
    }

    #[tokio::test]
    async fn migration_6_creates_verifies_and_rolls_back_notifications_rules_and_bulk_jobs() {
        let (store, _dir) = store().await;
        let pool = store.pool();
        let applied = apply_pending(pool).await.unwrap();
        assert_eq!(
            applied.last().map(|a| (a.migration.version, a.migration.name)),
            Some((6, "notifications_and_bulk_jobs"))
        );
        let reports = verify_indexes(pool).await.unwrap();
        for table in NEW_TABLES {
            let r = reports.iter().find(|r| r.collection == table).unwrap();
            assert!(r.is_ok() && r.extra.is_empty() && r.expected > 0, "{r:?}");
        }

        let rolled = rollback_latest(pool).await.unwrap().unwrap();
        assert_eq!(rolled.version, 6);
        let reports = verify_indexes(pool).await.unwrap();
        for r in &reports {
            assert_eq!(r.exists, !NEW_TABLES.contains(&r.collection), "{r:?}");
        }
        let states = status(pool).await.unwrap();
        assert!(states.iter().all(|s| s.applied_at.is_some() == (s.migration.version != 6)));

        let again = apply_pending(pool).await.unwrap();
        assert_eq!(again.iter().map(|a| a.migration.version).collect::<Vec<_>>(), [6]);
        assert!(verify_indexes(pool).await.unwrap().iter().all(|r| r.is_ok()));
    }

    #[tokio::test]
    async fn the_new_tables_accept_well_formed_rows_and_refuse_out_of_range_values() {
        let (store, _dir) = store().await;
        let pool = store.pool();
        apply_pending(pool).await.unwrap();
        let at = "'2026-01-31T12:00:00.000000Z'";
        let later = "'2026-05-01T12:00:00.000000Z'";

        let notification = |id: &str, severity: &str, is_read: &str| {
            format!(
                "INSERT INTO ipam_notifications (notification_id, user_id, notification_type, severity, message, \
                 resource_type, resource_id, resource_link, is_read, read_at, created_at, expires_at) \
                 VALUES ('{id}', 'u1', 'capacity_warning', '{severity}', 'USA at 85%', 'country', 'USA', NULL, \
                 {is_read}, NULL, {at}, {later})"
            )
        };
        exec(pool, &notification("n1", "warning", "0")).await.unwrap();
        assert!(exec(pool, &notification("n2", "urgent", "0")).await.is_err(), "severity outside the enum");
        assert!(exec(pool, &notification("n3", "info", "2")).await.is_err(), "is_read is a boolean");

        let rule = |id: &str, name: &str| {
            format!(
                "INSERT INTO ipam_notification_rules (rule_id, user_id, rule_name, conditions, created_at, updated_at) \
                 VALUES ('{id}', 'u1', '{name}', '{{\"utilization_threshold\": 80}}', {at}, {at})"
            )
        };
        exec(pool, &rule("r1", "high usage")).await.unwrap();
        let defaults: (String, i64, Option<String>) = sqlx::query_as(
            "SELECT notification_channels, is_active, last_triggered FROM ipam_notification_rules WHERE rule_id = 'r1'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(defaults, (r#"["in_app"]"#.to_owned(), 1, None));
        assert!(exec(pool, &rule("r2", &"x".repeat(101))).await.is_err(), "rule_name longer than 100");
        assert!(exec(pool, &rule("r3", "")).await.is_err(), "empty rule_name");

        let job = |id: &str, status: &str, failed: i64| {
            format!(
                "INSERT INTO ipam_bulk_jobs (job_id, user_id, operation_type, total_items, failed_items, status, \
                 created_at) VALUES ('{id}', 'u1', 'bulk_tag_update', 200, {failed}, '{status}', {at})"
            )
        };
        exec(pool, &job("j1", "pending", 0)).await.unwrap();
        let fresh: (i64, i64, String, Option<String>) =
            sqlx::query_as("SELECT processed_items, successful_items, results, completed_at FROM ipam_bulk_jobs")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(fresh, (0, 0, "[]".to_owned(), None));
        assert!(exec(pool, &job("j1", "pending", 0)).await.is_err(), "job_id is unique");
        assert!(exec(pool, &job("j2", "queued", 0)).await.is_err(), "status outside the enum");
        assert!(exec(pool, &job("j3", "pending", -1)).await.is_err(), "negative counter");
    }
}
