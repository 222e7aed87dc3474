//! The versioned schema of every IPAM storage backend, kept in one place so the layout of the
//! data is visible at a glance: the ordered list of migrations (with the SQLite DDL beside
//! them). The country rows seeded on first start are domain data (`ipam_core::domain::country_table`).

mod schema;

pub use schema::{
    BULK_JOB_RETENTION_SECS, CORE_COLLECTIONS, CollectionSpec, DELIVERY_RETENTION_SECS, IndexSpec,
    JOB_PLATFORM_COLLECTIONS, NOTIFICATION_AND_BULK_JOB_COLLECTIONS, NOTIFICATION_RETENTION_SECS,
    PREFERENCE_COLLECTIONS, RESERVATION_COLLECTIONS, SHARE_COLLECTIONS,
};

/// One versioned schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Monotonic version number; migrations apply in this order.
    pub version: u32,
    /// Short machine-friendly name, e.g. `core_ipam`.
    pub name: &'static str,
    /// One sentence an operator reads in `ipam migrate --status`.
    pub description: &'static str,
    /// SQLite DDL applied by this migration (one transaction).
    pub sqlite_up: &'static str,
    /// SQLite DDL that undoes it (used by `--rollback`).
    pub sqlite_down: &'static str,
    /// Tables (collections) this migration creates, with their indexes.
    pub collections: &'static [CollectionSpec],
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "core_ipam",
        description: "Countries, regions, hosts, comments, audit history, quotas and allocation slot maps",
        sqlite_up: include_str!("../sqlite/0001_core_ipam.up.sql"),
        sqlite_down: include_str!("../sqlite/0001_core_ipam.down.sql"),
        collections: CORE_COLLECTIONS,
    },
    Migration {
        version: 2,
        name: "reservations",
        description: "Reservations of /24 blocks and host addresses, blocking allocation while active",
        sqlite_up: include_str!("../sqlite/0002_reservations.up.sql"),
        sqlite_down: include_str!("../sqlite/0002_reservations.down.sql"),
        collections: RESERVATION_COLLECTIONS,
    },
    Migration {
        version: 3,
        name: "shares",
        description: "Shareable read-only links to a country, region or host",
        sqlite_up: include_str!("../sqlite/0003_shares.up.sql"),
        sqlite_down: include_str!("../sqlite/0003_shares.down.sql"),
        collections: SHARE_COLLECTIONS,
    },
    Migration {
        version: 4,
        name: "preferences",
        description: "User preferences and saved filters",
        sqlite_up: include_str!("../sqlite/0004_preferences.up.sql"),
        sqlite_down: include_str!("../sqlite/0004_preferences.down.sql"),
        collections: PREFERENCE_COLLECTIONS,
    },
    Migration {
        version: 5,
        name: "job_platform",
        description: "Event outbox, webhooks and their deliveries, and cron tick claims",
        sqlite_up: include_str!("../sqlite/0005_job_platform.up.sql"),
        sqlite_down: include_str!("../sqlite/0005_job_platform.down.sql"),
        collections: JOB_PLATFORM_COLLECTIONS,
    },
    Migration {
        version: 6,
        name: "notifications_and_bulk_jobs",
        description: "Notifications, notification rules and bulk operation jobs",
        sqlite_up: include_str!("../sqlite/0006_notifications_and_bulk_jobs.up.sql"),
        sqlite_down: include_str!("../sqlite/0006_notifications_and_bulk_jobs.down.sql"),
        collections: NOTIFICATION_AND_BULK_JOB_COLLECTIONS,
    },
];

impl Migration {
    /// Names of the collections it creates.
    pub fn collection_names(&self) -> Vec<&'static str> {
        self.collections.iter().map(|c| c.name).collect()
    }
}

/// Name of the table (collection) that records which migrations were applied.
pub const HISTORY_TABLE: &str = "ipam_migrations";

#[cfg(test)]
mod tests {
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
}
