//! `GET /ipam/statistics/forecast/{resource_type}/{id}` (to be written).

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The forecast route (standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
