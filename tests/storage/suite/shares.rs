//! Shareable links: creation, the live list (active, unexpired, own, newest first), revocation,
//! finding a live share by its token, and counting views atomically.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipam_core::auth::Actor;
use ipam_core::domain::{Description, RegionId, Share, ShareId, ShareKind, ShareToken};
use ipam_core::storage::Store;

use super::{at, page, user};

/// One day, in seconds (shares last whole days).
const DAY: i64 = 86_400;

/// Builds the share the service would build at `now` and stores it.
async fn share(
    s: &dyn Store,
    actor: &Actor,
    kind: ShareKind,
    resource_id: &str,
    days: u32,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Share {
    let description = note.map(|n| Description::parse(n).expect("description"));
    let share = Share::new(&actor.user_id, &actor.username, kind, resource_id.to_owned(), days, description, now);
    s.create_share(actor, &share).await.expect("create_share");
    share
}

/// A share of the country USA valid for `days`, created at `now`.
async fn country_share(s: &dyn Store, actor: &Actor, days: u32, now: DateTime<Utc>) -> Share {
    share(s, actor, ShareKind::Country, "USA", days, None, now).await
}

/// The ids on one page of `actor`'s live shares at `now`, and the page's total.
async fn live_ids(s: &dyn Store, actor: &Actor, n: u32, size: u32, now: DateTime<Utc>) -> (Vec<ShareId>, u64) {
    let p = s.live_shares(&actor.user_id, page(n, size), now).await.expect("live_shares");
    (p.items.into_iter().map(|sh| sh.id).collect(), p.total)
}

/// `actor`'s live share with this id at `now` (must be listed).
async fn listed(s: &dyn Store, actor: &Actor, id: &ShareId, now: DateTime<Utc>) -> Share {
    let p = s.live_shares(&actor.user_id, page(1, 100), now).await.expect("live_shares");
    p.items.into_iter().find(|sh| &sh.id == id).unwrap_or_else(|| panic!("share {id} is live at {now}"))
}

pub async fn a_created_share_reads_back_through_live_shares_exactly_as_created(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let region_id = RegionId::generate().to_string();
    let of_country = share(s, &alice, ShareKind::Country, "USA", 7, None, at(1)).await;
    let of_region = share(s, &alice, ShareKind::Region, &region_id, 90, Some("for the\nauditors"), at(2)).await;

    let p = s.live_shares(&alice.user_id, page(1, 50), at(3)).await.expect("live_shares");

    assert_eq!(p.total, 2);
    assert_eq!(p.items, vec![of_region.clone(), of_country.clone()], "every field reads back as created");
    assert_eq!(of_region.expires_at, at(2 + 90 * DAY), "sanity: the share lasts 90 days");
    assert_eq!((of_region.view_count, of_region.last_accessed, of_region.is_active), (0, None, true));
}

pub async fn live_shares_are_the_users_active_unexpired_ones_newest_first_with_real_totals(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let week = country_share(s, &alice, 7, at(1)).await;
    let day = country_share(s, &alice, 1, at(2)).await;
    let revoked = country_share(s, &alice, 30, at(3)).await;
    let month = country_share(s, &alice, 30, at(4)).await;
    let bobs = country_share(s, &bob, 30, at(5)).await;
    assert!(s.revoke_share(&alice, &revoked.id, at(6)).await.expect("revoke_share"));

    let first = live_ids(s, &alice, 1, 2, at(10)).await;
    let second = live_ids(s, &alice, 2, 2, at(10)).await;
    let last_second_of_day = live_ids(s, &alice, 1, 50, at(2 + DAY - 1)).await;
    let day_expired = live_ids(s, &alice, 1, 50, at(2 + DAY)).await;
    let week_expired = live_ids(s, &alice, 1, 50, at(1 + 7 * DAY)).await;
    let all_expired = live_ids(s, &alice, 1, 50, at(4 + 30 * DAY)).await;
    let for_bob = live_ids(s, &bob, 1, 50, at(10)).await;

    assert_eq!(first, (vec![month.id.clone(), day.id.clone()], 3), "page 1: newest first, revoked left out");
    assert_eq!(second, (vec![week.id.clone()], 3), "page 2");
    assert_eq!(last_second_of_day, (vec![month.id.clone(), day.id.clone(), week.id.clone()], 3));
    assert_eq!(day_expired, (vec![month.id.clone(), week.id.clone()], 2), "a share stops at its expiry instant");
    assert_eq!(week_expired, (vec![month.id.clone()], 1));
    assert_eq!(all_expired, (vec![], 0));
    assert_eq!(for_bob, (vec![bobs.id], 1), "each user sees only their own shares");
}

pub async fn revoking_a_share_succeeds_once_and_never_for_another_user(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let shared = country_share(s, &alice, 7, at(1)).await;
    let kept = country_share(s, &alice, 7, at(2)).await;

    let by_bob = s.revoke_share(&bob, &shared.id, at(3)).await.expect("revoke_share");
    let still_live = live_ids(s, &alice, 1, 50, at(3)).await;
    let first = s.revoke_share(&alice, &shared.id, at(4)).await.expect("revoke_share");
    let again = s.revoke_share(&alice, &shared.id, at(5)).await.expect("revoke_share");
    let unknown = s.revoke_share(&alice, &ShareId::generate(), at(5)).await.expect("revoke_share");

    assert!(!by_bob, "another user's share cannot be revoked");
    assert_eq!(still_live, (vec![kept.id.clone(), shared.id.clone()], 2), "bob's attempt changed nothing");
    assert!(first, "the owner revokes a live share");
    assert!(!again, "a revoked share cannot be revoked again");
    assert!(!unknown, "an unknown id revokes nothing");
    assert_eq!(live_ids(s, &alice, 1, 50, at(6)).await, (vec![kept.id], 1), "only the revoked share is gone");
    assert_eq!(s.live_share(&shared.token, at(6)).await.expect("live_share"), None, "its link stops working");
}

pub async fn a_live_share_is_found_by_its_token_without_counting_a_view(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let shared = share(s, &alice, ShareKind::Host, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 7, Some("web"), at(1)).await;
    let other = country_share(s, &alice, 7, at(2)).await;

    let first = s.live_share(&shared.token, at(10)).await.expect("live_share");
    let second = s.live_share(&shared.token, at(20)).await.expect("live_share");
    let by_other_token = s.live_share(&other.token, at(20)).await.expect("live_share");

    assert_eq!(first, Some(shared.clone()), "the token finds its share as created");
    assert_eq!(second, Some(shared.clone()), "reading counts nothing");
    assert_eq!(by_other_token, Some(other), "each token finds its own share");
    assert_eq!(listed(s, &alice, &shared.id, at(30)).await, shared, "no view was stored");
}

pub async fn recording_a_view_counts_it_and_moves_the_last_access(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let shared = share(s, &alice, ShareKind::Region, RegionId::generate().as_str(), 7, None, at(1)).await;
    let other = country_share(s, &alice, 7, at(2)).await;

    let first = s.record_view(&shared.id, at(10)).await.expect("record_view");
    let second = s.record_view(&shared.id, at(20)).await.expect("record_view");

    let after =
        |views: u64, when: DateTime<Utc>| Share { view_count: views, last_accessed: Some(when), ..shared.clone() };
    assert_eq!(first, Some(after(1, at(10))), "the share is returned with the view counted");
    assert_eq!(second, Some(after(2, at(20))), "every view counts and moves the last access");
    assert_eq!(s.live_share(&shared.token, at(30)).await.expect("live_share"), Some(after(2, at(20))));
    assert_eq!(listed(s, &alice, &shared.id, at(30)).await, after(2, at(20)), "the count is stored");
    assert_eq!(listed(s, &alice, &other.id, at(30)).await, other, "other shares are untouched");
}

pub async fn unknown_revoked_and_expired_shares_are_not_found_and_count_no_view(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let expiring = country_share(s, &alice, 1, at(0)).await;
    let revoked = country_share(s, &alice, 7, at(1)).await;
    assert!(s.revoke_share(&alice, &revoked.id, at(2)).await.expect("revoke_share"));

    let read_at_expiry = s.live_share(&expiring.token, at(DAY)).await.expect("live_share");
    let view_at_expiry = s.record_view(&expiring.id, at(DAY)).await.expect("record_view");
    let view_later = s.record_view(&expiring.id, at(3 * DAY)).await.expect("record_view");
    let read_revoked = s.live_share(&revoked.token, at(3)).await.expect("live_share");
    let view_revoked = s.record_view(&revoked.id, at(3)).await.expect("record_view");
    let read_unknown = s.live_share(&ShareToken::generate(), at(3)).await.expect("live_share");
    let view_unknown = s.record_view(&ShareId::generate(), at(3)).await.expect("record_view");

    assert_eq!(
        (read_at_expiry, view_at_expiry, view_later),
        (None, None, None),
        "a share expires at its expiry instant"
    );
    assert_eq!((read_revoked, view_revoked), (None, None), "a revoked share is not found");
    assert_eq!((read_unknown, view_unknown), (None, None), "unknown tokens and ids find nothing");
    assert_eq!(
        listed(s, &alice, &expiring.id, at(DAY - 1)).await,
        expiring,
        "refused views count nothing and record no access"
    );
}

pub async fn concurrent_views_of_one_share_are_each_counted_exactly_once(store: Arc<dyn Store>) {
    let alice = user("alice");
    let shared = country_share(&*store, &alice, 7, at(1)).await;
    let id = &shared.id;

    let viewed = futures::future::join_all((0..20).map(|_| {
        let s = Arc::clone(&store);
        async move { s.record_view(id, at(5)).await }
    }))
    .await;

    let mut counts: Vec<u64> =
        viewed.into_iter().map(|v| v.expect("record_view").expect("the share is live").view_count).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u64>>(), "each view sees its own increment");
    let stored = listed(&*store, &alice, &shared.id, at(6)).await;
    assert_eq!((stored.view_count, stored.last_accessed), (20, Some(at(5))), "no view is lost");
}

