//! Reservation expiry (hourly): active reservations past their expiry become expired, each
//! audited and announced with a `reservation.expired` event (whose dispatch tells the owner),
//! and the owners of reservations expiring within 24 hours are told so, once each.

use crate::platform::{JobResult, Platform};

/// Expires every overdue reservation.
pub async fn run(platform: &Platform) -> JobResult {
    let total = super::sweep(|limit| platform.store().expire_reservations(platform.now(), limit)).await?;
    if total > 0 {
        platform.kick_dispatch().await;
    }
    let notices = platform.store().announce_expiring_reservations(platform.now(), super::SWEEP_BATCH).await?;
    crate::metrics::notifications_created(&notices);
    Ok(format!("{total} reservations expired, {} expiring soon announced", notices.len()))
}
