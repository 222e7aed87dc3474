//! Unit tests of the MongoDB migration commands (indexes, validators, alterations), checked
//! as the BSON the server receives, without a server.

use ipam_migrations::CORE_COLLECTIONS;

use super::*;

#[test]
fn index_models_carry_name_keys_and_uniqueness() {
    let regions = CORE_COLLECTIONS.iter().find(|c| c.name == "ipam_regions").unwrap();
    let model = index_model(&regions.indexes[0]);
    assert_eq!(model.keys, doc! { "user_id": 1, "x_octet": 1, "y_octet": 1 });
    let options = model.options.unwrap();
    assert_eq!(options.name.as_deref(), Some("user_xy_unique_idx"));
    assert_eq!(options.unique, Some(true));
    let created = index_model(&regions.indexes[2]);
    assert_eq!(created.keys, doc! { "user_id": 1, "created_at": -1, "_id": -1 });
    assert_eq!(created.options.unwrap().unique, None);
}

#[test]
fn every_expected_index_of_the_core_is_declared() {
    let names: Vec<(&str, &str)> =
        CORE_COLLECTIONS.iter().flat_map(|c| c.indexes.iter().map(move |i| (c.name, i.name))).collect();
    for expected in [
        ("ipam_regions", "user_xy_unique_idx"),
        ("ipam_regions", "user_country_region_unique_idx"),
        ("ipam_hosts", "user_xyz_unique_idx"),
        ("ipam_hosts", "user_region_hostname_unique_idx"),
        ("ipam_audit_history", "user_timestamp_idx"),
        ("continent_country_mapping", "country_name_unique_idx"),
    ] {
        assert!(names.contains(&expected), "{expected:?}");
    }
}

#[test]
fn the_active_reservation_index_is_partial() {
    let spec = &ipam_migrations::RESERVATION_COLLECTIONS[0].indexes[0];
    let options = index_model(spec).options.unwrap();
    assert_eq!(options.partial_filter_expression, Some(doc! { "status": "active" }));
    assert_eq!(options.unique, Some(true));
}

/// Each index of a list of collections as MongoDB receives it: collection, keys, options.
fn index_commands(collections: &[CollectionSpec]) -> Vec<(&'static str, Document, Document)> {
    collections
        .iter()
        .flat_map(|c| {
            c.indexes.iter().map(move |i| {
                let model = index_model(i);
                (c.name, model.keys, bson::to_document(&model.options.unwrap()).unwrap())
            })
        })
        .collect()
}

#[test]
fn migration_6_creates_every_index_with_its_options_and_ttl() {
    let week = i32::try_from(ipam_migrations::BULK_JOB_RETENTION_SECS).unwrap();
    assert_eq!(week, 604_800);
    assert_eq!(
        index_commands(ipam_migrations::NOTIFICATION_AND_BULK_JOB_COLLECTIONS),
        [
            (
                "ipam_notifications",
                doc! { "user_id": 1, "is_read": 1, "created_at": -1 },
                doc! { "name": "notification_user_read_created_idx" },
            ),
            (
                "ipam_notifications",
                doc! { "user_id": 1, "severity": 1 },
                doc! { "name": "notification_user_severity_idx" }
            ),
            (
                "ipam_notifications",
                doc! { "user_id": 1, "notification_type": 1 },
                doc! { "name": "notification_user_type_idx" },
            ),
            // Deleted at expires_at (created_at + 90 days, set by the writer).
            (
                "ipam_notifications",
                doc! { "expires_at": 1 },
                doc! { "expireAfterSeconds": 0, "name": "notification_expires_idx" },
            ),
            ("ipam_notification_rules", doc! { "user_id": 1, "is_active": 1 }, doc! { "name": "rule_user_active_idx" }),
            (
                "ipam_notification_rules",
                doc! { "user_id": 1, "created_at": -1 },
                doc! { "name": "rule_user_created_idx" },
            ),
            ("ipam_bulk_jobs", doc! { "job_id": 1 }, doc! { "name": "bulk_job_id_unique_idx", "unique": true }),
            ("ipam_bulk_jobs", doc! { "user_id": 1, "created_at": -1 }, doc! { "name": "bulk_job_user_created_idx" }),
            ("ipam_bulk_jobs", doc! { "user_id": 1, "status": 1 }, doc! { "name": "bulk_job_user_status_idx" }),
            // Finished jobs only: a null or absent completed_at never expires.
            (
                "ipam_bulk_jobs",
                doc! { "completed_at": 1 },
                doc! { "expireAfterSeconds": week, "name": "bulk_job_completed_idx" },
            ),
        ]
    );
}

