//! Share expiry (hourly): share links past their expiry become inactive (audited).

use super::SWEEP_BATCH;
use crate::platform::{JobResult, Platform};

/// Deactivates every overdue share.
pub async fn run(platform: &Platform) -> JobResult {
    let mut total = 0;
    loop {
        let n = platform.store().expire_shares(platform.now(), SWEEP_BATCH).await?;
        total += n;
        if n < u64::from(SWEEP_BATCH) {
            break;
        }
    }
    Ok(format!("{total} shares expired"))
}
