//! Wire shapes shared by several resources: the pagination envelope, regions, hosts, audit
//! events and the small helpers for `201 Created`.

mod audit;
mod host;
mod interpret;
mod region;

use axum::Json;
use axum::http::{StatusCode, header::LOCATION};
use axum::response::{IntoResponse, Response};
use ipam_core::domain::Page;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub(crate) use audit::AuditEventResponse;
pub(crate) use host::HostResponse;
pub(crate) use interpret::InterpretResponse;
pub(crate) use region::RegionResponse;

/// Position in a paginated list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct Pagination {
    /// Current page (1-based).
    page: u32,
    /// Items per page.
    page_size: u32,
    /// Items across all pages.
    total_count: u64,
    /// Number of pages.
    total_pages: u64,
    /// A later page exists.
    has_next: bool,
    /// An earlier page exists.
    has_prev: bool,
}

/// A page of results.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct PageResponse<T> {
    /// The items.
    results: Vec<T>,
    /// Where this page sits.
    pagination: Pagination,
}

impl<T> PageResponse<T> {
    /// Converts a domain page with `f`.
    pub(crate) fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let pagination = Pagination {
            page: page.request.page(),
            page_size: page.request.page_size(),
            total_count: page.total,
            total_pages: page.total_pages(),
            has_next: page.has_next(),
            has_prev: page.has_prev(),
        };
        Self { results: page.items.into_iter().map(f).collect(), pagination }
    }
}

/// `201 Created` with a `Location` header.
pub(crate) fn created<T: Serialize>(location: String, body: T) -> Response {
    (StatusCode::CREATED, [(LOCATION, location)], Json(body)).into_response()
}

/// For PATCH bodies: distinguishes an absent field (`None`) from an explicit `null`
/// (`Some(None)`). Use with `#[serde(default, deserialize_with = "double_option")]`.
pub(crate) fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
