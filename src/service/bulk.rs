//! Bulk tag use cases: apply a tag change to up to [`SYNC_LIMIT`] resources at once, or queue a
//! job for more; read, list and cancel jobs. [`apply_bulk_tag`] is the one unit of work per
//! resource that both the synchronous path and the job use.

use std::time::Duration;

use super::Ipam;
use crate::auth::{Actor, Permission, Permissions};
use crate::domain::bulk::SYNC_LIMIT;
use crate::domain::{
    BulkInputs, BulkItemResult, BulkJob, BulkJobId, BulkResourceType, BulkTarget, HostId, HostPatch, Page, PageRequest,
    Reason, RegionId, RegionPatch, TagChange,
};
use crate::error::{ConflictKind, IpamError, Result};
use crate::storage::Store;
use crate::storage::bulk::after;

/// What a bulk tag request led to.
#[derive(Debug, Clone)]
pub enum BulkTagOutcome {
    /// Applied now: one result per id, in request order.
    Applied(Vec<BulkItemResult>),
    /// Too many ids to apply now: this pending job will.
    Queued(BulkJob),
}

/// The author of a job's changes: its owner, with just the permission to update.
pub fn job_actor(job: &BulkJob) -> Actor {
    Actor {
        user_id: job.user_id.clone(),
        username: job.username.clone(),
        permissions: Permissions::of(&[Permission::Update]),
    }
}

/// Applies `change` to the resource at `position` of a bulk request, as `actor`, through the
/// region or host update (one unit of work: audited, raising `*.updated`, nothing written when
/// nothing changes). A resource that is missing, not the actor's or whose tags would exceed
/// their limit gives a failed result; only a storage failure is an error.
pub async fn apply_bulk_tag(
    store: &dyn Store,
    actor: &Actor,
    (kind, change): (BulkResourceType, &TagChange),
    (position, target): (u32, &BulkTarget),
    reason: Option<&Reason>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<BulkItemResult> {
    let outcome = match kind {
        BulkResourceType::Region => match RegionId::parse(target.as_str()) {
            Some(id) => {
                let patch = RegionPatch { tags: Some(change.clone()), ..Default::default() };
                store.update_region(actor, &id, &patch, reason, now).await.map(|r| (r.updated_at, r.updated_by))
            }
            None => Err(IpamError::not_found("region", target.as_str())),
        },
        BulkResourceType::Host => match HostId::parse(target.as_str()) {
            Some(id) => {
                let patch = HostPatch { tags: Some(change.clone()), ..Default::default() };
                store.update_host(actor, &id, &patch, reason, now).await.map(|h| (h.updated_at, h.updated_by))
            }
            None => Err(IpamError::not_found("host", target.as_str())),
        },
    };
    let (success, message) = match outcome {
        // Written by this very update: its time and author are ours.
        Ok((at, by)) if at == now && by == actor.user_id => (true, "tags updated".to_owned()),
        Ok(_) => (true, "tags already as requested; nothing changed".to_owned()),
        Err(IpamError::NotFound { resource, .. }) => (false, format!("{resource} not found")),
        Err(IpamError::Validation(problems)) => (false, problems.to_string()),
        Err(e) => return Err(e),
    };
    Ok(BulkItemResult { position, resource_id: target.clone(), success, message })
}

/// The audit reason of a bulk change (why the resource changed, where to look).
pub fn bulk_reason(change: &TagChange, job: Option<&BulkJobId>) -> Option<Reason> {
    let text = match job {
        Some(id) => format!("bulk tag {} (job {id})", change.operation.as_str()),
        None => format!("bulk tag {}", change.operation.as_str()),
    };
    Reason::parse(&text).ok()
}

impl Ipam {
    /// Applies a bulk tag change now (at most [`SYNC_LIMIT`] ids) or stores a pending job for
    /// it, which a worker should pick up within `pickup` (the caller queues it).
    pub async fn bulk_tags(&self, actor: &Actor, inputs: BulkInputs, pickup: Duration) -> Result<BulkTagOutcome> {
        if inputs.resource_ids.len() > SYNC_LIMIT {
            let now = self.now();
            let job = BulkJob::pending(&actor.user_id, &actor.username, inputs, now);
            self.store.create_bulk_job(&job, after(now, pickup)).await?;
            return Ok(BulkTagOutcome::Queued(job));
        }
        let reason = bulk_reason(&inputs.change, None);
        let mut results = Vec::with_capacity(inputs.resource_ids.len());
        for (i, target) in inputs.resource_ids.iter().enumerate() {
            let position = u32::try_from(i).unwrap_or(u32::MAX);
            let what = (inputs.resource_type, &inputs.change);
            let r = apply_bulk_tag(self.store.as_ref(), actor, what, (position, target), reason.as_ref(), self.now());
            results.push(r.await?);
        }
        Ok(BulkTagOutcome::Applied(results))
    }

    /// One of the caller's jobs.
    pub async fn bulk_job(&self, actor: &Actor, id: &BulkJobId) -> Result<BulkJob> {
        self.store.bulk_job(&actor.user_id, id).await?.ok_or_else(|| IpamError::not_found("bulk job", id.as_str()))
    }

    /// A page of one of the caller's jobs' results, in request order.
    pub async fn bulk_job_results(
        &self,
        actor: &Actor,
        id: &BulkJobId,
        page: PageRequest,
    ) -> Result<Page<BulkItemResult>> {
        self.store
            .bulk_job_results(&actor.user_id, id, page)
            .await?
            .ok_or_else(|| IpamError::not_found("bulk job", id.as_str()))
    }

    /// A page of the caller's jobs, newest first.
    pub async fn bulk_jobs(&self, actor: &Actor, page: PageRequest) -> Result<Page<BulkJob>> {
        self.store.list_bulk_jobs(&actor.user_id, page).await
    }

    /// Cancels a pending or processing job of the caller; a finished one is a conflict.
    pub async fn cancel_bulk_job(&self, actor: &Actor, id: &BulkJobId) -> Result<BulkJob> {
        let now = self.now();
        let (job, cancelled) = self
            .store
            .cancel_bulk_job(&actor.user_id, id, now)
            .await?
            .ok_or_else(|| IpamError::not_found("bulk job", id.as_str()))?;
        if cancelled {
            return Ok(job);
        }
        Err(IpamError::conflict(
            ConflictKind::Conflict,
            format!(
                "bulk job {id} already finished ({}); only a pending or processing job can be cancelled",
                job.status.as_str()
            ),
            serde_json::json!({ "job_id": id, "status": job.status.as_str() }),
        ))
    }
}
