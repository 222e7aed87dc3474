//! Migrations on a real SQLite file: apply, verify, roll back, apply again.

use super::*;
use crate::storage::sqlite::SqliteStore;

const NEW_TABLES: [&str; 3] = ["ipam_notifications", "ipam_notification_rules", "ipam_bulk_jobs"];

/// The table migration 7 creates.
const STATE_TABLE: &str = "ipam_notification_rule_state";

/// The table migration 8 creates.
const STATS_TABLE: &str = "ipam_user_stats";

async fn store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("ipam.db").display());
    (SqliteStore::connect(&url, 1).await.unwrap(), dir)
}

/// The versions from `first` on, in order: what applying after a rollback to `first - 1` applies.
fn versions_from(first: u32) -> Vec<u32> {
    MIGRATIONS.iter().map(|m| m.version).filter(|v| *v >= first).collect()
}

/// Rolls back every applied migration newer than `version`, newest first, so a test of one
/// migration does not depend on how many came after it.
async fn rollback_after(pool: &SqlitePool, version: u32) {
    let later = MIGRATIONS.iter().filter(|m| m.version > version).count();
    for _ in 0..later {
        let rolled = rollback_latest(pool).await.unwrap().expect("a later migration is applied");
        assert!(rolled.version > version, "rolled back {} before the later ones", rolled.version);
    }
}

async fn exec(pool: &SqlitePool, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await.map(drop)
}

