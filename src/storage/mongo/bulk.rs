//! [`BulkJobStore`] on MongoDB: one document per job in `ipam_bulk_jobs`, its per-resource
//! results in the document's `results` array (appended per batch by an update guarded on the
//! cursor and the lease holder, so a batch is recorded at most once). The TTL index on
//! `completed_at` deletes finished jobs; [`BulkJobStore::prune_bulk_jobs`] does the same on demand.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{self, Bson, DateTime as BsonDateTime, Document, doc};
use mongodb::options::{FindOneOptions, FindOptions, ReturnDocument};
use serde::{Deserialize, Serialize};

use super::documents::{corrupt, date, time};
use super::notify_unit::MongoUnit;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors};
use crate::domain::{
    BulkInputs, BulkItemResult, BulkJob, BulkJobId, BulkJobStatus, BulkResourceType, BulkTarget, Notification, Page,
    PageRequest, TagChange, TagOperation, Tags, UserId, Username,
};
use crate::error::{IpamError, Result};
use crate::storage::bulk::{BulkJobStore, ProgressRecorded, after};
use crate::storage::notify::system_notice;

/// A job document (field names are those of the migration-10 validator).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobDoc {
    #[serde(rename = "_id")]
    id: String,
    job_id: String,
    user_id: String,
    operation_type: String,
    total_items: i64,
    processed_items: i64,
    successful_items: i64,
    failed_items: i64,
    status: String,
    #[serde(default)]
    results: Vec<ResultDoc>,
    created_at: BsonDateTime,
    completed_at: Option<BsonDateTime>,
    #[serde(default)]
    cursor: i64,
    username: Option<String>,
    resource_type: Option<String>,
    operation: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    resource_ids: Option<Vec<String>>,
    started_at: Option<BsonDateTime>,
    lease_holder: Option<String>,
    lease_until: Option<BsonDateTime>,
}

/// One processed resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResultDoc {
    position: i64,
    resource_id: String,
    success: bool,
    message: String,
}

fn count(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| corrupt(format!("bulk job count {v}")))
}

impl TryFrom<JobDoc> for BulkJob {
    type Error = IpamError;

    fn try_from(d: JobDoc) -> Result<Self> {
        let inputs = match (d.resource_type, d.operation, d.tags, d.resource_ids) {
            (Some(kind), Some(op), Some(tags), Some(ids)) => Some(BulkInputs {
                resource_type: BulkResourceType::parse(&kind).map_err(corrupt)?,
                resource_ids: ids.into_iter().map(BulkTarget::from_stored).collect(),
                change: TagChange {
                    operation: TagOperation::parse(&op).map_err(corrupt)?,
                    tags: Tags::from_stored(tags),
                },
            }),
            _ => None,
        };
        Ok(Self {
            id: BulkJobId::from_stored(d.job_id),
            username: Username::from_stored(d.username.unwrap_or_else(|| d.user_id.clone())),
            user_id: UserId::from_stored(d.user_id),
            inputs,
            status: BulkJobStatus::from_stored(&d.status).ok_or_else(|| corrupt(format!("status '{}'", d.status)))?,
            total: count(d.total_items)?,
            cursor: count(d.cursor)?,
            processed: count(d.processed_items)?,
            successful: count(d.successful_items)?,
            failed: count(d.failed_items)?,
            created_at: time(d.created_at)?,
            started_at: d.started_at.map(time).transpose()?,
            completed_at: d.completed_at.map(time).transpose()?,
        })
    }
}

/// Everything but the results (which can be long): what reading a job needs.
fn without_results() -> Document {
    doc! { "results": 0 }
}

impl MongoStore {
    fn bulk_jobs(&self) -> Collection<JobDoc> {
        self.db.collection("ipam_bulk_jobs")
    }

    async fn job_by_id(&self, filter: Document) -> Result<Option<BulkJob>> {
        let options = FindOneOptions::builder().projection(without_results()).build();
        let found = self.bulk_jobs().find_one(filter).with_options(options).await.map_err(errors::db)?;
        found.map(BulkJob::try_from).transpose()
    }

