//! The audit trail: `/ipam/audit` and the per-resource histories.

use axum::Json;
use axum::extract::State;
use ipam_core::domain::{AuditAction, AuditId, AuditResource, HostId, OctetRange, RegionId};
use ipam_core::storage::AuditFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::dto::{AuditEventResponse, PageResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppQuery, PageParams, PathId, QueryParser, shorten};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(get_audit_event))
        .routes(routes!(region_history))
        .routes(routes!(host_history))
}

/// Filters of the audit list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    /// `create`, `update`, `retire`, `release`, `comment` or `quota_update`.
    action_type: Option<String>,
    /// `region`, `host` or `quota`.
    resource_type: Option<String>,
    /// One resource's id.
    resource_id: Option<String>,
    /// An address or block: host events inside it, region events overlapping it.
    ip_address: Option<String>,
    /// At or after (RFC 3339 or `YYYY-MM-DD`).
    start_date: Option<String>,
    /// At or before (RFC 3339 or `YYYY-MM-DD`).
    end_date: Option<String>,
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

/// Your audit events, newest first.
#[utoipa::path(get, path = "/ipam/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = PageResponse<AuditEventResponse>), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_audit(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<AuditParams>,
) -> ApiResult<Json<PageResponse<AuditEventResponse>>> {
    let mut p = QueryParser::new();
    let filter = AuditFilter {
        action: p.opt("action_type", q.action_type.as_ref(), AuditAction::parse),
        resource_type: p.opt("resource_type", q.resource_type.as_ref(), AuditResource::parse),
        resource_id: p.text("resource_id", q.resource_id.as_ref()).map(|id| shorten(&id)),
        within: p.opt("ip_address", q.ip_address.as_ref(), OctetRange::parse),
        time: p.time_range(("start_date", q.start_date.as_ref()), ("end_date", q.end_date.as_ref())),
    };
    let page = p.page(q.page.as_ref(), q.page_size.as_ref());
    p.finish()?;
    Ok(Json(PageResponse::from_page(s.ipam.audit_events(&actor, &filter, page).await?, AuditEventResponse::from)))
}

/// One audit event.
#[utoipa::path(get, path = "/ipam/audit/{audit_id}", tag = "audit",
    params(("audit_id" = String, Path, description = "Audit event id")),
    responses((status = 200, body = AuditEventResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_audit_event(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<AuditId>,
) -> ApiResult<Json<AuditEventResponse>> {
    Ok(Json(s.ipam.audit_event(&actor, &id).await?.into()))
}

/// A region's history (also after it was retired), newest first.
#[utoipa::path(get, path = "/ipam/regions/{region_id}/audit", tag = "audit",
    params(("region_id" = String, Path, description = "Region id"), PageParams),
    responses((status = 200, body = PageResponse<AuditEventResponse>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn region_history(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<RegionId>,
    AppQuery(q): AppQuery<PageParams>,
) -> ApiResult<Json<PageResponse<AuditEventResponse>>> {
    let events = s.ipam.resource_history(&actor, AuditResource::Region, id.as_str(), q.request()?).await?;
    Ok(Json(PageResponse::from_page(events, AuditEventResponse::from)))
}

/// A host's history (also after it was released), newest first.
#[utoipa::path(get, path = "/ipam/hosts/{host_id}/audit", tag = "audit",
    params(("host_id" = String, Path, description = "Host id"), PageParams),
    responses((status = 200, body = PageResponse<AuditEventResponse>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn host_history(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<HostId>,
    AppQuery(q): AppQuery<PageParams>,
) -> ApiResult<Json<PageResponse<AuditEventResponse>>> {
    let events = s.ipam.resource_history(&actor, AuditResource::Host, id.as_str(), q.request()?).await?;
    Ok(Json(PageResponse::from_page(events, AuditEventResponse::from)))
}
