//! `/ipam/notifications`: the caller's in-app inbox (list with filters, the bell's unread summary,
//! marking read or unread, read-all, delete). Only the system creates notifications, so there is
//! no `POST` of one. The rules that raise them are `notification_rules.rs`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ipam_core::domain::{Notification, NotificationId, NotificationType, PageRequest, Severity};
use ipam_core::service::{NotificationList, UnreadSummary};
use ipam_core::storage::NotificationFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read, Update};
use crate::dto::PageResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery, PathId, QueryParser};
use crate::state::AppState;

/// The inbox (authenticated, standard class). The static paths (`unread`, `read-all`) and the
/// rules router's `rules` outrank `{notification}` in axum's matcher, so no id ever captures them.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(unread_notifications))
        .routes(routes!(read_all))
        .routes(routes!(mark_notification, delete_notification))
}

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationResponse {
    /// Identifier.
    notification_id: String,
    /// Same as `notification_id`.
    #[serde(rename = "_id")]
    legacy_id: String,
    /// Why it exists: capacity_threshold, event_rule, webhook_disabled, reservation_expiring,
    /// reservation_expired or bulk_job_finished.
    notification_type: &'static str,
    /// info, warning or critical.
    severity: &'static str,
    /// Human-readable text.
    message: String,
    /// Kind of resource it is about (region, host, country, reservation, webhook).
    resource_type: Option<&'static str>,
    /// Id of that resource.
    resource_id: Option<String>,
    /// API path of that resource, while it exists.
    resource_link: Option<String>,
    /// Read yet.
    is_read: bool,
    /// When it was read.
    read_at: Option<DateTime<Utc>>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// When it is deleted (90 days after creation).
    expires_at: DateTime<Utc>,
}

impl From<Notification> for NotificationResponse {
    fn from(n: Notification) -> Self {
        Self {
            notification_id: n.id.to_string(),
            legacy_id: n.id.to_string(),
            notification_type: n.notification_type.as_str(),
            severity: n.severity.as_str(),
            message: n.message,
            resource_type: n.resource_type.map(|r| r.as_str()),
            resource_id: n.resource_id,
            resource_link: n.resource_link,
            is_read: n.is_read,
            read_at: n.read_at,
            created_at: n.created_at,
            expires_at: n.expires_at,
        }
    }
}

/// A page of notifications and the caller's unread count (across every page and filter).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationPage {
    /// The page, newest first, with `results` and `pagination`.
    #[serde(flatten)]
    page: PageResponse<NotificationResponse>,
    /// Unread notifications of the caller.
    unread_count: u64,
}

impl From<NotificationList> for NotificationPage {
    fn from(l: NotificationList) -> Self {
        Self { page: PageResponse::from_page(l.page, NotificationResponse::from), unread_count: l.unread_count }
    }
}

/// What the notification bell shows.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UnreadResponse {
    /// Unread notifications of the caller.
    unread_count: u64,
    /// The 5 newest of them, newest first.
    recent: Vec<NotificationResponse>,
}

impl From<UnreadSummary> for UnreadResponse {
    fn from(s: UnreadSummary) -> Self {
        Self { unread_count: s.unread_count, recent: s.recent.into_iter().map(NotificationResponse::from).collect() }
    }
}

/// Mark a notification read or unread.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MarkRequest {
    /// `true` sets `read_at`; `false` clears it.
    is_read: bool,
}

/// How many notifications read-all changed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReadAllResponse {
    /// Notifications that were unread.
    updated: u64,
}

/// Filters and pagination of the inbox.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationParams {
    /// `true` (only read) or `false` (only unread).
    is_read: Option<String>,
    /// info, warning or critical.
    severity: Option<String>,
    /// One notification type.
    notification_type: Option<String>,
    /// Created at or after (RFC 3339, or a date).
    created_after: Option<String>,
    /// Created at or before (RFC 3339, or a date: its end).
    created_before: Option<String>,
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

impl NotificationParams {
    /// The filter and page, or one 422 naming every bad parameter.
    fn parse(&self) -> ApiResult<(NotificationFilter, PageRequest)> {
        let mut p = QueryParser::new();
        let is_read = p.flag("is_read", self.is_read.as_ref());
        let severity = p.opt("severity", self.severity.as_ref(), Severity::parse);
        let notification_type = p.opt("notification_type", self.notification_type.as_ref(), NotificationType::parse);
        let window = p.time_range(
            ("created_after", self.created_after.as_ref()),
            ("created_before", self.created_before.as_ref()),
        );
        let page = p.page(self.page.as_ref(), self.page_size.as_ref());
        p.finish()?;
        let filter = NotificationFilter {
            is_read,
            severity,
            notification_type,
            created_after: window.from,
            created_before: window.to,
        };
        Ok((filter, page))
    }
}

/// Your notifications, newest first, with your unread count.
#[utoipa::path(get, path = "/ipam/notifications", tag = "notifications", params(NotificationParams),
    responses((status = 200, body = NotificationPage), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn list_notifications(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<NotificationParams>,
) -> ApiResult<Json<NotificationPage>> {
    let (filter, page) = q.parse()?;
    Ok(Json(s.ipam.notifications(&actor, &filter, page).await?.into()))
}

/// Your unread count and the 5 newest unread notifications (the notification bell).
#[utoipa::path(get, path = "/ipam/notifications/unread", tag = "notifications",
    responses((status = 200, body = UnreadResponse)), security(("bearer" = [])))]
async fn unread_notifications(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
) -> ApiResult<Json<UnreadResponse>> {
    Ok(Json(s.ipam.unread_notifications(&actor).await?.into()))
}

/// Marks every unread notification of yours read.
#[utoipa::path(post, path = "/ipam/notifications/read-all", tag = "notifications",
    responses((status = 200, body = ReadAllResponse)), security(("bearer" = [])))]
async fn read_all(State(s): State<AppState>, Auth(actor, ..): Auth<Update>) -> ApiResult<Json<ReadAllResponse>> {
    Ok(Json(ReadAllResponse { updated: s.ipam.mark_all_notifications_read(&actor).await? }))
}

/// Marks one of your notifications read or unread.
#[utoipa::path(patch, path = "/ipam/notifications/{notification}", tag = "notifications", request_body = MarkRequest,
    params(("notification" = String, Path, description = "The notification_id")),
    responses((status = 200, body = NotificationResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn mark_notification(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<NotificationId>,
    AppJson(body): AppJson<MarkRequest>,
) -> ApiResult<Json<NotificationResponse>> {
    Ok(Json(s.ipam.mark_notification(&actor, &id, body.is_read).await?.into()))
}

/// Deletes one of your notifications.
#[utoipa::path(delete, path = "/ipam/notifications/{notification}", tag = "notifications",
    params(("notification" = String, Path, description = "The notification_id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_notification(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<NotificationId>,
) -> ApiResult<StatusCode> {
    s.ipam.delete_notification(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
