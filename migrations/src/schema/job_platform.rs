//! The collections of migration 5: the event outbox, webhooks and their deliveries, and cron
//! tick claims.

use super::{CollectionSpec, index, ttl, unique};

/// Webhook deliveries are kept this long after their last change (the seed's 30 days).
pub const DELIVERY_RETENTION_SECS: u64 = 30 * 24 * 3600;

/// The collections of migration 5.
pub const JOB_PLATFORM_COLLECTIONS: &[CollectionSpec] = &[
    CollectionSpec {
        name: "ipam_event_outbox",
        indexes: &[index("outbox_pending_idx", &[("dispatched_at", 1), ("occurred_at", 1)])],
        validator: r#"{"bsonType": "object",
            "required": ["_id", "event_type", "user_id", "occurred_at", "data"],
            "properties": {
                "event_type": {"bsonType": "string"},
                "occurred_at": {"bsonType": "date"},
                "data": {"bsonType": "object"},
                "dispatched_at": {"bsonType": ["date", "null"]}}}"#,
    },
    CollectionSpec {
        name: "ipam_webhooks",
        indexes: &[
            index("webhook_user_active_idx", &[("user_id", 1), ("is_active", 1)]),
            index("webhook_user_created_idx", &[("user_id", 1), ("created_at", -1)]),
        ],
        validator: r#"{"bsonType": "object",
            "required": ["_id", "user_id", "webhook_url", "secret_key", "events", "is_active", "failure_count",
                         "created_at", "updated_at"],
            "properties": {
                "webhook_url": {"bsonType": "string", "maxLength": 500},
                "events": {"bsonType": "array", "minItems": 1, "maxItems": 10},
                "is_active": {"bsonType": "bool"},
                "failure_count": {"bsonType": ["int", "long"], "minimum": 0}}}"#,
    },
    CollectionSpec {
        name: "ipam_webhook_deliveries",
        indexes: &[
            unique("delivery_event_webhook_unique_idx", &[("event_id", 1), ("webhook_id", 1)]),
            index("delivery_webhook_created_idx", &[("webhook_id", 1), ("created_at", -1)]),
            index("delivery_due_idx", &[("state", 1), ("next_attempt_at", 1)]),
            ttl("delivery_updated_idx", &[("updated_at", 1)], DELIVERY_RETENTION_SECS),
        ],
        validator: r#"{"bsonType": "object",
            "required": ["_id", "webhook_id", "user_id", "event_id", "event_type", "body", "state", "attempts",
                         "event_at", "created_at", "updated_at"],
            "properties": {
                "state": {"enum": ["pending", "succeeded", "dead"]},
                "attempts": {"bsonType": "array"},
                "body": {"bsonType": "string"}}}"#,
    },
    CollectionSpec {
        name: "ipam_schedule_runs",
        // `_id` is "<schedule>@<tick>": its uniqueness is what makes one process win each tick.
        indexes: &[
            index("schedule_claimed_idx", &[("claimed_at", 1)]),
            index("schedule_latest_idx", &[("schedule", 1), ("tick_at", -1)]),
        ],
        validator: r#"{"bsonType": "object",
            "required": ["_id", "schedule", "tick_at", "claimed_by", "claimed_at", "attempts"],
            "properties": {
                "tick_at": {"bsonType": "date"},
                "outcome": {"enum": ["succeeded", "failed", "dead", null]}}}"#,
    },
];
