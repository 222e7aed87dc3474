//! Share expiry (hourly): share links past their expiry become inactive (audited).

use crate::platform::{JobResult, Platform};

/// Deactivates every overdue share.
pub async fn run(platform: &Platform) -> JobResult {
    let total = super::sweep(|limit| platform.store().expire_shares(platform.now(), limit)).await?;
    Ok(format!("{total} shares expired"))
}
