//! Bulk tag jobs (on demand): apply one tag change to the regions or hosts a job names, in
//! order from its cursor, one batch (`IPAM_BULK_BATCH_SIZE` resources) at a time.
//!
//! Each batch: claim the job (a lease of `IPAM_BULK_LEASE_SECS`), apply the change to each
//! resource in its own unit of work (the region or host update: audited, `*.updated` raised, a
//! no-op writes nothing), then record the batch's results, counts and cursor in one atomic write
//! guarded by the cursor. A worker killed mid-batch never records it; the next one re-applies it
//! (re-applying a tag change changes nothing and counts as success) and records it once, so the
//! counts are exact. A cancelled job stops before its next resource. A job whose worker died or
//! whose queue message was lost is queued again by the outbox relay once its lease ran out.

use std::time::Duration;

use ipam_core::domain::{BulkItemResult, BulkJobId, BulkJobStatus};
use ipam_core::service::{apply_bulk_tag, bulk_reason, job_actor};

use crate::platform::{JobResult, Platform};

/// What one batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A batch was recorded and more remain.
    Progressed {
        /// Resources processed so far.
        processed: u32,
        /// Of how many.
        total: u32,
    },
    /// The job is finished (by this batch or before), or another worker holds it.
    Finished(String),
}

/// The lease per batch, from the settings.
fn lease(platform: &Platform) -> Duration {
    Duration::from_secs(platform.settings().bulk_lease_secs)
}

/// Processes the job to its end, batch after batch.
pub async fn run(platform: &Platform, id: &BulkJobId) -> JobResult {
    loop {
        if let Step::Finished(summary) = step(platform, id).await? {
            return Ok(summary);
        }
    }
}

/// Processes one batch of the job (tests call it to watch progress between batches).
pub async fn step(platform: &Platform, id: &BulkJobId) -> anyhow::Result<Step> {
    let store = platform.store().as_ref();
    let holder = format!("{}-{}", platform.worker_name(), ulid::Ulid::generate());
    let Some(job) = store.claim_bulk_job(id, &holder, platform.now(), lease(platform)).await? else {
        return Ok(Step::Finished(format!("bulk job {id} is finished, gone, or held by another worker")));
    };
    let Some(inputs) = job.inputs.clone() else {
        // Written before jobs stored their inputs (the original never did): nothing to run.
        store.fail_bulk_job(id, &holder, platform.now()).await?;
        return Ok(Step::Finished(format!("bulk job {id} has no inputs; marked failed")));
    };
    let actor = job_actor(&job);
    let reason = bulk_reason(&inputs.change, Some(id));
    let batch = platform.settings().bulk_batch_size;
    let end = job.cursor.saturating_add(batch).min(job.total);
    let mut results: Vec<BulkItemResult> = Vec::new();
    for position in job.cursor..end {
        // Cancellation is honoured before each resource (the resources already done this
        // batch are still recorded below).
        if position > job.cursor && store.bulk_job_status(id).await? == Some(BulkJobStatus::Cancelled) {
            break;
        }
        let Some(target) = inputs.resource_ids.get(position as usize) else { break };
        let what = (inputs.resource_type, &inputs.change);
        let r = apply_bulk_tag(store, &actor, what, (position, target), reason.as_ref(), platform.now()).await?;
        results.push(r);
    }
    let recorded =
        store.record_bulk_progress(id, &holder, job.cursor, &results, platform.now(), lease(platform)).await?;
    let Some(recorded) = recorded else {
        return Ok(Step::Finished(format!("bulk job {id} was taken over by another worker")));
    };
    let j = recorded.job;
    if j.status == BulkJobStatus::Processing && j.cursor < j.total {
        return Ok(Step::Progressed { processed: j.processed, total: j.total });
    }
    crate::metrics::notifications_created(recorded.notice.as_slice());
    Ok(Step::Finished(format!(
        "bulk job {id} {}: {} of {} processed, {} succeeded, {} failed",
        j.status.as_str(),
        j.processed,
        j.total,
        j.successful,
        j.failed
    )))
}