pub async fn creating_and_revoking_a_share_is_audited_without_the_token(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let shared = share(s, &alice, ShareKind::Country, "USA", 7, Some("for the auditors"), at(1)).await;
    assert!(s.revoke_share(&alice, &shared.id, at(2)).await.expect("revoke_share"));

    let filter = ipam_core::storage::AuditFilter {
        resource_type: Some(ipam_core::domain::AuditResource::Share),
        ..Default::default()
    };
    let events = s.audit_events(&alice.user_id, &filter, page(1, 10)).await.expect("audit_events");
    let actions: Vec<_> = events.items.iter().map(|e| e.action).collect();
    use ipam_core::domain::AuditAction;
    assert_eq!(actions, [AuditAction::Revoke, AuditAction::Create], "newest first");
    assert!(events.items.iter().all(|e| e.resource_id == shared.id.as_str()));
    let text: String = events.items.iter().map(|e| format!("{} {}", e.snapshot, e.metadata)).collect();
    assert!(!text.contains(shared.token.as_str()), "the secret token never reaches the audit trail");
    assert!(text.contains("for the auditors"));
    let bob = user("bob");
    assert!(!s.revoke_share(&bob, &shared.id, at(3)).await.expect("revoke_share"));
    let bobs = s.audit_events(&bob.user_id, &filter, page(1, 10)).await.expect("audit_events");
    assert_eq!(bobs.total, 0, "a refused revoke writes nothing");
}
