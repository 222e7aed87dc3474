//! Migration 10: bulk jobs become runnable. `ipam_bulk_jobs` (migration 6) gains the job's inputs,
//! its owner's username, `started_at`, a progress `cursor`, a worker lease and the `cancelled`
//! status; an index finds stalled jobs (pending or processing past their lease deadline).
//!
//! Per-resource results: MongoDB keeps them in the job document's `results` array (appended per
//! batch, guarded by the cursor); SQLite keeps them in a table of its own,
//! `ipam_bulk_job_results`, created by the same migration's DDL.

use super::notifications::BULK_JOBS_VALIDATOR_V6;
use super::{AddedField, AlterSpec, Backfill, ValidatorChange, index};

/// The collections migration 10 alters.
pub const BULK_JOB_INPUT_ALTERS: &[AlterSpec] = &[AlterSpec {
    collection: "ipam_bulk_jobs",
    // Jobs written before have processed nothing: their cursor is 0. Their inputs stay absent
    // (the original never stored them); a worker marks such a job failed.
    added_fields: &[AddedField { name: "cursor", backfill: Backfill::Int(0) }],
    // The outbox relay's question: which pending or processing jobs are past their deadline.
    added_indexes: &[index("bulk_job_status_lease_idx", &[("status", 1), ("lease_until", 1)])],
    validator: Some(ValidatorChange { previous: BULK_JOBS_VALIDATOR_V6, next: BULK_JOBS_VALIDATOR_V10 }),
}];

/// `ipam_bulk_jobs` from migration 10 on: migration 6's plus the inputs, the cursor, the lease and
/// the `cancelled` status. The inputs are optional so that documents written before stay valid.
const BULK_JOBS_VALIDATOR_V10: &str = r#"{"bsonType": "object",
    "required": ["_id", "job_id", "user_id", "operation_type", "total_items", "processed_items",
                 "successful_items", "failed_items", "status", "results", "created_at", "cursor"],
    "properties": {
        "_id": {"bsonType": "string"},
        "job_id": {"bsonType": "string"},
        "user_id": {"bsonType": "string"},
        "operation_type": {"bsonType": "string", "minLength": 1},
        "total_items": {"bsonType": ["int", "long"], "minimum": 0},
        "processed_items": {"bsonType": ["int", "long"], "minimum": 0},
        "successful_items": {"bsonType": ["int", "long"], "minimum": 0},
        "failed_items": {"bsonType": ["int", "long"], "minimum": 0},
        "status": {"enum": ["pending", "processing", "completed", "failed", "cancelled"]},
        "results": {"bsonType": "array"},
        "created_at": {"bsonType": "date"},
        "completed_at": {"bsonType": ["date", "null"]},
        "cursor": {"bsonType": ["int", "long"], "minimum": 0},
        "username": {"bsonType": "string"},
        "resource_type": {"enum": ["region", "host"]},
        "operation": {"enum": ["add", "remove", "replace"]},
        "tags": {"bsonType": "object"},
        "resource_ids": {"bsonType": "array", "items": {"bsonType": "string"}},
        "started_at": {"bsonType": ["date", "null"]},
        "lease_holder": {"bsonType": ["string", "null"]},
        "lease_until": {"bsonType": ["date", "null"]}}}"#;
