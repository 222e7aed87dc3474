//! `/ipam/regions`: allocate, list, read, change and retire `/24` regions.

mod requests;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ipam_core::domain::RegionId;
use ipam_core::domain::address::region_cidr;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::requests::{CreateRegionRequest, PreviewParams, RegionListParams, RetireParams, UpdateRegionRequest};
use crate::auth::{Allocate, Auth, Read, Release, Update};
use crate::dto::{PageResponse, RegionResponse, created};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery, MaybeJson, PathId};
use crate::routes::preferences::AbsorbsCriteria;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_region, list_regions))
        .routes(routes!(preview_next_region))
        .routes(routes!(get_region, update_region, retire_region))
        .routes(routes!(region_utilization))
}

/// Allocates the lowest free `10.X.Y.0/24` of a country.
#[utoipa::path(post, path = "/ipam/regions", tag = "regions", request_body = CreateRegionRequest,
    responses(
        (status = 201, description = "Allocated", body = RegionResponse),
        (status = 409, description = "duplicate_name, capacity_exhausted or country_reserved", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ErrorBody),
        (status = 429, description = "quota_exceeded or rate_limit_exceeded", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn create_region(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Allocate>,
    AppJson(body): AppJson<CreateRegionRequest>,
) -> ApiResult<Response> {
    let (country, new) = body.parse()?;
    let region = s.ipam.allocate_region(&actor, &country, new).await?;
    Ok(created(format!("/ipam/regions/{}", region.id), RegionResponse::new(region, s.ipam.catalog())))
}

/// Lists your regions, newest first.
#[utoipa::path(get, path = "/ipam/regions", tag = "regions", params(RegionListParams),
    responses((status = 200, body = PageResponse<RegionResponse>), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_regions(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(mut params): AppQuery<RegionListParams>,
) -> ApiResult<Json<PageResponse<RegionResponse>>> {
    if let Some(id) = params.filter_id.take() {
        params.absorb(crate::routes::preferences::saved_criteria(&s, &actor, &id).await?);
    }
    let (query, page) = params.parse()?;
    let regions = s.ipam.regions(&actor, &query, page).await?;
    Ok(Json(PageResponse::from_page(regions, |r| RegionResponse::new(r, s.ipam.catalog()))))
}

/// One region.
#[utoipa::path(get, path = "/ipam/regions/{region_id}", tag = "regions",
    params(("region_id" = String, Path, description = "Region id")),
    responses((status = 200, body = RegionResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_region(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<RegionId>,
) -> ApiResult<Json<RegionResponse>> {
    let region = s.ipam.region(&actor, &id).await?;
    Ok(Json(RegionResponse::new(region, s.ipam.catalog())))
}

/// Changes name, description, owner, status or tags (audited with the field changes).
#[utoipa::path(patch, path = "/ipam/regions/{region_id}", tag = "regions", request_body = UpdateRegionRequest,
    params(("region_id" = String, Path, description = "Region id")),
    responses(
        (status = 200, body = RegionResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "duplicate_name", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn update_region(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<RegionId>,
    AppJson(body): AppJson<UpdateRegionRequest>,
) -> ApiResult<Json<RegionResponse>> {
    let (patch, reason) = body.parse()?;
    let region = s.ipam.update_region(&actor, &id, &patch, reason.as_ref()).await?;
    Ok(Json(RegionResponse::new(region, s.ipam.catalog())))
}

/// Retires a region: deletes it and frees its block (audited with a snapshot). A region with
/// hosts is refused unless `cascade=true`, which releases the hosts too.
#[utoipa::path(delete, path = "/ipam/regions/{region_id}", tag = "regions",
    params(("region_id" = String, Path, description = "Region id"), RetireParams),
    request_body(content = Option<RetireParams>, description = "The same fields as the query string, optionally"),
    responses(
        (status = 204, description = "Retired"),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Hosts remain and cascade is false", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn retire_region(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Release>,
    PathId(id): PathId<RegionId>,
    AppQuery(query): AppQuery<RetireParams>,
    MaybeJson(body): MaybeJson<RetireParams>,
) -> ApiResult<StatusCode> {
    let (reason, cascade) = RetireParams::parse(query, body)?;
    s.ipam.retire_region(&actor, &id, &reason, cascade).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Host utilisation of a region.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegionUtilizationResponse {
    /// Always `region`.
    resource_type: &'static str,
    /// Region id.
    resource_id: String,
    /// `10.X.Y.0/24`.
    cidr: String,
    /// Hosts the region can hold (254).
    total_capacity: u32,
    /// Hosts allocated.
    allocated: u32,
    /// Hosts still free.
    available: u32,
    /// Percent used.
    utilization_percent: f64,
}

/// Host utilisation of one region.
#[utoipa::path(get, path = "/ipam/regions/{region_id}/utilization", tag = "regions",
    params(("region_id" = String, Path, description = "Region id")),
    responses((status = 200, body = RegionUtilizationResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn region_utilization(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<RegionId>,
) -> ApiResult<Json<RegionUtilizationResponse>> {
    let u = s.ipam.region_utilization(&actor, &id).await?;
    Ok(Json(RegionUtilizationResponse {
        resource_type: "region",
        resource_id: u.region.id.to_string(),
        cidr: u.region.cidr(),
        total_capacity: u.capacity,
        allocated: u.region.allocated_hosts,
        available: u.capacity.saturating_sub(u.region.allocated_hosts),
        utilization_percent: u.region.utilization_percent(),
    }))
}

/// The block the next allocation in a country would receive.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NextRegionResponse {
    /// Whether a block is free.
    available: bool,
    /// Country name.
    country: String,
    /// Country code.
    country_code: String,
    /// The block, when available.
    next_cidr: Option<String>,
    /// Its X octet.
    x_octet: Option<u8>,
    /// Its Y octet.
    y_octet: Option<u8>,
    /// Explanation.
    message: String,
}

/// Shows which block the next allocation in a country would get (reserves nothing).
#[utoipa::path(get, path = "/ipam/regions/preview-next", tag = "regions", params(PreviewParams),
    responses((status = 200, body = NextRegionResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn preview_next_region(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(params): AppQuery<PreviewParams>,
) -> ApiResult<Response> {
    let country = params.country.ok_or_else(|| ApiError::invalid("country", "is required (code or name)"))?;
    let next = s.ipam.preview_next_region(&actor, &country).await?;
    let c = next.country;
    let (message, cidr) = match next.block {
        Some((x, y)) => (format!("next allocation in {} gets {}", c.name, region_cidr(x, y)), Some(region_cidr(x, y))),
        None if c.is_reserved => (format!("{} is reserved and cannot be allocated", c.name), None),
        None => (format!("no free /24 is left in {}", c.name), None),
    };
    Ok(Json(NextRegionResponse {
        available: next.block.is_some(),
        country: c.name.clone(),
        country_code: c.code.to_string(),
        next_cidr: cidr,
        x_octet: next.block.map(|b| b.0),
        y_octet: next.block.map(|b| b.1),
        message,
    })
    .into_response())
}
