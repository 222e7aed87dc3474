//! `GET /ipam/statistics/allocation-velocity`: your region and host allocations per hour of the
//! last day or per day of the last 7, 30 or 90, every bucket listed (zero-filled), with totals
//! and averages. Computed on every request (not cached); standard rate class.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, SecondsFormat, Utc};
use ipam_core::domain::statistics::velocity::{Granularity, Velocity, VelocityPoint, VelocityRange};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppQuery, QueryParser};
use crate::state::AppState;

/// The velocity route (standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(allocation_velocity))
}

/// `?time_range=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct VelocityParams {
    /// `1d` (24 hourly buckets), `7d`, `30d` (default) or `90d` (daily buckets); the original
    /// API's `day`, `week` and `month` mean `1d`, `7d` and `30d`.
    time_range: Option<String>,
}

/// One bucket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VelocityPointResponse {
    /// The bucket: its hour (`2028-03-01T10:00:00Z`) for `1d`, its UTC day (`2028-03-01`) otherwise.
    period: String,
    /// Allocations in it.
    count: u64,
}

/// Your allocation velocity.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VelocityResponse {
    /// `1d`, `7d`, `30d` or `90d` (the canonical name, also when asked as `day`, `week`, `month`).
    time_range: &'static str,
    /// The first instant counted: the start of the first bucket.
    start_date: DateTime<Utc>,
    /// The time of the request (the last bucket holds it).
    end_date: DateTime<Utc>,
    /// `hour` (for `1d`) or `day`.
    period_label: &'static str,
    /// Regions allocated in the window (released or retired since included).
    total_regions_allocated: u64,
    /// Hosts allocated in the window (released since included).
    total_hosts_allocated: u64,
    /// Regions per bucket, 2 decimals.
    avg_regions_per_period: f64,
    /// Hosts per bucket, 2 decimals.
    avg_hosts_per_period: f64,
    /// Regions allocated per bucket, every bucket, oldest first.
    region_velocity: Vec<VelocityPointResponse>,
    /// Hosts allocated per bucket, every bucket, oldest first.
    host_velocity: Vec<VelocityPointResponse>,
    /// When the figures were computed.
    timestamp: DateTime<Utc>,
}

impl From<Velocity> for VelocityResponse {
    fn from(v: Velocity) -> Self {
        let granularity = v.range.granularity();
        let points = |series: Vec<VelocityPoint>| -> Vec<VelocityPointResponse> {
            series
                .into_iter()
                .map(|p| VelocityPointResponse {
                    period: match granularity {
                        Granularity::Hour => p.period.to_rfc3339_opts(SecondsFormat::Secs, true),
                        Granularity::Day => p.period.date_naive().to_string(),
                    },
                    count: p.count,
                })
                .collect()
        };
        Self {
            time_range: v.range.as_str(),
            start_date: v.start_date,
            end_date: v.end_date,
            period_label: granularity.as_str(),
            total_regions_allocated: v.total_regions_allocated,
            total_hosts_allocated: v.total_hosts_allocated,
            avg_regions_per_period: v.avg_regions_per_period,
            avg_hosts_per_period: v.avg_hosts_per_period,
            region_velocity: points(v.region_velocity),
            host_velocity: points(v.host_velocity),
            timestamp: v.end_date,
        }
    }
}

/// Your regions and hosts allocated per hour (`1d`) or per day (`7d`, `30d`, `90d`), from the
/// audit trail: allocations released since still count. Every bucket is listed, empty ones as
/// zeros; the last one holds the time of the request.
#[utoipa::path(get, path = "/ipam/statistics/allocation-velocity", tag = "statistics", params(VelocityParams),
    responses((status = 200, body = VelocityResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn allocation_velocity(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<VelocityParams>,
) -> ApiResult<Json<VelocityResponse>> {
    let mut p = QueryParser::new();
    let range = p.opt("time_range", q.time_range.as_ref(), VelocityRange::parse);
    p.finish()?;
    Ok(Json(s.ipam.allocation_velocity(&actor, range.unwrap_or_default()).await?.into()))
}
