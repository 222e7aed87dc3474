//! `/ipam/bulk`: bulk tag changes (applied at once for up to 100 ids, otherwise queued as a job)
//! and the caller's bulk jobs: status with paged results, list, cancel.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ipam_core::domain::{
    BulkInputs, BulkItemResult, BulkJob, BulkJobId, BulkResourceType, TagChange, TagOperation, Tags,
};
use ipam_core::error::FieldErrors;
use ipam_core::service::BulkTagOutcome;
use ipam_jobs::{Envelope, Job};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read, Update};
use crate::dto::PageResponse;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery, PageParams, PathId};
use crate::state::AppState;

/// `POST /ipam/bulk/tags` (bulk class: 10 per hour and user).
pub(crate) fn tags_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(bulk_tags))
}

/// Job status, list and cancel (standard class).
pub(crate) fn jobs_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_jobs)).routes(routes!(get_job, cancel_job))
}

/// Change the tags of many regions or hosts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkTagRequest {
    /// `region` or `host`.
    #[schema(example = "region")]
    resource_type: String,
    /// 1 to 10,000 distinct ids of your regions (or hosts); up to 100 are applied at once, more
    /// become a job.
    resource_ids: Vec<String>,
    /// `add` (merge; given values win), `remove` (these keys; values ignored) or `replace`.
    #[schema(example = "add")]
    operation: String,
    /// Tags: an object of string values (keys `[A-Za-z0-9_-]`, at most 50 tags).
    #[schema(value_type = Object, example = json!({"env": "prod"}))]
    tags: Value,
}

impl BulkTagRequest {
    fn parse(self) -> Result<BulkInputs, ApiError> {
        let mut e = FieldErrors::new();
        let resource_type = e.check("resource_type", BulkResourceType::parse(&self.resource_type));
        let operation = e.check("operation", TagOperation::parse(&self.operation));
        let tags = e.check("tags", Tags::parse(&self.tags));
        let ids = match BulkInputs::targets(&self.resource_ids) {
            Ok(ids) => Some(ids),
            Err(problems) => {
                for (field, problem) in problems.iter() {
                    e.add(field, problem);
                }
                None
            }
        };
        match (resource_type, operation, tags, ids) {
            (Some(resource_type), Some(operation), Some(tags), Some(resource_ids)) if e.is_empty() => {
                Ok(BulkInputs { resource_type, resource_ids, change: TagChange { operation, tags } })
            }
            _ => Err(ApiError::fields(e)),
        }
    }
}

/// The outcome for one id.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemResponse {
    /// The id as given.
    resource_id: String,
    /// Whether the resource's tags are now as asked (re-applying counts as success).
    success: bool,
    /// What happened, e.g. `tags updated` or `region not found`.
    message: String,
}

impl From<BulkItemResult> for ItemResponse {
    fn from(r: BulkItemResult) -> Self {
        Self { resource_id: r.resource_id.as_str().to_owned(), success: r.success, message: r.message }
    }
}

/// `200 OK`: every id was processed now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AppliedResponse {
    /// Always null: no job was needed.
    job_id: Option<String>,
    /// Always `completed`.
    status: &'static str,
    /// Ids in the request.
    total_requested: usize,
    /// Ids whose tags are now as asked.
    successful: usize,
    /// Ids that failed (missing, not yours, or too many tags).
    failed: usize,
    /// One per id, in request order.
    results: Vec<ItemResponse>,
}

/// `202 Accepted`: a job was queued.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueuedResponse {
    /// The job.
    job_id: String,
    /// Always `pending`.
    status: &'static str,
    /// Ids in the request.
    total_requested: u32,
    /// Where to follow it (also the `Location` header).
    status_url: String,
    /// Human summary.
    message: &'static str,
}

/// How far a job got.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProgressResponse {
    /// Ids in the job.
    total: u32,
    /// Ids processed so far.
    processed: u32,
    /// Of those, succeeded.
    successful: u32,
    /// Of those, failed.
    failed: u32,
    /// processed / total in percent (2 decimals).
    percent: f64,
}

/// A job without its results.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobSummary {
    /// Identifier.
    job_id: String,
    /// Same as `job_id`.
    #[serde(rename = "_id")]
    legacy_id: String,
    /// `pending`, `processing`, `completed`, `failed` or `cancelled`.
    status: &'static str,
    /// `region` or `host` (null for a job from before inputs were stored).
    resource_type: Option<&'static str>,
    /// `add`, `remove` or `replace` (same).
    operation: Option<&'static str>,
    /// Progress.
    progress: ProgressResponse,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// When a worker first took it.
    started_at: Option<DateTime<Utc>>,
    /// When it finished (completed, failed or cancelled); kept 7 days after.
    completed_at: Option<DateTime<Utc>>,
}

