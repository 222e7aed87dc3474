//! A webhook's health as every backend must keep it: re-enabling a disabled webhook clears its
//! failures (enabling an active one does not), and dead deliveries recorded at once each count
//! exactly one failure and disable the webhook exactly once.

use std::sync::Arc;

use futures::future::join_all;
use ipam_core::domain::{AttemptRecorded, WebhookPatch};
use ipam_core::storage::Store;

use super::platform::{hook, kill, ping, stored_hook};
use super::{at, user};

pub async fn enabling_an_active_webhook_keeps_its_failures_and_re_enabling_a_disabled_one_clears_them(
    store: Arc<dyn Store>,
) {
    let s = &*store;
    let alice = user("alice");
    let w = hook(s, &alice, &["region.created"], at(0)).await;
    for n in 1..=2 {
        let d = ping(s, &w, at(n)).await;
        kill(s, &d, 3, at(n)).await;
    }
    let enable = WebhookPatch { is_active: Some(true), ..WebhookPatch::default() };

    let resent = s.update_webhook(&alice.user_id, &w.id, &enable, at(10)).await.unwrap().expect("the webhook exists");
    let stored_after_resend = stored_hook(s, &w).await;
    let third = ping(s, &w, at(11)).await;
    let disabling = kill(s, &third, 3, at(11)).await;
    let revived = s.update_webhook(&alice.user_id, &w.id, &enable, at(20)).await.unwrap().expect("the webhook exists");
    let stored_after_revival = stored_hook(s, &w).await;

    assert_eq!((resent.is_active, resent.failure_count), (true, 2), "resending is_active: true hides no failures");
    assert_eq!((stored_after_resend.failure_count, stored_after_resend.updated_at), (2, at(10)));
    assert!(disabling.webhook_disabled, "the third failure in a row still disables it");
    assert_eq!(
        (revived.is_active, revived.failure_count, revived.disabled_reason.clone()),
        (true, 0, None),
        "re-enabling a disabled webhook gives it a clean slate"
    );
    assert_eq!(stored_after_revival, revived, "the answer is what is stored");
}

pub async fn dead_deliveries_recorded_at_once_each_count_one_failure_and_disable_the_webhook_once(
    store: Arc<dyn Store>,
) {
    let s = &*store;
    let alice = user("alice");
    let w = hook(s, &alice, &["region.created"], at(0)).await;
    let mut pending = Vec::new();
    for n in 0..50 {
        pending.push(ping(s, &w, at(n)).await);
    }

    let recorded: Vec<AttemptRecorded> = join_all(pending.iter().map(|d| kill(s, d, 10, at(100)))).await;

    let mut counts: Vec<u32> = recorded.iter().map(|r| r.failure_count).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<_>>(), "each dead delivery counted exactly one failure");
    assert_eq!(recorded.iter().filter(|r| r.webhook_disabled).count(), 1, "the webhook was disabled once");
    let disabled = stored_hook(s, &w).await;
    assert_eq!((disabled.is_active, disabled.failure_count), (false, 50));
    assert_eq!(disabled.disabled_reason.as_deref(), Some("disabled after 10 consecutive failed deliveries"));
}
