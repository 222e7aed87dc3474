//! The notification inbox: one notification per dedup key and user, the filters, counts, marks
//! and deletion, isolation, expiry on read and the cleanup sweep (rules are in
//! `notification_rules.rs`).
//!
//! Times here (and in `notification_rules.rs`) start in 2200, not at `t0`: MongoDB's TTL index deletes a notification once the
//! real clock passes its `expires_at`, and a notification created at `t0` would already be past
//! its 90 days, so the server could delete it in the middle of a test.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ipam_core::domain::{Notification, NotificationId, NotificationResource, NotificationType, Severity, UserId};
use ipam_core::storage::{NotificationFilter, Store};

use super::{first_100, page, user};

/// `secs` seconds after the first instant of these tests.
pub(super) fn on(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2200-01-01T00:00:00Z").expect("instant").with_timezone(&Utc) + Duration::seconds(secs)
}

/// An unread notification of `owner`, created at `on(secs)`, kept the usual 90 days.
fn note(owner: &UserId, key: &str, kind: (NotificationType, Severity), secs: i64) -> Notification {
    Notification {
        id: NotificationId::generate(),
        user_id: owner.clone(),
        notification_type: kind.0,
        severity: kind.1,
        message: format!("notice {key}"),
        resource_type: Some(NotificationResource::Region),
        resource_id: Some("G1".into()),
        resource_link: Some("/ipam/regions/G1".into()),
        is_read: false,
        read_at: None,
        created_at: on(secs),
        expires_at: on(secs) + Duration::days(90),
        dedup_key: key.to_owned(),
    }
}

const INFO: (NotificationType, Severity) = (NotificationType::EventRule, Severity::Info);
const WARNING: (NotificationType, Severity) = (NotificationType::CapacityThreshold, Severity::Warning);
const CRITICAL: (NotificationType, Severity) = (NotificationType::WebhookDisabled, Severity::Critical);

/// Stores `n` (it must be new).
async fn put(s: &dyn Store, n: &Notification) {
    assert!(s.insert_notification(n).await.expect("insert_notification"), "{} is new", n.dedup_key);
}

/// Dedup keys of the user's notifications matching `f` at `now` (first 100) and the total.
async fn listed(s: &dyn Store, owner: &UserId, f: NotificationFilter, now: DateTime<Utc>) -> (Vec<String>, u64) {
    let p = s.notifications(owner, &f, first_100(), now).await.expect("notifications");
    (p.items.into_iter().map(|n| n.dedup_key).collect(), p.total)
}

pub async fn a_notification_is_stored_once_per_dedup_key_and_user(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    let first = note(&alice, "rule:R1:region:G1:1", WARNING, 1);
    put(s, &first).await;
    let again = note(&alice, "rule:R1:region:G1:1", WARNING, 2);
    assert!(!s.insert_notification(&again).await.expect("insert_notification"), "the same cause twice");
    assert_eq!(s.notification(&alice, &again.id, on(3)).await.expect("notification"), None, "nothing written");
    assert_eq!(s.notification(&alice, &first.id, on(3)).await.expect("notification"), Some(first.clone()));
    assert_eq!(listed(s, &alice, NotificationFilter::default(), on(3)).await.1, 1);
    put(s, &note(&bob, "rule:R1:region:G1:1", WARNING, 2)).await; // keys are unique per user
}

