//! `/ipam/hosts`: allocate (one or a batch), list, look up, change and release hosts.

mod requests;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ipam_core::domain::{HostId, RegionId, RegionStatus, TenAddress};
use ipam_core::storage::ReleaseOutcome;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::requests::{
    BatchHostRequest, BulkLookupRequest, BulkReleaseRequest, CreateHostRequest, HostListParams, PreviewParams,
    ReleaseParams, UpdateHostRequest,
};
use crate::auth::{Allocate, Auth, Read, Release, Update};
use crate::dto::{HostResponse, InterpretResponse, PageResponse, created};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery, MaybeJson, PathId, known_id, shorten};
use crate::routes::preferences::AbsorbsCriteria;
use crate::state::AppState;

/// Routes in the core rate-limit classes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_host, list_hosts))
        .routes(routes!(preview_next_host))
        .routes(routes!(host_by_ip))
        .routes(routes!(bulk_lookup))
        .routes(routes!(get_host, update_host, release_host))
}

/// Routes in the bulk rate-limit class.
pub(crate) fn bulk_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_batch)).routes(routes!(bulk_release))
}

/// Allocates the lowest free address (Z in 1–254) of a region.
#[utoipa::path(post, path = "/ipam/hosts", tag = "hosts", request_body = CreateHostRequest,
    responses(
        (status = 201, body = HostResponse),
        (status = 404, description = "Region not found", body = ErrorBody),
        (status = 409, description = "duplicate_name, capacity_exhausted, or the region is not Active", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "quota_exceeded or rate_limit_exceeded", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn create_host(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Allocate>,
    AppJson(body): AppJson<CreateHostRequest>,
) -> ApiResult<Response> {
    let (region, new) = body.parse()?;
    let host = s.ipam.allocate_host(&actor, &region, new).await?;
    Ok(created(format!("/ipam/hosts/{}", host.id), HostResponse::new(host, s.ipam.catalog())))
}

/// The hosts of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchResponse {
    /// Parent region.
    region_id: String,
    /// How many were allocated.
    total_allocated: usize,
    /// The new hosts, by address.
    hosts: Vec<HostResponse>,
}

/// Allocates up to 100 hosts at once, all or nothing.
#[utoipa::path(post, path = "/ipam/hosts/batch", tag = "hosts", request_body = BatchHostRequest,
    responses(
        (status = 201, body = BatchResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not enough free addresses, or the region is not Active", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn create_batch(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Allocate>,
    AppJson(body): AppJson<BatchHostRequest>,
) -> ApiResult<Response> {
    let batch = body.parse()?;
    let hosts = s.ipam.allocate_batch(&actor, &batch).await?;
    let body = BatchResponse {
        region_id: batch.region_id.to_string(),
        total_allocated: hosts.len(),
        hosts: hosts.into_iter().map(|h| HostResponse::new(h, s.ipam.catalog())).collect(),
    };
    Ok(created(format!("/ipam/hosts?region_id={}", batch.region_id), body))
}

/// Lists your hosts, newest first.
#[utoipa::path(get, path = "/ipam/hosts", tag = "hosts", params(HostListParams),
    responses((status = 200, body = PageResponse<HostResponse>), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_hosts(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(mut params): AppQuery<HostListParams>,
) -> ApiResult<Json<PageResponse<HostResponse>>> {
    if let Some(id) = params.filter_id.take() {
        params.absorb(crate::routes::preferences::saved_criteria(&s, &actor, &id).await?);
    }
    let (query, page) = params.parse()?;
    let hosts = s.ipam.hosts(&actor, &query, page).await?;
    Ok(Json(PageResponse::from_page(hosts, |h| HostResponse::new(h, s.ipam.catalog()))))
}

/// One host.
#[utoipa::path(get, path = "/ipam/hosts/{host_id}", tag = "hosts",
    params(("host_id" = String, Path, description = "Host id")),
    responses((status = 200, body = HostResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_host(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<HostId>,
) -> ApiResult<Json<HostResponse>> {
    let host = s.ipam.host(&actor, &id).await?;
    Ok(Json(HostResponse::new(host, s.ipam.catalog())))
}

/// Your host at an address.
#[utoipa::path(get, path = "/ipam/hosts/by-ip/{ip_address}", tag = "hosts",
    params(("ip_address" = String, Path, description = "Address inside 10.0.0.0/8")),
    responses((status = 200, body = HostResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn host_by_ip(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppPath(ip): AppPath<String>,
) -> ApiResult<Json<HostResponse>> {
    let address = TenAddress::parse(&ip).map_err(|e| ApiError::invalid("ip_address", e))?;
    let host = s.ipam.host_by_ip(&actor, address).await?;
    Ok(Json(HostResponse::new(host, s.ipam.catalog())))
}

/// Answers of a bulk lookup, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BulkLookupResponse {
    /// Number of answers.
    total_count: usize,
    /// One answer per requested address.
    results: Vec<InterpretResponse>,
}

/// Interprets up to 100 addresses at once (malformed entries get their own `invalid` answer).
#[utoipa::path(post, path = "/ipam/hosts/bulk-lookup", tag = "hosts", request_body = BulkLookupRequest,
    responses((status = 200, body = BulkLookupResponse), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn bulk_lookup(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppJson(body): AppJson<BulkLookupRequest>,
) -> ApiResult<Json<BulkLookupResponse>> {
    let items = s.ipam.bulk_lookup(&actor, &body.ip_addresses).await?;
    let results: Vec<_> = items.into_iter().map(|i| InterpretResponse::from_lookup(i, s.ipam.catalog())).collect();
    Ok(Json(BulkLookupResponse { total_count: results.len(), results }))
}

/// Changes hostname, descriptive fields, owner, status or tags (audited with the field changes).
#[utoipa::path(patch, path = "/ipam/hosts/{host_id}", tag = "hosts", request_body = UpdateHostRequest,
    params(("host_id" = String, Path, description = "Host id")),
    responses(
        (status = 200, body = HostResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "duplicate_name", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn update_host(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<HostId>,
    AppJson(body): AppJson<UpdateHostRequest>,
) -> ApiResult<Json<HostResponse>> {
    let (patch, reason) = body.parse()?;
    let host = s.ipam.update_host(&actor, &id, &patch, reason.as_ref()).await?;
    Ok(Json(HostResponse::new(host, s.ipam.catalog())))
}

/// Releases a host: deletes it and frees its address (audited with a snapshot).
#[utoipa::path(delete, path = "/ipam/hosts/{host_id}", tag = "hosts",
    params(("host_id" = String, Path, description = "Host id"), ReleaseParams),
    request_body(content = Option<ReleaseParams>, description = "The reason, if not in the query string"),
    responses((status = 204, description = "Released"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn release_host(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Release>,
    PathId(id): PathId<HostId>,
    AppQuery(query): AppQuery<ReleaseParams>,
    MaybeJson(body): MaybeJson<ReleaseParams>,
) -> ApiResult<StatusCode> {
    let reason = ReleaseParams::parse(query, body)?;
    s.ipam.release_host(&actor, &id, &reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The outcome for one id of a bulk release.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReleaseResult {
    /// The id (canonical upper-case form; malformed ids as given).
    host_id: String,
    /// `released` or `not_found`.
    status: &'static str,
    /// The freed address (released hosts).
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<String>,
    /// The hostname (released hosts).
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    /// Why it was not released.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Per-id outcomes of a bulk release.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BulkReleaseResponse {
    /// Ids in the request (duplicates included).
    total_requested: usize,
    /// Hosts released.
    total_released: usize,
    /// Distinct ids not released.
    total_failed: usize,
    /// One entry per distinct id.
    results: Vec<ReleaseResult>,
}

/// Releases up to 100 hosts; each id succeeds or fails on its own.
#[utoipa::path(post, path = "/ipam/hosts/bulk-release", tag = "hosts", request_body = BulkReleaseRequest,
    responses((status = 200, body = BulkReleaseResponse), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
async fn bulk_release(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Release>,
    AppJson(body): AppJson<BulkReleaseRequest>,
) -> ApiResult<Json<BulkReleaseResponse>> {
    let req = body.parse()?;
    let outcomes =
        if req.ids.is_empty() { Vec::new() } else { s.ipam.bulk_release(&actor, &req.ids, &req.reason).await? };
    let mut results: Vec<ReleaseResult> = outcomes
        .into_iter()
        .map(|o| match o {
            ReleaseOutcome::Released(h) => ReleaseResult {
                host_id: h.id.to_string(),
                status: "released",
                ip_address: Some(h.ip_address()),
                hostname: Some(h.hostname.to_string()),
                error: None,
            },
            ReleaseOutcome::NotFound(id) => not_found(id.to_string()),
        })
        .collect();
    results.extend(req.malformed.into_iter().map(not_found));
    let total_released = results.iter().filter(|r| r.status == "released").count();
    Ok(Json(BulkReleaseResponse {
        total_requested: req.requested,
        total_released,
        total_failed: results.len() - total_released,
        results,
    }))
}

fn not_found(id: String) -> ReleaseResult {
    ReleaseResult {
        host_id: shorten(&id),
        status: "not_found",
        ip_address: None,
        hostname: None,
        error: Some("host not found".into()),
    }
}

/// The address the next allocation in a region would receive.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NextHostResponse {
    /// Whether an address is free.
    available: bool,
    /// Region id.
    region_id: String,
    /// Region name.
    region_name: String,
    /// The address, when available.
    next_ip: Option<String>,
    /// Its Z octet.
    z_octet: Option<u8>,
    /// Explanation.
    message: String,
}

/// Shows which address the next allocation in a region would get (reserves nothing).
#[utoipa::path(get, path = "/ipam/hosts/preview-next", tag = "hosts", params(PreviewParams),
    responses((status = 200, body = NextHostResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn preview_next_host(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(params): AppQuery<PreviewParams>,
) -> ApiResult<Json<NextHostResponse>> {
    let raw = params.region_id.ok_or_else(|| ApiError::invalid("region_id", "is required"))?;
    let next = s.ipam.preview_next_host(&actor, &known_id::<RegionId>(&raw)?).await?;
    let r = next.region;
    let next_ip = next.z.map(|z| ipam_core::domain::address::host_ip(r.x, r.y, z));
    let message = match &next_ip {
        Some(ip) => format!("next allocation in {} gets {ip}", r.cidr()),
        None if r.status != RegionStatus::Active => {
            format!("region {} is {}; only Active regions receive new hosts", r.cidr(), r.status)
        }
        None => format!("region {} is full", r.cidr()),
    };
    Ok(Json(NextHostResponse {
        available: next_ip.is_some(),
        region_id: r.id.to_string(),
        region_name: r.name.to_string(),
        next_ip,
        z_octet: next.z,
        message,
    }))
}
