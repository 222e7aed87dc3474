//! `GET /ipam/statistics/forecast/{resource_type}/{resource_id}`: when a country's regions or
//! one of your regions' hosts run out, from a least-squares line through the last 90 days of
//! allocations and releases; served from the result cache (`?fresh=true` computes it anew).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use ipam_core::domain::RegionId;
use ipam_core::domain::statistics::forecast::{
    Confidence, DEFAULT_DAYS_AHEAD, Forecast, ForecastResource, ForecastTarget, MAX_DAYS_AHEAD,
};
use ipam_core::service::Fetched;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppPath, AppQuery, QueryParser, known_id};
use crate::state::AppState;

/// The forecast route (standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(forecast))
}

/// A capacity forecast.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ForecastResponse {
    /// `country` or `region`.
    resource_type: String,
    /// Country code (e.g. `USA`) or region id.
    resource_id: String,
    /// Always `least_squares`.
    method: String,
    /// Days of history fitted (90, today included).
    forecast_period_days: u32,
    /// Days ahead of `projected_utilization`.
    days_ahead: u32,
    /// Days with any allocation or release in the period.
    data_points: u32,
    /// Net allocations (hosts of a region, regions of a country) per day: the slope of the
    /// fitted line, 2 decimals.
    daily_allocation_rate: f64,
    /// Goodness of the fit, 0..1, 4 decimals (1 for a perfectly flat history).
    r_squared: f64,
    /// `insufficient_data` (< 3 data points), `high` (≥ 20 and R² ≥ 0.8), `medium` (≥ 7 and
    /// R² ≥ 0.5) or `low`.
    confidence_level: String,
    /// Hosts of a region (254) or regions of a country.
    capacity: u64,
    /// Allocated now.
    allocated: u64,
    /// Capacity − allocated.
    remaining: u64,
    /// Allocated / capacity × 100, 2 decimals.
    current_utilization: f64,
    /// Utilisation `days_ahead` days from now at the fitted rate, 0..100, 2 decimals.
    projected_utilization: f64,
    /// Days until nothing remains (0 when full); null when not growing.
    days_until_exhaustion: Option<u64>,
    /// UTC date (`YYYY-MM-DD`) of exhaustion: today + `days_until_exhaustion`; null when not growing.
    estimated_exhaustion_date: Option<NaiveDate>,
    /// What to do.
    recommendation: String,
    /// When the forecast was computed.
    generated_at: DateTime<Utc>,
    /// True when served from the cache.
    cached: bool,
}

impl From<Fetched<Forecast>> for ForecastResponse {
    fn from(f: Fetched<Forecast>) -> Self {
        let v = f.value;
        let resource_type = match v.resource_type {
            ForecastResource::Country => "country",
            ForecastResource::Region => "region",
        };
        let confidence = match v.confidence_level {
            Confidence::InsufficientData => "insufficient_data",
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        };
        Self {
            resource_type: resource_type.to_owned(),
            resource_id: v.resource_id,
            method: v.method,
            forecast_period_days: v.forecast_period_days,
            days_ahead: v.days_ahead,
            data_points: v.data_points,
            daily_allocation_rate: v.daily_allocation_rate,
            r_squared: v.r_squared,
            confidence_level: confidence.to_owned(),
            capacity: v.capacity,
            allocated: v.allocated,
            remaining: v.remaining,
            current_utilization: v.current_utilization,
            projected_utilization: v.projected_utilization,
            days_until_exhaustion: v.days_until_exhaustion,
            estimated_exhaustion_date: v.estimated_exhaustion_date,
            recommendation: v.recommendation,
            generated_at: v.generated_at,
            cached: f.cached,
        }
    }
}

/// `?days_ahead=` and `?fresh=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForecastParams {
    /// Days ahead of `projected_utilization`, 1..365 (default 30).
    days_ahead: Option<String>,
    /// `true` computes the forecast anew instead of serving it from the cache (default `false`).
    fresh: Option<String>,
}

/// What the path and query ask for, each problem named (`resource_type`, `days_ahead`, `fresh`).
fn parse(resource_type: &str, resource_id: &str, q: &ForecastParams) -> ApiResult<(ForecastTarget, u32, bool)> {
    let mut p = QueryParser::new();
    let kind =
        p.opt("resource_type", Some(&resource_type.to_owned()), |s| match s.trim().to_ascii_lowercase().as_str() {
            "country" => Ok(ForecastResource::Country),
            "region" => Ok(ForecastResource::Region),
            _ => Err("must be country or region".to_owned()),
        });
    let days_ahead = p.opt("days_ahead", q.days_ahead.as_ref(), |s| match s.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_DAYS_AHEAD).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number between 1 and {MAX_DAYS_AHEAD}")),
    });
    let fresh = p.flag("fresh", q.fresh.as_ref());
    p.finish()?;
    let target = match kind {
        Some(ForecastResource::Region) => ForecastTarget::Region(known_id::<RegionId>(resource_id)?),
        _ => ForecastTarget::Country(resource_id.to_owned()),
    };
    Ok((target, days_ahead.unwrap_or(DEFAULT_DAYS_AHEAD), fresh.unwrap_or(false)))
}

/// When a country's regions (`country`, by code or name) or one of your regions' hosts
/// (`region`, by id) run out: a least-squares line through the cumulative net allocations of
/// the last 90 days. Cached for 24 hours, never stale after a change of yours.
#[utoipa::path(get, path = "/ipam/statistics/forecast/{resource_type}/{resource_id}", tag = "statistics",
    params(
        ("resource_type" = String, Path, description = "`country` or `region`"),
        ("resource_id" = String, Path, description = "Country code or name, or region id"),
        ForecastParams
    ),
    responses((status = 200, body = ForecastResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn forecast(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppPath((resource_type, resource_id)): AppPath<(String, String)>,
    AppQuery(q): AppQuery<ForecastParams>,
) -> ApiResult<Json<ForecastResponse>> {
    let (target, days_ahead, fresh) = parse(&resource_type, &resource_id, &q)?;
    Ok(Json(s.ipam.forecast(&actor, &target, days_ahead, fresh).await?.into()))
}
