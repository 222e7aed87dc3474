//! Migration 7: what notifications and rules need to be evaluated from the event outbox. It
//! alters two collections of migration 6 (a notification's dedup key; a rule's severity and
//! cooldown) and creates the per-(rule, resource) threshold state that replaces a rule's single
//! `last_triggered`.

use super::notifications::{NOTIFICATION_RULES_VALIDATOR_V6, NOTIFICATIONS_VALIDATOR_V6};
use super::{AddedField, AlterSpec, Backfill, CollectionSpec, ValidatorChange, index, unique};

/// The collections migration 7 creates.
pub const NOTIFICATION_RULE_STATE_COLLECTIONS: &[CollectionSpec] = &[CollectionSpec {
    name: "ipam_notification_rule_state",
    indexes: &[
        // One row per (rule, resource): the evaluation upserts it, so two workers handling events
        // of one resource meet on this key instead of each inserting a row.
        unique("rule_state_rule_resource_unique_idx", &[("rule_id", 1), ("resource_key", 1)]),
        index("rule_state_user_idx", &[("user_id", 1)]),
    ],
    validator: r#"{"bsonType": "object",
        "required": ["_id", "rule_id", "user_id", "resource_key", "above", "crossings", "updated_at"],
        "properties": {
            "_id": {"bsonType": "string"},
            "rule_id": {"bsonType": "string"},
            "user_id": {"bsonType": "string"},
            "resource_key": {"bsonType": "string", "minLength": 1},
            "above": {"bsonType": "bool"},
            "crossings": {"bsonType": ["int", "long"], "minimum": 0},
            "last_fired_at": {"bsonType": ["date", "null"]},
            "updated_at": {"bsonType": "date"}}}"#,
}];

/// What existing notifications get as their dedup key: their own id behind this prefix, so no
/// two collide and no future key (always built from a cause) can equal one.
pub const LEGACY_DEDUP_KEY_PREFIX: &str = "legacy:";

/// The severity and cooldown rules written before migration 7 get. Fixed here for good: they
/// describe what those old rows meant, whatever later defaults for new rules become (the seed's
/// trigger was mostly "warning"; 60 minutes is the issue's default cooldown).
pub const EXISTING_RULE_SEVERITY: &str = "warning";
/// See [`EXISTING_RULE_SEVERITY`].
pub const EXISTING_RULE_COOLDOWN_MINUTES: i64 = 60;

/// The collections migration 7 alters.
pub const NOTIFICATION_RULE_STATE_ALTERS: &[AlterSpec] = &[
    AlterSpec {
        collection: "ipam_notifications",
        added_fields: &[AddedField { name: "dedup_key", backfill: Backfill::IdWithPrefix(LEGACY_DEDUP_KEY_PREFIX) }],
        // Unique per user rather than globally: a key only has to name its cause within the
        // owner's namespace (DESIGN §3, isolation), so a key format that leaves the user out can
        // never suppress another user's notification; and every read is per user anyway.
        added_indexes: &[unique("notification_user_dedup_idx", &[("user_id", 1), ("dedup_key", 1)])],
        validator: Some(ValidatorChange { previous: NOTIFICATIONS_VALIDATOR_V6, next: NOTIFICATIONS_VALIDATOR_V7 }),
    },
    AlterSpec {
        collection: "ipam_notification_rules",
        added_fields: &[
            AddedField { name: "severity", backfill: Backfill::Text(EXISTING_RULE_SEVERITY) },
            AddedField { name: "cooldown_minutes", backfill: Backfill::Int(EXISTING_RULE_COOLDOWN_MINUTES) },
        ],
        added_indexes: &[],
        validator: Some(ValidatorChange {
            previous: NOTIFICATION_RULES_VALIDATOR_V6,
            next: NOTIFICATION_RULES_VALIDATOR_V7,
        }),
    },
];

/// `ipam_notifications` from migration 7 on: migration 6's plus a required `dedup_key`.
/// `notification_type` stays a non-empty string here; the domain names its closed set.
const NOTIFICATIONS_VALIDATOR_V7: &str = r#"{"bsonType": "object",
    "required": ["_id", "user_id", "notification_type", "severity", "message", "is_read", "created_at",
                 "expires_at", "dedup_key"],
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
        "expires_at": {"bsonType": "date"},
        "dedup_key": {"bsonType": "string", "minLength": 1}}}"#;

/// `ipam_notification_rules` from migration 7 on: migration 6's plus a required `severity` and
/// `cooldown_minutes`. `last_triggered` stays allowed (old documents carry it) but nothing
/// writes it any more: the per-resource state replaces it.
const NOTIFICATION_RULES_VALIDATOR_V7: &str = r#"{"bsonType": "object",
    "required": ["_id", "user_id", "rule_name", "conditions", "notification_channels", "is_active",
                 "created_at", "updated_at", "severity", "cooldown_minutes"],
    "properties": {
        "_id": {"bsonType": "string"},
        "user_id": {"bsonType": "string"},
        "rule_name": {"bsonType": "string", "minLength": 1, "maxLength": 100},
        "conditions": {"bsonType": "object"},
        "notification_channels": {"bsonType": "array", "minItems": 1, "uniqueItems": true,
                                  "items": {"enum": ["in_app", "email", "webhook"]}},
        "is_active": {"bsonType": "bool"},
        "last_triggered": {"bsonType": ["date", "null"]},
        "severity": {"enum": ["info", "warning", "critical"]},
        "cooldown_minutes": {"bsonType": ["int", "long"], "minimum": 0},
        "created_at": {"bsonType": "date"},
        "updated_at": {"bsonType": "date"}}}"#;
