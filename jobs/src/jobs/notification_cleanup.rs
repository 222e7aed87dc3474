//! Notification cleanup (daily, 90-day retention). Notifications are not stored yet, so there
//! is nothing to delete; the schedule runs (and shows in `/health`) so that the day they are,
//! only this function changes.

use crate::platform::{JobResult, Platform};

/// Deletes notifications older than the retention.
pub async fn run(_platform: &Platform) -> JobResult {
    Ok("no notifications are stored yet; nothing to delete".into())
}
