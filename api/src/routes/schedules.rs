//! `/ipam/admin/schedules` (administrators): the cron schedules with their recent runs, and
//! running one now — which is also how a run that ended dead is retried.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ipam_core::IpamError;
use ipam_core::domain::Page;
use ipam_core::storage::ScheduleRun;
use ipam_jobs::ScheduleName;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Auth};
use crate::dto::PageResponse;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppPath, AppQuery, PageParams, shorten};
use crate::state::AppState;

/// Schedule administration.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_schedules)).routes(routes!(run_schedule))
}

/// One run of a schedule.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunResponse {
    /// The tick it belongs to.
    tick_at: DateTime<Utc>,
    /// The worker that claimed it.
    claimed_by: String,
    /// When its last attempt finished.
    finished_at: Option<DateTime<Utc>>,
    /// `succeeded`, `failed` (being retried), `dead`, or `running`.
    outcome: &'static str,
    /// What it did, or why it failed.
    detail: Option<String>,
    /// Attempts so far.
    attempts: u32,
}

impl From<ScheduleRun> for RunResponse {
    fn from(r: ScheduleRun) -> Self {
        Self {
            tick_at: r.tick_at,
            claimed_by: r.claimed_by,
            finished_at: r.finished_at,
            outcome: r.outcome.map_or("running", |o| o.as_str()),
            detail: r.detail,
            attempts: r.attempts,
        }
    }
}

/// A schedule and its recent runs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScheduleResponse {
    /// Name (use it in POST /ipam/admin/schedules/{name}/run).
    name: &'static str,
    /// Cron expression, seconds first.
    schedule: String,
    /// The next tick.
    next_run: Option<DateTime<Utc>>,
    /// The 10 most recent runs, newest first.
    recent_runs: Vec<RunResponse>,
}

/// `202 Accepted`: a run was queued.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueuedRun {
    /// Always `queued`.
    status: &'static str,
    /// The schedule.
    schedule: &'static str,
    /// The tick the run is recorded under.
    tick_at: DateTime<Utc>,
    /// Where to follow it.
    status_url: &'static str,
}

/// Every schedule with its next tick and recent runs (dead ones included), in the list
/// envelope every other list uses (one page holds them all at the default page size).
#[utoipa::path(get, path = "/ipam/admin/schedules", tag = "operations", params(PageParams),
    responses((status = 200, body = PageResponse<ScheduleResponse>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_schedules(
    State(s): State<AppState>,
    _admin: Auth<Admin>,
    AppQuery(q): AppQuery<PageParams>,
) -> ApiResult<Json<PageResponse<ScheduleResponse>>> {
    let request = q.request()?;
    let p = &s.platform;
    let all = p.schedules();
    let offset = usize::try_from(request.offset()).unwrap_or(usize::MAX);
    let limit = usize::try_from(request.limit()).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    // Only this page's schedules are read from the store.
    for sc in all.iter().skip(offset).take(limit) {
        let runs = p.store().ticks(sc.name.as_str(), 10).await?;
        items.push(ScheduleResponse {
            name: sc.name.as_str(),
            schedule: sc.expression.clone(),
            next_run: sc.next_after(p.now()),
            recent_runs: runs.into_iter().map(RunResponse::from).collect(),
        });
    }
    let page = Page { items, total: all.iter().count() as u64, request };
    Ok(Json(PageResponse::from_page(page, |r| r)))
}

/// Runs a schedule now (for instance to retry a run that ended dead), recorded as a tick of
/// its own; it is retried with backoff like any scheduled run.
#[utoipa::path(post, path = "/ipam/admin/schedules/{name}/run", tag = "operations",
    params(("name" = String, Path, description = "reservation_expiry, share_expiry, notification_cleanup, delivery_pruning, outbox_relay, rule_catch_up or forecast_recompute")),
    responses((status = 202, body = QueuedRun), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn run_schedule(
    State(s): State<AppState>,
    _admin: Auth<Admin>,
    AppPath(name): AppPath<String>,
) -> ApiResult<Response> {
    let schedule = ScheduleName::parse(name.trim()).ok_or_else(|| IpamError::not_found("schedule", shorten(&name)))?;
    let p = &s.platform;
    let tick = p.now();
    // The same claim-then-enqueue as a cron tick (a run that cannot be queued is recorded dead).
    let claimed = ipam_jobs::schedule::claim_and_enqueue(p, schedule, tick)
        .await
        .map_err(|e| ApiError::from(IpamError::Internal(e.context("cannot start the run"))))?;
    if !claimed {
        return Err(ApiError::from(IpamError::conflict(
            ipam_core::error::ConflictKind::Conflict,
            format!("{schedule} was started at this very instant already; try again"),
            serde_json::json!({ "schedule": schedule.as_str() }),
        )));
    }
    let body =
        QueuedRun { status: "queued", schedule: schedule.as_str(), tick_at: tick, status_url: "/ipam/admin/schedules" };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
