//! The collections of migrations 1 to 4: the core IPAM (countries, regions, hosts, comments,
//! audit, quotas) and the per-user features built on it (reservations, shares, preferences).

use super::{CollectionSpec, index, unique, unique_active};

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
