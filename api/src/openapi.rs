//! The OpenAPI document (paths come from the handlers' `#[utoipa::path]` annotations).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Document-level information.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "IPAM API",
        description = "Hierarchical allocation of 10.0.0.0/8: countries → /24 regions → hosts. \
            Every user owns an independent namespace. Authenticate with `Authorization: Bearer <JWT>` \
            (mint one with `ipam token`). Errors are `{\"success\": false, \"error\", \"message\", \"details\"}`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "countries", description = "The country table and your usage of it"),
        (name = "regions", description = "/24 regions"),
        (name = "hosts", description = "Host addresses"),
        (name = "comments", description = "Comments on regions and hosts"),
        (name = "reservations", description = "Reserving blocks and addresses ahead of allocation"),
        (name = "shares", description = "Read-only links to a country, region or host"),
        (name = "preferences", description = "Per-user settings and saved filters"),
        (name = "addresses", description = "Interpreting addresses"),
        (name = "search", description = "Search across regions and hosts"),
        (name = "audit", description = "The audit trail"),
        (name = "quotas", description = "Quotas and their administration"),
        (name = "webhooks", description = "Signed event deliveries to your URLs, with retries and a delivery log"),
        (name = "notifications", description = "Your in-app notifications and the rules that raise them"),
        (name = "statistics", description = "Figures over your namespace: the dashboard, capacity forecasts and allocation trends"),
        (name = "bulk", description = "Bulk tag operations, applied at once or as resumable jobs"),
        (name = "operations", description = "Health and monitoring"),
    )
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}
