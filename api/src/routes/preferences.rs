//! `/ipam/preferences`: per-user settings and saved filters. A saved filter's criteria apply
//! to `GET /ipam/regions`, `GET /ipam/hosts` and `GET /ipam/search` with `?filter_id=`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use ipam_core::IpamError;
use ipam_core::auth::Actor;
use ipam_core::domain::{
    DeviceType, FilterCriteria, FilterId, FilterName, OctetRange, OwnerLabel, Preferences, PreferencesPatch, RegionId,
    RegionStatus, SavedFilter, SearchText, TagFilter, Theme,
};
use ipam_core::error::FieldErrors;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read, Update};
use crate::dto::{PageResponse, created, double_option};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, PathId, parse_time, shorten};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_preferences, update_preferences))
        .routes(routes!(add_filter, list_filters))
        .routes(routes!(delete_filter))
}

/// A saved filter.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FilterResponse {
    /// Identifier (use as `?filter_id=`).
    filter_id: String,
    /// Name.
    name: String,
    /// Criteria: list filters by name, e.g. `{"country": "USA", "tag.env": "prod"}`.
    #[schema(value_type = Object)]
    criteria: Value,
    /// Creation time.
    created_at: DateTime<Utc>,
}

impl From<SavedFilter> for FilterResponse {
    fn from(f: SavedFilter) -> Self {
        Self {
            filter_id: f.id.to_string(),
            name: f.name.as_str().to_owned(),
            criteria: f.criteria.to_json(),
            created_at: f.created_at,
        }
    }
}

/// A user's preferences.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PreferencesResponse {
    /// Saved filters, oldest first.
    saved_filters: Vec<FilterResponse>,
    /// Free-form dashboard layout.
    #[schema(value_type = Object)]
    dashboard_layout: Map<String, Value>,
    /// Free-form notification settings.
    #[schema(value_type = Object)]
    notification_settings: Map<String, Value>,
    /// Theme, or null.
    theme_preference: Option<String>,
    /// Last change (null when never saved).
    updated_at: Option<DateTime<Utc>>,
}

impl From<Preferences> for PreferencesResponse {
    fn from(p: Preferences) -> Self {
        Self {
            saved_filters: p.saved_filters.into_iter().map(FilterResponse::from).collect(),
            dashboard_layout: p.dashboard_layout,
            notification_settings: p.notification_settings,
            theme_preference: p.theme_preference.map(|t| t.as_str().to_owned()),
            updated_at: p.updated_at,
        }
    }
}

/// Your preferences (the defaults if you never saved any).
#[utoipa::path(get, path = "/ipam/preferences", tag = "preferences",
    responses((status = 200, body = PreferencesResponse)), security(("bearer" = [])))]
async fn get_preferences(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
) -> ApiResult<Json<PreferencesResponse>> {
    Ok(Json(s.ipam.preferences(&actor).await?.into()))
}

/// Top-level keys to replace; omitted keys are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreferencesUpdateRequest {
    /// New dashboard layout (an object).
    #[schema(value_type = Option<Object>)]
    dashboard_layout: Option<Value>,
    /// New notification settings (an object).
    #[schema(value_type = Option<Object>)]
    notification_settings: Option<Value>,
    /// New theme (1–50 characters), or null to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    theme_preference: Option<Option<String>>,
}

/// The result of an update.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UpdatedResponse {
    /// Always true.
    success: bool,
    /// When the change was stored.
    updated_at: Option<DateTime<Utc>>,
}

fn object(e: &mut FieldErrors, field: &str, v: Option<Value>) -> Option<Map<String, Value>> {
    match v {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            e.add(field, "must be an object");
            None
        }
    }
}