#[test]
fn verification_wants_each_ttl_index_with_its_expiry() {
    use crate::storage::migrations::compare;
    let spec =
        ipam_migrations::NOTIFICATION_AND_BULK_JOB_COLLECTIONS.iter().find(|c| c.name == "ipam_bulk_jobs").unwrap();
    let spec = &ipam_migrations::ExpectedCollection::from(spec);
    let live: Vec<_> = spec.indexes.iter().filter_map(|i| live_index(index_model(i))).collect();
    assert_eq!(live.iter().map(|l| l.expire_after_secs).collect::<Vec<_>>(), [None, None, None, Some(604_800)]);
    assert!(compare(spec, true, &live, live_matches).is_ok());

    let mut without_ttl = live.clone();
    without_ttl[3].expire_after_secs = None;
    let report = compare(spec, true, &without_ttl, live_matches);
    assert_eq!(report.missing.iter().map(|i| i.name).collect::<Vec<_>>(), ["bulk_job_completed_idx"]);
    let mut other_ttl = live;
    other_ttl[3].expire_after_secs = Some(3600);
    assert!(!compare(spec, true, &other_ttl, live_matches).is_ok());

    let id = IndexModel::builder()
        .keys(doc! { "_id": 1 })
        .options(IndexOptions::builder().name("_id_".to_owned()).build())
        .build();
    assert!(live_index(id).is_none());
}

#[test]
fn migration_6_validators_require_string_ids_and_constrain_enums_and_counters() {
    let schemas: Vec<(&str, Document)> = ipam_migrations::NOTIFICATION_AND_BULK_JOB_COLLECTIONS
        .iter()
        .map(|c| (c.name, validator(c).unwrap().get_document("$jsonSchema").unwrap().clone()))
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| Bson::from(*s)).collect::<Vec<_>>();
    for (name, schema) in &schemas {
        let properties = schema.get_document("properties").unwrap();
        assert_eq!(properties.get_document("_id").unwrap(), &doc! { "bsonType": "string" }, "{name}");
        assert_eq!(properties.get_document("user_id").unwrap(), &doc! { "bsonType": "string" }, "{name}");
        assert_eq!(properties.get_document("created_at").unwrap(), &doc! { "bsonType": "date" }, "{name}");
        for required in schema.get_array("required").unwrap() {
            let field = required.as_str().unwrap();
            assert!(properties.contains_key(field), "{name}: required {field} has no type");
        }
    }
    let [(_, notifications), (_, rules), (_, jobs)] = &schemas[..] else { panic!("three collections") };

    let p = notifications.get_document("properties").unwrap();
    assert_eq!(p.get_document("severity").unwrap(), &doc! { "enum": strings(&["info", "warning", "critical"]) });
    assert_eq!(p.get_document("is_read").unwrap(), &doc! { "bsonType": "bool" });
    assert_eq!(p.get_document("read_at").unwrap(), &doc! { "bsonType": ["date", "null"] });
    assert_eq!(p.get_document("resource_link").unwrap(), &doc! { "bsonType": ["string", "null"] });
    assert_eq!(p.get_document("expires_at").unwrap(), &doc! { "bsonType": "date" }, "the TTL needs a date");
    assert!(notifications.get_array("required").unwrap().contains(&Bson::from("expires_at")));

    let p = rules.get_document("properties").unwrap();
    assert_eq!(p.get_document("rule_name").unwrap().get_i64("maxLength"), Ok(100));
    assert_eq!(p.get_document("conditions").unwrap(), &doc! { "bsonType": "object" });
    let channels = p.get_document("notification_channels").unwrap();
    assert_eq!(channels.get_str("bsonType"), Ok("array"));
    assert_eq!(channels.get_document("items").unwrap(), &doc! { "enum": strings(&["in_app", "email", "webhook"]) });
    assert_eq!(p.get_document("last_triggered").unwrap(), &doc! { "bsonType": ["date", "null"] });

    let p = jobs.get_document("properties").unwrap();
    assert_eq!(
        p.get_document("status").unwrap(),
        &doc! { "enum": strings(&["pending", "processing", "completed", "failed"]) }
    );
    for counter in ["total_items", "processed_items", "successful_items", "failed_items"] {
        assert_eq!(
            p.get_document(counter).unwrap(),
            &doc! { "bsonType": ["int", "long"], "minimum": 0_i64 },
            "{counter}"
        );
    }
    assert_eq!(p.get_document("results").unwrap(), &doc! { "bsonType": "array" });
    assert_eq!(p.get_document("completed_at").unwrap(), &doc! { "bsonType": ["date", "null"] });
    assert!(!jobs.get_array("required").unwrap().contains(&Bson::from("completed_at")));
}

#[test]
fn live_keys_are_described_like_the_spec() {
    let spec = &CORE_COLLECTIONS[1].indexes[2];
    let model = index_model(spec);
    assert_eq!(keys_text(&model.keys), spec.keys_text());
    assert_eq!(keys_text(&doc! { "a": 1_i64, "b": -1 }), "a: 1, b: -1");
}

#[test]
fn validators_become_json_schema_documents() {
    let regions = CORE_COLLECTIONS.iter().find(|c| c.name == "ipam_regions").unwrap();
    let v = validator(regions).unwrap();
    let schema = v.get_document("$jsonSchema").unwrap();
    assert_eq!(schema.get_str("bsonType").unwrap(), "object");
    let status = schema.get_document("properties").unwrap().get_document("status").unwrap();
    assert_eq!(status.get_array("enum").unwrap(), &vec![Bson::from("Active"), Bson::from("Reserved")]);
}

