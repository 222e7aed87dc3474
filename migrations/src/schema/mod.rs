//! Collections (tables) and their indexes, as data: the MongoDB backend creates them from here,
//! `ipam verify-indexes` compares a live database against them, and a test checks that the
//! SQLite DDL creates an index of the same name for each.

mod core;
mod job_platform;
mod notifications;

pub use core::{CORE_COLLECTIONS, PREFERENCE_COLLECTIONS, RESERVATION_COLLECTIONS, SHARE_COLLECTIONS};
pub use job_platform::{DELIVERY_RETENTION_SECS, JOB_PLATFORM_COLLECTIONS};
pub use notifications::{BULK_JOB_RETENTION_SECS, NOTIFICATION_AND_BULK_JOB_COLLECTIONS, NOTIFICATION_RETENTION_SECS};

/// One index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    /// Index name (the same on every backend).
    pub name: &'static str,
    /// Keys in order, with direction (1 ascending, -1 descending), MongoDB field names.
    pub keys: &'static [(&'static str, i32)],
    /// Unique constraint.
    pub unique: bool,
    /// Documents expire this many seconds after the (date) key (MongoDB TTL index).
    pub expire_after_secs: Option<u64>,
    /// Only documents matching this filter (JSON) are indexed (partial index).
    pub partial: Option<&'static str>,
}

impl IndexSpec {
    /// Keys as `field: direction, …`.
    pub fn keys_text(&self) -> String {
        self.keys.iter().map(|(k, d)| format!("{k}: {d}")).collect::<Vec<_>>().join(", ")
    }
}

/// One collection (table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionSpec {
    /// Name.
    pub name: &'static str,
    /// Secondary indexes (not the primary key / `_id`).
    pub indexes: &'static [IndexSpec],
    /// MongoDB `$jsonSchema` validator, as JSON.
    pub validator: &'static str,
}

pub(crate) const fn index(name: &'static str, keys: &'static [(&'static str, i32)]) -> IndexSpec {
    IndexSpec { name, keys, unique: false, expire_after_secs: None, partial: None }
}

pub(crate) const fn unique_active(name: &'static str, keys: &'static [(&'static str, i32)]) -> IndexSpec {
    IndexSpec { name, keys, unique: true, expire_after_secs: None, partial: Some(r#"{"status": "active"}"#) }
}

pub(crate) const fn unique(name: &'static str, keys: &'static [(&'static str, i32)]) -> IndexSpec {
    IndexSpec { name, keys, unique: true, expire_after_secs: None, partial: None }
}

pub(crate) const fn ttl(name: &'static str, keys: &'static [(&'static str, i32)], secs: u64) -> IndexSpec {
    IndexSpec { name, keys, unique: false, expire_after_secs: Some(secs), partial: None }
}
