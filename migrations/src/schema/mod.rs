//! Collections (tables) and their indexes, as data: the MongoDB backend creates them from here,
//! `ipam verify-indexes` compares a live database against them, and a test checks that the
//! SQLite DDL creates an index of the same name for each.

mod bulk_job_inputs;
mod core;
mod forecast_requests;
mod job_platform;
mod notification_rule_state;
mod notifications;
mod queue_binding;
mod user_stats;

pub use bulk_job_inputs::BULK_JOB_INPUT_ALTERS;
pub use core::{CORE_COLLECTIONS, PREFERENCE_COLLECTIONS, RESERVATION_COLLECTIONS, SHARE_COLLECTIONS};
pub use forecast_requests::{FORECAST_REQUEST_COLLECTIONS, FORECAST_REQUEST_RETENTION_SECS};
pub use job_platform::{DELIVERY_RETENTION_SECS, JOB_PLATFORM_COLLECTIONS};
pub use notification_rule_state::{
    EXISTING_RULE_COOLDOWN_MINUTES, EXISTING_RULE_SEVERITY, LEGACY_DEDUP_KEY_PREFIX, NOTIFICATION_RULE_STATE_ALTERS,
    NOTIFICATION_RULE_STATE_COLLECTIONS,
};
pub use notifications::{BULK_JOB_RETENTION_SECS, NOTIFICATION_AND_BULK_JOB_COLLECTIONS, NOTIFICATION_RETENTION_SECS};
pub use queue_binding::QUEUE_BINDING_COLLECTIONS;
pub use user_stats::USER_STATS_COLLECTIONS;

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

/// A change to a collection (table) that an earlier migration created. Its rollback undoes
/// exactly this change (drops the added indexes, puts the previous validator back, and on
/// SQLite drops the added columns) and never drops the collection or its documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlterSpec {
    /// The altered collection (table); an earlier migration creates it.
    pub collection: &'static str,
    /// Fields (SQLite columns) added, with what existing documents (rows) get.
    pub added_fields: &'static [AddedField],
    /// Indexes added (after the backfill, so a unique one holds for existing documents too).
    pub added_indexes: &'static [IndexSpec],
    /// The `$jsonSchema` validator it replaces, and the one before it (for the rollback).
    pub validator: Option<ValidatorChange>,
}

/// A field (SQLite column) an alteration adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedField {
    /// Field (column) name.
    pub name: &'static str,
    /// The value existing documents get; the SQLite DDL gives existing rows the same value
    /// (a column `DEFAULT`, or an `UPDATE` for a value derived from the row).
    pub backfill: Backfill,
}

/// The value an added field takes in documents written before the migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backfill {
    /// This string.
    Text(&'static str),
    /// This integer.
    Int(i64),
    /// This prefix followed by the document's own id: unique per document, so a unique index
    /// over the field holds for documents that never had it.
    IdWithPrefix(&'static str),
}

/// A replaced `$jsonSchema` validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatorChange {
    /// The validator in force before (what the rollback restores with `collMod`).
    pub previous: &'static str,
    /// The validator from this migration on.
    pub next: &'static str,
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