pub async fn notification_filters_combine_newest_first_with_real_totals(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice").user_id;
    for (key, kind, secs) in
        [("a", INFO, 10), ("b", WARNING, 20), ("c", CRITICAL, 30), ("d", WARNING, 40), ("e", INFO, 50)]
    {
        put(s, &note(&alice, key, kind, secs)).await;
    }
    let d = s.notifications(&alice, &NotificationFilter::default(), first_100(), on(60)).await.expect("list");
    let d_id = d.items.iter().find(|n| n.dedup_key == "d").expect("d").id.clone();
    s.mark_notification(&alice, &d_id, true, on(60)).await.expect("mark").expect("d is alice's");

    let f = |is_read, severity, notification_type, after: Option<i64>, before: Option<i64>| NotificationFilter {
        is_read,
        severity,
        notification_type,
        created_after: after.map(on),
        created_before: before.map(on),
    };
    let now = on(61);
    let keys = |v: &[&str]| v.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    assert_eq!(listed(s, &alice, f(None, None, None, None, None), now).await, (keys(&["e", "d", "c", "b", "a"]), 5));
    assert_eq!(listed(s, &alice, f(Some(false), None, None, None, None), now).await, (keys(&["e", "c", "b", "a"]), 4));
    assert_eq!(listed(s, &alice, f(Some(true), None, None, None, None), now).await, (keys(&["d"]), 1));
    let warnings = f(None, Some(Severity::Warning), None, None, None);
    assert_eq!(listed(s, &alice, warnings, now).await, (keys(&["d", "b"]), 2));
    let unread_warnings =
        f(Some(false), Some(Severity::Warning), Some(NotificationType::CapacityThreshold), None, None);
    assert_eq!(listed(s, &alice, unread_warnings, now).await, (keys(&["b"]), 1));
    assert_eq!(listed(s, &alice, f(None, None, Some(NotificationType::EventRule), None, None), now).await.1, 2);
    let window = f(None, None, None, Some(20), Some(40));
    assert_eq!(listed(s, &alice, window, now).await, (keys(&["d", "c", "b"]), 3), "both bounds inclusive");
    assert_eq!(listed(s, &alice, f(Some(false), None, None, Some(20), Some(40)), now).await, (keys(&["c", "b"]), 2));

    let second = s.notifications(&alice, &NotificationFilter::default(), page(2, 2), now).await.expect("page 2");
    let second: Vec<&str> = second.items.iter().map(|n| n.dedup_key.as_str()).collect();
    assert_eq!(second, ["c", "b"], "pages continue newest first");
}

pub async fn the_unread_count_and_recent_list_show_the_newest_unread(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    assert_eq!(s.unread_count(&alice, on(0)).await.expect("unread_count"), 0, "a new user has none");
    assert!(s.recent_unread(&alice, 5, on(0)).await.expect("recent_unread").is_empty());
    let all: Vec<Notification> = (1..=7).map(|i| note(&alice, &format!("k{i}"), INFO, i)).collect();
    for n in &all {
        put(s, n).await;
    }
    put(s, &note(&bob, "bob's", INFO, 100)).await;
    s.mark_notification(&alice, &all[6].id, true, on(10)).await.expect("mark").expect("alice's");

    assert_eq!(s.unread_count(&alice, on(11)).await.expect("unread_count"), 6);
    let recent = s.recent_unread(&alice, 5, on(11)).await.expect("recent_unread");
    let expected: Vec<Notification> = all[1..6].iter().rev().cloned().collect();
    assert_eq!(recent, expected, "the 5 newest unread, newest first, as stored");
}

pub async fn marking_sets_read_at_once_and_marking_unread_clears_it(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice").user_id;
    let n = note(&alice, "k", WARNING, 0);
    put(s, &n).await;
    let read = s.mark_notification(&alice, &n.id, true, on(10)).await.expect("mark").expect("found");
    assert_eq!((read.is_read, read.read_at), (true, Some(on(10))));
    let again = s.mark_notification(&alice, &n.id, true, on(20)).await.expect("mark").expect("found");
    assert_eq!(again.read_at, Some(on(10)), "the first read time stays");
    assert_eq!(s.notification(&alice, &n.id, on(21)).await.expect("notification"), Some(again));
    let unread = s.mark_notification(&alice, &n.id, false, on(30)).await.expect("mark").expect("found");
    assert_eq!((unread.is_read, unread.read_at), (false, None));
    assert_eq!(s.notification(&alice, &n.id, on(31)).await.expect("notification"), Some(unread), "stored as returned");
    assert_eq!(unread_then_read(s, &alice, &n.id).await, Some(on(40)), "read again: a new read time");
}

async fn unread_then_read(s: &dyn Store, owner: &UserId, id: &NotificationId) -> Option<DateTime<Utc>> {
    s.mark_notification(owner, id, true, on(40)).await.expect("mark").expect("found").read_at
}

