//! `GET /ipam/statistics/continent/{continent}` and `GET /ipam/statistics/top-utilized`: a
//! continent's capacity in regions and your share of it, country by country, and your most
//! utilised regions and countries. Served from the result cache (`?fresh=true` computes them
//! anew); standard rate class.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use ipam_core::domain::statistics::utilization::{
    ContinentStats, CountryCapacity, DEFAULT_TOP_LIMIT, MAX_TOP_LIMIT, TopUtilized, UtilizedCountry, UtilizedRegion,
};
use ipam_core::service::Fetched;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppPath, AppQuery, QueryParser};
use crate::state::AppState;

/// The continent and top-utilized routes (standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(continent)).routes(routes!(top_utilized))
}

/// `fresh`: `true|1|false|0`.
fn fresh(p: &mut QueryParser, raw: Option<&String>) -> bool {
    let parsed = p.opt("fresh", raw, |s| match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("must be true or false".to_owned()),
    });
    parsed.unwrap_or(false)
}

/// `?fresh=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContinentParams {
    /// `true` computes the figures anew instead of serving them from the cache (default `false`).
    fresh: Option<String>,
}

/// One country of the continent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CountryCapacityResponse {
    /// Country name.
    country: String,
    /// Country code, e.g. `USA`.
    country_code: String,
    /// Regions the country can hold (its X octets × 256).
    total_capacity: u64,
    /// Your regions in it.
    allocated: u64,
    /// Capacity − allocated.
    available: u64,
    /// Allocated / capacity × 100, 2 decimals.
    utilization_percent: f64,
}

impl From<CountryCapacity> for CountryCapacityResponse {
    fn from(c: CountryCapacity) -> Self {
        Self {
            country: c.country,
            country_code: c.country_code.to_string(),
            total_capacity: c.total_capacity,
            allocated: c.allocated,
            available: c.available,
            utilization_percent: c.utilization_percent,
        }
    }
}

/// Your use of a continent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ContinentResponse {
    /// The continent, as the catalog names it (e.g. `North America`).
    continent: String,
    /// Regions its countries can hold.
    total_capacity: u64,
    /// Your regions in them.
    allocated: u64,
    /// Capacity − allocated.
    available: u64,
    /// Allocated / capacity × 100, 2 decimals.
    utilization_percent: f64,
    /// Countries of the continent.
    country_count: u64,
    /// Every country of the continent, in address (X range) order.
    country_breakdown: Vec<CountryCapacityResponse>,
    /// When the figures were computed.
    timestamp: DateTime<Utc>,
    /// True when served from the cache.
    cached: bool,
}

impl From<Fetched<ContinentStats>> for ContinentResponse {
    fn from(f: Fetched<ContinentStats>) -> Self {
        let s = f.value;
        Self {
            continent: s.continent,
            total_capacity: s.total_capacity,
            allocated: s.allocated,
            available: s.available,
            utilization_percent: s.utilization_percent,
            country_count: s.country_count,
            country_breakdown: s.country_breakdown.into_iter().map(Into::into).collect(),
            timestamp: s.timestamp,
            cached: f.cached,
        }
    }
}

