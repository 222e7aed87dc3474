//! `/ipam/webhooks`: subscriptions of a URL to domain events, their delivery log, the test ping
//! and the manual retry of a dead delivery. Deliveries themselves are jobs.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ipam_core::IpamError;
use ipam_core::domain::{
    Delivery, DeliveryId, Description, PageRequest, Webhook, WebhookEvents, WebhookId, WebhookPatch,
};
use ipam_core::error::FieldErrors;
use ipam_core::service::WebhookRequest;
use ipam_jobs::{Envelope, Job};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read, Update};
use crate::dto::{PageResponse, created, double_option};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery, PathId, PathIds, QueryParser};
use crate::state::AppState;

/// Webhook management (authenticated, standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(test_webhook))
        .routes(routes!(retry_delivery))
}

/// Subscribe a URL to events.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateWebhookRequest {
    /// `http(s)://…`, at most 500 characters, on a public address.
    #[schema(example = "https://hooks.example.com/ipam")]
    webhook_url: String,
    /// 1–10 of: region.created, region.updated, region.retired, host.allocated, host.updated,
    /// host.released (alias host.retired), reservation.created, reservation.converted,
    /// reservation.expired, capacity.warning, capacity.critical, notification.created (raised by
    /// notification rules with the webhook channel; nothing raises it until rules are evaluated).
    #[schema(example = json!(["region.created", "host.allocated"]))]
    events: Vec<String>,
    /// Note, up to 500 characters.
    description: Option<String>,
}

impl CreateWebhookRequest {
    fn as_request(&self) -> WebhookRequest<'_> {
        WebhookRequest {
            webhook_url: &self.webhook_url,
            events: &self.events,
            description: self.description.as_deref(),
        }
    }
}

/// Change a webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateWebhookRequest {
    /// Enable (resets the failure count) or disable.
    is_active: Option<bool>,
    /// New subscription (1–10 events).
    events: Option<Vec<String>>,
    /// New note (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
}

/// A webhook (the secret is shown only in the response that created it).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookResponse {
    /// Identifier.
    webhook_id: String,
    /// Same as `webhook_id`.
    #[serde(rename = "_id")]
    legacy_id: String,
    /// Target URL.
    webhook_url: String,
    /// HMAC-SHA256 key of `X-IPAM-Signature`; only present at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    /// Subscribed events.
    events: Vec<&'static str>,
    /// Note.
    description: Option<String>,
    /// Deliveries are made only while active.
    is_active: bool,
    /// Consecutive dead deliveries (10 disable the webhook).
    failure_count: u32,
    /// Why it was disabled automatically.
    disabled_reason: Option<String>,
    /// Last successful delivery.
    last_delivery: Option<DateTime<Utc>>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Last change.
    updated_at: DateTime<Utc>,
}

