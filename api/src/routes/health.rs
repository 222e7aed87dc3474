//! `GET /health`: real checks of what the service depends on.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
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
}

/// Checks the service's dependencies (no authentication). 503 when one fails.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = HealthResponse), (status = 503, body = HealthResponse)))]
async fn health(State(s): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let started = Instant::now();
    let ping = s.ipam.store().ping().await;
    if let Err(e) = &ping {
        tracing::error!(error = %e, "health: database check failed");
    }
    let database = Check {
        status: if ping.is_ok() { "ok" } else { "error" },
        backend: s.ipam.store().backend(),
        latency_ms: (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
        error: ping.is_err().then_some("database did not answer"),
    };
    let healthy = ping.is_ok();
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        status,
        Json(HealthResponse {
            status: if healthy { "healthy" } else { "unhealthy" },
            version: env!("CARGO_PKG_VERSION"),
            checks: Checks { database },
        }),
    )
}
