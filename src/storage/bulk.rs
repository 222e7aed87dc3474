//! The storage seam of bulk operation jobs: their rows, their per-resource results, the lease a
//! worker holds while it processes one, and the progress it records.
//!
//! A worker claims a job (a lease with a deadline), applies the tag change to a batch of
//! resources from the job's cursor (each resource its own unit of work, through the region or
//! host update), then records the batch with [`BulkJobStore::record_bulk_progress`]: results at
//! their positions, counts and the cursor, in one atomic write that only succeeds if the cursor
//! is still where the batch started. A worker that dies before recording leaves the cursor
//! where it was; whoever resumes re-applies the batch (the tag change is idempotent) and records
//! it once, so no resource is counted twice or skipped.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{BulkItemResult, BulkJob, BulkJobId, BulkJobStatus, Page, PageRequest, UserId};
use crate::error::Result;

/// What recording a batch did.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressRecorded {
    /// The job after the write.
    pub job: BulkJob,
    /// The notice its owner got because this batch finished the job (same unit of work).
    pub notice: Option<crate::domain::NotificationCreated>,
}

/// Bulk operation jobs.
#[async_trait]
pub trait BulkJobStore: Send + Sync {
    /// Stores a new pending job; a worker should claim it by `pickup_by` (after that the relay
    /// queues it again).
    async fn create_bulk_job(&self, job: &BulkJob, pickup_by: DateTime<Utc>) -> Result<()>;

    /// One of the user's jobs (without its results).
    async fn bulk_job(&self, user: &UserId, id: &BulkJobId) -> Result<Option<BulkJob>>;

    /// A page of a job's results in position order; `None` when the job is not the user's.
    async fn bulk_job_results(
        &self,
        user: &UserId,
        id: &BulkJobId,
        page: PageRequest,
    ) -> Result<Option<Page<BulkItemResult>>>;

    /// A page of the user's jobs, newest first.
    async fn list_bulk_jobs(&self, user: &UserId, page: PageRequest) -> Result<Page<BulkJob>>;

    /// Cancels a pending or processing job of the user (`completed_at` is set): the job as it is
    /// afterwards and whether this call cancelled it (false: it had already finished); `None`
    /// when it is not the user's.
    async fn cancel_bulk_job(
        &self,
        user: &UserId,
        id: &BulkJobId,
        now: DateTime<Utc>,
    ) -> Result<Option<(BulkJob, bool)>>;

    /// The job's status (any user's: workers ask), `None` when it is gone.
    async fn bulk_job_status(&self, id: &BulkJobId) -> Result<Option<BulkJobStatus>>;

    /// Takes the job for `holder` until `now + lease`: only a pending or processing job whose
    /// lease is free (no holder, or past its deadline) can be taken. The job becomes processing
    /// (`started_at` is set the first time). `None` when it cannot be taken.
    async fn claim_bulk_job(
        &self,
        id: &BulkJobId,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<BulkJob>>;

    /// Records a batch of results starting at position `from` (the job's cursor when it was
    /// claimed), atomically: the results at their positions, the counts, the cursor moved past
    /// them, and the lease released with `now + lease` as the deadline for the next claim. A
    /// job that reaches its end becomes completed and its owner is notified in the same unit
    /// of work; a cancelled job stays cancelled. `None`, writing nothing, unless the job is
    /// still held by `holder` with its cursor at `from`.
    async fn record_bulk_progress(
        &self,
        id: &BulkJobId,
        holder: &str,
        from: u32,
        results: &[BulkItemResult],
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ProgressRecorded>>;

    /// Marks a job held by `holder` failed (it cannot run, e.g. it has no inputs) and notifies
    /// its owner; false when it is not held by `holder`.
    async fn fail_bulk_job(&self, id: &BulkJobId, holder: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Pending or processing jobs whose lease deadline is before `now`: their queue message
    /// was lost or their worker died. Oldest deadline first.
    async fn stalled_bulk_jobs(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<BulkJobId>>;

    /// Deletes jobs (with their results) that finished before `before`; how many went.
    async fn prune_bulk_jobs(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// `now + d`, saturating.
pub(crate) fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(1))
}
