//! The production backend: MongoDB through the official driver.
//!
//! It is correct on a standalone server, without multi-document transactions: the unique
//! indexes arbitrate allocation races, the occupancy bitmaps are claimed with conditional
//! `$bit` updates (`$bitsAllClear` in the filter), quota counters are taken with a conditional
//! `$inc` (`$expr` guard) before an insert and given back if the insert fails, and a region being
//! retired is flagged first so no host is allocated into it meanwhile. Domain events go to the
//! outbox right after the audit records of their change, and their fan-out into webhook
//! deliveries is idempotent (a unique index per event and webhook) rather than transactional.
//! On a replica set, the same units of work also run in transactions (see `tx`), so a change,
//! its audit records and its events commit together.

mod audit;
mod bulk;
mod capacity;
mod comments;
mod countries;
mod deliveries;
mod documents;
mod errors;
mod expiry;
mod filters;
mod forecast_requests;
mod hosts;
pub mod migrate;
mod notification_docs;
mod notifications;
mod notify_unit;
mod outbox;
mod preferences;
mod queue_binding;
mod quotas;
mod regions;
mod repair;
mod reservations;
mod rules;
mod schedules;
mod search;
mod shares;
mod slots;
mod statistics;
mod tx;
mod webhook_docs;
mod webhooks;

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::FindOptions;
use mongodb::{Client, Collection, Database};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use self::documents::{AuditDoc, CommentDoc, CountryDoc, HostDoc, QuotaDoc, RegionDoc, SlotsDoc};
use self::notification_docs::{NotificationDoc, RuleDoc, RuleStateDoc};
use crate::domain::{Page, PageRequest};
use crate::error::Result;
use crate::storage::Store;

/// Database name used when the URL names none.
pub const DEFAULT_DATABASE: &str = "ipam";

/// The MongoDB store.
#[derive(Debug, Clone)]
pub struct MongoStore {
    client: Client,
    db: Database,
    /// Whether the deployment has multi-document transactions (asked once; see `tx`).
    topology: Arc<OnceCell<bool>>,
}

impl MongoStore {
    /// Connects (lazily: no server round trip happens until the first operation).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = Client::with_uri_str(url).await.context("IPAM_DATABASE_URL is not a valid mongodb:// URL")?;
        let db = client.default_database().unwrap_or_else(|| client.database(DEFAULT_DATABASE));
        Ok(Self { client, db, topology: Arc::default() })
    }

    /// A store on a named database of an existing client (tests use one database each).
    pub fn with_database(client: Client, name: &str) -> Self {
        let db = client.database(name);
        Self { client, db, topology: Arc::default() }
    }

    /// The client (sessions, other databases).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The database in use.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Applies pending migrations (collections, validators, indexes) and seeds the countries.
    pub async fn prepare(&self) -> anyhow::Result<Vec<migrate::Applied>> {
        let applied = migrate::apply_pending(&self.db).await?;
        countries::seed(&self.db).await?;
        Ok(applied)
    }

    fn regions(&self) -> Collection<RegionDoc> {
        self.db.collection("ipam_regions")
    }

    fn slots(&self) -> Collection<SlotsDoc> {
        self.db.collection("ipam_region_slots")
    }

    fn hosts(&self) -> Collection<HostDoc> {
        self.db.collection("ipam_hosts")
    }

    fn comments(&self) -> Collection<CommentDoc> {
        self.db.collection("ipam_comments")
    }

    fn audit(&self) -> Collection<AuditDoc> {
        self.db.collection("ipam_audit_history")
    }

    fn quotas(&self) -> Collection<QuotaDoc> {
        self.db.collection("ipam_user_quotas")
    }

    fn countries(&self) -> Collection<CountryDoc> {
        self.db.collection("continent_country_mapping")
    }

    fn notifications(&self) -> Collection<NotificationDoc> {
        self.db.collection("ipam_notifications")
    }

    fn rules(&self) -> Collection<RuleDoc> {
        self.db.collection("ipam_notification_rules")
    }

    fn rule_states(&self) -> Collection<RuleStateDoc> {
        self.db.collection("ipam_notification_rule_state")
    }
}

/// Every document matching `filter`, in `sort` order.
async fn find_all<T>(coll: &Collection<T>, filter: Document, sort: Option<Document>) -> Result<Vec<T>>
where
    T: DeserializeOwned + Send + Sync,
{
    let options = FindOptions::builder().sort(sort).build();
    let cursor = coll.find(filter).with_options(options).await.map_err(errors::db)?;
    cursor.try_collect().await.map_err(errors::db)
}

/// Inserts `doc` (whose `_id` is `id`, a time-ordered id) into `user`'s documents of `coll`
/// unless they already hold `max`; false, with nothing left behind, when the cap is reached.
///
/// Without transactions, concurrent creations can all pass the first count. So after the
/// insert it counts again, keeping only the oldest `max` (ids are time-ordered): exactly the
/// late ones back out.
async fn insert_within_cap<T>(coll: &Collection<T>, doc: &T, user: &str, id: &str, max: u32) -> Result<bool>
where
    T: serde::Serialize + Send + Sync,
{
    if coll.count_documents(doc! { "user_id": user }).await.map_err(errors::db)? >= u64::from(max) {
        return Ok(false);
    }
    coll.insert_one(doc).await.map_err(errors::db)?;
    let older = doc! { "user_id": user, "_id": { "$lte": id } };
    if coll.count_documents(older).await.map_err(errors::db)? > u64::from(max) {
        coll.delete_one(doc! { "_id": id }).await.map_err(errors::db)?;
        return Ok(false);
    }
    Ok(true)
}

/// One page of documents matching `filter`, in `sort` order, with the total count.
async fn find_page<T, U>(
    coll: &Collection<T>,
    filter: Document,
    sort: Document,
    page: PageRequest,
    convert: impl Fn(T) -> Result<U>,
) -> Result<Page<U>>
where
    T: DeserializeOwned + Send + Sync,
{
    let total = coll.count_documents(filter.clone()).await.map_err(errors::db)?;
    let options = FindOptions::builder()
        .sort(sort)
        .skip(page.offset())
        .limit(i64::try_from(page.limit()).unwrap_or(i64::MAX))
        .build();
    let cursor = coll.find(filter).with_options(options).await.map_err(errors::db)?;
    let docs: Vec<T> = cursor.try_collect().await.map_err(errors::db)?;
    let items = docs.into_iter().map(convert).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total, request: page })
}

#[async_trait]
impl Store for MongoStore {
    fn backend(&self) -> &'static str {
        "mongodb"
    }

    async fn ping(&self) -> Result<()> {
        self.db.run_command(doc! { "ping": 1 }).await.map_err(errors::db)?;
        Ok(())
    }

    async fn repair(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        mode: crate::storage::RepairMode,
    ) -> Result<crate::storage::RepairReport> {
        self.rebuild_derived(now, mode).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connecting_needs_no_server_and_the_url_names_the_database() {
        let store = MongoStore::connect("mongodb://127.0.0.1:1/inventory").await.unwrap();
        assert_eq!(store.database().name(), "inventory");
        let store = MongoStore::connect("mongodb://127.0.0.1:1").await.unwrap();
        assert_eq!(store.database().name(), DEFAULT_DATABASE);
        assert!(MongoStore::connect("postgres://x").await.is_err());
    }
}
