//! Notification cleanup (daily): notifications past their `expires_at` (90 days after creation)
//! are deleted, in short batches. On MongoDB the TTL index deletes them too; this sweep is what
//! deletes them on SQLite, and what catches up on MongoDB between TTL passes. Reads never show an
//! expired notification, whether or not it was deleted yet.

use crate::platform::{JobResult, Platform};

/// Deletes every expired notification.
pub async fn run(platform: &Platform) -> JobResult {
    let now = platform.now();
    let total = super::sweep(|limit| platform.store().delete_expired_notifications(now, limit)).await?;
    Ok(format!("{total} expired notifications deleted"))
}
