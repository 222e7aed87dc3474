//! `/ipam/shares`: read-only links to a country, region or host. Managing them needs a token;
//! opening one does not, and shows only an allow-listed view of the resource.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ipam_core::IpamError;
use ipam_core::domain::region::percent;
use ipam_core::domain::{Description, PageRequest, Share, ShareId, ShareKind};
use ipam_core::service::SharedResource;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read, Update};
use crate::dto::{PageResponse, created};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery, PathId, QueryParser};
use crate::negotiate::prefers_html;
use crate::state::AppState;

/// Share management (authenticated, standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_share, list_shares)).routes(routes!(revoke_share))
}

/// The public reader (no authentication; one global budget).
pub(crate) fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(open_share))
}

/// Charges a public read to the global budget.
pub(crate) async fn public_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match state.limits.check_public() {
        Ok(budget) => {
            let mut response = next.run(req).await;
            if let Some(b) = budget {
                b.apply(response.headers_mut());
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// Share a country (code or name), region or host for 1–90 days.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateShareRequest {
    /// `country`, `region` or `host`.
    #[schema(example = "country")]
    resource_type: String,
    /// Country code or name, or a region / host id of yours.
    #[schema(example = "USA")]
    resource_id: String,
    /// Days until the link stops working, 1–90.
    #[schema(example = 7)]
    expires_in_days: i64,
    /// Note for yourself, up to 500 characters.
    description: Option<String>,
}

/// A share.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ShareResponse {
    /// Identifier (revoke with DELETE /ipam/shares/{share_id}).
    share_id: String,
    /// Same as `share_id`.
    #[serde(rename = "_id")]
    legacy_id: String,
    /// The secret in the link.
    share_token: String,
    /// The absolute link to hand out.
    share_url: String,
    /// `country`, `region` or `host`.
    resource_type: &'static str,
    /// Country code, region id or host id.
    resource_id: String,
    /// Note.
    description: Option<String>,
    /// Successful public reads.
    view_count: u64,
    /// Last public read.
    last_accessed: Option<DateTime<Utc>>,
    /// When the link stops working.
    expires_at: DateTime<Utc>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Username of the creator.
    created_by: String,
    /// False once revoked.
    is_active: bool,
}

impl ShareResponse {
    fn new(s: Share, base: &str) -> Self {
        Self {
            share_id: s.id.to_string(),
            legacy_id: s.id.to_string(),
            share_url: format!("{base}/ipam/shares/{}", s.token.as_str()),
            share_token: s.token.as_str().to_owned(),
            resource_type: s.kind.as_str(),
            resource_id: s.resource_id,
            description: s.description.map(|d| d.to_string()),
            view_count: s.view_count,
            last_accessed: s.last_accessed,
            expires_at: s.expires_at,
            created_at: s.created_at,
            created_by: s.created_by.to_string(),
            is_active: s.is_active,
        }
    }
}

/// Creates a read-only link to one of your resources.
#[utoipa::path(post, path = "/ipam/shares", tag = "shares", request_body = CreateShareRequest,
    responses((status = 201, body = ShareResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_share(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppJson(body): AppJson<CreateShareRequest>,
) -> ApiResult<Response> {
    let mut e = ipam_core::error::FieldErrors::new();
    let kind = e.check("resource_type", ShareKind::parse(&body.resource_type));
    if body.resource_id.trim().is_empty() {
        e.add("resource_id", "must not be empty");
    }
    if !(1..=90).contains(&body.expires_in_days) {
        e.add("expires_in_days", "must be between 1 and 90");
    }
    let description = body.description.and_then(|d| e.check("description", Description::parse_optional(&d)).flatten());
    let Some(kind) = kind.filter(|_| e.is_empty()) else { return Err(ApiError::fields(e)) };
    let days = u32::try_from(body.expires_in_days).unwrap_or(1);
    let share = s.ipam.create_share(&actor, kind, body.resource_id.trim(), days, description).await?;
    Ok(created(format!("/ipam/shares/{}", share.token.as_str()), ShareResponse::new(share, &s.public_base_url)))
}

/// Pagination of the share list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareListParams {
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

/// Your live shares (active and unexpired), newest first.
#[utoipa::path(get, path = "/ipam/shares", tag = "shares", params(ShareListParams),
    responses((status = 200, body = PageResponse<ShareResponse>)), security(("bearer" = [])))]
async fn list_shares(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<ShareListParams>,
) -> ApiResult<Json<PageResponse<ShareResponse>>> {
    let mut p = QueryParser::new();
    let page: PageRequest = p.page(q.page.as_ref(), q.page_size.as_ref());
    p.finish()?;
    let shares = s.ipam.shares(&actor, page).await?;
    Ok(Json(PageResponse::from_page(shares, |sh| ShareResponse::new(sh, &s.public_base_url))))
}

/// Revokes a share: its link stops working at once.
#[utoipa::path(delete, path = "/ipam/shares/{share}", tag = "shares",
    params(("share" = String, Path, description = "The share_id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_share(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<ShareId>,
) -> ApiResult<StatusCode> {
    s.ipam.revoke_share(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public view of a region.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SharedRegion {
    region_name: String,
    cidr: String,
    status: String,
    utilization: f64,
    host_count: u32,
    tags: BTreeMap<String, String>,
    country: Option<String>,
    continent: Option<String>,
}

/// The public view of a host.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SharedHost {
    hostname: String,
    ip_address: String,
    status: String,
    device_type: Option<String>,
    os_type: Option<String>,
    application: Option<String>,
    tags: BTreeMap<String, String>,
    region_name: Option<String>,
    cidr: String,
}

/// The public view of a country.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SharedCountry {
    code: String,
    name: String,
    continent: String,
    x_start: u8,
    x_end: u8,
    capacity: u32,
    allocated_regions: u32,
    utilization: f64,
}

/// The allow-listed data of a shared resource — nothing else is ever included.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum SharedData {
    /// A region.
    Region(SharedRegion),
    /// A host.
    Host(SharedHost),
    /// A country.
    Country(SharedCountry),
}

impl From<SharedResource> for SharedData {
    fn from(r: SharedResource) -> Self {
        match r {
            SharedResource::Region { region, country } => Self::Region(SharedRegion {
                region_name: region.name.to_string(),
                cidr: region.cidr(),
                status: region.status.to_string(),
                utilization: region.utilization_percent(),
                host_count: region.allocated_hosts,
                tags: region.tags.as_map().clone(),
                country: country.as_ref().map(|c| c.name.clone()),
                continent: country.map(|c| c.continent),
            }),
            SharedResource::Host { host, region } => Self::Host(SharedHost {
                hostname: host.hostname.to_string(),
                ip_address: host.ip_address(),
                status: host.status.to_string(),
                device_type: host.details.device_type.map(|d| d.as_str().to_owned()),
                os_type: host.details.os_type.map(|v| v.to_string()),
                application: host.details.application.map(|v| v.to_string()),
                tags: host.tags.as_map().clone(),
                region_name: region.map(|r| r.name.to_string()),
                cidr: ipam_core::domain::address::region_cidr(host.x, host.y),
            }),
            SharedResource::Country { country, allocated } => Self::Country(SharedCountry {
                code: country.code.to_string(),
                utilization: percent(allocated.into(), country.region_capacity().into()),
                capacity: country.region_capacity(),
                name: country.name,
                continent: country.continent,
                x_start: country.x_start,
                x_end: country.x_end,
                allocated_regions: allocated,
            }),
        }
    }
}

/// What anyone with the link sees.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SharedResourceResponse {
    /// `country`, `region` or `host`.
    resource_type: &'static str,
    /// The allow-listed view.
    resource_data: SharedData,
    /// Username of whoever shared it.
    shared_by: String,
    /// When the link was made.
    created_at: DateTime<Utc>,
    /// When it stops working.
    expires_at: DateTime<Utc>,
}

