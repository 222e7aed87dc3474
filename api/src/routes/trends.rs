//! `GET /ipam/statistics/trends` (to be written).

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The trends route (standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