impl From<&BulkJob> for JobSummary {
    fn from(j: &BulkJob) -> Self {
        Self {
            job_id: j.id.to_string(),
            legacy_id: j.id.to_string(),
            status: j.status.as_str(),
            resource_type: j.inputs.as_ref().map(|i| i.resource_type.as_str()),
            operation: j.inputs.as_ref().map(|i| i.change.operation.as_str()),
            progress: ProgressResponse {
                total: j.total,
                processed: j.processed,
                successful: j.successful,
                failed: j.failed,
                percent: j.percent(),
            },
            created_at: j.created_at,
            started_at: j.started_at,
            completed_at: j.completed_at,
        }
    }
}

/// A job with one page of its results (in request order).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobResponse {
    #[serde(flatten)]
    job: JobSummary,
    /// This page of per-id results (processed ids only), each `{resource_id, success, message}`.
    #[schema(value_type = Vec<ItemResponse>)]
    results: Value,
    /// Where this page of results sits (`total_count` counts the processed ids).
    #[schema(value_type = Object)]
    pagination: Value,
}

/// Adds, removes or replaces tags on up to 10,000 of your regions or hosts. Up to 100 ids are
/// applied now (200, one result per id); more become a job (202 + `Location`).
#[utoipa::path(post, path = "/ipam/bulk/tags", tag = "bulk", request_body = BulkTagRequest,
    responses((status = 200, body = AppliedResponse), (status = 202, body = QueuedResponse),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
async fn bulk_tags(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    AppJson(body): AppJson<BulkTagRequest>,
) -> ApiResult<Response> {
    let inputs = body.parse()?;
    let pickup = std::time::Duration::from_secs(s.settings.bulk_lease_secs);
    match s.ipam.bulk_tags(&actor, inputs, pickup).await? {
        BulkTagOutcome::Applied(results) => {
            let successful = results.iter().filter(|r| r.success).count();
            let body = AppliedResponse {
                job_id: None,
                status: "completed",
                total_requested: results.len(),
                successful,
                failed: results.len() - successful,
                results: results.into_iter().map(ItemResponse::from).collect(),
            };
            Ok(Json(body).into_response())
        }
        BulkTagOutcome::Queued(job) => {
            let envelope = Envelope::new(Job::BulkTags { job_id: job.id.clone() });
            if let Err(e) = s.platform.queue().push(envelope).await {
                // The job is stored: the outbox relay queues it once its pickup deadline passes.
                tracing::warn!(job = %job.id, error = %e, "could not enqueue a bulk job; the relay will");
            }
            let url = format!("/ipam/bulk/jobs/{}", job.id);
            let body = QueuedResponse {
                job_id: job.id.to_string(),
                status: job.status.as_str(),
                total_requested: job.total,
                status_url: url.clone(),
                message: "Bulk operation queued for processing",
            };
            Ok((StatusCode::ACCEPTED, [(LOCATION, url)], Json(body)).into_response())
        }
    }
}

/// One of your bulk jobs: status, progress and a page of its per-id results.
#[utoipa::path(get, path = "/ipam/bulk/jobs/{job_id}", tag = "bulk",
    params(("job_id" = String, Path, description = "The job"), PageParams),
    responses((status = 200, body = JobResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_job(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<BulkJobId>,
    AppQuery(q): AppQuery<PageParams>,
) -> ApiResult<Json<JobResponse>> {
    let request = q.request()?;
    let job = s.ipam.bulk_job(&actor, &id).await?;
    let results = s.ipam.bulk_job_results(&actor, &id, request).await?;
    // The standard list envelope's two fields, next to the job's own.
    let mut paged = serde_json::to_value(PageResponse::from_page(results, ItemResponse::from))
        .map_err(|e| ApiError::from(ipam_core::IpamError::internal(e)))?;
    let (results, pagination) = (paged["results"].take(), paged["pagination"].take());
    Ok(Json(JobResponse { job: JobSummary::from(&job), results, pagination }))
}

/// Your bulk jobs, newest first (finished ones are kept 7 days).
#[utoipa::path(get, path = "/ipam/bulk/jobs", tag = "bulk", params(PageParams),
    responses((status = 200, body = PageResponse<JobSummary>)), security(("bearer" = [])))]
async fn list_jobs(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<PageParams>,
) -> ApiResult<Json<PageResponse<JobSummary>>> {
    let jobs = s.ipam.bulk_jobs(&actor, q.request()?).await?;
    Ok(Json(PageResponse::from_page(jobs, |j| JobSummary::from(&j))))
}

/// Cancels a pending or running job: it stops before its next resource (what it did stays
/// done). A finished job is a 409 conflict.
#[utoipa::path(delete, path = "/ipam/bulk/jobs/{job_id}", tag = "bulk",
    params(("job_id" = String, Path, description = "The job")),
    responses((status = 200, body = JobSummary), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel_job(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<BulkJobId>,
) -> ApiResult<Json<JobSummary>> {
    Ok(Json(JobSummary::from(&s.ipam.cancel_bulk_job(&actor, &id).await?)))
}