/// Your regions in a continent's countries, out of their capacity. The continent matches
/// ignoring case, with `_` or `-` for spaces (`North%20America`, `north_america`); an unknown
/// one is a 404 listing the known continents. Cached for 5 minutes, never stale after a change
/// of yours.
#[utoipa::path(get, path = "/ipam/statistics/continent/{continent}", tag = "statistics",
    params(("continent" = String, Path, description = "Continent name, e.g. `Asia` or `north_america`"), ContinentParams),
    responses((status = 200, body = ContinentResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn continent(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppPath(name): AppPath<String>,
    AppQuery(q): AppQuery<ContinentParams>,
) -> ApiResult<Json<ContinentResponse>> {
    let mut p = QueryParser::new();
    let fresh = fresh(&mut p, q.fresh.as_ref());
    p.finish()?;
    Ok(Json(s.ipam.continent_statistics(&actor, &name, fresh).await?.into()))
}

/// `?limit=` and `?fresh=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopParams {
    /// How many regions and how many countries, 1..100 (default 10).
    limit: Option<String>,
    /// `true` computes the rankings anew instead of serving them from the cache (default `false`).
    fresh: Option<String>,
}

/// One of your most utilised regions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UtilizedRegionResponse {
    /// Region id.
    region_id: String,
    /// Region name.
    region_name: String,
    /// Country name.
    country: String,
    /// Country code.
    country_code: String,
    /// `10.X.Y.0/24`.
    cidr: String,
    /// Hosts allocated.
    allocated: u64,
    /// Hosts a region holds (254).
    capacity: u64,
    /// Allocated / capacity × 100, 2 decimals.
    utilization_percent: f64,
}

impl From<UtilizedRegion> for UtilizedRegionResponse {
    fn from(r: UtilizedRegion) -> Self {
        Self {
            region_id: r.region_id.to_string(),
            region_name: r.region_name,
            country: r.country,
            country_code: r.country_code.to_string(),
            cidr: r.cidr,
            allocated: r.allocated,
            capacity: r.capacity,
            utilization_percent: r.utilization_percent,
        }
    }
}

/// One of your most utilised countries.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UtilizedCountryResponse {
    /// Country name.
    country: String,
    /// Country code.
    country_code: String,
    /// Continent.
    continent: String,
    /// Your regions in it.
    allocated: u64,
    /// Regions it can hold.
    capacity: u64,
    /// Allocated / capacity × 100, 2 decimals.
    utilization_percent: f64,
}

impl From<UtilizedCountry> for UtilizedCountryResponse {
    fn from(c: UtilizedCountry) -> Self {
        Self {
            country: c.country,
            country_code: c.country_code.to_string(),
            continent: c.continent,
            allocated: c.allocated,
            capacity: c.capacity,
            utilization_percent: c.utilization_percent,
        }
    }
}

/// Your most utilised regions and countries.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TopUtilizedResponse {
    /// Up to `limit` of your regions, most hosts first; ties in address (CIDR) order.
    top_regions: Vec<UtilizedRegionResponse>,
    /// Up to `limit` countries where you hold regions, by utilisation; ties by region count,
    /// then address (X range) order.
    top_countries: Vec<UtilizedCountryResponse>,
    /// When the rankings were computed.
    timestamp: DateTime<Utc>,
    /// True when served from the cache.
    cached: bool,
}

impl From<Fetched<TopUtilized>> for TopUtilizedResponse {
    fn from(f: Fetched<TopUtilized>) -> Self {
        let t = f.value;
        Self {
            top_regions: t.top_regions.into_iter().map(Into::into).collect(),
            top_countries: t.top_countries.into_iter().map(Into::into).collect(),
            timestamp: t.timestamp,
            cached: f.cached,
        }
    }
}

/// Your most utilised regions (by hosts out of 254) and countries (by regions out of their
/// capacity), `limit` of each. Cached for 5 minutes, never stale after a change of yours.
#[utoipa::path(get, path = "/ipam/statistics/top-utilized", tag = "statistics", params(TopParams),
    responses((status = 200, body = TopUtilizedResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn top_utilized(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<TopParams>,
) -> ApiResult<Json<TopUtilizedResponse>> {
    let mut p = QueryParser::new();
    let limit = p.opt("limit", q.limit.as_ref(), |s| match s.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_TOP_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number between 1 and {MAX_TOP_LIMIT}")),
    });
    let fresh = fresh(&mut p, q.fresh.as_ref());
    p.finish()?;
    let limit = limit.unwrap_or(DEFAULT_TOP_LIMIT);
    Ok(Json(s.ipam.top_utilized(&actor, limit, fresh).await?.into()))
}
