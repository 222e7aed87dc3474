//! The collections of migration 6: notifications, notification rules and bulk operation jobs.

use super::{CollectionSpec, index, ttl, unique};

/// Notifications are kept this long: the writer sets `expires_at = created_at + 90 days` (the
/// seed's "auto-delete after 90 days"); on MongoDB a TTL index with `expireAfterSeconds: 0`
/// deletes each one at its `expires_at`.
pub const NOTIFICATION_RETENTION_SECS: u64 = 90 * 24 * 3600;

/// Finished bulk jobs (`completed_at` set, whether completed or failed) are kept this long (the
/// seed's 7 days).
pub const BULK_JOB_RETENTION_SECS: u64 = 7 * 24 * 3600;

/// The collections of migration 6.
///
/// SQLite has no TTL: there the TTL indexes are plain indexes (same names) and rows are deleted
/// only by a job, never by the database itself.
pub const NOTIFICATION_AND_BULK_JOB_COLLECTIONS: &[CollectionSpec] = &[
    CollectionSpec {
        name: "ipam_notifications",
        indexes: &[
            index("notification_user_read_created_idx", &[("user_id", 1), ("is_read", 1), ("created_at", -1)]),
            index("notification_user_severity_idx", &[("user_id", 1), ("severity", 1)]),
            index("notification_user_type_idx", &[("user_id", 1), ("notification_type", 1)]),
            // Deleted at `expires_at` itself, which the writer sets NOTIFICATION_RETENTION_SECS
            // after `created_at`.
            ttl("notification_expires_idx", &[("expires_at", 1)], 0),
        ],
        validator: NOTIFICATIONS_VALIDATOR_V6,
    },
    CollectionSpec {
        name: "ipam_notification_rules",
        indexes: &[
            index("rule_user_active_idx", &[("user_id", 1), ("is_active", 1)]),
            index("rule_user_created_idx", &[("user_id", 1), ("created_at", -1)]),
        ],
        validator: NOTIFICATION_RULES_VALIDATOR_V6,
    },
    CollectionSpec {
        name: "ipam_bulk_jobs",
        // `_id` and `job_id` hold the same value; `job_id` is what clients look jobs up by.
        indexes: &[
            unique("bulk_job_id_unique_idx", &[("job_id", 1)]),
            index("bulk_job_user_created_idx", &[("user_id", 1), ("created_at", -1)]),
            index("bulk_job_user_status_idx", &[("user_id", 1), ("status", 1)]),
            // Finished jobs go BULK_JOB_RETENTION_SECS after `completed_at`. A TTL index ignores
            // documents whose `completed_at` is null or absent, so unfinished (pending or
            // processing) jobs never expire.
            ttl("bulk_job_completed_idx", &[("completed_at", 1)], BULK_JOB_RETENTION_SECS),
        ],
        validator: BULK_JOBS_VALIDATOR_V6,
    },
];

/// `ipam_notifications` as migration 6 created it (migration 7 replaces it; its rollback puts
/// this one back).
pub(crate) const NOTIFICATIONS_VALIDATOR_V6: &str = r#"{"bsonType": "object",
    "required": ["_id", "user_id", "notification_type", "severity", "message", "is_read", "created_at",
                 "expires_at"],
    "properties": {
        "_id": {"bsonType": "string"},
        "user_id": {"bsonType": "string"},
        "notification_type": {"bsonType": "string", "minLength": 1},
        "severity": {"enum": ["info", "warning", "critical"]},
        "message": {"bsonType": "string"},
        "resource_type": {"bsonType": ["string", "null"]},
        "resource_id": {"bsonType": ["string", "null"]},
        "resource_link": {"bsonType": ["string", "null"]},
        "is_read": {"bsonType": "bool"},
        "read_at": {"bsonType": ["date", "null"]},
        "created_at": {"bsonType": "date"},
        "expires_at": {"bsonType": "date"}}}"#;

/// `ipam_notification_rules` as migration 6 created it (migration 7 replaces it; its rollback
/// puts this one back).
pub(crate) const NOTIFICATION_RULES_VALIDATOR_V6: &str = r#"{"bsonType": "object",
    "required": ["_id", "user_id", "rule_name", "conditions", "notification_channels", "is_active",
                 "created_at", "updated_at"],
    "properties": {
        "_id": {"bsonType": "string"},
        "user_id": {"bsonType": "string"},
        "rule_name": {"bsonType": "string", "minLength": 1, "maxLength": 100},
        "conditions": {"bsonType": "object"},
        "notification_channels": {"bsonType": "array", "minItems": 1, "uniqueItems": true,
                                  "items": {"enum": ["in_app", "email", "webhook"]}},
        "is_active": {"bsonType": "bool"},
        "last_triggered": {"bsonType": ["date", "null"]},
        "created_at": {"bsonType": "date"},
        "updated_at": {"bsonType": "date"}}}"#;

/// `ipam_bulk_jobs` as migration 6 created it (migration 10 replaces it; its rollback puts this
/// one back).
pub(crate) const BULK_JOBS_VALIDATOR_V6: &str = r#"{"bsonType": "object",
            "required": ["_id", "job_id", "user_id", "operation_type", "total_items", "processed_items",
                         "successful_items", "failed_items", "status", "results", "created_at"],
            "properties": {
                "_id": {"bsonType": "string"},
                "job_id": {"bsonType": "string"},
                "user_id": {"bsonType": "string"},
                "operation_type": {"bsonType": "string", "minLength": 1},
                "total_items": {"bsonType": ["int", "long"], "minimum": 0},
                "processed_items": {"bsonType": ["int", "long"], "minimum": 0},
                "successful_items": {"bsonType": ["int", "long"], "minimum": 0},
                "failed_items": {"bsonType": ["int", "long"], "minimum": 0},
                "status": {"enum": ["pending", "processing", "completed", "failed"]},
                "results": {"bsonType": "array"},
                "created_at": {"bsonType": "date"},
                "completed_at": {"bsonType": ["date", "null"]}}}"#;
