//! Rule catch-up (every 15 minutes): every active threshold rule observes every resource it
//! watches, so a rule created, lowered or re-activated while a resource is already above its
//! threshold fires even though no event will cross it. Crossings already seen do not fire
//! again (the per-resource state says so), and no `capacity.*` event is raised: allocations
//! raise those, exactly once each.

use ipam_core::domain::UserId;

use crate::platform::{JobResult, Platform};

/// Owners read per page.
const OWNERS_PAGE: u32 = 100;

/// Catches up every user's threshold rules, one unit of work per user.
pub async fn run(platform: &Platform) -> JobResult {
    let now = platform.now();
    let (mut users, mut created) = (0usize, 0usize);
    let mut after: Option<UserId> = None;
    loop {
        let owners = platform.store().threshold_rule_owners(after.as_ref(), OWNERS_PAGE).await?;
        for user in &owners {
            let notes = platform.store().catch_up_rules(user, now).await?;
            crate::metrics::notifications_created(&notes);
            created += notes.len();
        }
        users += owners.len();
        if owners.len() < OWNERS_PAGE as usize {
            break;
        }
        after = owners.last().cloned();
    }
    if created > 0 {
        // Rules with a `webhook` channel raised `notification.created` events.
        platform.kick_dispatch().await;
    }
    Ok(format!("threshold rules of {users} users caught up, {created} notifications created"))
}