impl WebhookResponse {
    fn new(w: Webhook, with_secret: bool) -> Self {
        Self {
            webhook_id: w.id.to_string(),
            legacy_id: w.id.to_string(),
            webhook_url: w.url.as_str().to_owned(),
            secret_key: with_secret.then(|| w.secret.expose().to_owned()),
            events: w.events.names(),
            description: w.description.map(|d| d.to_string()),
            is_active: w.is_active,
            failure_count: w.failure_count,
            disabled_reason: w.disabled_reason,
            last_delivery: w.last_delivery_at,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptResponse {
    /// 1 for the first.
    attempt: u32,
    /// HTTP status, when the receiver answered.
    status_code: Option<u16>,
    /// Time to the answer or failure.
    response_time_ms: u64,
    /// What went wrong.
    error: Option<String>,
    /// When it was made.
    attempted_at: DateTime<Utc>,
    /// When the next attempt was scheduled after it.
    next_retry_at: Option<DateTime<Utc>>,
}

/// One event on its way to the webhook, with its latest attempt and every attempt.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryResponse {
    /// Identifier (the `X-IPAM-Delivery` header, the same on every attempt).
    delivery_id: String,
    /// Same as `delivery_id`.
    #[serde(rename = "_id")]
    legacy_id: String,
    /// The event's id (`event_id` in the body).
    event_id: String,
    /// The event type.
    event_type: &'static str,
    /// Attempts made so far.
    attempt: u32,
    /// Status of the latest attempt.
    status_code: Option<u16>,
    /// Response time of the latest attempt.
    response_time_ms: Option<u64>,
    /// Error of the latest attempt.
    error: Option<String>,
    /// Time of the latest attempt.
    delivered_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending deliveries).
    next_retry_at: Option<DateTime<Utc>>,
    /// `pending`, `succeeded` or `dead` (retry a dead one with POST …/retry).
    state: &'static str,
    /// Every attempt, oldest first.
    attempts: Vec<AttemptResponse>,
    /// When the delivery was created.
    created_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        let last = d.last_attempt().cloned();
        Self {
            delivery_id: d.id.to_string(),
            legacy_id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.as_str(),
            attempt: u32::try_from(d.attempts.len()).unwrap_or(u32::MAX),
            status_code: last.as_ref().and_then(|a| a.status_code),
            response_time_ms: last.as_ref().map(|a| a.response_time_ms),
            error: last.as_ref().and_then(|a| a.error.clone()),
            delivered_at: last.as_ref().map(|a| a.attempted_at),
            next_retry_at: d.next_attempt_at.filter(|_| d.state == ipam_core::domain::DeliveryState::Pending),
            state: d.state.as_str(),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptResponse {
                    attempt: a.attempt,
                    status_code: a.status_code,
                    response_time_ms: a.response_time_ms,
                    error: a.error,
                    attempted_at: a.attempted_at,
                    next_retry_at: a.next_retry_at,
                })
                .collect(),
            created_at: d.created_at,
        }
    }
}

/// `202 Accepted`: a delivery was queued.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueuedDelivery {
    /// Always `queued`.
    status: &'static str,
    /// The delivery.
    delivery_id: String,
    /// Where to follow it.
    status_url: String,
}

/// Pagination.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageParams {
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

/// The page the query asks for (422 naming `page`/`page_size` when malformed).
pub(super) fn page(q: &PageParams) -> ApiResult<PageRequest> {
    let mut p = QueryParser::new();
    let page = p.page(q.page.as_ref(), q.page_size.as_ref());
    p.finish()?;
    Ok(page)
}

async fn queue_delivery(s: &AppState, webhook: &WebhookId, d: &Delivery) -> ApiResult<Response> {
    s.platform
        .queue()
        .push(Envelope::new(Job::DeliverWebhook { delivery_id: d.id.clone() }))
        .await
        .map_err(|e| ApiError::from(IpamError::Internal(e.context("cannot enqueue the delivery"))))?;
    let body = QueuedDelivery {
        status: "queued",
        delivery_id: d.id.to_string(),
        status_url: format!("/ipam/webhooks/{webhook}/deliveries"),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// Subscribes a URL to events. The response carries the signing secret, shown only here.
#[utoipa::path(post, path = "/ipam/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    responses((status = 201, body = WebhookResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_webhook(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    AppJson(body): AppJson<CreateWebhookRequest>,
) -> ApiResult<Response> {
    let w = s.ipam.create_webhook(&actor, body.as_request()).await?;
    Ok(created(format!("/ipam/webhooks/{}", w.id), WebhookResponse::new(w, true)))
}

/// Your webhooks, newest first (secrets are never shown).
#[utoipa::path(get, path = "/ipam/webhooks", tag = "webhooks", params(PageParams),
    responses((status = 200, body = PageResponse<WebhookResponse>)), security(("bearer" = [])))]
