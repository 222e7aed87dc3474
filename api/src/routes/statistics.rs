//! `/ipam/statistics/*`: figures over the caller's namespace, served from the result cache
//! (`?fresh=true` computes them anew). The dashboard has its own rate class (60/min).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use ipam_core::domain::statistics::{Dashboard, TopCountry};
use ipam_core::service::Fetched;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppQuery, QueryParser};
use crate::state::AppState;

/// The dashboard (its own rate class).
pub(crate) fn dashboard_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dashboard))
}

/// One of the top countries.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TopCountryResponse {
    /// Country code, e.g. `USA`.
    country_code: String,
    /// Country name.
    country_name: String,
    /// Your regions in it.
    region_count: u64,
    /// Hosts in those regions.
    host_count: u64,
    /// Hosts of those regions' capacity (regions × 254), percent with 2 decimals.
    utilization: f64,
}

impl From<TopCountry> for TopCountryResponse {
    fn from(c: TopCountry) -> Self {
        Self {
            country_code: c.country_code.to_string(),
            country_name: c.country_name,
            region_count: c.region_count,
            host_count: c.host_count,
            utilization: c.utilization,
        }
    }
}

/// Your dashboard figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DashboardResponse {
    /// Countries where you hold regions.
    total_countries: u64,
    /// Countries in the catalog (18).
    countries_available: u64,
    /// Regions you hold (retired ones are gone).
    total_regions: u64,
    /// Hosts allocated.
    total_hosts: u64,
    /// Regions retired, ever.
    retired_regions: u64,
    /// Hosts released, ever.
    released_hosts: u64,
    /// Hosts / (regions × 254) × 100, 2 decimals.
    overall_utilization: f64,
    /// Up to 5 countries, by region count, then host count.
    top_countries: Vec<TopCountryResponse>,
    /// Regions and hosts allocated in the last 7 days.
    recent_activity_count: u64,
    /// Regions above 80 % utilisation.
    capacity_warnings: u64,
    /// Active reservations.
    active_reservations: u64,
    /// Active share links.
    active_shares: u64,
    /// Unread notifications (always current).
    unread_notifications: u64,
    /// When the figures were computed.
    generated_at: DateTime<Utc>,
    /// True when served from the cache.
    cached: bool,
}

impl From<Fetched<Dashboard>> for DashboardResponse {
    fn from(f: Fetched<Dashboard>) -> Self {
        let d = f.value;
        Self {
            total_countries: d.total_countries,
            countries_available: d.countries_available,
            total_regions: d.total_regions,
            total_hosts: d.total_hosts,
            retired_regions: d.retired_regions,
            released_hosts: d.released_hosts,
            overall_utilization: d.overall_utilization,
            top_countries: d.top_countries.into_iter().map(Into::into).collect(),
            recent_activity_count: d.recent_activity_count,
            capacity_warnings: d.capacity_warnings,
            active_reservations: d.active_reservations,
            active_shares: d.active_shares,
            unread_notifications: d.unread_notifications,
            generated_at: d.generated_at,
            cached: f.cached,
        }
    }
}

/// `?fresh=true` bypasses the cache.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FreshParams {
    /// `true` computes the result anew instead of serving it from the cache (default `false`).
    fresh: Option<String>,
}

impl FreshParams {
    fn parse(&self) -> ApiResult<bool> {
        let mut p = QueryParser::new();
        let fresh = p.flag("fresh", self.fresh.as_ref());
        p.finish()?;
        Ok(fresh.unwrap_or(false))
    }
}

/// Your dashboard statistics, cached for 5 minutes but never stale after a change of yours.
#[utoipa::path(get, path = "/ipam/statistics/dashboard", tag = "statistics", params(FreshParams),
    responses((status = 200, body = DashboardResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn dashboard(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<FreshParams>,
) -> ApiResult<Json<DashboardResponse>> {
    let fresh = q.parse()?;
    Ok(Json(s.ipam.dashboard(&actor, fresh).await?.into()))
}