    /// Appends a batch and moves the cursor, in `tx`, if the job is still as `seen`; notifies
    /// the owner when it completes. `None` when another writer got there first.
    async fn record_batch_in(
        &self,
        tx: &mut Tx,
        seen: &BulkJob,
        holder: &str,
        results: &[BulkItemResult],
        (now, lease): (DateTime<Utc>, Duration),
    ) -> Result<Option<ProgressRecorded>> {
        let n = u32::try_from(results.len()).unwrap_or(u32::MAX);
        let ok = u32::try_from(results.iter().filter(|r| r.success).count()).unwrap_or(u32::MAX);
        let cursor = seen.cursor + n;
        let status = seen.status_at(cursor);
        let docs: Vec<Bson> = results
            .iter()
            .map(|r| {
                let d = ResultDoc {
                    position: i64::from(r.position),
                    resource_id: r.resource_id.as_str().to_owned(),
                    success: r.success,
                    message: r.message.clone(),
                };
                bson::to_bson(&d).map_err(errors::bson)
            })
            .collect::<Result<_>>()?;
        let mut set = doc! {
            "cursor": i64::from(cursor), "processed_items": i64::from(cursor), "status": status.as_str(),
            "lease_holder": Bson::Null, "lease_until": date(after(now, lease)),
        };
        if status == BulkJobStatus::Completed {
            set.insert("completed_at", date(now));
        }
        let update = doc! {
            "$push": { "results": { "$each": docs } },
            "$inc": { "successful_items": i64::from(ok), "failed_items": i64::from(n - ok) },
            "$set": set,
        };
        let filter = doc! {
            "_id": seen.id.as_str(), "lease_holder": holder, "cursor": i64::from(seen.cursor), "status": seen.status.as_str(),
        };
        let done = run!(tx, self.bulk_jobs().update_one(filter, update)).map_err(errors::db)?;
        if done.matched_count != 1 {
            return Ok(None);
        }
        let mut job = seen.clone();
        job.cursor = cursor;
        job.processed = cursor;
        job.successful += ok;
        job.failed += n - ok;
        job.status = status;
        if status == BulkJobStatus::Completed {
            job.completed_at = Some(now);
        }
        // Only the batch that completes a processing job announces it (a cancelled job never is).
        let notice = match Notification::bulk_job_finished(&job, now) {
            Some(n) if seen.status == BulkJobStatus::Processing => {
                system_notice(&mut MongoUnit::new(self, tx), &n, now).await?
            }
            _ => None,
        };
        Ok(Some(ProgressRecorded { job, notice }))
    }
}

#[async_trait]
impl BulkJobStore for MongoStore {
    async fn create_bulk_job(&self, job: &BulkJob, pickup_by: DateTime<Utc>) -> Result<()> {
        let inputs = job.inputs.as_ref().ok_or_else(|| IpamError::internal("a new job has inputs"))?;
        let d = JobDoc {
            id: job.id.to_string(),
            job_id: job.id.to_string(),
            user_id: job.user_id.to_string(),
            operation_type: "bulk_tag_update".into(),
            total_items: i64::from(job.total),
            processed_items: 0,
            successful_items: 0,
            failed_items: 0,
            status: job.status.as_str().into(),
            results: Vec::new(),
            created_at: date(job.created_at),
            completed_at: None,
            cursor: 0,
            username: Some(job.username.to_string()),
            resource_type: Some(inputs.resource_type.as_str().into()),
            operation: Some(inputs.change.operation.as_str().into()),
            tags: Some(inputs.change.tags.as_map().clone()),
            resource_ids: Some(inputs.resource_ids.iter().map(|t| t.as_str().to_owned()).collect()),
            started_at: None,
            lease_holder: None,
            lease_until: Some(date(pickup_by)),
        };
        self.bulk_jobs().insert_one(d).await.map_err(errors::db)?;
        Ok(())
    }

    async fn bulk_job(&self, user: &UserId, id: &BulkJobId) -> Result<Option<BulkJob>> {
        self.job_by_id(doc! { "_id": id.as_str(), "user_id": user.as_str() }).await
    }

