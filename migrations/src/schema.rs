//! Collections (tables) and their indexes, as data: the MongoDB backend creates them from here,
//! `ipam verify-indexes` compares a live database against them, and a test checks that the
//! SQLite DDL creates an index of the same name for each.

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

const fn index(name: &'static str, keys: &'static [(&'static str, i32)]) -> IndexSpec {
    IndexSpec { name, keys, unique: false, expire_after_secs: None, partial: None }
}

const fn unique_active(name: &'static str, keys: &'static [(&'static str, i32)]) -> IndexSpec {
    IndexSpec { name, keys, unique: true, expire_after_secs: None, partial: Some(r#"{"status": "active"}"#) }
}

const fn unique(name: &'static str, keys: &'static [(&'static str, i32)]) -> IndexSpec {
    IndexSpec { name, keys, unique: true, expire_after_secs: None, partial: None }
}

/// The collections of migration 1.
pub const CORE_COLLECTIONS: &[CollectionSpec] = &[
    CollectionSpec {
        name: "continent_country_mapping",
        indexes: &[
            unique("country_name_unique_idx", &[("country_key", 1)]),
            index("continent_idx", &[("continent", 1)]),
        ],
        validator: r#"{"bsonType": "object",
            "required": ["_id", "country", "country_key", "continent", "x_start", "x_end", "is_reserved"],
            "properties": {
                "_id": {"bsonType": "string"}, "country": {"bsonType": "string"},
                "x_start": {"bsonType": "int", "minimum": 0, "maximum": 255},
                "x_end": {"bsonType": "int", "minimum": 0, "maximum": 255},
                "is_reserved": {"bsonType": "bool"}}}"#,
    },
    CollectionSpec {
        name: "ipam_regions",
        indexes: &[
            unique("user_xy_unique_idx", &[("user_id", 1), ("x_octet", 1), ("y_octet", 1)]),
            unique("user_country_region_unique_idx", &[("user_id", 1), ("country_code", 1), ("name_key", 1)]),
            index("user_created_idx", &[("user_id", 1), ("created_at", -1), ("_id", -1)]),
            index("user_country_status_idx", &[("user_id", 1), ("country_code", 1), ("status", 1)]),
            index("user_region_owner_idx", &[("user_id", 1), ("owner", 1)]),
        ],
        validator: r#"{"bsonType": "object",
            "required": ["_id", "user_id", "country_code", "x_octet", "y_octet", "region_name", "name_key", "status",
                         "host_slots", "allocated_hosts", "created_at"],
            "properties": {
                "x_octet": {"bsonType": "int", "minimum": 0, "maximum": 255},
                "y_octet": {"bsonType": "int", "minimum": 0, "maximum": 255},
                "status": {"enum": ["Active", "Reserved"]},
                "host_slots": {"bsonType": "array", "minItems": 4, "maxItems": 4, "items": {"bsonType": "long"}},
                "allocated_hosts": {"bsonType": ["int", "long"], "minimum": 0, "maximum": 254},
                "created_at": {"bsonType": "date"}}}"#,
    },
    CollectionSpec {
        name: "ipam_region_slots",
        indexes: &[],
        validator: r#"{"bsonType": "object", "required": ["_id", "user_id", "x_octet", "y_slots", "used_count"],
            "properties": {
                "y_slots": {"bsonType": "array", "minItems": 4, "maxItems": 4, "items": {"bsonType": "long"}},
                "used_count": {"bsonType": ["int", "long"], "minimum": 0, "maximum": 256}}}"#,
    },
    CollectionSpec {
        name: "ipam_hosts",
        indexes: &[
            unique("user_xyz_unique_idx", &[("user_id", 1), ("x_octet", 1), ("y_octet", 1), ("z_octet", 1)]),
            unique("user_region_hostname_unique_idx", &[("user_id", 1), ("region_id", 1), ("hostname", 1)]),
            index("user_host_created_idx", &[("user_id", 1), ("created_at", -1), ("_id", -1)]),
            index("user_region_idx", &[("user_id", 1), ("region_id", 1)]),
            index("user_host_status_idx", &[("user_id", 1), ("status", 1)]),
        ],
        validator: r#"{"bsonType": "object",
            "required": ["_id", "user_id", "region_id", "x_octet", "y_octet", "z_octet", "hostname", "status", "created_at"],
            "properties": {
                "z_octet": {"bsonType": "int", "minimum": 1, "maximum": 254},
                "status": {"enum": ["Active", "Reserved"]},
                "created_at": {"bsonType": "date"}}}"#,
    },
    CollectionSpec {
        name: "ipam_comments",
        indexes: &[index("user_resource_comments_idx", &[("user_id", 1), ("resource_id", 1), ("created_at", -1)])],
        validator: r#"{"bsonType": "object", "required": ["_id", "user_id", "resource_type", "resource_id", "text", "created_at"],
            "properties": {"resource_type": {"enum": ["region", "host"]}, "text": {"bsonType": "string", "maxLength": 2000}}}"#,
    },
    CollectionSpec {
        name: "ipam_audit_history",
        indexes: &[
            index("user_timestamp_idx", &[("user_id", 1), ("timestamp", -1), ("_id", -1)]),
            index("user_resource_timestamp_idx", &[("user_id", 1), ("resource_id", 1), ("timestamp", -1)]),
            index("user_action_timestamp_idx", &[("user_id", 1), ("action_type", 1), ("timestamp", -1)]),
            index("user_address_audit_idx", &[("user_id", 1), ("x_octet", 1), ("y_octet", 1), ("z_octet", 1)]),
        ],
        validator: r#"{"bsonType": "object",
            "required": ["_id", "user_id", "actor_id", "action_type", "resource_type", "resource_id", "snapshot", "timestamp"],
            "properties": {"timestamp": {"bsonType": "date"}}}"#,
    },
    CollectionSpec {
        name: "ipam_user_quotas",
        indexes: &[],
        validator: r#"{"bsonType": "object", "required": ["_id", "region_count", "host_count"],
            "properties": {"region_count": {"bsonType": ["int", "long"], "minimum": 0},
                           "host_count": {"bsonType": ["int", "long"], "minimum": 0}}}"#,
    },
];

/// The collections of migration 2.
pub const RESERVATION_COLLECTIONS: &[CollectionSpec] = &[CollectionSpec {
    name: "ipam_reservations",
    indexes: &[
        // Partial on MongoDB (status "active"); `z_octet` is null for region reservations.
        unique_active(
            "active_reservation_unique_idx",
            &[("user_id", 1), ("resource_type", 1), ("x_octet", 1), ("y_octet", 1), ("z_octet", 1)],
        ),
        index("user_status_idx", &[("user_id", 1), ("status", 1)]),
        index("user_reservation_created_idx", &[("user_id", 1), ("created_at", -1), ("_id", -1)]),
        index("reservation_expires_idx", &[("expires_at", 1)]),
        index("user_resource_type_idx", &[("user_id", 1), ("resource_type", 1)]),
    ],
    validator: r#"{"bsonType": "object",
        "required": ["_id", "user_id", "resource_type", "x_octet", "y_octet", "reason", "status", "created_at"],
        "properties": {
            "resource_type": {"enum": ["region", "host"]},
            "x_octet": {"bsonType": "int", "minimum": 0, "maximum": 255},
            "y_octet": {"bsonType": "int", "minimum": 0, "maximum": 255},
            "status": {"enum": ["active", "expired", "converted"]},
            "reason": {"bsonType": "string", "maxLength": 500},
            "created_at": {"bsonType": "date"}}}"#,
}];

