//! Reservation expiry (hourly): active reservations past their expiry become expired, each
//! audited and announced with a `reservation.expired` event.

use crate::platform::{JobResult, Platform};

/// Expires every overdue reservation.
pub async fn run(platform: &Platform) -> JobResult {
    let total = super::sweep(|limit| platform.store().expire_reservations(platform.now(), limit)).await?;
    if total > 0 {
        platform.kick_dispatch().await;
    }
    Ok(format!("{total} reservations expired"))
}
