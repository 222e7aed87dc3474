//! Authentication (bearer JWT), rate limiting and permission checks.
//!
//! [`guard`] runs in front of every protected route: it authenticates the caller, charges
//! the request to their rate-limit class and stores the [`Actor`] in the request. Handlers then
//! name the permission they need in their signature with [`Auth`].

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipam_core::auth::{Actor, Permission};

use crate::error::ApiError;
use crate::rate_limit::Policy;
use crate::state::AppState;

/// Authenticates and rate-limits; see the module docs.
pub(crate) async fn guard(State((state, policy)): State<(AppState, Policy)>, mut req: Request, next: Next) -> Response {
    let actor = match authenticate(&state, &req) {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    let class = policy.class(req.method());
    let budget = match state.limits.check(actor.user_id.as_str(), class) {
        Ok(budget) => budget,
        Err(e) => {
            tracing::info!(user = %actor.user_id, ?class, "rate limited");
            return e.into_response();
        }
    };
    req.extensions_mut().insert(actor);
    let mut response = next.run(req).await;
    if let Some(budget) = budget {
        budget.apply(response.headers_mut());
    }
    response
}

fn authenticate(state: &AppState, req: &Request) -> Result<Actor, ApiError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization header (expected: Bearer <token>)".into()))?;
    let value = header.to_str().map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be: Bearer <token>".into()))?;
    state.tokens.verify(token).map_err(|e| ApiError::Unauthorized(e.to_string()))
}

/// A permission a handler can require.
pub(crate) trait Required {
    /// The permission.
    const PERMISSION: Permission;
}

macro_rules! required {
    ($($name:ident => $perm:ident),+ $(,)?) => {
        $(
            #[doc = concat!("Requires `", stringify!($perm), "`.")]
            pub(crate) struct $name;
            impl Required for $name {
                const PERMISSION: Permission = Permission::$perm;
            }
        )+
    };
}

required!(Read => Read, Allocate => Allocate, Update => Update, Release => Release, Admin => Admin);

/// The authenticated caller, holding permission `P`.
pub(crate) struct Auth<P>(pub(crate) Actor, pub(crate) PhantomData<P>);

impl<P: Required, S: Send + Sync> FromRequestParts<S> for Auth<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let actor = parts
            .extensions
            .get::<Actor>()
            .cloned()
            // Only reachable if a route was registered without the guard: fail closed.
            .ok_or_else(|| ApiError::Unauthorized("authentication required".into()))?;
        if !actor.can(P::PERMISSION) {
            return Err(ApiError::Forbidden(P::PERMISSION));
        }
        Ok(Auth(actor, PhantomData))
    }
}
