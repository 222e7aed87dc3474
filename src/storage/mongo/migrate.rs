//! Migrations on MongoDB: each collection is created with its `$jsonSchema` validator (or has
//! it updated with `collMod` when it already exists) and its indexes; the history lives in the
//! `ipam_migrations` collection.

use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use ipam_migrations::{CollectionSpec, IndexSpec, MIGRATIONS};

pub use crate::storage::migrations::{Applied, MigrationState};
use mongodb::bson::{self, Bson, DateTime as BsonDateTime, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

/// The history collection.
pub const HISTORY: &str = ipam_migrations::HISTORY_TABLE;

/// MongoDB's "collection already exists" error code.
const NAMESPACE_EXISTS: i32 = 48;

/// The `$jsonSchema` validator of a collection.
pub fn validator(spec: &CollectionSpec) -> anyhow::Result<Document> {
    let schema: serde_json::Value = serde_json::from_str(spec.validator)?;
    Ok(doc! { "$jsonSchema": bson::to_bson(&schema)? })
}

/// The index model of a spec.
pub fn index_model(spec: &IndexSpec) -> IndexModel {
    let keys: Document = spec.keys.iter().map(|(k, d)| ((*k).to_owned(), Bson::Int32(*d))).collect();
    let partial = spec
        .partial
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .and_then(|v| bson::to_document(&v).ok());
    let options = IndexOptions::builder()
        .name(spec.name.to_owned())
        .unique(spec.unique.then_some(true))
        .expire_after(spec.expire_after_secs.map(std::time::Duration::from_secs))
        .partial_filter_expression(partial)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

async fn create_collection(db: &Database, spec: &CollectionSpec) -> anyhow::Result<()> {
    let validator = validator(spec)?;
    match db.create_collection(spec.name).validator(validator.clone()).await {
        Ok(()) => {}
        Err(e) if matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == NAMESPACE_EXISTS) => {
            db.run_command(doc! { "collMod": spec.name, "validator": validator }).await?;
        }
        Err(e) => return Err(e.into()),
    }
    if !spec.indexes.is_empty() {
        let models: Vec<IndexModel> = spec.indexes.iter().map(index_model).collect();
        db.collection::<Document>(spec.name).create_indexes(models).await?;
    }
    Ok(())
}

/// Applies every migration not yet in force.
pub async fn apply_pending(db: &Database) -> anyhow::Result<Vec<Applied>> {
    let history = db.collection::<Document>(HISTORY);
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let version = i64::from(m.version);
        let in_force = history
            .find_one(doc! { "_id": version, "applied_at": { "$ne": Bson::Null }, "rolled_back_at": Bson::Null })
            .await?;
        if in_force.is_some() {
            continue;
        }
        let started = Instant::now();
        for spec in m.collections {
            create_collection(db, spec)
                .await
                .map_err(|e| anyhow::anyhow!("migration {} ({}): {e}", m.version, m.name))?;
        }
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        history
            .update_one(
                doc! { "_id": version },
                doc! { "$set": {
                    "name": m.name, "description": m.description, "applied_at": BsonDateTime::now(),
                    "rolled_back_at": Bson::Null, "duration_ms": i64::try_from(duration_ms).unwrap_or(i64::MAX),
                }},
            )
            .upsert(true)
            .await?;
        applied.push(Applied { migration: *m, duration_ms });
    }
    Ok(applied)
}

/// Every known migration and whether it is in force.
pub async fn status(db: &Database) -> anyhow::Result<Vec<MigrationState>> {
    let rows: Vec<Document> =
        db.collection::<Document>(HISTORY).find(doc! { "rolled_back_at": Bson::Null }).await?.try_collect().await?;
    Ok(MIGRATIONS
        .iter()
        .map(|m| {
            let applied_at = rows
                .iter()
                .find(|r| r.get_i64("_id").ok() == Some(i64::from(m.version)))
                .and_then(|r| r.get_datetime("applied_at").ok())
                .and_then(|d| DateTime::<Utc>::from_timestamp_millis(d.timestamp_millis()));
            MigrationState { migration: *m, applied_at }
        })
        .collect())
}

