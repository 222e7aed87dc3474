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
    for c in MIGRATIONS.iter().flat_map(|m| m.collections) {
        for i in c.indexes {
            assert!(seen.insert(i.name), "{} on {} is already used by another index", i.name, c.name);
        }
    }
}

#[test]
fn ttl_indexes_are_single_field_and_never_unique_or_partial() {
    for c in MIGRATIONS.iter().flat_map(|m| m.collections) {
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
    for m in MIGRATIONS {
        for c in m.collections {
            let v: serde_json::Value = serde_json::from_str(c.validator).expect(c.name);
            assert_eq!(v["bsonType"], "object", "{}", c.name);
            assert!(v["required"].as_array().unwrap().iter().any(|f| f == "_id"), "{}", c.name);
        }
    }
}
