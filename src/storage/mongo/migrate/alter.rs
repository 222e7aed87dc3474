//! Alterations of existing collections on MongoDB, as the commands the server receives (pure
//! functions, unit-tested without a server) and the runner that sends them.
//!
//! Applying one fills each added field in the documents that lack it, creates the added indexes
//! (after the fill, so a unique one holds for old documents too), then replaces the validator.
//! Undoing it drops exactly those indexes and puts the previous validator back with `collMod`;
//! the collection and its documents stay. Documents keep the added fields: MongoDB has no
//! columns to drop, the previous validator accepts extra fields (a test in `ipam-migrations`
//! checks it), and a later re-apply then finds the values they had instead of refilling them.

use ipam_migrations::{AddedField, AlterSpec, Backfill};
use mongodb::Database;
use mongodb::bson::{self, Bson, Document, doc};

use super::{index_model, validator_document};

/// MongoDB's "index not found" error code: a rollback retried after a partial failure finds
/// some indexes already gone.
const INDEX_NOT_FOUND: i32 = 27;

/// The update that gives `field` its backfill value in every document that lacks it. A
/// pipeline update, so that a value can be derived from the document's own `_id`.
pub fn backfill_command(collection: &str, field: &AddedField) -> Document {
    let value: Bson = match field.backfill {
        // `$literal`: in a pipeline a string starting with `$` would name a field.
        Backfill::Text(text) => doc! { "$literal": text }.into(),
        Backfill::Int(n) => n.into(),
        Backfill::IdWithPrefix(prefix) => doc! { "$concat": [prefix, { "$toString": "$_id" }] }.into(),
    };
    doc! {
        "update": collection,
        "updates": [{
            "q": { field.name: { "$exists": false } },
            "u": [{ "$set": { field.name: value } }],
            "multi": true,
        }],
    }
}

/// The commands that apply an alteration, in order.
pub fn up_commands(alter: &AlterSpec) -> anyhow::Result<Vec<Document>> {
    let mut commands: Vec<Document> =
        alter.added_fields.iter().map(|f| backfill_command(alter.collection, f)).collect();
    if !alter.added_indexes.is_empty() {
        let mut indexes = Vec::new();
        for spec in alter.added_indexes {
            let model = index_model(spec);
            let mut index = doc! { "key": model.keys };
            index.extend(bson::to_document(&model.options.unwrap_or_default())?);
            indexes.push(Bson::Document(index));
        }
        commands.push(doc! { "createIndexes": alter.collection, "indexes": indexes });
    }
    if let Some(change) = alter.validator {
        commands.push(doc! { "collMod": alter.collection, "validator": validator_document(change.next)? });
    }
    Ok(commands)
}

/// The commands that undo an alteration, in order: its indexes go, its validator is replaced
/// by the one before. Nothing drops the collection.
pub fn down_commands(alter: &AlterSpec) -> anyhow::Result<Vec<Document>> {
    let mut commands: Vec<Document> =
        alter.added_indexes.iter().rev().map(|i| doc! { "dropIndexes": alter.collection, "index": i.name }).collect();
    if let Some(change) = alter.validator {
        commands.push(doc! { "collMod": alter.collection, "validator": validator_document(change.previous)? });
    }
    Ok(commands)
}

/// Applies an alteration (idempotent: every command may run again).
pub async fn apply(db: &Database, alter: &AlterSpec) -> anyhow::Result<()> {
    for command in up_commands(alter)? {
        db.run_command(command).await?;
    }
    Ok(())
}

/// Undoes an alteration; an index already dropped is not an error.
pub async fn undo(db: &Database, alter: &AlterSpec) -> anyhow::Result<()> {
    for command in down_commands(alter)? {
        match db.run_command(command).await {
            Ok(_) => {}
            Err(e) if matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == INDEX_NOT_FOUND) => {
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