    async fn bulk_job_results(
        &self,
        user: &UserId,
        id: &BulkJobId,
        page: PageRequest,
    ) -> Result<Option<Page<BulkItemResult>>> {
        let skip = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let limit = i64::try_from(page.limit()).unwrap_or(i64::MAX);
        let projection = doc! { "results": { "$slice": [skip, limit] }, "resource_ids": 0 };
        let options = FindOneOptions::builder().projection(projection).build();
        let filter = doc! { "_id": id.as_str(), "user_id": user.as_str() };
        let Some(d) = self.bulk_jobs().find_one(filter).with_options(options).await.map_err(errors::db)? else {
            return Ok(None);
        };
        let total = u64::from(count(d.processed_items)?);
        let items = d
            .results
            .into_iter()
            .map(|r| {
                Ok(BulkItemResult {
                    position: count(r.position)?,
                    resource_id: BulkTarget::from_stored(r.resource_id),
                    success: r.success,
                    message: r.message,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Page { items, total, request: page }))
    }

    async fn list_bulk_jobs(&self, user: &UserId, page: PageRequest) -> Result<Page<BulkJob>> {
        let filter = doc! { "user_id": user.as_str() };
        let total = self.bulk_jobs().count_documents(filter.clone()).await.map_err(errors::db)?;
        let options = FindOptions::builder()
            .sort(doc! { "created_at": -1, "_id": -1 })
            .skip(page.offset())
            .limit(i64::try_from(page.limit()).unwrap_or(i64::MAX))
            .projection(without_results())
            .build();
        let cursor = self.bulk_jobs().find(filter).with_options(options).await.map_err(errors::db)?;
        let docs: Vec<JobDoc> = cursor.try_collect().await.map_err(errors::db)?;
        let items = docs.into_iter().map(BulkJob::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total, request: page })
    }

    async fn cancel_bulk_job(
        &self,
        user: &UserId,
        id: &BulkJobId,
        now: DateTime<Utc>,
    ) -> Result<Option<(BulkJob, bool)>> {
        let filter = doc! {
            "_id": id.as_str(), "user_id": user.as_str(), "status": { "$in": ["pending", "processing"] },
        };
        let update = doc! { "$set": { "status": "cancelled", "completed_at": date(now) } };
        let done = self.bulk_jobs().update_one(filter, update).await.map_err(errors::db)?;
        Ok(self.bulk_job(user, id).await?.map(|j| (j, done.modified_count == 1)))
    }

    async fn bulk_job_status(&self, id: &BulkJobId) -> Result<Option<BulkJobStatus>> {
        let options = FindOneOptions::builder().projection(doc! { "status": 1 }).build();
        let coll = self.db.collection::<Document>("ipam_bulk_jobs");
        let found = coll.find_one(doc! { "_id": id.as_str() }).with_options(options).await.map_err(errors::db)?;
        Ok(found.and_then(|d| d.get_str("status").ok().and_then(BulkJobStatus::from_stored)))
    }

    async fn claim_bulk_job(
        &self,
        id: &BulkJobId,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<BulkJob>> {
        let filter = doc! {
            "_id": id.as_str(), "status": { "$in": ["pending", "processing"] },
            "$or": [{ "lease_holder": Bson::Null }, { "lease_until": Bson::Null }, { "lease_until": { "$lt": date(now) } }],
        };
        let update = doc! { "$set": {
            "status": "processing", "lease_holder": holder, "lease_until": date(after(now, lease)),
        }};
        let taken = self
            .bulk_jobs()
            .find_one_and_update(filter, update)
            .projection(without_results())
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?;
        let Some(taken) = taken else { return Ok(None) };
        let mut job = BulkJob::try_from(taken)?;
        if job.started_at.is_none() {
            // First claim: set once, by whoever holds the lease.
            let first = doc! { "_id": id.as_str(), "lease_holder": holder, "started_at": Bson::Null };
            self.bulk_jobs()
                .update_one(first, doc! { "$set": { "started_at": date(now) } })
                .await
                .map_err(errors::db)?;
            job.started_at = Some(now);
        }
        Ok(Some(job))
    }

    async fn record_bulk_progress(
        &self,
        id: &BulkJobId,
        holder: &str,
        from: u32,
        results: &[BulkItemResult],
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ProgressRecorded>> {
        // The status may change under us (a cancel): read, write if unchanged, a few times.
        for _ in 0..3 {
            let Some(seen) = self.job_by_id(doc! { "_id": id.as_str() }).await? else { return Ok(None) };
            let live = matches!(seen.status, BulkJobStatus::Processing | BulkJobStatus::Cancelled);
            if seen.cursor != from || !live {
                return Ok(None);
            }
            let recorded =
                atomically!(self, |tx| self.record_batch_in(tx, &seen, holder, results, (now, lease)).await)?;
            if recorded.is_some() {
                return Ok(recorded);
            }
            if self.bulk_job_status(id).await? == Some(seen.status) {
                // Same status, so the cursor or the holder moved: someone else owns the job now.
                return Ok(None);
            }
        }
        Ok(None)
    }

    async fn fail_bulk_job(&self, id: &BulkJobId, holder: &str, now: DateTime<Utc>) -> Result<bool> {
        let filter = doc! { "_id": id.as_str(), "lease_holder": holder, "status": "processing" };
        let update = doc! { "$set": {
            "status": "failed", "completed_at": date(now), "lease_holder": Bson::Null, "lease_until": Bson::Null,
        }};
        let failed = self
            .bulk_jobs()
            .find_one_and_update(filter, update)
            .projection(without_results())
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?;
        let Some(failed) = failed else { return Ok(false) };
        let job = BulkJob::try_from(failed)?;
        if let Some(n) = Notification::bulk_job_finished(&job, now) {
            atomically!(self, |tx| system_notice(&mut MongoUnit::new(self, tx), &n, now).await)?;
        }
        Ok(true)
    }

    async fn stalled_bulk_jobs(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<BulkJobId>> {
        let filter = doc! { "status": { "$in": ["pending", "processing"] }, "lease_until": { "$lt": date(now) } };
        let options = FindOptions::builder()
            .sort(doc! { "lease_until": 1 })
            .limit(i64::from(limit))
            .projection(doc! { "_id": 1 })
            .build();
        let coll = self.db.collection::<Document>("ipam_bulk_jobs");
        let docs: Vec<Document> = coll
            .find(filter)
            .with_options(options)
            .await
            .map_err(errors::db)?
            .try_collect()
            .await
            .map_err(errors::db)?;
        Ok(docs
            .into_iter()
            .filter_map(|d| d.get_str("_id").ok().map(|s| BulkJobId::from_stored(s.to_owned())))
            .collect())
    }

    async fn prune_bulk_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        let filter = doc! { "completed_at": { "$ne": Bson::Null, "$lt": date(before) } };
        Ok(self.bulk_jobs().delete_many(filter).await.map_err(errors::db)?.deleted_count)
    }
}
