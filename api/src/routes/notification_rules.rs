//! `/ipam/notifications/rules`: the caller's notification rules (create, list, get, patch,
//! delete). Every field is parsed by the domain (`NotificationRule::create`, `RulePatch::parse`),
//! which names each bad field in one 422.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use ipam_core::domain::{NotificationRule, RuleId, RulePatchRequest, RuleRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read, Update};
use crate::dto::{PageResponse, created};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery, PageParams, PathId};
use crate::state::AppState;

/// Rule management (authenticated, standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_rule, list_rules)).routes(routes!(get_rule, update_rule, delete_rule))
}

/// A new rule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRuleRequest {
    /// 1–100 characters.
    #[schema(example = "Busy regions")]
    rule_name: String,
    /// `{utilization_threshold: 1..100, resource_type: region|country, resource_ids?: [...]}` or
    /// `{event_types: [...]}` (subscribable event names, not `notification.created`).
    #[schema(value_type = Object, example = json!({"utilization_threshold": 80, "resource_type": "region"}))]
    conditions: Value,
    /// info, warning or critical (default warning for a threshold, info for events).
    severity: Option<String>,
    /// `in_app` and/or `webhook` (default `["in_app"]`); `email` is not supported.
    notification_channels: Option<Vec<String>>,
    /// Quiet period per resource after a threshold firing, 0–10080 (default 60).
    cooldown_minutes: Option<i64>,
    /// Default true.
    is_active: Option<bool>,
}

impl CreateRuleRequest {
    fn as_request(&self) -> RuleRequest<'_> {
        RuleRequest {
            rule_name: &self.rule_name,
            conditions: &self.conditions,
            severity: self.severity.as_deref(),
            notification_channels: self.notification_channels.as_deref(),
            cooldown_minutes: self.cooldown_minutes,
            is_active: self.is_active,
        }
    }
}

/// A change to a rule (absent fields are unchanged).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRuleRequest {
    /// New name.
    rule_name: Option<String>,
    /// New conditions (as at creation).
    #[schema(value_type = Option<Object>)]
    conditions: Option<Value>,
    /// New severity.
    severity: Option<String>,
    /// New channels.
    notification_channels: Option<Vec<String>>,
    /// New cooldown.
    cooldown_minutes: Option<i64>,
    /// Enable or disable.
    is_active: Option<bool>,
}

impl UpdateRuleRequest {
    fn as_request(&self) -> RulePatchRequest<'_> {
        RulePatchRequest {
            rule_name: self.rule_name.as_deref(),
            conditions: self.conditions.as_ref(),
            severity: self.severity.as_deref(),
            notification_channels: self.notification_channels.as_deref(),
            cooldown_minutes: self.cooldown_minutes,
            is_active: self.is_active,
        }
    }
}

/// A notification rule.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RuleResponse {
    /// Identifier.
    rule_id: String,
    /// Same as `rule_id`.
    #[serde(rename = "_id")]
    legacy_id: String,
    /// Name.
    rule_name: String,
    /// What makes it fire.
    #[schema(value_type = Object)]
    conditions: Value,
    /// Severity of its notifications.
    severity: &'static str,
    /// Where its notifications go.
    notification_channels: Vec<&'static str>,
    /// Quiet period per resource after a threshold firing.
    cooldown_minutes: u32,
    /// Inactive rules are not evaluated.
    is_active: bool,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Last change.
    updated_at: DateTime<Utc>,
}

impl From<NotificationRule> for RuleResponse {
    fn from(r: NotificationRule) -> Self {
        Self {
            rule_id: r.id.to_string(),
            legacy_id: r.id.to_string(),
            rule_name: r.rule_name.as_str().to_owned(),
            conditions: r.conditions.to_json(),
            severity: r.severity.as_str(),
            notification_channels: r.channels.names(),
            cooldown_minutes: r.cooldown.minutes(),
            is_active: r.is_active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Creates a rule (each bad field is named in the 422; 409 past the per-user limit).
#[utoipa::path(post, path = "/ipam/notifications/rules", tag = "notifications", request_body = CreateRuleRequest,
    responses((status = 201, body = RuleResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_rule(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    AppJson(body): AppJson<CreateRuleRequest>,
) -> ApiResult<Response> {
    let rule = s.ipam.create_rule(&actor, &body.as_request()).await?;
    Ok(created(format!("/ipam/notifications/rules/{}", rule.id), RuleResponse::from(rule)))
}

/// Your rules, newest first.
#[utoipa::path(get, path = "/ipam/notifications/rules", tag = "notifications", params(PageParams),
    responses((status = 200, body = PageResponse<RuleResponse>)), security(("bearer" = [])))]
async fn list_rules(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<PageParams>,
) -> ApiResult<Json<PageResponse<RuleResponse>>> {
    Ok(Json(PageResponse::from_page(s.ipam.rules(&actor, q.request()?).await?, RuleResponse::from)))
}

/// One of your rules.
#[utoipa::path(get, path = "/ipam/notifications/rules/{rule}", tag = "notifications",
    params(("rule" = String, Path, description = "The rule_id")),
    responses((status = 200, body = RuleResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_rule(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<RuleId>,
) -> ApiResult<Json<RuleResponse>> {
    Ok(Json(s.ipam.rule(&actor, &id).await?.into()))
}

/// Changes any field of one of your rules.
#[utoipa::path(patch, path = "/ipam/notifications/rules/{rule}", tag = "notifications", request_body = UpdateRuleRequest,
    params(("rule" = String, Path, description = "The rule_id")),
    responses((status = 200, body = RuleResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_rule(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<RuleId>,
    AppJson(body): AppJson<UpdateRuleRequest>,
) -> ApiResult<Json<RuleResponse>> {
    Ok(Json(s.ipam.update_rule(&actor, &id, &body.as_request()).await?.into()))
}

/// Deletes one of your rules.
#[utoipa::path(delete, path = "/ipam/notifications/rules/{rule}", tag = "notifications",
    params(("rule" = String, Path, description = "The rule_id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_rule(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<RuleId>,
) -> ApiResult<StatusCode> {
    s.ipam.delete_rule(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
