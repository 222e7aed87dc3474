//! Invariants of the schema as a whole: every migration's SQLite DDL, MongoDB specs and
//! rollback agree with each other.

use super::*;

#[test]
fn versions_are_strictly_increasing_and_start_at_one() {
    let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(versions.first(), Some(&1));
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
}

#[test]
fn every_created_table_is_dropped_by_its_rollback() {
    for m in MIGRATIONS {
        for table in m.collection_names() {
            assert!(m.sqlite_up.contains(&format!("CREATE TABLE {table} ")), "{} does not create {table}", m.name);
            assert!(
                m.sqlite_down.contains(&format!("DROP TABLE IF EXISTS {table};")),
                "{} rollback does not drop {table}",
                m.name
            );
        }
    }
}

#[test]
fn every_specified_index_exists_in_the_sqlite_ddl_under_the_same_name() {
    for m in MIGRATIONS {
        for c in m.collections {
            for i in c.indexes {
                let create = if i.unique { "CREATE UNIQUE INDEX" } else { "CREATE INDEX" };
                assert!(
                    m.sqlite_up.contains(&format!("{create} {} ON {} ", i.name, c.name)),
                    "{}: {} missing from the SQLite DDL",
                    c.name,
                    i.name
                );
            }
        }
    }
}

#[test]
fn index_names_are_unique_across_the_schema() {
    // SQLite index names share one namespace per database, not one per table.
    let mut seen = std::collections::HashSet::new();
    for c in latest_schema() {
        for i in &c.indexes {
            assert!(seen.insert(i.name), "{} on {} is already used by another index", i.name, c.name);
        }
    }
}

#[test]
fn ttl_indexes_are_single_field_and_never_unique_or_partial() {
    for c in latest_schema() {
        for i in c.indexes.iter().filter(|i| i.expire_after_secs.is_some()) {
            assert_eq!(i.keys.len(), 1, "{}: MongoDB ignores TTL on compound indexes", i.name);
            assert!(!i.unique && i.partial.is_none(), "{}", i.name);
        }
    }
}

#[test]
fn migration_6_creates_the_seeds_remaining_collections_with_their_retention() {
    let m = MIGRATIONS.iter().find(|m| m.version == 6).unwrap();
    assert_eq!(m.name, "notifications_and_bulk_jobs");
    assert_eq!(m.collection_names(), ["ipam_notifications", "ipam_notification_rules", "ipam_bulk_jobs"]);
    assert_eq!(NOTIFICATION_RETENTION_SECS, 90 * 86_400);
    assert_eq!(BULK_JOB_RETENTION_SECS, 7 * 86_400);
    let ttls: Vec<(&str, &str, Option<u64>)> = m
        .collections
        .iter()
        .flat_map(|c| c.indexes.iter().map(move |i| (c.name, i.name, i.expire_after_secs)))
        .filter(|(_, _, ttl)| ttl.is_some())
        .collect();
    assert_eq!(
        ttls,
        [
            // expires_at is created_at + NOTIFICATION_RETENTION_SECS, set by the writer
            ("ipam_notifications", "notification_expires_idx", Some(0)),
            ("ipam_bulk_jobs", "bulk_job_completed_idx", Some(BULK_JOB_RETENTION_SECS)),
        ]
    );
    let jobs = m.collections.iter().find(|c| c.name == "ipam_bulk_jobs").unwrap();
    let unique: Vec<String> = jobs.indexes.iter().filter(|i| i.unique).map(|i| i.keys_text()).collect();
    assert_eq!(unique, ["job_id: 1"]);
}

