//! Quotas: `/ipam/quotas/me` and the administrators' `/ipam/admin/quotas`.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use ipam_core::domain::quota::WARNING_PERCENT;
use ipam_core::domain::region::percent;
use ipam_core::domain::{QuotaPatch, UserId};
use ipam_core::service::QuotaView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Auth, Read};
use crate::dto::{PageResponse, double_option};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery, PathId, QueryParser};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(my_quota)).routes(routes!(list_quotas)).routes(routes!(get_quota, update_quota))
}

/// Usage against one limit.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuotaLine {
    /// The limit in force.
    limit: u32,
    /// Used.
    used: u32,
    /// Still available (0 when over a lowered limit).
    available: u32,
    /// Percent used.
    usage_percent: f64,
    /// At or above 80 %.
    warning: bool,
    /// True when an administrator set this limit; false when the default applies.
    custom_limit: bool,
}

impl QuotaLine {
    fn new(limit: u32, used: u32, custom: bool) -> Self {
        let usage_percent = percent(used.into(), limit.into());
        Self {
            limit,
            used,
            available: limit.saturating_sub(used),
            usage_percent,
            warning: usage_percent >= WARNING_PERCENT || (limit == 0 && used > 0),
            custom_limit: custom,
        }
    }
}

/// A user's quota.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuotaResponse {
    /// The user.
    user_id: String,
    /// Regions.
    regions: QuotaLine,
    /// Hosts.
    hosts: QuotaLine,
    /// Region limit in force (flat form of `regions.limit`).
    region_quota: u32,
    /// Host limit in force.
    host_quota: u32,
    /// Regions held.
    region_count: u32,
    /// Hosts held.
    host_count: u32,
    /// Last change of usage or limits.
    last_updated: Option<DateTime<Utc>>,
}

impl From<QuotaView> for QuotaResponse {
    fn from(v: QuotaView) -> Self {
        let u = v.usage;
        let (rl, hl) = (u.region_limit(v.defaults), u.host_limit(v.defaults));
        Self {
            user_id: u.user_id.to_string(),
            regions: QuotaLine::new(rl, u.region_count, u.region_quota.is_some()),
            hosts: QuotaLine::new(hl, u.host_count, u.host_quota.is_some()),
            region_quota: rl,
            host_quota: hl,
            region_count: u.region_count,
            host_count: u.host_count,
            last_updated: u.last_updated,
        }
    }
}

/// Your quota and usage.
#[utoipa::path(get, path = "/ipam/quotas/me", tag = "quotas",
    responses((status = 200, body = QuotaResponse)), security(("bearer" = [])))]
async fn my_quota(State(s): State<AppState>, Auth(actor, ..): Auth<Read>) -> ApiResult<Json<QuotaResponse>> {
    Ok(Json(s.ipam.my_quota(&actor).await?.into()))
}

/// Pagination of the quota list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuotaListParams {
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

/// Every user that holds or held allocations, or has a custom limit (administrators).
#[utoipa::path(get, path = "/ipam/admin/quotas", tag = "quotas", params(QuotaListParams),
    responses((status = 200, body = PageResponse<QuotaResponse>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_quotas(
    State(s): State<AppState>,
    _admin: Auth<Admin>,
    AppQuery(q): AppQuery<QuotaListParams>,
) -> ApiResult<Json<PageResponse<QuotaResponse>>> {
    let mut p = QueryParser::new();
    let page = p.page(q.page.as_ref(), q.page_size.as_ref());
    p.finish()?;
    Ok(Json(PageResponse::from_page(s.ipam.quotas(page).await?, QuotaResponse::from)))
}

/// Any user's quota (administrators).
#[utoipa::path(get, path = "/ipam/admin/quotas/{user_id}", tag = "quotas",
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, body = QuotaResponse), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_quota(
    State(s): State<AppState>,
    _admin: Auth<Admin>,
    PathId(user): PathId<UserId>,
) -> ApiResult<Json<QuotaResponse>> {
    Ok(Json(s.ipam.quota_of(&user).await?.into()))
}

/// New limits; `null` returns a limit to the configured default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuotaUpdateRequest {
    /// Regions (0–65536), or `null` for the default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    region_quota: Option<Option<u32>>,
    /// Hosts (0–16646144), or `null` for the default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    host_quota: Option<Option<u32>>,
}

/// Changes a user's limits (administrators; audited in the user's namespace). A limit below
/// current usage takes nothing away; new allocations are refused until usage drops.
#[utoipa::path(patch, path = "/ipam/admin/quotas/{user_id}", tag = "quotas", request_body = QuotaUpdateRequest,
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, body = QuotaResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_quota(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Admin>,
    // Not `PathId`: a limit for a user that cannot exist is a bad request (422), not a 404.
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<QuotaUpdateRequest>,
) -> ApiResult<Json<QuotaResponse>> {
    let target = UserId::parse(&id).map_err(|_| ApiError::invalid("user_id", "is not a valid user id"))?;
    let patch = QuotaPatch { region_quota: body.region_quota, host_quota: body.host_quota };
    Ok(Json(s.ipam.update_quota(&actor, &target, &patch).await?.into()))
}