/// Rolls back the most recent migration in force (its collections are dropped), recording it
/// so it can be applied again. `None` when nothing is applied.
pub async fn rollback_latest(db: &Database) -> anyhow::Result<Option<ipam_migrations::Migration>> {
    let Some(state) = status(db).await?.into_iter().rev().find(|s| s.applied_at.is_some()) else {
        return Ok(None);
    };
    let m = state.migration;
    for spec in m.collections {
        db.collection::<Document>(spec.name).drop().await?;
    }
    db.collection::<Document>(HISTORY)
        .update_one(doc! { "_id": i64::from(m.version) }, doc! { "$set": { "rolled_back_at": BsonDateTime::now() } })
        .await?;
    Ok(Some(m))
}

/// The keys of a live index as text, in the spec's format.
pub fn keys_text(keys: &Document) -> String {
    keys.iter()
        .map(|(k, v)| format!("{k}: {}", v.as_i32().map(i64::from).or_else(|| v.as_i64()).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A live index as `verify-indexes` compares it; `None` for the `_id` index.
pub fn live_index(model: IndexModel) -> Option<crate::storage::migrations::LiveIndex> {
    let options = model.options.unwrap_or_default();
    let name = options.name.unwrap_or_default();
    (name != "_id_").then(|| crate::storage::migrations::LiveIndex {
        name,
        keys: keys_text(&model.keys),
        unique: options.unique.unwrap_or(false),
        expire_after_secs: options.expire_after.map(|d| d.as_secs()),
    })
}

/// Whether a live index (of the expected name and uniqueness) has the spec's keys and TTL: an
/// index without its `expireAfterSeconds` would keep documents forever.
pub fn live_matches(want: &IndexSpec, have: &crate::storage::migrations::LiveIndex) -> bool {
    want.keys_text() == have.keys && want.expire_after_secs == have.expire_after_secs
}

/// Compares the live collections and indexes with every migration's collections.
pub async fn verify_indexes(db: &Database) -> anyhow::Result<Vec<crate::storage::migrations::IndexReport>> {
    use crate::storage::migrations::{compare, expected_collections};
    let names = db.list_collection_names().await?;
    let mut reports = Vec::new();
    for spec in expected_collections() {
        let exists = names.iter().any(|n| n == spec.name);
        let mut live = Vec::new();
        if exists {
            let models: Vec<IndexModel> =
                db.collection::<Document>(spec.name).list_indexes().await?.try_collect().await?;
            live.extend(models.into_iter().filter_map(live_index));
        }
        reports.push(compare(spec, exists, &live, live_matches));
    }
    Ok(reports)
}

#[async_trait::async_trait]
impl crate::storage::SchemaAdmin for super::MongoStore {
    async fn prepare(&self) -> anyhow::Result<Vec<Applied>> {
        super::MongoStore::prepare(self).await
    }

    async fn migration_status(&self) -> anyhow::Result<Vec<MigrationState>> {
        status(self.database()).await
    }

    async fn rollback_latest(&self) -> anyhow::Result<Option<ipam_migrations::Migration>> {
        rollback_latest(self.database()).await
    }

    async fn verify_indexes(&self) -> anyhow::Result<Vec<crate::storage::migrations::IndexReport>> {
        verify_indexes(self.database()).await
    }
}

#[cfg(test)]
mod tests {
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
                (
                    "ipam_notification_rules",
                    doc! { "user_id": 1, "is_active": 1 },
                    doc! { "name": "rule_user_active_idx" }
                ),
                (
                    "ipam_notification_rules",
                    doc! { "user_id": 1, "created_at": -1 },
                    doc! { "name": "rule_user_created_idx" },
                ),
                ("ipam_bulk_jobs", doc! { "job_id": 1 }, doc! { "name": "bulk_job_id_unique_idx", "unique": true }),
                (
                    "ipam_bulk_jobs",
                    doc! { "user_id": 1, "created_at": -1 },
                    doc! { "name": "bulk_job_user_created_idx" }
                ),
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
}