#[test]
fn every_validator_is_valid_json_requiring_an_id() {
    let changes = MIGRATIONS.iter().flat_map(|m| m.alters).filter_map(|a| a.validator.map(|v| (a.collection, v)));
    let validators = MIGRATIONS
        .iter()
        .flat_map(|m| m.collections.iter().map(|c| (c.name, c.validator)))
        .chain(changes.flat_map(|(name, v)| [(name, v.previous), (name, v.next)]));
    for (name, validator) in validators {
        let v: serde_json::Value = serde_json::from_str(validator).expect(name);
        assert_eq!(v["bsonType"], "object", "{name}");
        assert!(v["required"].as_array().unwrap().iter().any(|f| f == "_id"), "{name}");
    }
}

/// The migration that created `collection`, if any.
fn creator(collection: &str) -> Option<&'static Migration> {
    MIGRATIONS.iter().find(|m| m.collections.iter().any(|c| c.name == collection))
}

fn required(validator: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(validator).unwrap();
    v["required"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect()
}

#[test]
fn only_collections_of_earlier_migrations_are_altered_and_a_rollback_never_drops_them() {
    for m in MIGRATIONS {
        for table in m.altered_names() {
            let created_by = creator(table).unwrap_or_else(|| panic!("{}: nothing creates {table}", m.name));
            assert!(
                created_by.version < m.version,
                "{} alters {table}, created by a later or the same migration",
                m.name
            );
            assert!(!m.sqlite_down.contains(&format!("DROP TABLE IF EXISTS {table};")), "{} drops {table}", m.name);
            assert!(!m.sqlite_down.contains(&format!("DROP TABLE {table}")), "{} drops {table}", m.name);
        }
    }
}

#[test]
fn every_added_index_is_created_by_the_up_ddl_and_dropped_by_the_down_ddl() {
    for m in MIGRATIONS {
        for a in m.alters {
            for i in a.added_indexes {
                let create = if i.unique { "CREATE UNIQUE INDEX" } else { "CREATE INDEX" };
                let created = format!("{create} {} ON {} (", i.name, a.collection);
                assert!(m.sqlite_up.contains(&created), "{}: {} missing from the up DDL", m.name, i.name);
                let dropped = format!("DROP INDEX IF EXISTS {};", i.name);
                assert!(m.sqlite_down.contains(&dropped), "{}: the down DDL keeps {}", m.name, i.name);
            }
        }
    }
}

/// Whether an `ADD COLUMN` statement gives existing rows exactly `literal`.
fn has_default(statement: &str, literal: &str) -> bool {
    let words: Vec<&str> = statement.split_whitespace().collect();
    words.windows(4).any(|w| w == ["NOT", "NULL", "DEFAULT", literal])
}

#[test]
fn every_added_column_is_added_with_its_backfill_and_dropped_after_its_indexes() {
    for m in MIGRATIONS {
        for a in m.alters {
            for f in a.added_fields {
                let added = format!("ALTER TABLE {} ADD COLUMN {} ", a.collection, f.name);
                let start = m.sqlite_up.find(&added).unwrap_or_else(|| panic!("{}: {added}", m.name));
                let statement = &m.sqlite_up[start..start + m.sqlite_up[start..].find(';').unwrap()];
                match f.backfill {
                    Backfill::Text(v) => assert!(has_default(statement, &format!("'{v}'")), "{statement}"),
                    Backfill::Int(n) => assert!(has_default(statement, &n.to_string()), "{statement}"),
                    Backfill::IdWithPrefix(p) => {
                        let update = format!("UPDATE {} SET {} = '{p}' || ", a.collection, f.name);
                        let at = m.sqlite_up.find(&update).unwrap_or_else(|| panic!("{}: {update}", m.name));
                        assert!(start < at, "{}: {} is filled in before it exists", m.name, f.name);
                    }
                }
                let dropped = format!("ALTER TABLE {} DROP COLUMN {};", a.collection, f.name);
                let drop_at = m.sqlite_down.find(&dropped).unwrap_or_else(|| panic!("{}: {dropped}", m.name));
                // SQLite refuses to drop an indexed column: its indexes must be gone first.
                for i in a.added_indexes.iter().filter(|i| i.keys.iter().any(|(k, _)| *k == f.name)) {
                    let index_at = m.sqlite_down.find(&format!("DROP INDEX IF EXISTS {};", i.name)).unwrap();
                    assert!(index_at < drop_at, "{}: {} is dropped after its column {}", m.name, i.name, f.name);
                }
            }
        }
    }
}

#[test]
fn each_validator_change_starts_from_the_validator_in_force_and_requires_the_added_fields() {
    let mut in_force: Vec<(&str, &str)> = Vec::new();
    for m in MIGRATIONS {
        in_force.extend(m.collections.iter().map(|c| (c.name, c.validator)));
        for a in m.alters {
            let current = in_force.iter_mut().find(|(name, _)| *name == a.collection).expect(a.collection);
            let Some(change) = a.validator else { continue };
            assert_eq!(change.previous, current.1, "{}: the rollback would restore another validator", a.collection);
            current.1 = change.next;
            let (previous, next) = (required(change.previous), required(change.next));
            assert!(previous.iter().all(|f| next.contains(f)), "{}: a required field was dropped", a.collection);
            for f in a.added_fields {
                // Backfilled, so every document has it and the new validator can require it.
                assert!(next.iter().any(|n| n == f.name), "{}: {} is not required", a.collection, f.name);
                assert!(!previous.iter().any(|n| n == f.name), "{}: {} was already there", a.collection, f.name);
            }
            // After a rollback on MongoDB the documents keep the added fields: the previous
            // validator must accept them.
            let v: serde_json::Value = serde_json::from_str(change.previous).unwrap();
            assert_ne!(v["additionalProperties"], false, "{}", a.collection);
        }
    }
    let latest: Vec<(&str, &str)> = latest_schema().iter().map(|c| (c.name, c.validator)).collect();
    assert_eq!(latest, in_force);
}

#[test]
fn the_latest_schema_has_every_collection_once_with_the_indexes_alterations_added() {
    let schema = latest_schema();
    let created: Vec<&str> = MIGRATIONS.iter().flat_map(|m| m.collection_names()).collect();
    assert_eq!(schema.iter().map(|c| c.name).collect::<Vec<_>>(), created);
    let notifications = schema.iter().find(|c| c.name == "ipam_notifications").unwrap();
    let names: Vec<&str> = notifications.indexes.iter().map(|i| i.name).collect();
    assert_eq!(
        names,
        [
            "notification_user_read_created_idx",
            "notification_user_severity_idx",
            "notification_user_type_idx",
            "notification_expires_idx",
            "notification_user_dedup_idx",
        ]
    );
}

#[test]
fn migration_7_adds_dedup_keys_rule_severity_and_cooldown_and_creates_the_rule_state() {
    let m = MIGRATIONS.iter().find(|m| m.version == 7).unwrap();
    assert_eq!(m.name, "notification_dedup_and_rule_state");
    assert_eq!(m.collection_names(), ["ipam_notification_rule_state"]);
    assert_eq!(m.altered_names(), ["ipam_notifications", "ipam_notification_rules"]);
    assert!(m.sqlite_down.contains("DROP TABLE IF EXISTS ipam_notification_rule_state;"));

    let [notifications, rules] = m.alters else { panic!("two alterations") };
    assert_eq!(
        notifications.added_fields,
        [AddedField { name: "dedup_key", backfill: Backfill::IdWithPrefix("legacy:") }]
    );
    let dedup: Vec<(&str, bool, String)> =
        notifications.added_indexes.iter().map(|i| (i.name, i.unique, i.keys_text())).collect();
    assert_eq!(dedup, [("notification_user_dedup_idx", true, "user_id: 1, dedup_key: 1".to_owned())]);
    assert!(notifications.added_indexes[0].partial.is_none(), "every document has a key after the backfill");
    let fields: Vec<(&str, Backfill)> = rules.added_fields.iter().map(|f| (f.name, f.backfill)).collect();
    assert_eq!(fields, [("severity", Backfill::Text("warning")), ("cooldown_minutes", Backfill::Int(60))]);
    assert!(rules.added_indexes.is_empty());

    let state = &m.collections[0];
    let indexes: Vec<(&str, bool, String)> = state.indexes.iter().map(|i| (i.name, i.unique, i.keys_text())).collect();
    assert_eq!(
        indexes,
        [
            ("rule_state_rule_resource_unique_idx", true, "rule_id: 1, resource_key: 1".to_owned()),
            ("rule_state_user_idx", false, "user_id: 1".to_owned()),
        ]
    );
    assert_eq!(
        required(state.validator),
        ["_id", "rule_id", "user_id", "resource_key", "above", "crossings", "updated_at"]
    );
    let v: serde_json::Value = serde_json::from_str(state.validator).unwrap();
    assert_eq!(v["properties"]["last_fired_at"]["bsonType"], serde_json::json!(["date", "null"]));
    assert_eq!(v["properties"]["crossings"]["minimum"], 0);

    let rules_next: serde_json::Value = serde_json::from_str(rules.validator.unwrap().next).unwrap();
    let p = &rules_next["properties"];
    assert_eq!(p["severity"]["enum"], serde_json::json!(["info", "warning", "critical"]));
    assert_eq!(p["cooldown_minutes"], serde_json::json!({"bsonType": ["int", "long"], "minimum": 0}));
    assert_eq!(p["conditions"], serde_json::json!({"bsonType": "object"}));
    assert_eq!(p["last_triggered"]["bsonType"], serde_json::json!(["date", "null"]), "old documents keep it");
    let notifications_next: serde_json::Value = serde_json::from_str(notifications.validator.unwrap().next).unwrap();
    let p = &notifications_next["properties"];
    assert_eq!(p["dedup_key"], serde_json::json!({"bsonType": "string", "minLength": 1}));
    assert_eq!(p["notification_type"], serde_json::json!({"bsonType": "string", "minLength": 1}));
}

#[test]
fn migration_10_makes_bulk_jobs_runnable_and_cancellable() {
    let m = MIGRATIONS.iter().find(|m| m.version == 10).unwrap();
    assert_eq!(m.name, "bulk_job_inputs");
    assert!(m.collection_names().is_empty());
    assert_eq!(m.altered_names(), ["ipam_bulk_jobs"]);
    let [jobs] = m.alters else { panic!("one alteration") };
    assert_eq!(jobs.added_fields, [AddedField { name: "cursor", backfill: Backfill::Int(0) }]);
    let added: Vec<(&str, String)> = jobs.added_indexes.iter().map(|i| (i.name, i.keys_text())).collect();
    assert_eq!(added, [("bulk_job_status_lease_idx", "status: 1, lease_until: 1".to_owned())]);
    let next: serde_json::Value = serde_json::from_str(jobs.validator.unwrap().next).unwrap();
    let statuses = next["properties"]["status"]["enum"].as_array().unwrap();
    assert!(statuses.iter().any(|s| s == "cancelled"), "{statuses:?}");
    for input in ["username", "resource_type", "operation", "tags", "resource_ids", "started_at", "lease_until"] {
        assert!(next["properties"].get(input).is_some(), "{input}");
    }
    // SQLite rebuilds the table for its CHECK, keeping the rows, and has a results table.
    assert!(m.sqlite_up.contains("INSERT INTO bulk_jobs_rebuild_v10"));
    assert!(m.sqlite_up.contains("'cancelled'"));
    assert!(m.sqlite_up.contains("CREATE TABLE ipam_bulk_job_results ("));
    assert!(m.sqlite_down.contains("DROP TABLE IF EXISTS ipam_bulk_job_results;"));
    assert!(m.sqlite_down.contains("CASE status WHEN 'cancelled' THEN 'failed'"));
}
