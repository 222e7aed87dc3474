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
mod tests;
