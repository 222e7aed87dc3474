//! Comments on regions and hosts: `/ipam/{regions|hosts}/{id}/comments`.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use ipam_core::domain::{Comment, CommentTarget, CommentText, HostId, RegionId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read, Update};
use crate::dto::{PageResponse, created};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery, PathId, QueryParser};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_region_comment, list_region_comments))
        .routes(routes!(add_host_comment, list_host_comments))
}

/// A new comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentRequest {
    /// The text, 1–2000 characters (`text` is accepted too).
    #[serde(alias = "text")]
    comment_text: String,
}

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommentResponse {
    /// Identifier.
    comment_id: String,
    /// `region` or `host`.
    resource_type: &'static str,
    /// The region or host id.
    resource_id: String,
    /// The text.
    text: String,
    /// Author's user id.
    author_id: String,
    /// Author's username.
    author: String,
    /// When it was written.
    created_at: DateTime<Utc>,
}

impl From<Comment> for CommentResponse {
    fn from(c: Comment) -> Self {
        Self {
            comment_id: c.id.to_string(),
            resource_type: c.target.kind(),
            resource_id: c.target.id().to_owned(),
            text: c.text.to_string(),
            author_id: c.author_id.to_string(),
            author: c.author.to_string(),
            created_at: c.created_at,
        }
    }
}

/// Pagination of comment lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentListParams {
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

async fn add(
    s: AppState,
    actor: ipam_core::auth::Actor,
    target: CommentTarget,
    body: CommentRequest,
) -> ApiResult<Response> {
    let text = CommentText::parse(&body.comment_text).map_err(|e| ApiError::invalid("comment_text", e))?;
    let location = format!("/ipam/{}s/{}/comments", target.kind(), target.id());
    let comment = s.ipam.add_comment(&actor, target, text).await?;
    Ok(created(location, CommentResponse::from(comment)))
}

async fn list(
    s: AppState,
    actor: ipam_core::auth::Actor,
    target: CommentTarget,
    params: CommentListParams,
) -> ApiResult<Json<PageResponse<CommentResponse>>> {
    let mut p = QueryParser::new();
    let page = p.page(params.page.as_ref(), params.page_size.as_ref());
    p.finish()?;
    Ok(Json(PageResponse::from_page(s.ipam.comments(&actor, &target, page).await?, CommentResponse::from)))
}

/// Adds a comment to a region (audited).
#[utoipa::path(post, path = "/ipam/regions/{region_id}/comments", tag = "comments", request_body = CommentRequest,
    params(("region_id" = String, Path, description = "Region id")),
    responses((status = 201, body = CommentResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_region_comment(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<RegionId>,
    AppJson(body): AppJson<CommentRequest>,
) -> ApiResult<Response> {
    add(s, actor, CommentTarget::Region(id), body).await
}

/// A region's comments, newest first.
#[utoipa::path(get, path = "/ipam/regions/{region_id}/comments", tag = "comments",
    params(("region_id" = String, Path, description = "Region id"), CommentListParams),
    responses((status = 200, body = PageResponse<CommentResponse>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_region_comments(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<RegionId>,
    AppQuery(params): AppQuery<CommentListParams>,
) -> ApiResult<Json<PageResponse<CommentResponse>>> {
    list(s, actor, CommentTarget::Region(id), params).await
}

/// Adds a comment to a host (audited).
#[utoipa::path(post, path = "/ipam/hosts/{host_id}/comments", tag = "comments", request_body = CommentRequest,
    params(("host_id" = String, Path, description = "Host id")),
    responses((status = 201, body = CommentResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_host_comment(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<HostId>,
    AppJson(body): AppJson<CommentRequest>,
) -> ApiResult<Response> {
    add(s, actor, CommentTarget::Host(id), body).await
}

/// A host's comments, newest first.
#[utoipa::path(get, path = "/ipam/hosts/{host_id}/comments", tag = "comments",
    params(("host_id" = String, Path, description = "Host id"), CommentListParams),
    responses((status = 200, body = PageResponse<CommentResponse>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_host_comments(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<HostId>,
    AppQuery(params): AppQuery<CommentListParams>,
) -> ApiResult<Json<PageResponse<CommentResponse>>> {
    list(s, actor, CommentTarget::Host(id), params).await
}
