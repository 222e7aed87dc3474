//! The versioned schema of every IPAM storage backend, kept in one place so the layout of the
//! data is visible at a glance: the ordered list of migrations (with the SQLite DDL beside
//! them). A migration creates collections, alters collections an earlier one created, or both;
//! its rollback drops what it created and undoes exactly its alterations. The country rows
//! seeded on first start are domain data (`ipam_core::domain::country_table`).

mod schema;

pub use schema::{
    AddedField, AlterSpec, BULK_JOB_INPUT_ALTERS, BULK_JOB_RETENTION_SECS, Backfill, CORE_COLLECTIONS, CollectionSpec,
    DELIVERY_RETENTION_SECS, EXISTING_RULE_COOLDOWN_MINUTES, EXISTING_RULE_SEVERITY, IndexSpec,
    JOB_PLATFORM_COLLECTIONS, LEGACY_DEDUP_KEY_PREFIX, NOTIFICATION_AND_BULK_JOB_COLLECTIONS,
    NOTIFICATION_RETENTION_SECS, NOTIFICATION_RULE_STATE_ALTERS, NOTIFICATION_RULE_STATE_COLLECTIONS,
    PREFERENCE_COLLECTIONS, QUEUE_BINDING_COLLECTIONS, RESERVATION_COLLECTIONS, SHARE_COLLECTIONS,
    USER_STATS_COLLECTIONS, ValidatorChange,
};
pub use schema::{FORECAST_REQUEST_COLLECTIONS, FORECAST_REQUEST_RETENTION_SECS};

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
    /// Tables (collections) this migration creates, with their indexes; its rollback drops them.
    pub collections: &'static [CollectionSpec],
    /// Tables (collections) of earlier migrations this one alters; its rollback undoes exactly
    /// these alterations and keeps the collections and their documents.
    pub alters: &'static [AlterSpec],
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
        alters: &[],
    },
    Migration {
        version: 2,
        name: "reservations",
        description: "Reservations of /24 blocks and host addresses, blocking allocation while active",
        sqlite_up: include_str!("../sqlite/0002_reservations.up.sql"),
        sqlite_down: include_str!("../sqlite/0002_reservations.down.sql"),
        collections: RESERVATION_COLLECTIONS,
        alters: &[],
    },
    Migration {
        version: 3,
        name: "shares",
        description: "Shareable read-only links to a country, region or host",
        sqlite_up: include_str!("../sqlite/0003_shares.up.sql"),
        sqlite_down: include_str!("../sqlite/0003_shares.down.sql"),
        collections: SHARE_COLLECTIONS,
        alters: &[],
    },
    Migration {
        version: 4,
        name: "preferences",
        description: "User preferences and saved filters",
        sqlite_up: include_str!("../sqlite/0004_preferences.up.sql"),
        sqlite_down: include_str!("../sqlite/0004_preferences.down.sql"),
        collections: PREFERENCE_COLLECTIONS,
        alters: &[],
    },
    Migration {
        version: 5,
        name: "job_platform",
        description: "Event outbox, webhooks and their deliveries, and cron tick claims",
        sqlite_up: include_str!("../sqlite/0005_job_platform.up.sql"),
        sqlite_down: include_str!("../sqlite/0005_job_platform.down.sql"),
        collections: JOB_PLATFORM_COLLECTIONS,
        alters: &[],
    },
    Migration {
        version: 6,
        name: "notifications_and_bulk_jobs",
        description: "Notifications, notification rules and bulk operation jobs",
        sqlite_up: include_str!("../sqlite/0006_notifications_and_bulk_jobs.up.sql"),
        sqlite_down: include_str!("../sqlite/0006_notifications_and_bulk_jobs.down.sql"),
        collections: NOTIFICATION_AND_BULK_JOB_COLLECTIONS,
        alters: &[],
    },
    Migration {
        version: 7,
        name: "notification_dedup_and_rule_state",
        description: "Notification dedup keys, rule severity and cooldown, and per-(rule, resource) threshold state",
        sqlite_up: include_str!("../sqlite/0007_notification_dedup_and_rule_state.up.sql"),
        sqlite_down: include_str!("../sqlite/0007_notification_dedup_and_rule_state.down.sql"),
        collections: NOTIFICATION_RULE_STATE_COLLECTIONS,
        alters: NOTIFICATION_RULE_STATE_ALTERS,
    },
    Migration {
        version: 8,
        name: "user_stats",
        description: "Per-user data version (result cache keys) and retired-region and released-host counts",
        sqlite_up: include_str!("../sqlite/0008_user_stats.up.sql"),
        sqlite_down: include_str!("../sqlite/0008_user_stats.down.sql"),
        collections: USER_STATS_COLLECTIONS,
        alters: &[],
    },
    Migration {
        version: 9,
        name: "forecast_requests",
        description: "Forecasts clients asked for, which the daily recomputation keeps warm for 7 days",
        sqlite_up: include_str!("../sqlite/0009_forecast_requests.up.sql"),
        sqlite_down: include_str!("../sqlite/0009_forecast_requests.down.sql"),
        collections: FORECAST_REQUEST_COLLECTIONS,
        alters: &[],
    },
    Migration {
        version: 10,
        name: "bulk_job_inputs",
        description: "Bulk jobs store their inputs, start time, progress cursor and worker lease, and can be cancelled",
        sqlite_up: include_str!("../sqlite/0010_bulk_job_inputs.up.sql"),
        sqlite_down: include_str!("../sqlite/0010_bulk_job_inputs.down.sql"),
        collections: &[],
        alters: BULK_JOB_INPUT_ALTERS,
    },
    Migration {
        version: 11,
        name: "queue_binding",
        description: "The job queue (backend and prefix) every process of the deployment must share",
        sqlite_up: include_str!("../sqlite/0011_queue_binding.up.sql"),
        sqlite_down: include_str!("../sqlite/0011_queue_binding.down.sql"),
        collections: QUEUE_BINDING_COLLECTIONS,
        alters: &[],
    },
];

