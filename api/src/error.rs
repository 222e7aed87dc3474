//! The one mapping from errors to HTTP responses: the JSON envelope
//! `{"success": false, "error": code, "message": text, "details": {…}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipam_core::IpamError;
use ipam_core::auth::Permission;
use ipam_core::error::FieldErrors;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// Result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The error body every failure carries.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// Always `false`.
    success: bool,
    /// Machine-readable code, e.g. `validation_error`, `not_found`, `capacity_exhausted`.
    error: &'static str,
    /// What went wrong and how to fix it.
    message: String,
    /// Structured context; for validation errors: field → problem.
    #[schema(value_type = Object)]
    details: Map<String, Value>,
}

/// Everything a handler or middleware can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// A domain error.
    #[error(transparent)]
    Domain(#[from] IpamError),
    /// No, malformed, expired or badly signed token.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but lacking a permission.
    #[error("this operation requires the {0} permission")]
    Forbidden(Permission),
    /// Too many requests in this rate-limit class.
    #[error("rate limit exceeded; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a request would be admitted.
        retry_after: u64,
        /// The class limit.
        limit: u32,
        /// Window the limit applies to, e.g. `minute`.
        per: &'static str,
    },
    /// The body is larger than allowed.
    #[error("the request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    /// No route matches the path.
    #[error("no route for {0}")]
    NoRoute(String),
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request took too long.
    #[error("the request timed out")]
    Timeout,
    /// A handler panicked (a bug).
    #[error("handler panicked")]
    Panic,
}

impl ApiError {
    /// A 422 on one field.
    pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Domain(IpamError::invalid(field, problem))
    }

    /// A 422 from collected field errors.
    pub(crate) fn fields(errors: FieldErrors) -> Self {
        Self::Domain(IpamError::Validation(errors))
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Map<String, Value>) {
        let obj = |v: Value| match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        match self {
            Self::Domain(IpamError::Validation(errors)) => {
                let details: Map<String, Value> = errors.iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_error", format!("invalid request: {errors}"), details)
            }
            Self::Domain(e @ IpamError::NotFound { resource, id, .. }) => {
                (StatusCode::NOT_FOUND, "not_found", e.to_string(), obj(json!({ "resource": resource, "id": id })))
            }
            Self::Domain(IpamError::Conflict { kind, message, details }) => {
                (StatusCode::CONFLICT, kind.code(), message.clone(), details.clone())
            }
            Self::Domain(e @ IpamError::QuotaExceeded { quota, limit, current, requested }) => (
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
                e.to_string(),
                obj(json!({ "quota": quota, "limit": limit, "current": current, "requested": requested })),
            ),
            Self::Domain(IpamError::Internal(_)) | Self::Panic => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred; it was logged with this response's x-request-id".into(),
                Map::new(),
            ),
            Self::Unauthorized(why) => (StatusCode::UNAUTHORIZED, "unauthorized", why.clone(), Map::new()),
            Self::Forbidden(p) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                self.to_string(),
                obj(json!({ "required_permission": p.as_str() })),
            ),
            Self::RateLimited { retry_after, limit, per } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                format!("rate limit of {limit} requests per {per} exceeded; retry in {retry_after} s"),
                obj(json!({ "retry_after": retry_after, "limit": limit, "per": per })),
            ),
            Self::PayloadTooLarge(max) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", self.to_string(), obj(json!({ "max_bytes": max })))
            }
            Self::NoRoute(_) => (StatusCode::NOT_FOUND, "not_found", self.to_string(), Map::new()),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not support the request method".into(),
                Map::new(),
            ),
            Self::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long; retry later".into(),
                Map::new(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Domain(IpamError::Internal(e)) = &self {
            tracing::error!(error.message = %e, error.cause_chain = ?e, "request failed");
        }
        let (status, code, message, details) = self.parts();
        let mut response = (status, Json(ErrorBody { success: false, error: code, message, details })).into_response();
        if let Self::RateLimited { retry_after, limit, .. } = self {
            for (name, value) in [
                (header::RETRY_AFTER.as_str(), retry_after.to_string()),
                ("x-ratelimit-limit", limit.to_string()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", retry_after.to_string()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, v);
                }
            }
        }
        response
    }
}
