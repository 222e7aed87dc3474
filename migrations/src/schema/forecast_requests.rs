//! Migration 9: the forecasts clients asked for, so the daily recomputation job knows which
//! cached forecasts to warm.

use super::{CollectionSpec, ttl, unique};

/// How long a forecast request is remembered after it was last made: the recomputation job
/// warms only forecasts asked for within this window, and MongoDB's TTL index deletes older
/// requests (on SQLite the job deletes them).
pub const FORECAST_REQUEST_RETENTION_SECS: u64 = 7 * 86_400;

/// The collections migration 9 creates.
pub const FORECAST_REQUEST_COLLECTIONS: &[CollectionSpec] = &[CollectionSpec {
    name: "ipam_forecast_requests",
    indexes: &[
        // One document per (user, resource, days_ahead): a request upserts it, so two API
        // processes recording the same request meet on this key instead of each inserting one.
        unique(
            "forecast_request_key_unique_idx",
            &[("user_id", 1), ("resource_type", 1), ("resource_id", 1), ("days_ahead", 1)],
        ),
        // Serves the job's "requested since" scan too.
        ttl("forecast_request_last_requested_idx", &[("last_requested_at", 1)], FORECAST_REQUEST_RETENTION_SECS),
    ],
    validator: r#"{"bsonType": "object",
        "required": ["_id", "user_id", "resource_type", "resource_id", "days_ahead", "last_requested_at"],
        "properties": {
            "_id": {"bsonType": "string"},
            "user_id": {"bsonType": "string"},
            "resource_type": {"enum": ["country", "region"]},
            "resource_id": {"bsonType": "string", "minLength": 1},
            "days_ahead": {"bsonType": ["int", "long"], "minimum": 1, "maximum": 365},
            "last_requested_at": {"bsonType": "date"}}}"#,
}];
