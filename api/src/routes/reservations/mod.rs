//! `/ipam/reservations`: hold a block or an address, list, cancel, and convert into an
//! allocation. Active reservations block allocation.

mod requests;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use ipam_core::domain::{Reservation, ReservationId, ReservationKind};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::requests::{
    ConvertHostRequest, ConvertRegionRequest, ConvertRequest, CreateReservationRequest, ReservationListParams,
};
use crate::auth::{Allocate, Auth, Read, Release};
use crate::dto::{HostResponse, PageResponse, RegionResponse, created};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery, PathId, parse_json};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_reservation, list_reservations))
        .routes(routes!(get_reservation, cancel_reservation))
        .routes(routes!(convert_reservation))
}

/// A reservation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReservationResponse {
    /// Identifier.
    reservation_id: String,
    /// Same as `reservation_id`.
    #[serde(rename = "_id")]
    legacy_id: String,
    /// Namespace.
    user_id: String,
    /// `region` or `host`.
    resource_type: &'static str,
    /// Second octet.
    x_octet: u8,
    /// Third octet.
    y_octet: u8,
    /// Fourth octet (hosts).
    z_octet: Option<u8>,
    /// `10.X.Y.0/24` or `10.X.Y.Z`.
    reserved_address: String,
    /// Why.
    reason: String,
    /// `active`, `expired` (also when overdue but not yet swept) or `converted`.
    status: &'static str,
    /// Expiry, if any.
    expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Username of the creator.
    created_by: String,
    /// When it was converted.
    converted_at: Option<DateTime<Utc>>,
    /// Id of the allocation it became.
    converted_to: Option<String>,
    /// Free-form metadata.
    #[schema(value_type = Object)]
    metadata: Value,
}

impl ReservationResponse {
    fn new(r: Reservation, now: DateTime<Utc>) -> Self {
        Self {
            reservation_id: r.id.to_string(),
            legacy_id: r.id.to_string(),
            user_id: r.user_id.to_string(),
            resource_type: r.kind.as_str(),
            x_octet: r.x,
            y_octet: r.y,
            z_octet: r.z,
            reserved_address: r.address(),
            reason: r.reason.to_string(),
            status: r.status_at(now).as_str(),
            expires_at: r.expires_at,
            created_at: r.created_at,
            created_by: r.created_by.to_string(),
            converted_at: r.converted_at,
            converted_to: r.converted_to,
            metadata: r.metadata,
        }
    }
}

/// Reserves a `/24` block or one host address. It is never handed out by the allocator while
/// the reservation is active; converting it allocates exactly that address.
#[utoipa::path(post, path = "/ipam/reservations", tag = "reservations", request_body = CreateReservationRequest,
    responses(
        (status = 201, body = ReservationResponse),
        (status = 409, description = "The address is allocated or actively reserved, or lies in the reserved block", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn create_reservation(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Allocate>,
    AppJson(body): AppJson<CreateReservationRequest>,
) -> ApiResult<Response> {
    let new = body.parse()?;
    let r = s.ipam.reserve(&actor, &new).await?;
    Ok(created(format!("/ipam/reservations/{}", r.id), ReservationResponse::new(r, s.ipam.now())))
}

/// Your reservations, newest first.
#[utoipa::path(get, path = "/ipam/reservations", tag = "reservations", params(ReservationListParams),
    responses((status = 200, body = PageResponse<ReservationResponse>), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_reservations(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(params): AppQuery<ReservationListParams>,
) -> ApiResult<Json<PageResponse<ReservationResponse>>> {
    let (filter, page) = params.parse()?;
    let now = s.ipam.now();
    let list = s.ipam.reservations(&actor, &filter, page).await?;
    Ok(Json(PageResponse::from_page(list, |r| ReservationResponse::new(r, now))))
}

/// One reservation.
#[utoipa::path(get, path = "/ipam/reservations/{reservation_id}", tag = "reservations",
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 200, body = ReservationResponse), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_reservation(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    PathId(id): PathId<ReservationId>,
) -> ApiResult<Json<ReservationResponse>> {
    let r = s.ipam.reservation(&actor, &id).await?;
    Ok(Json(ReservationResponse::new(r, s.ipam.now())))
}

/// Cancels (deletes) a reservation, freeing its address (audited).
#[utoipa::path(delete, path = "/ipam/reservations/{reservation_id}", tag = "reservations",
    params(("reservation_id" = String, Path, description = "Reservation id")),
    responses((status = 204, description = "Cancelled"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel_reservation(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Release>,
    PathId(id): PathId<ReservationId>,
) -> ApiResult<StatusCode> {
    s.ipam.cancel_reservation(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The allocation a reservation became.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConversionResponse {
    /// `region` or `host`.
    resource_type: &'static str,
    /// Id of the new region or host.
    resource_id: String,
    /// The new region or host.
    #[schema(value_type = Object)]
    allocation: Value,
}

/// Converts an active reservation into the allocation of exactly its address — quota checked,
/// conflicts re-checked, reservation marked `converted`, all audited — atomically. Region
/// reservations take `{region_name, description?, owner?, tags?}`; host reservations take
/// `{hostname, device_type?, os_type?, application?, owner?, purpose?, tags?}` and need their
/// region to exist and be Active.
#[utoipa::path(post, path = "/ipam/reservations/{reservation_id}/convert", tag = "reservations",
    params(("reservation_id" = String, Path, description = "Reservation id")),
    request_body(content = ConvertRequest, description = "ConvertRegionRequest or ConvertHostRequest, by the reservation's type"),
    responses(
        (status = 201, body = ConversionResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not active, address taken, name taken, or region missing", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "quota_exceeded", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn convert_reservation(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Allocate>,
    PathId(id): PathId<ReservationId>,
    AppJson(body): AppJson<Value>,
) -> ApiResult<Response> {
    let r = s.ipam.reservation(&actor, &id).await?;
    let bytes = Bytes::from(body.to_string());
    let catalog = s.ipam.catalog();
    match r.kind {
        ReservationKind::Region => {
            let new = parse_json::<ConvertRegionRequest>(&bytes)?.parse()?;
            let region = s.ipam.convert_to_region(&actor, &id, new).await?;
            let location = format!("/ipam/regions/{}", region.id);
            let resource_id = region.id.to_string();
            let allocation = serde_json::to_value(RegionResponse::new(region, catalog)).unwrap_or(Value::Null);
            Ok(created(location, ConversionResponse { resource_type: "region", resource_id, allocation }))
        }
        ReservationKind::Host => {
            let new = parse_json::<ConvertHostRequest>(&bytes)?.parse()?;
            let host = s.ipam.convert_to_host(&actor, &id, new).await?;
            let location = format!("/ipam/hosts/{}", host.id);
            let resource_id = host.id.to_string();
            let allocation = serde_json::to_value(HostResponse::new(host, catalog)).unwrap_or(Value::Null);
            Ok(created(location, ConversionResponse { resource_type: "host", resource_id, allocation }))
        }
    }
}