/// The collections of migration 3.
pub const SHARE_COLLECTIONS: &[CollectionSpec] = &[CollectionSpec {
    name: "ipam_shares",
    indexes: &[
        unique("share_token_unique_idx", &[("share_token", 1)]),
        index("user_active_shares_idx", &[("user_id", 1), ("is_active", 1)]),
        index("share_expires_idx", &[("expires_at", 1)]),
        index("user_share_created_idx", &[("user_id", 1), ("created_at", -1)]),
        index("share_resource_idx", &[("resource_type", 1), ("resource_id", 1)]),
    ],
    validator: r#"{"bsonType": "object",
        "required": ["_id", "share_token", "user_id", "resource_type", "resource_id", "expires_at", "view_count",
                     "created_at", "is_active"],
        "properties": {
            "resource_type": {"enum": ["country", "region", "host"]},
            "view_count": {"bsonType": ["int", "long"], "minimum": 0},
            "is_active": {"bsonType": "bool"},
            "expires_at": {"bsonType": "date"}}}"#,
}];

/// The collections of migration 4.
pub const PREFERENCE_COLLECTIONS: &[CollectionSpec] = &[CollectionSpec {
    name: "ipam_user_preferences",
    // `_id` is the user id (unique by construction).
    indexes: &[index("preferences_updated_idx", &[("updated_at", 1)])],
    validator: r#"{"bsonType": "object",
        "required": ["_id", "saved_filters", "dashboard_layout", "notification_settings", "updated_at"],
        "properties": {
            "saved_filters": {"bsonType": "array", "maxItems": 50},
            "dashboard_layout": {"bsonType": "object"},
            "notification_settings": {"bsonType": "object"},
            "theme_preference": {"bsonType": ["string", "null"], "maxLength": 50},
            "updated_at": {"bsonType": "date"}}}"#,
}];

const fn ttl(name: &'static str, keys: &'static [(&'static str, i32)], secs: u64) -> IndexSpec {
    IndexSpec { name, keys, unique: false, expire_after_secs: Some(secs), partial: None }
}

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
        validator: r#"{"bsonType": "object",
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
                "expires_at": {"bsonType": "date"}}}"#,
    },
    CollectionSpec {
        name: "ipam_notification_rules",
        indexes: &[
            index("rule_user_active_idx", &[("user_id", 1), ("is_active", 1)]),
            index("rule_user_created_idx", &[("user_id", 1), ("created_at", -1)]),
        ],
        validator: r#"{"bsonType": "object",
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
                "updated_at": {"bsonType": "date"}}}"#,
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
        validator: r#"{"bsonType": "object",
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
                "completed_at": {"bsonType": ["date", "null"]}}}"#,
    },
];
