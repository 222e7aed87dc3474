//! `/ipam/countries`: the country table and your utilisation of each country.

use axum::Json;
use axum::extract::State;
use ipam_core::domain::Page;
use ipam_core::domain::{Country, PageRequest};
use ipam_core::service::CountryUtilization;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::dto::PageResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppPath, AppQuery, QueryParser};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_countries))
        .routes(routes!(get_country))
        .routes(routes!(country_utilization))
}

/// A country of the plan, with your usage of it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CountryResponse {
    /// ISO 3166-1 alpha-3 code (`ZZZ`: the reserved block).
    country_code: String,
    /// Name.
    country: String,
    /// Continent.
    continent: String,
    /// First X octet.
    x_start: u8,
    /// Last X octet.
    x_end: u8,
    /// Number of X octets.
    total_blocks: u32,
    /// Reserved blocks are not allocatable.
    is_reserved: bool,
    /// Regions the country can hold.
    total_capacity: u32,
    /// Regions you hold there.
    allocated_regions: u32,
    /// Regions still free for you.
    remaining_capacity: u32,
    /// Percent of the country you use.
    utilization_percentage: f64,
}

impl CountryResponse {
    fn new(c: &Country, allocated: u32) -> Self {
        let capacity = c.region_capacity();
        Self {
            country_code: c.code.to_string(),
            country: c.name.clone(),
            continent: c.continent.clone(),
            x_start: c.x_start,
            x_end: c.x_end,
            total_blocks: c.x_count(),
            is_reserved: c.is_reserved,
            total_capacity: capacity,
            allocated_regions: allocated,
            remaining_capacity: capacity.saturating_sub(allocated),
            utilization_percentage: ipam_core::domain::region::percent(allocated.into(), capacity.into()),
        }
    }
}

/// `?continent=`, pagination.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CountryListParams {
    /// Only this continent (case-insensitive).
    continent: Option<String>,
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

/// Lists the countries of the plan (ordered by X range) with your usage.
#[utoipa::path(get, path = "/ipam/countries", tag = "countries", params(CountryListParams),
    responses((status = 200, body = PageResponse<CountryResponse>), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_countries(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(params): AppQuery<CountryListParams>,
) -> ApiResult<Json<PageResponse<CountryResponse>>> {
    let mut p = QueryParser::new();
    let continent = p.text("continent", params.continent.as_ref());
    let page = p.page(params.page.as_ref(), params.page_size.as_ref());
    p.finish()?;
    let countries = s.ipam.countries(continent.as_deref())?;
    let usage = s.ipam.regions_per_country(&actor).await?;
    Ok(Json(PageResponse::from_page(paginate(countries, page), |c| {
        CountryResponse::new(c, usage.get(&c.code).copied().unwrap_or(0))
    })))
}

fn paginate<T>(items: Vec<T>, page: PageRequest) -> Page<T> {
    let total = items.len() as u64;
    let items = items.into_iter().skip(page.offset() as usize).take(page.limit() as usize).collect();
    Page { items, total, request: page }
}

/// One country, by code or name (case-insensitive).
#[utoipa::path(get, path = "/ipam/countries/{country}", tag = "countries",
    params(("country" = String, Path, description = "Code or name, e.g. USA")),
    responses((status = 200, body = CountryResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_country(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppPath(key): AppPath<String>,
) -> ApiResult<Json<CountryResponse>> {
    let u = s.ipam.country_utilization(&actor, &key).await?;
    Ok(Json(CountryResponse::new(&u.country, u.allocated)))
}

/// Usage of one X octet.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct XBreakdown {
    /// The X octet.
    x_octet: u8,
    /// Regions you hold in it.
    allocated: u32,
    /// Regions it can hold (256).
    capacity: u32,
    /// Still free.
    available: u32,
    /// Percent used.
    utilization_percent: f64,
}

/// Your use of a country.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CountryUtilizationResponse {
    /// Always `country`.
    resource_type: &'static str,
    /// Country code.
    resource_id: String,
    /// Country name.
    country: String,
    /// Regions the country can hold.
    total_capacity: u32,
    /// Regions you hold.
    allocated: u32,
    /// Regions still free.
    available: u32,
    /// Percent used.
    utilization_percent: f64,
    /// Per X octet that holds regions.
    breakdown: Vec<XBreakdown>,
}

impl From<CountryUtilization> for CountryUtilizationResponse {
    fn from(u: CountryUtilization) -> Self {
        Self {
            resource_type: "country",
            resource_id: u.country.code.to_string(),
            country: u.country.name.clone(),
            total_capacity: u.capacity,
            allocated: u.allocated,
            available: u.available(),
            utilization_percent: u.percent(),
            breakdown: u
                .by_x
                .iter()
                .map(|x| XBreakdown {
                    x_octet: x.x,
                    allocated: x.allocated,
                    capacity: 256,
                    available: 256u32.saturating_sub(x.allocated),
                    utilization_percent: CountryUtilization::x_percent(x),
                })
                .collect(),
        }
    }
}

/// Your use of a country, per X octet.
#[utoipa::path(get, path = "/ipam/countries/{country}/utilization", tag = "countries",
    params(("country" = String, Path, description = "Code or name, e.g. USA")),
    responses((status = 200, body = CountryUtilizationResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn country_utilization(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppPath(key): AppPath<String>,
) -> ApiResult<Json<CountryUtilizationResponse>> {
    Ok(Json(s.ipam.country_utilization(&actor, &key).await?.into()))
}