#[tokio::test]
async fn migration_6_creates_verifies_and_rolls_back_notifications_rules_and_bulk_jobs() {
    let (store, _dir) = store().await;
    let pool = store.pool();
    let applied = apply_pending(pool).await.unwrap();
    assert!(
        applied.iter().any(|a| (a.migration.version, a.migration.name) == (6, "notifications_and_bulk_jobs")),
        "{applied:?}"
    );
    let reports = verify_indexes(pool).await.unwrap();
    for table in NEW_TABLES {
        let r = reports.iter().find(|r| r.collection == table).unwrap();
        assert!(r.is_ok() && r.extra.is_empty() && r.expected > 0, "{r:?}");
    }

    // 7 alters two of these tables: it and every later migration go first.
    rollback_after(pool, 8).await;
    assert_eq!(rollback_latest(pool).await.unwrap().unwrap().version, 8);
    assert_eq!(rollback_latest(pool).await.unwrap().unwrap().version, 7);
    let rolled = rollback_latest(pool).await.unwrap().unwrap();
    assert_eq!(rolled.version, 6);
    let reports = verify_indexes(pool).await.unwrap();
    for r in &reports {
        let gone = NEW_TABLES.contains(&r.collection)
            || [STATE_TABLE, STATS_TABLE].contains(&r.collection)
            || MIGRATIONS.iter().filter(|m| m.version > 8).any(|m| m.collection_names().contains(&r.collection));
        assert_eq!(r.exists, !gone, "{r:?}");
    }
    let states = status(pool).await.unwrap();
    assert!(states.iter().all(|s| s.applied_at.is_some() == (s.migration.version < 6)));

    let again = apply_pending(pool).await.unwrap();
    assert_eq!(again.iter().map(|a| a.migration.version).collect::<Vec<_>>(), versions_from(6));
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

async fn columns(pool: &SqlitePool, table: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid").bind(table).fetch_all(pool).await.unwrap()
}

async fn count(pool: &SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(pool).await.unwrap()
}

/// Rows as migration 6 shaped them, as if something had written them before migration 7.
async fn write_migration_6_rows(pool: &SqlitePool) {
    let at = "'2026-01-31T12:00:00.000000Z'";
    for (id, user) in [("n1", "u1"), ("n2", "u1"), ("n3", "u2")] {
        exec(
            pool,
            &format!(
                "INSERT INTO ipam_notifications (notification_id, user_id, notification_type, severity, message, \
                 created_at, expires_at) VALUES ('{id}', '{user}', 'rule_triggered', 'info', 'old', {at}, {at})"
            ),
        )
        .await
        .unwrap();
    }
    exec(
        pool,
        &format!(
            "INSERT INTO ipam_notification_rules (rule_id, user_id, rule_name, last_triggered, created_at, updated_at) \
             VALUES ('r1', 'u1', 'old rule', {at}, {at}, {at})"
        ),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn migration_7_alters_the_notification_tables_in_place_and_its_rollback_keeps_their_rows() {
    let (store, _dir) = store().await;
    let pool = store.pool();
    // ALTER TABLE … DROP COLUMN, which the rollback uses, arrived in SQLite 3.35.
    let version: String = sqlx::query_scalar("SELECT sqlite_version()").fetch_one(pool).await.unwrap();
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    assert!((parts[0], parts[1]) >= (3, 35), "bundled SQLite {version}");

    apply_pending(pool).await.unwrap();
    let notification_columns_7 = columns(pool, "ipam_notifications").await;
    let rule_columns_7 = columns(pool, "ipam_notification_rules").await;
    rollback_after(pool, 8).await;
    assert_eq!(rollback_latest(pool).await.unwrap().unwrap().version, 8);
    assert_eq!(rollback_latest(pool).await.unwrap().unwrap().version, 7);
    let notification_columns_6 = columns(pool, "ipam_notifications").await;
    let rule_columns_6 = columns(pool, "ipam_notification_rules").await;
    assert!(!notification_columns_6.contains(&"dedup_key".to_owned()), "{notification_columns_6:?}");
    assert!(rule_columns_6.contains(&"last_triggered".to_owned()));
    write_migration_6_rows(pool).await;

    // Applied over existing rows: each gets its backfill.
    let applied = apply_pending(pool).await.unwrap();
    assert_eq!(applied.iter().map(|a| a.migration.version).collect::<Vec<_>>(), versions_from(7));
    assert_eq!(columns(pool, "ipam_notifications").await, notification_columns_7);
    assert_eq!(columns(pool, "ipam_notification_rules").await, rule_columns_7);
    let keys: Vec<(String, String)> =
        sqlx::query_as("SELECT notification_id, dedup_key FROM ipam_notifications ORDER BY notification_id")
            .fetch_all(pool)
            .await
            .unwrap();
    let legacy = |id: &str| (id.to_owned(), format!("{}{id}", ipam_migrations::LEGACY_DEDUP_KEY_PREFIX));
    assert_eq!(keys, [legacy("n1"), legacy("n2"), legacy("n3")]);
    let rule: (String, i64, Option<String>) =
        sqlx::query_as("SELECT severity, cooldown_minutes, last_triggered FROM ipam_notification_rules")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!((rule.0.as_str(), rule.1), ("warning", 60));
    assert!(rule.2.is_some(), "last_triggered is kept");
    assert!(verify_indexes(pool).await.unwrap().iter().all(|r| r.is_ok() && r.extra.is_empty()));

    // The new columns and table enforce their constraints.
    let at = "'2026-02-01T00:00:00.000000Z'";
    let notification = |id: &str, user: &str, key: &str| {
        format!(
            "INSERT INTO ipam_notifications (notification_id, user_id, notification_type, severity, message, \
             created_at, expires_at, dedup_key) VALUES ('{id}', '{user}', 'rule_triggered', 'info', 'm', {at}, {at}, '{key}')"
        )
    };
    exec(pool, &notification("n4", "u1", "rule:r1:region:a")).await.unwrap();
    assert!(exec(pool, &notification("n5", "u1", "rule:r1:region:a")).await.is_err(), "one key per user");
    exec(pool, &notification("n6", "u2", "rule:r1:region:a")).await.unwrap();
    assert!(exec(pool, &notification("n7", "u1", "")).await.is_err(), "an empty key");
    let rule = |id: &str, severity: &str, cooldown: i64| {
        format!(
            "INSERT INTO ipam_notification_rules (rule_id, user_id, rule_name, severity, cooldown_minutes, created_at, \
             updated_at) VALUES ('{id}', 'u1', 'r', '{severity}', {cooldown}, {at}, {at})"
        )
    };
    exec(pool, &rule("r2", "critical", 0)).await.unwrap();
    assert!(exec(pool, &rule("r3", "urgent", 5)).await.is_err(), "severity outside the enum");
    assert!(exec(pool, &rule("r4", "info", -1)).await.is_err(), "negative cooldown");
    let state = |resource: &str, above: i64, crossings: i64| {
        format!(
            "INSERT INTO ipam_notification_rule_state (rule_id, user_id, resource_key, above, crossings, last_fired_at, \
             updated_at) VALUES ('r1', 'u1', '{resource}', {above}, {crossings}, NULL, {at})"
        )
    };
    exec(pool, &state("region:a", 1, 1)).await.unwrap();
    assert!(exec(pool, &state("region:a", 0, 1)).await.is_err(), "one row per (rule, resource)");
    exec(pool, &state("country:USA", 0, 0)).await.unwrap();
    assert!(exec(pool, &state("region:b", 2, 0)).await.is_err(), "above is a boolean");
    assert!(exec(pool, &state("region:c", 0, -1)).await.is_err(), "negative crossings");
    assert!(exec(pool, &state("", 0, 0)).await.is_err(), "an empty resource key");

    // The rollback undoes exactly the alterations: rows stay, with migration 6's columns.
    rollback_after(pool, 8).await;
    assert_eq!(rollback_latest(pool).await.unwrap().unwrap().version, 8);
    assert_eq!(rollback_latest(pool).await.unwrap().unwrap().version, 7);
    assert_eq!(columns(pool, "ipam_notifications").await, notification_columns_6);
    assert_eq!(columns(pool, "ipam_notification_rules").await, rule_columns_6);
    assert_eq!(count(pool, "ipam_notifications").await, 5);
    assert_eq!(count(pool, "ipam_notification_rules").await, 2);
    let reports = verify_indexes(pool).await.unwrap();
    let report = |name: &str| reports.iter().find(|r| r.collection == name).unwrap();
    assert!(!report(STATE_TABLE).exists);
    let missing: Vec<&str> = report("ipam_notifications").missing.iter().map(|i| i.name).collect();
    assert_eq!(missing, ["notification_user_dedup_idx"]);
    assert!(report("ipam_notification_rules").is_ok() && report("ipam_bulk_jobs").is_ok());
    let states = status(pool).await.unwrap();
    assert!(states.iter().all(|s| s.applied_at.is_some() == (s.migration.version < 7)));

    // And it applies again over the kept rows (newer rows get a legacy key too).
    assert_eq!(
        apply_pending(pool).await.unwrap().iter().map(|a| a.migration.version).collect::<Vec<_>>(),
        versions_from(7)
    );
    assert!(verify_indexes(pool).await.unwrap().iter().all(|r| r.is_ok() && r.extra.is_empty()));
    let n4: String = sqlx::query_scalar("SELECT dedup_key FROM ipam_notifications WHERE notification_id = 'n4'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(n4, "legacy:n4", "the dropped column's values are gone");
    assert_eq!(count(pool, STATE_TABLE).await, 0);
}

#[tokio::test]
async fn migration_8_starts_each_users_counters_from_their_audit_history_and_rolls_back_cleanly() {
    let (store, _dir) = store().await;
    let pool = store.pool();
    apply_pending(pool).await.unwrap();
    rollback_after(pool, 8).await;
    assert_eq!(rollback_latest(pool).await.unwrap().unwrap().version, 8);
    let audit = |id: &str, user: &str, resource: &str, action: &str| {
        format!(
            "INSERT INTO ipam_audit_history (audit_id, user_id, actor_id, actor_username, action_type, resource_type,
                 resource_id, snapshot, timestamp)
             VALUES ('{id}', '{user}', '{user}', '{user}', '{action}', '{resource}', 'r', '{{}}',
                     '2026-01-0{}T00:00:00.000000Z')",
            id.len()
        )
    };
    for (id, user, resource, action) in [
        ("a", "u1", "region", "create"),
        ("ab", "u1", "host", "create"),
        ("abc", "u1", "host", "release"),
        ("abcd", "u1", "region", "retire"),
        ("abcde", "u1", "host", "retire"),
        ("abcdef", "u2", "region", "update"),
    ] {
        exec(pool, &audit(id, user, resource, action)).await.unwrap();
    }

    let applied = apply_pending(pool).await.unwrap();
    assert_eq!(applied.iter().map(|a| a.migration.version).collect::<Vec<_>>(), versions_from(8));
    let rows: Vec<(String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT user_id, data_version, retired_regions, released_hosts, updated_at FROM ipam_user_stats ORDER BY user_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("u1".into(), 5, 1, 2, "2026-01-05T00:00:00.000000Z".into()),
            ("u2".into(), 1, 0, 0, "2026-01-06T00:00:00.000000Z".into())
        ],
        "versions count the records; a host retired with its region counts as released"
    );
    assert!(exec(pool, "UPDATE ipam_user_stats SET data_version = -1").await.is_err(), "counters are never negative");

    rollback_after(pool, 8).await;
    assert_eq!(rollback_latest(pool).await.unwrap().unwrap().version, 8);
    assert_eq!(columns(pool, "ipam_user_stats").await, Vec::<String>::new(), "the table is gone");
    assert_eq!(count(pool, "ipam_audit_history").await, 6, "the history it was computed from stays");
}