async fn list_webhooks(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<PageParams>,
) -> ApiResult<Json<PageResponse<WebhookResponse>>> {
    let hooks = s.ipam.webhooks(&actor, page(&q)?).await?;
    Ok(Json(PageResponse::from_page(hooks, |w| WebhookResponse::new(w, false))))
}

/// One of your webhooks.
#[utoipa::path(get, path = "/ipam/webhooks/{webhook}", tag = "webhooks",
    params(("webhook" = String, Path, description = "The webhook_id")),
    responses((status = 200, body = WebhookResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_webhook(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<WebhookId>,
) -> ApiResult<Json<WebhookResponse>> {
    Ok(Json(WebhookResponse::new(s.ipam.webhook(&actor, &id).await?, false)))
}

/// Enables or disables a webhook (enabling resets its failure count), or changes its events or note.
#[utoipa::path(patch, path = "/ipam/webhooks/{webhook}", tag = "webhooks", request_body = UpdateWebhookRequest,
    params(("webhook" = String, Path, description = "The webhook_id")),
    responses((status = 200, body = WebhookResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_webhook(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<WebhookId>,
    AppJson(body): AppJson<UpdateWebhookRequest>,
) -> ApiResult<Json<WebhookResponse>> {
    let mut e = FieldErrors::new();
    let events = body.events.map(|ev| e.check("events", WebhookEvents::parse(&ev)));
    let description = body.description.map(|d| match d {
        None => Some(None),
        Some(text) => e.check("description", Description::parse_optional(&text)),
    });
    if !e.is_empty() {
        return Err(ApiError::fields(e));
    }
    let patch =
        WebhookPatch { is_active: body.is_active, events: events.flatten(), description: description.flatten() };
    Ok(Json(WebhookResponse::new(s.ipam.update_webhook(&actor, &id, &patch).await?, false)))
}

/// Deletes a webhook and its delivery log.
#[utoipa::path(delete, path = "/ipam/webhooks/{webhook}", tag = "webhooks",
    params(("webhook" = String, Path, description = "The webhook_id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_webhook(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<WebhookId>,
) -> ApiResult<StatusCode> {
    s.ipam.delete_webhook(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's deliveries, newest first, each with every attempt.
#[utoipa::path(get, path = "/ipam/webhooks/{webhook}/deliveries", tag = "webhooks",
    params(("webhook" = String, Path, description = "The webhook_id"), PageParams),
    responses((status = 200, body = PageResponse<DeliveryResponse>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_deliveries(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<WebhookId>,
    AppQuery(q): AppQuery<PageParams>,
) -> ApiResult<Json<PageResponse<DeliveryResponse>>> {
    let deliveries = s.ipam.deliveries(&actor, &id, page(&q)?).await?;
    Ok(Json(PageResponse::from_page(deliveries, DeliveryResponse::from)))
}

/// Sends a `ping` event to the webhook (queued; follow it in the delivery log).
#[utoipa::path(post, path = "/ipam/webhooks/{webhook}/test", tag = "webhooks",
    params(("webhook" = String, Path, description = "The webhook_id")),
    responses((status = 202, body = QueuedDelivery), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn test_webhook(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<WebhookId>,
) -> ApiResult<Response> {
    let delivery = s.ipam.ping_webhook(&actor, &id).await?;
    queue_delivery(&s, &id, &delivery).await
}

/// Re-queues a dead delivery for a fresh round of attempts (409 unless it is dead).
#[utoipa::path(post, path = "/ipam/webhooks/{webhook}/deliveries/{delivery}/retry", tag = "webhooks",
    params(("webhook" = String, Path, description = "The webhook_id"),
           ("delivery" = String, Path, description = "The delivery_id")),
    responses((status = 202, body = QueuedDelivery), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn retry_delivery(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathIds(id, delivery_id): PathIds<WebhookId, DeliveryId>,
) -> ApiResult<Response> {
    let d = s.ipam.retry_delivery(&actor, &id, &delivery_id).await?;
    queue_delivery(&s, &id, &d).await
}
