//! Reservation expiry (hourly): active reservations past their expiry become expired, each
//! audited and announced with a `reservation.expired` event.

use super::SWEEP_BATCH;
use crate::platform::{JobResult, Platform};

/// Expires every overdue reservation.
pub async fn run(platform: &Platform) -> JobResult {
    let mut total = 0;
    loop {
        let n = platform.store().expire_reservations(platform.now(), SWEEP_BATCH).await?;
        total += n;
        if n < u64::from(SWEEP_BATCH) {
            break;
        }
    }
    if total > 0 {
        platform.kick_dispatch().await;
    }
    Ok(format!("{total} reservations expired"))
}
