//! Assembles the resource routers, each behind the guard of its rate-limit class.

mod audit;
mod bulk;
mod comments;
mod countries;
mod forecast;
mod health;
mod hosts;
mod interpret;
mod landing;
mod notification_rules;
mod notifications;
mod preferences;
mod quotas;
mod regions;
mod reservations;
mod schedules;
mod search;
mod shares;
mod statistics;
mod trends;
mod utilization;
mod velocity;
mod webhooks;

pub(crate) use health::report as health_report;

use axum::Router;
use axum::middleware::from_fn_with_state;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::guard;
use crate::openapi::ApiDoc;
use crate::rate_limit::Policy;
use crate::state::AppState;

/// Every API route and the OpenAPI document generated from them.
pub(crate) fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let guarded = |policy: Policy| from_fn_with_state((state.clone(), policy), guard);
    let core = OpenApiRouter::new()
        .merge(countries::router())
        .merge(regions::router())
        .merge(hosts::router())
        .merge(comments::router())
        .merge(search::router())
        .merge(audit::router())
        .merge(quotas::router())
        .route_layer(guarded(Policy::Core));
    let writes = interpret::router().route_layer(guarded(Policy::CoreWrite));
    let bulk = hosts::bulk_router().merge(bulk::tags_router()).route_layer(guarded(Policy::Bulk));
    let dashboard = statistics::dashboard_router().route_layer(guarded(Policy::Dashboard));
    let standard = OpenApiRouter::new()
        .merge(reservations::router())
        .merge(shares::router())
        .merge(preferences::router())
        .merge(webhooks::router())
        .merge(notifications::router())
        .merge(notification_rules::router())
        .merge(forecast::router())
        .merge(trends::router())
        .merge(schedules::router())
        .merge(utilization::router())
        .merge(velocity::router())
        .merge(bulk::jobs_router())
        .route_layer(guarded(Policy::Standard));
    let public = shares::public_router().route_layer(from_fn_with_state(state.clone(), shares::public_limit));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(core)
        .merge(writes)
        .merge(bulk)
        .merge(dashboard)
        .merge(standard)
        .merge(public)
        .merge(health::router())
        .merge(landing::router())
        .split_for_parts()
}