impl Migration {
    /// Names of the collections it creates.
    pub fn collection_names(&self) -> Vec<&'static str> {
        self.collections.iter().map(|c| c.name).collect()
    }

    /// Names of the collections of earlier migrations it alters.
    pub fn altered_names(&self) -> Vec<&'static str> {
        self.alters.iter().map(|a| a.collection).collect()
    }
}

/// A collection as the latest schema has it: created by one migration, perhaps altered by
/// later ones. `ipam verify-indexes` compares a live database with these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedCollection {
    /// Name.
    pub name: &'static str,
    /// Its indexes: those it was created with, then those each alteration added.
    pub indexes: Vec<IndexSpec>,
    /// The `$jsonSchema` validator in force after the latest migration that touched it.
    pub validator: &'static str,
}

impl From<&CollectionSpec> for ExpectedCollection {
    fn from(spec: &CollectionSpec) -> Self {
        Self { name: spec.name, indexes: spec.indexes.to_vec(), validator: spec.validator }
    }
}

/// Every collection of the latest schema, in the order migrations create them, each with the
/// indexes and validator every later alteration gave it.
pub fn latest_schema() -> Vec<ExpectedCollection> {
    let mut schema: Vec<ExpectedCollection> =
        MIGRATIONS.iter().flat_map(|m| m.collections).map(ExpectedCollection::from).collect();
    for alter in MIGRATIONS.iter().flat_map(|m| m.alters) {
        // A test checks that every altered collection was created earlier.
        if let Some(c) = schema.iter_mut().find(|c| c.name == alter.collection) {
            c.indexes.extend_from_slice(alter.added_indexes);
            if let Some(change) = alter.validator {
                c.validator = change.next;
            }
        }
    }
    schema
}

/// Name of the table (collection) that records which migrations were applied.
pub const HISTORY_TABLE: &str = "ipam_migrations";

#[cfg(test)]
mod tests;