/// Migration 7's alteration of one collection.
fn migration_7_alter(collection: &str) -> &'static ipam_migrations::AlterSpec {
    ipam_migrations::NOTIFICATION_RULE_STATE_ALTERS.iter().find(|a| a.collection == collection).unwrap()
}

#[test]
fn migration_7_backfills_then_indexes_then_replaces_the_notifications_validator() {
    let alter = migration_7_alter("ipam_notifications");
    let commands = alter::up_commands(alter).unwrap();
    let [backfill, create, modify] = &commands[..] else { panic!("{commands:?}") };
    assert_eq!(
        backfill,
        &doc! {
            "update": "ipam_notifications",
            "updates": [{
                "q": { "dedup_key": { "$exists": false } },
                "u": [{ "$set": { "dedup_key": { "$concat": ["legacy:", { "$toString": "$_id" }] } } }],
                "multi": true,
            }],
        }
    );
    assert_eq!(
        create,
        &doc! {
            "createIndexes": "ipam_notifications",
            "indexes": [{ "key": { "user_id": 1, "dedup_key": 1 }, "name": "notification_user_dedup_idx", "unique": true }],
        }
    );
    let next = validator_document(alter.validator.unwrap().next).unwrap();
    assert_eq!(modify, &doc! { "collMod": "ipam_notifications", "validator": next.clone() });
    let schema = next.get_document("$jsonSchema").unwrap();
    assert!(schema.get_array("required").unwrap().contains(&Bson::from("dedup_key")));

    let previous = validator(&ipam_migrations::NOTIFICATION_AND_BULK_JOB_COLLECTIONS[0]).unwrap();
    assert_eq!(
        alter::down_commands(alter).unwrap(),
        [
            doc! { "dropIndexes": "ipam_notifications", "index": "notification_user_dedup_idx" },
            doc! { "collMod": "ipam_notifications", "validator": previous },
        ],
        "the rollback restores migration 6's validator and never drops the collection"
    );
}

#[test]
fn migration_7_gives_existing_rules_a_severity_and_cooldown_and_requires_them() {
    let alter = migration_7_alter("ipam_notification_rules");
    let commands = alter::up_commands(alter).unwrap();
    let set = |field: &str, value: Bson| {
        doc! {
            "update": "ipam_notification_rules",
            "updates": [{ "q": { field: { "$exists": false } }, "u": [{ "$set": { field: value } }], "multi": true }],
        }
    };
    let next = validator_document(alter.validator.unwrap().next).unwrap();
    assert_eq!(
        commands,
        [
            set("severity", doc! { "$literal": "warning" }.into()),
            set("cooldown_minutes", Bson::Int64(60)),
            doc! { "collMod": "ipam_notification_rules", "validator": next.clone() },
        ]
    );
    let schema = next.get_document("$jsonSchema").unwrap();
    let properties = schema.get_document("properties").unwrap();
    assert_eq!(
        properties.get_document("cooldown_minutes").unwrap(),
        &doc! { "bsonType": ["int", "long"], "minimum": 0_i64 }
    );
    assert_eq!(properties.get_document("last_triggered").unwrap(), &doc! { "bsonType": ["date", "null"] });
    let previous = validator(&ipam_migrations::NOTIFICATION_AND_BULK_JOB_COLLECTIONS[1]).unwrap();
    assert_eq!(
        alter::down_commands(alter).unwrap(),
        [doc! { "collMod": "ipam_notification_rules", "validator": previous }],
        "no index to drop; the fields stay in the documents"
    );
}

#[test]
fn migration_7_creates_the_rule_state_with_its_unique_key() {
    assert_eq!(
        index_commands(ipam_migrations::NOTIFICATION_RULE_STATE_COLLECTIONS),
        [
            (
                "ipam_notification_rule_state",
                doc! { "rule_id": 1, "resource_key": 1 },
                doc! { "name": "rule_state_rule_resource_unique_idx", "unique": true },
            ),
            ("ipam_notification_rule_state", doc! { "user_id": 1 }, doc! { "name": "rule_state_user_idx" }),
        ]
    );
}

#[test]
fn verification_expects_the_indexes_an_alteration_added() {
    use crate::storage::migrations::{compare, expected_collections};
    let notifications = expected_collections().find(|c| c.name == "ipam_notifications").unwrap();
    let created = &ipam_migrations::NOTIFICATION_AND_BULK_JOB_COLLECTIONS[0];
    let live: Vec<_> = created.indexes.iter().filter_map(|i| live_index(index_model(i))).collect();
    let report = compare(&notifications, true, &live, live_matches);
    assert_eq!(report.missing.iter().map(|i| i.name).collect::<Vec<_>>(), ["notification_user_dedup_idx"]);
    assert_eq!(report.expected, 5);
}
