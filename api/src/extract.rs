//! Our own extractors, so that every malformed request gets the JSON error envelope with a
//! message naming the field, never axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use ipam_core::IpamError;
use ipam_core::domain::ids::ResourceId;
use ipam_core::domain::{PageRequest, TagFilter};
use ipam_core::error::FieldErrors;
use ipam_core::storage::TimeRange;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. The `Content-Type` is not enforced (curl users forget it); the body must parse.
pub(crate) struct AppJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid("body", "a JSON object is required"));
        }
        parse_json(&bytes).map(AppJson)
    }
}

/// An optional JSON body: an empty body is `None`.
pub(crate) struct MaybeJson<T>(pub(crate) Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for MaybeJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(MaybeJson(None));
        }
        parse_json(&bytes).map(|v| MaybeJson(Some(v)))
    }
}

async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(state.settings.max_body_bytes)
        } else {
            ApiError::invalid("body", "the request body could not be read")
        }
    })
}

/// Deserialises a JSON object, reporting the failing field's path.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde lets a struct be written as an array of its fields ([5] for {"region_quota": 5});
    // a body is only ever an object here.
    if let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace())
        && *first != b'{'
    {
        let problem = if matches!(first, b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') {
            "must be a JSON object"
        } else {
            "malformed JSON: expected a JSON object"
        };
        return Err(ApiError::invalid("body", problem));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid("body", format!("malformed JSON: {}", strip_position(&inner.to_string())));
        }
        let msg = strip_position(&inner.to_string());
        // serde reports missing and unknown fields at the parent; name the field itself.
        if let Some(field) = between(&msg, "missing field `", "`") {
            return ApiError::invalid(join(&path, field), "is required");
        }
        if let Some(field) = between(&msg, "unknown field `", "`") {
            let expected = msg.split_once(", expected ").map(|(_, e)| e.to_owned()).unwrap_or_default();
            let problem = if expected.is_empty() {
                "is not a known field".to_owned()
            } else {
                format!("is not a known field (expected {expected})")
            };
            return ApiError::invalid(join(&path, field), problem);
        }
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::invalid(field, msg)
    })?;
    // Anything after the object (a second object, stray text) makes the body malformed.
    de.end().map_err(|e| ApiError::invalid("body", format!("malformed JSON: {}", strip_position(&e.to_string()))))?;
    Ok(value)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

/// The full path of `field` reported at `path` (which is the parent for missing fields and,
/// depending on the deserializer, the field itself for unknown ones).
fn join(path: &str, field: &str) -> String {
    if path == "." || path.is_empty() {
        field.to_owned()
    } else if path == field || path.ends_with(&format!(".{field}")) {
        path.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// Query parameters into a struct of `Option<String>` fields (plus a flattened map of the rest).
pub(crate) struct AppQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state).await.map(|Query(v)| AppQuery(v)).map_err(|e: QueryRejection| {
            let text = e.body_text();
            let text = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
            ApiError::invalid("query", text.to_owned())
        })
    }
}

/// A path parameter. A path that cannot even be decoded (e.g. invalid UTF-8) names nothing
/// that exists, so it is a 404 like any other unknown id.
pub(crate) struct AppPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for AppPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(AppPath(v)),
            Err(_) => Err(ApiError::NoRoute(format!("{} {}", parts.method, shorten(parts.uri.path())))),
        }
    }
}

/// An id from the path (`PathId<RegionId>`). Text that cannot be such an id names nothing that
/// exists, so it is the same 404 `not_found` as an unknown id, never a 422.
pub(crate) struct PathId<T>(pub(crate) T);

impl<S: Send + Sync, T: ResourceId> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let AppPath(raw) = AppPath::<String>::from_request_parts(parts, state).await?;
        known_id(&raw).map(PathId)
    }
}

/// Two ids from the path, outer resource first (`/webhooks/{webhook}/deliveries/{delivery}`):
/// a malformed outer id is reported before the inner one, as a lookup would find.
pub(crate) struct PathIds<A, B>(pub(crate) A, pub(crate) B);

impl<S: Send + Sync, A: ResourceId, B: ResourceId> FromRequestParts<S> for PathIds<A, B> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let AppPath((outer, inner)) = AppPath::<(String, String)>::from_request_parts(parts, state).await?;
        Ok(PathIds(known_id(&outer)?, known_id(&inner)?))
    }
}

/// An id the client gave (path, query or body); anything that cannot be one is simply not found.
pub(crate) fn known_id<T: ResourceId>(raw: &str) -> Result<T, ApiError> {
    T::parse_id(raw).ok_or_else(|| IpamError::not_found(T::RESOURCE, shorten(raw)).into())
}

/// Cuts client input before echoing it.
pub(crate) fn shorten(raw: &str) -> String {
    if raw.chars().count() <= 64 { raw.to_owned() } else { format!("{}…", raw.chars().take(64).collect::<String>()) }
}

/// Helpers for turning raw query values into domain values, collecting every problem.
/// `page` and `page_size` alone: the query of every list that has no filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageParams {
    /// Page number, from 1.
    page: Option<String>,
    /// Items per page, 1–100 (default 50).
    page_size: Option<String>,
}

