//! `POST /ipam/interpret`: where an address sits in the hierarchy.

use axum::Json;
use axum::extract::State;
use ipam_core::domain::TenAddress;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::dto::InterpretResponse;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::AppJson;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(interpret))
}

/// An address to interpret.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InterpretRequest {
    /// Any address inside 10.0.0.0/8.
    #[schema(example = "10.153.0.7")]
    ip_address: String,
}

/// Places an address in the hierarchy: continent, country, and your region and host if you
/// hold them. Other users' allocations are never visible.
#[utoipa::path(post, path = "/ipam/interpret", tag = "addresses", request_body = InterpretRequest,
    responses((status = 200, body = InterpretResponse), (status = 422, description = "Not an address inside 10.0.0.0/8", body = ErrorBody)),
    security(("bearer" = [])))]
async fn interpret(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppJson(body): AppJson<InterpretRequest>,
) -> ApiResult<Json<InterpretResponse>> {
    let address = TenAddress::parse(&body.ip_address).map_err(|e| ApiError::invalid("ip_address", e))?;
    let answer = s.ipam.interpret(&actor, address).await?;
    Ok(Json(InterpretResponse::new(answer, s.ipam.catalog())))
}
