//! Migration 11: the job queue (backend and prefix) the deployment's processes share.

use super::CollectionSpec;

/// The collections migration 11 creates. One document, `_id` = `"queue"`: read and written by
/// that key only, so no other index is needed.
pub const QUEUE_BINDING_COLLECTIONS: &[CollectionSpec] = &[CollectionSpec {
    name: "ipam_queue_binding",
    indexes: &[],
    validator: r#"{"bsonType": "object",
        "required": ["_id", "backend", "prefix", "recorded_at"],
        "properties": {
            "_id": {"enum": ["queue"]},
            "backend": {"enum": ["sqlite", "redis"]},
            "prefix": {"bsonType": "string"},
            "recorded_at": {"bsonType": "date"}}}"#,
}];
