//! Migrations on MongoDB: each collection is created with its `$jsonSchema` validator (or has
//! it updated with `collMod` when it already exists) and its indexes, then each alteration of
//! an older collection is applied ([`alter`]); the history lives in the `ipam_migrations`
//! collection.

pub mod alter;

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
    validator_document(spec.validator)
}

/// A `$jsonSchema` validator document from its JSON.
pub fn validator_document(json: &str) -> anyhow::Result<Document> {
    let schema: serde_json::Value = serde_json::from_str(json)?;
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
        for a in m.alters {
            alter::apply(db, a)
                .await
                .map_err(|e| anyhow::anyhow!("migration {} ({}), {}: {e}", m.version, m.name, a.collection))?;
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

/// Rolls back the most recent migration in force, recording it so it can be applied again:
/// its alterations are undone (newest first; the altered collections stay) and the
/// collections it created are dropped. `None` when nothing is applied.
pub async fn rollback_latest(db: &Database) -> anyhow::Result<Option<ipam_migrations::Migration>> {
    let Some(state) = status(db).await?.into_iter().rev().find(|s| s.applied_at.is_some()) else {
        return Ok(None);
    };
    let m = state.migration;
    for a in m.alters.iter().rev() {
        alter::undo(db, a)
            .await
            .map_err(|e| anyhow::anyhow!("rollback of migration {} ({}), {}: {e}", m.version, m.name, a.collection))?;
    }
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

/// Compares the live collections and indexes with the latest schema (every migration's
/// collections, with the indexes later alterations added).
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
        reports.push(compare(&spec, exists, &live, live_matches));
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
mod tests;
