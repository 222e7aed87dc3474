//! The recorded job queue (`ipam_queue_binding`, one document `_id: "queue"`): an upsert that
//! only sets fields on insert lets the first process record it and returns what is recorded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;

use super::documents::{corrupt, date};
use super::{MongoStore, errors};
use crate::domain::QueueBinding;
use crate::error::Result;
use crate::storage::queue_binding::QueueBindingStore;

#[async_trait]
impl QueueBindingStore for MongoStore {
    async fn record_queue_binding(&self, ours: &QueueBinding, now: DateTime<Utc>) -> Result<QueueBinding> {
        let insert = doc! { "$setOnInsert": {
            "backend": &ours.backend, "prefix": &ours.prefix, "recorded_at": date(now),
        } };
        let recorded = self
            .db
            .collection::<Document>("ipam_queue_binding")
            .find_one_and_update(doc! { "_id": "queue" }, insert)
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?
            .ok_or_else(|| corrupt("the queue binding upsert returned nothing"))?;
        let field = |name: &str| {
            recorded.get_str(name).map(str::to_owned).map_err(|_| corrupt(format!("queue binding {name}")))
        };
        Ok(QueueBinding { backend: field("backend")?, prefix: field("prefix")? })
    }
}
