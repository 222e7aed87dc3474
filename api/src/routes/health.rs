//! `GET /health`: real checks of what the service depends on.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ipam_core::cache::ResultCache;
use ipam_jobs::Platform;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// One dependency's state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Check {
    /// `ok` or `error`.
    status: &'static str,
    /// Which implementation, e.g. `sqlite`.
    backend: &'static str,
    /// How long the check took.
    latency_ms: f64,
    /// What failed (never internal details).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

/// Dependency checks.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Checks {
    /// The database.
    database: Check,
    /// The job queue.
    queue: Check,
    /// The result cache (`redis` or `memory`); absent on `ipam worker`, which serves no cached
    /// results (a component is reported only when it is really probed).
    #[serde(skip_serializing_if = "Option::is_none")]
    cache: Option<Check>,
}

/// One cron schedule.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BackgroundTask {
    /// Schedule name.
    name: &'static str,
    /// Cron expression (seconds first).
    schedule: String,
    /// The last tick that was claimed.
    last_run: Option<DateTime<Utc>>,
    /// `succeeded`, `failed` (being retried), `dead`, or `running`.
    last_outcome: Option<&'static str>,
    /// The next tick.
    next_run: Option<DateTime<Utc>>,
}

/// Overall health.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HealthResponse {
    /// `healthy` or `unhealthy`.
    status: &'static str,
    /// Service version.
    version: &'static str,
    /// Per dependency.
    checks: Checks,
    /// Every schedule with its last and next run.
    background_tasks: Vec<BackgroundTask>,
    /// Jobs waiting per queue.
    queue_depth: std::collections::BTreeMap<String, u64>,
}

/// Checks the service's dependencies (no authentication). 503 when one fails.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = HealthResponse), (status = 503, body = HealthResponse)))]
async fn health(State(s): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let (status, report) = report(&s.platform, Some(s.ipam.cache().as_ref())).await;
    (status, Json(report))
}

fn check<E: std::fmt::Display>(
    backend: &'static str,
    started: Instant,
    result: &Result<(), E>,
    problem: &'static str,
) -> Check {
    if let Err(e) = result {
        tracing::error!(error = %e, backend, "health: {problem}");
    }
    Check {
        status: if result.is_ok() { "ok" } else { "error" },
        backend,
        latency_ms: (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
        error: result.is_err().then_some(problem),
    }
}

/// The health report of the API and of `ipam worker` (same shape on both).
pub(crate) async fn report(platform: &Platform, cache: Option<&dyn ResultCache>) -> (StatusCode, HealthResponse) {
    let started = Instant::now();
    let db = platform.store().ping().await;
    let database = check(platform.store().backend(), started, &db, "database did not answer");
    let started = Instant::now();
    let q = platform.queue().ping().await;
    let queue = check(platform.queue().backend_name(), started, &q, "job queue did not answer");
    let cache = match cache {
        Some(c) => {
            let started = Instant::now();
            let pinged = c.ping().await;
            Some(check(c.backend(), started, &pinged, "result cache did not answer"))
        }
        None => None,
    };
    let runs = platform.store().latest_ticks().await.unwrap_or_default();
    let now = platform.now();
    let background_tasks = platform
        .schedules()
        .iter()
        .map(|sc| {
            let last = runs.iter().find(|r| r.schedule == sc.name.as_str());
            BackgroundTask {
                name: sc.name.as_str(),
                schedule: sc.expression.clone(),
                last_run: last.map(|r| r.tick_at),
                last_outcome: last.map(|r| r.outcome.map_or("running", |o| o.as_str())),
                next_run: sc.next_after(now),
            }
        })
        .collect();
    let queue_depth = platform.queue().depth().await.unwrap_or_default();
    for (name, depth) in &queue_depth {
        ipam_jobs::metrics::queue_depth(name, *depth);
    }
    // The cache is reported but never makes the process unhealthy: results are computed when it
    // fails, so taking the process out of a load balancer would only lose capacity.
    let healthy = db.is_ok() && q.is_ok();
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let report = HealthResponse {
        status: if healthy { "healthy" } else { "unhealthy" },
        version: env!("CARGO_PKG_VERSION"),
        checks: Checks { database, queue, cache },
        background_tasks,
        queue_depth: queue_depth.into_iter().collect(),
    };
    (status, report)
}