pub async fn read_all_marks_every_unread_notification_of_the_user_and_counts_them(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    let ns: Vec<Notification> = (1..=4).map(|i| note(&alice, &format!("k{i}"), INFO, i)).collect();
    for n in &ns {
        put(s, n).await;
    }
    put(s, &note(&bob, "b", INFO, 1)).await;
    s.mark_notification(&alice, &ns[0].id, true, on(5)).await.expect("mark").expect("found");
    assert_eq!(s.mark_all_read(&alice, on(10)).await.expect("mark_all_read"), 3, "the 3 unread ones");
    assert_eq!(s.unread_count(&alice, on(11)).await.expect("unread_count"), 0);
    assert_eq!(s.unread_count(&bob, on(11)).await.expect("unread_count"), 1, "another user's are untouched");
    let first = s.notification(&alice, &ns[0].id, on(11)).await.expect("notification").expect("found");
    let last = s.notification(&alice, &ns[3].id, on(11)).await.expect("notification").expect("found");
    assert_eq!((first.read_at, last.read_at), (Some(on(5)), Some(on(10))), "already read ones keep their time");
    assert_eq!(s.mark_all_read(&alice, on(12)).await.expect("mark_all_read"), 0);
}

pub async fn a_notification_is_deleted_once(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice").user_id;
    let n = note(&alice, "k", INFO, 0);
    put(s, &n).await;
    assert!(s.delete_notification(&alice, &n.id).await.expect("delete"));
    assert!(!s.delete_notification(&alice, &n.id).await.expect("delete"), "already gone");
    assert_eq!(s.notification(&alice, &n.id, on(1)).await.expect("notification"), None);
    assert_eq!(s.unread_count(&alice, on(1)).await.expect("unread_count"), 0);
}

pub async fn another_users_notification_is_out_of_reach_everywhere(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    let n = note(&alice, "k", CRITICAL, 0);
    put(s, &n).await;
    assert_eq!(s.notification(&bob, &n.id, on(1)).await.expect("notification"), None);
    assert_eq!(s.mark_notification(&bob, &n.id, true, on(1)).await.expect("mark"), None);
    assert!(!s.delete_notification(&bob, &n.id).await.expect("delete"));
    assert_eq!(s.mark_all_read(&bob, on(1)).await.expect("mark_all_read"), 0);
    assert_eq!(listed(s, &bob, NotificationFilter::default(), on(1)).await, (vec![], 0));
    assert!(s.recent_unread(&bob, 5, on(1)).await.expect("recent").is_empty());
    assert_eq!(s.notification(&alice, &n.id, on(2)).await.expect("notification"), Some(n), "untouched");
}

pub async fn expired_notifications_are_invisible_and_the_sweep_deletes_them_in_limited_batches(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    let short = |owner: &UserId, key: &str| Notification { expires_at: on(100), ..note(owner, key, INFO, 0) };
    let doomed: Vec<Notification> = ["a1", "a2", "a3"]
        .iter()
        .map(|k| short(&alice, k))
        .chain(["b1", "b2"].iter().map(|k| short(&bob, k)))
        .collect();
    for n in &doomed {
        put(s, n).await;
    }
    let live = note(&alice, "live", INFO, 1);
    put(s, &live).await;

    assert_eq!(listed(s, &alice, NotificationFilter::default(), on(99)).await.1, 4, "not yet expired");
    let now = on(100);
    assert_eq!(listed(s, &alice, NotificationFilter::default(), now).await, (vec!["live".to_owned()], 1));
    assert_eq!(s.unread_count(&alice, now).await.expect("unread_count"), 1);
    assert_eq!(s.recent_unread(&alice, 5, now).await.expect("recent"), vec![live.clone()]);
    assert_eq!(s.notification(&alice, &doomed[0].id, now).await.expect("notification"), None);
    assert_eq!(s.mark_notification(&alice, &doomed[0].id, true, now).await.expect("mark"), None);
    assert_eq!(s.mark_all_read(&bob, now).await.expect("mark_all_read"), 0, "bob's are all expired");

    assert_eq!(s.delete_expired_notifications(now, 0).await.expect("sweep"), 0);
    assert_eq!(s.delete_expired_notifications(on(99), 10).await.expect("sweep"), 0, "nothing expired yet");
    assert_eq!(s.delete_expired_notifications(now, 2).await.expect("sweep"), 2, "the limit holds");
    assert_eq!(s.delete_expired_notifications(now, 2).await.expect("sweep"), 2);
    assert_eq!(s.delete_expired_notifications(now, 2).await.expect("sweep"), 1);
    assert_eq!(s.delete_expired_notifications(now, 2).await.expect("sweep"), 0);
    for n in &doomed {
        assert!(!s.delete_notification(&n.user_id, &n.id).await.expect("delete"), "{} was swept", n.dedup_key);
    }
    assert_eq!(s.notification(&alice, &live.id, now).await.expect("notification"), Some(live), "the live one stays");
}
