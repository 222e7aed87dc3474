//! `GET /`: where a newcomer lands. Public. JSON (name, version and where to go next) for API
//! clients; a small self-contained HTML page when the browser prefers HTML.

use axum::Json;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::negotiate::prefers_html;
use crate::state::AppState;

/// Where the README's walkthrough lives (the file ships with the source and the image's docs).
const README: &str = "README.md#five-minute-walkthrough";

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(landing))
}

/// The service and its entry points.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Landing {
    /// `ipam`.
    name: &'static str,
    /// Service version.
    version: &'static str,
    /// Interactive API documentation.
    docs: &'static str,
    /// Health checks.
    health: &'static str,
    /// The OpenAPI document.
    openapi: &'static str,
    /// The README's five-minute walkthrough (token, first region, first host).
    readme: &'static str,
}

const LANDING: Landing = Landing {
    name: "ipam",
    version: env!("CARGO_PKG_VERSION"),
    docs: "/docs",
    health: "/health",
    openapi: "/openapi.json",
    readme: README,
};

/// The service's name, version and entry points (no authentication). A browser (`Accept`
/// preferring `text/html`) gets the same as a small HTML page.
#[utoipa::path(get, path = "/", tag = "operations",
    responses((status = 200, body = Landing, description = "JSON; text/html when Accept prefers it")))]
async fn landing(headers: HeaderMap) -> Response {
    if !prefers_html(&headers) {
        return Json(LANDING).into_response();
    }
    let Landing { name, version, docs, health, openapi, readme } = LANDING;
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name} {version}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}}</style></head>\n\
         <body><h1>{name} {version}</h1><p>IP address management for 10.0.0.0/8.</p><ul>\
         <li><a href=\"{docs}\">Interactive API documentation</a></li>\
         <li><a href=\"{health}\">Health</a></li>\
         <li><a href=\"{openapi}\">OpenAPI document</a></li></ul>\
         <p>New here? Follow the five-minute walkthrough in <code>{readme}</code>: mint a token with \
         <code>ipam token</code>, then allocate a region and a host.</p></body></html>\n"
    ))
    .into_response()
}