/// Opens a share (no authentication). Unknown, revoked and expired links are all 404. Browsers
/// (`Accept` preferring `text/html`) get a small read-only page of the same data, and for a
/// link that does not open a 404 page saying it has expired or been revoked.
#[utoipa::path(get, path = "/ipam/shares/{share}", tag = "shares",
    params(("share" = String, Path, description = "The share_token")),
    responses((status = 200, body = SharedResourceResponse), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn open_share(
    State(s): State<AppState>,
    headers: HeaderMap,
    AppPath(token): AppPath<String>,
) -> ApiResult<Response> {
    let wants_html = prefers_html(&headers);
    let (share, resource) = match s.ipam.open_share(&token).await {
        Ok(found) => found,
        // A browser following a dead link gets a page that says so, with the same 404; the page
        // is one constant, so it tells no more than the JSON (unknown, revoked and expired alike).
        Err(IpamError::NotFound { .. }) if wants_html => {
            return Ok((StatusCode::NOT_FOUND, [(CONTENT_TYPE, "text/html; charset=utf-8")], GONE_PAGE).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let body = SharedResourceResponse {
        resource_type: share.kind.as_str(),
        resource_data: resource.into(),
        shared_by: share.created_by.to_string(),
        created_at: share.created_at,
        expires_at: share.expires_at,
    };
    if wants_html {
        return Ok(([(CONTENT_TYPE, "text/html; charset=utf-8")], html(&body)).into_response());
    }
    Ok(Json(body).into_response())
}

/// What a browser sees for a share link that does not open.
const GONE_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link unavailable</title>\
    <style>body{font-family:sans-serif;margin:2em}</style></head><body><h1>This link is no longer available</h1>\
    <p>The share link has expired or been revoked (or its address was mistyped). Ask whoever shared it for a new \
    one.</p></body></html>";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn html(body: &SharedResourceResponse) -> String {
    let data = serde_json::to_value(&body.resource_data).unwrap_or_default();
    let rows: String = data
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => "—".into(),
                        other => other.to_string(),
                    };
                    format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(&v))
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Shared {kind}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:1em}}</style></head>\
         <body><h1>Shared {kind}</h1><table>{rows}</table><p>Shared by {by} · expires {exp}</p></body></html>",
        kind = escape(body.resource_type),
        by = escape(&body.shared_by),
        exp = body.expires_at.to_rfc3339(),
    )
}