/// Merges the given top-level keys into your preferences (at most 50 KB in total).
#[utoipa::path(put, path = "/ipam/preferences", tag = "preferences", request_body = PreferencesUpdateRequest,
    responses((status = 200, body = UpdatedResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn update_preferences(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    AppJson(body): AppJson<PreferencesUpdateRequest>,
) -> ApiResult<Json<UpdatedResponse>> {
    let mut e = FieldErrors::new();
    let patch = PreferencesPatch {
        dashboard_layout: object(&mut e, "dashboard_layout", body.dashboard_layout),
        notification_settings: object(&mut e, "notification_settings", body.notification_settings),
        theme_preference: match body.theme_preference {
            None => None,
            Some(None) => Some(None),
            Some(Some(t)) => e.check("theme_preference", Theme::parse(&t)).map(Some),
        },
    };
    if !e.is_empty() {
        return Err(ApiError::fields(e));
    }
    let p = s.ipam.update_preferences(&actor, &patch).await?;
    Ok(Json(UpdatedResponse { success: true, updated_at: p.updated_at }))
}

/// A filter to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterRequest {
    /// Name, 1–100 characters.
    name: String,
    /// Criteria (≤ 10 KB): any of country, continent, status, owner, name, region_name, region_id,
    /// hostname, device_type, ip_address, resource_type, created_after, created_before, tag.<key>;
    /// string values, checked like the list filters.
    #[schema(value_type = Object)]
    criteria: Value,
}

/// Checks every criterion's value with the parser its list uses, so a saved filter always applies.
fn check_values(s: &AppState, c: &FilterCriteria) -> Result<(), ApiError> {
    let mut e = FieldErrors::new();
    let catalog = s.ipam.catalog();
    for (k, v) in c.pairs() {
        let field = format!("criteria.{k}");
        let problem: Result<(), String> = match k {
            "country" => catalog.find(v).map(|_| ()).ok_or_else(|| format!("unknown country '{}'", shorten(v))),
            "continent" => {
                catalog.continent(v).map(|_| ()).ok_or_else(|| format!("unknown continent '{}'", shorten(v)))
            }
            "status" => RegionStatus::parse(v).map(|_| ()),
            "owner" => OwnerLabel::parse(v).map(|_| ()),
            "name" | "region_name" | "hostname" => SearchText::parse(v).map(|_| ()),
            "region_id" => RegionId::parse(v).map(|_| ()).ok_or_else(|| "is not a region id".into()),
            "device_type" => DeviceType::parse(v).map(|_| ()),
            "ip_address" => OctetRange::parse(v).map(|_| ()),
            "resource_type" => match v.trim().to_ascii_lowercase().as_str() {
                "region" | "host" => Ok(()),
                _ => Err("must be region or host".into()),
            },
            "created_after" | "created_before" => parse_time(v, k == "created_before").map(|_| ()),
            _ => k.strip_prefix("tag.").map(|t| TagFilter::default().push(t, v)).unwrap_or(Ok(())),
        };
        if let Err(p) = problem {
            e.add(field, p);
        }
    }
    // Checks across keys, so that applying the filter can never fail.
    let get = |k: &str| c.pairs().find(|(key, _)| *key == k).map(|(_, v)| v);
    if let (Some(a), Some(b)) = (get("created_after"), get("created_before"))
        && let (Ok(a), Ok(b)) = (parse_time(a, false), parse_time(b, true))
        && a > b
    {
        e.add("criteria.created_before", "must not be earlier than created_after");
    }
    let tags = c.pairs().filter(|(k, _)| k.starts_with("tag.")).count();
    if tags > ipam_core::domain::tags::MAX_TAGS {
        e.add("criteria", format!("at most {} tag conditions are allowed", ipam_core::domain::tags::MAX_TAGS));
    }
    if e.is_empty() { Ok(()) } else { Err(ApiError::fields(e)) }
}

/// Saves a filter (at most 50; the 51st is refused with 409).
#[utoipa::path(post, path = "/ipam/preferences/filters", tag = "preferences", request_body = FilterRequest,
    responses((status = 201, body = FilterResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_filter(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    AppJson(body): AppJson<FilterRequest>,
) -> ApiResult<Response> {
    let mut e = FieldErrors::new();
    let name = e.check("name", FilterName::parse(&body.name));
    let criteria = match FilterCriteria::parse(&body.criteria) {
        Ok(c) => Some(c),
        Err((field, problem)) => {
            e.add(field, problem);
            None
        }
    };
    let (Some(name), Some(criteria)) = (name, criteria) else { return Err(ApiError::fields(e)) };
    check_values(&s, &criteria)?;
    let filter = s.ipam.add_filter(&actor, name, criteria).await?;
    Ok(created(format!("/ipam/preferences/filters/{}", filter.id), FilterResponse::from(filter)))
}

/// Your saved filters, oldest first.
#[utoipa::path(get, path = "/ipam/preferences/filters", tag = "preferences",
    responses((status = 200, body = PageResponse<FilterResponse>)), security(("bearer" = [])))]
async fn list_filters(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
) -> ApiResult<Json<PageResponse<FilterResponse>>> {
    let filters = s.ipam.preferences(&actor).await?.saved_filters;
    let page = ipam_core::domain::Page {
        total: filters.len() as u64,
        items: filters,
        request: ipam_core::domain::PageRequest::new(Some(1), Some(100)).unwrap_or_default(),
    };
    Ok(Json(PageResponse::from_page(page, FilterResponse::from)))
}

/// Deletes a saved filter.
#[utoipa::path(delete, path = "/ipam/preferences/filters/{filter_id}", tag = "preferences",
    params(("filter_id" = String, Path, description = "Saved filter id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_filter(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Update>,
    PathId(id): PathId<FilterId>,
) -> ApiResult<StatusCode> {
    s.ipam.delete_filter(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The criteria of the caller's saved filter `raw` (for `?filter_id=`), as key → value.
pub(crate) async fn saved_criteria(s: &AppState, actor: &Actor, raw: &str) -> ApiResult<Vec<(String, String)>> {
    let id = FilterId::parse(raw).ok_or_else(|| ApiError::invalid("filter_id", "is not a saved filter id"))?;
    let filter = s.ipam.saved_filter(actor, &id).await.map_err(unknown_filter_is_invalid)?;
    Ok(filter.criteria.pairs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

/// A filter the caller does not have makes `?filter_id=` a bad parameter of the list (422),
/// not a missing list; any other failure (the database) stays what it is.
fn unknown_filter_is_invalid(e: IpamError) -> ApiError {
    match e {
        IpamError::NotFound { .. } => ApiError::invalid("filter_id", "no saved filter has this id"),
        other => other.into(),
    }
}

/// A list query a saved filter can fill in (`?filter_id=`).
pub(crate) trait AbsorbsCriteria {
    /// The parameter a criterion key fills, or `None` when this list does not support the key.
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>>;

    /// Where `tag.<key>` criteria go.
    fn tags(&mut self) -> &mut BTreeMap<String, String>;

    /// Fills parameters not given explicitly from a saved filter's criteria; criteria this list
    /// does not support are ignored.
    fn absorb(&mut self, criteria: Vec<(String, String)>) {
        for (key, value) in criteria {
            if key.starts_with("tag.") {
                self.tags().entry(key).or_insert(value);
            } else if let Some(slot) = self.slot(&key) {
                slot.get_or_insert(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_filter_is_a_bad_filter_id() {
        let missing = unknown_filter_is_invalid(IpamError::not_found("saved filter", "01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(
            matches!(&missing, ApiError::Domain(IpamError::Validation(e)) if e.iter().any(|(k, _)| k == "filter_id")),
            "{missing:?}"
        );
        let down = unknown_filter_is_invalid(IpamError::Internal(anyhow::anyhow!("database is down")));
        assert!(matches!(down, ApiError::Domain(IpamError::Internal(_))), "{down:?}");
    }
}
