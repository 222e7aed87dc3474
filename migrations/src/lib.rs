//! The versioned schema of every IPAM storage backend, kept in one place so the layout of the
//! data is visible at a glance: the ordered list of migrations (with the SQLite DDL beside
//! them) and the reference data seeded on first start.

mod schema;
mod seed;

pub use schema::{
    CORE_COLLECTIONS, CollectionSpec, DELIVERY_RETENTION_SECS, IndexSpec, JOB_PLATFORM_COLLECTIONS,
    PREFERENCE_COLLECTIONS, RESERVATION_COLLECTIONS, SHARE_COLLECTIONS,
};
pub use seed::{COUNTRY_SEED, CountrySeed};

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