impl PageParams {
    /// The page asked for, or a 422 naming the bad parameter.
    pub(crate) fn request(&self) -> Result<PageRequest, ApiError> {
        let mut p = QueryParser::new();
        let page = p.page(self.page.as_ref(), self.page_size.as_ref());
        p.finish()?;
        Ok(page)
    }
}

pub(crate) struct QueryParser {
    errors: FieldErrors,
}

impl QueryParser {
    pub(crate) fn new() -> Self {
        Self { errors: FieldErrors::new() }
    }

    /// Parses an optional value with `parse`.
    pub(crate) fn opt<T>(
        &mut self,
        field: &str,
        raw: Option<&String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = raw?;
        self.errors.check(field, parse(raw))
    }

    /// A boolean flag: `true`/`false` (any case) or `1`/`0`.
    pub(crate) fn flag(&mut self, field: &str, raw: Option<&String>) -> Option<bool> {
        self.opt(field, raw, |s| match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("must be true or false".to_owned()),
        })
    }

    /// A non-blank string, kept as given (resolved later, e.g. a country).
    pub(crate) fn text(&mut self, field: &str, raw: Option<&String>) -> Option<String> {
        self.opt(field, raw, |s| {
            if s.trim().is_empty() { Err("must not be empty".into()) } else { Ok(s.trim().to_owned()) }
        })
    }

    /// `page` and `page_size`.
    pub(crate) fn page(&mut self, page: Option<&String>, page_size: Option<&String>) -> PageRequest {
        let number = |field: &str, raw: Option<&String>, this: &mut Self| {
            this.opt(field, raw, |s| s.trim().parse::<u32>().map_err(|_| "must be a positive whole number".to_owned()))
        };
        let p = number("page", page, self);
        let ps = number("page_size", page_size, self);
        match PageRequest::new(p, ps) {
            Ok(r) => r,
            Err((field, problem)) => {
                self.errors.add(field, problem);
                PageRequest::default()
            }
        }
    }

    /// A creation window from `<prefix>_after` / `<prefix>_before` style values.
    pub(crate) fn time_range(&mut self, after: (&str, Option<&String>), before: (&str, Option<&String>)) -> TimeRange {
        let from = self.opt(after.0, after.1, |s| parse_time(s, false));
        let to = self.opt(before.0, before.1, |s| parse_time(s, true));
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            self.errors.add(before.0, format!("must not be earlier than {}", after.0));
        }
        TimeRange { from, to }
    }

    /// `tag.<key>=<value>` conditions; any other extra parameter is an error naming `allowed`.
    pub(crate) fn tags(&mut self, extra: &BTreeMap<String, String>, allowed: &str) -> TagFilter {
        let mut filter = TagFilter::default();
        for (key, value) in extra {
            match key.strip_prefix("tag.") {
                Some(tag) => {
                    if let Err(e) = filter.push(tag, value) {
                        self.errors.add(key.clone(), e);
                    }
                }
                None => self
                    .errors
                    .add(shorten(key), format!("is not a supported query parameter (supported: {allowed}, tag.<key>)")),
            }
        }
        filter
    }

    /// Done: the collected errors, if any.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::fields(self.errors)) }
    }
}

/// RFC 3339, or a plain date (start of day; end of day for an upper bound).
pub(crate) fn parse_time(raw: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let time = if end_of_day {
            NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999)
        } else {
            NaiveTime::from_hms_opt(0, 0, 0)
        };
        if let Some(time) = time {
            return Ok(d.and_time(time).and_utc());
        }
    }
    Err("must be an RFC 3339 time (2026-01-31T12:00:00Z) or a date (2026-01-31)".into())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
    }

    fn problem(bytes: &str) -> (String, String) {
        match parse_json::<Body>(bytes.as_bytes()) {
            Err(ApiError::Domain(IpamError::Validation(e))) => {
                let (k, v) = e.iter().next().unwrap();
                (k.to_owned(), v.to_owned())
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_problems_name_the_field() {
        assert_eq!(problem(r#"{"count": 1}"#), ("name".into(), "is required".into()));
        assert_eq!(problem(r#"{"name": 1, "count": 1}"#).0, "name");
        assert_eq!(problem(r#"{"name": "a", "count": -1}"#).0, "count");
        let (field, why) = problem(r#"{"name": "a", "count": 1, "nmae": 2}"#);
        assert_eq!(field, "nmae");
        assert!(why.contains("not a known field"), "{why}");
        assert_eq!(problem("{").0, "body");
        assert_eq!(problem("[1,2]"), ("body".into(), "must be a JSON object".into()));
        assert_eq!(problem("\"text\"").1, "must be a JSON object");
    }

    #[test]
    fn times_accept_rfc3339_and_dates() {
        assert_eq!(parse_time("2026-01-31", false).unwrap().to_rfc3339(), "2026-01-31T00:00:00+00:00");
        assert!(parse_time("2026-01-31", true).unwrap().to_rfc3339().starts_with("2026-01-31T23:59:59"));
        assert!(parse_time("2026-01-31T10:00:00+02:00", false).is_ok());
        assert!(parse_time("yesterday", false).is_err());
    }
}
