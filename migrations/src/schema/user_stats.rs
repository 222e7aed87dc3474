//! Migration 8: per-user maintained counters (the data version result caches key on, and the
//! dashboard's retired-region and released-host counts).

use super::CollectionSpec;

/// The collections migration 8 creates. One document per user, `_id` = the user id: every
/// read and write is by that key, so no other index is needed.
pub const USER_STATS_COLLECTIONS: &[CollectionSpec] = &[CollectionSpec {
    name: "ipam_user_stats",
    indexes: &[],
    validator: r#"{"bsonType": "object",
        "required": ["_id", "data_version", "retired_regions", "released_hosts", "updated_at"],
        "properties": {
            "_id": {"bsonType": "string"},
            "data_version": {"bsonType": ["int", "long"], "minimum": 0},
            "retired_regions": {"bsonType": ["int", "long"], "minimum": 0},
            "released_hosts": {"bsonType": ["int", "long"], "minimum": 0},
            "updated_at": {"bsonType": "date"}}}"#,
}];
