//! User preferences and saved filters: creation and top-level merging, the size limit, the
//! filter list (order, cap, deletion), their independence, and racing additions.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipam_core::domain::{
    FilterCriteria, FilterId, FilterName, Preferences, PreferencesPatch, SavedFilter, Theme, UserId,
};
use ipam_core::error::{ConflictKind, IpamError};
use ipam_core::storage::Store;
use serde_json::{Map, Value, json};

use super::{at, expect_conflict, user};

/// A size limit that never matters.
const ROOMY: usize = 1_000_000;

/// A JSON object.
fn object(raw: Value) -> Map<String, Value> {
    match raw {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// A theme.
fn theme(raw: &str) -> Theme {
    Theme::parse(raw).expect("theme")
}

/// A saved filter named `name` with these criteria, created at `now`.
fn filter(name: &str, criteria: Value, now: DateTime<Utc>) -> SavedFilter {
    SavedFilter {
        id: FilterId::generate(),
        name: FilterName::parse(name).expect("filter name"),
        criteria: FilterCriteria::parse(&criteria).expect("criteria"),
        created_at: now,
    }
}

/// Saves a filter (must succeed) and returns it.
async fn add(s: &dyn Store, user: &UserId, name: &str, max: usize, now: DateTime<Utc>) -> SavedFilter {
    let f = filter(name, json!({"country": "USA", "tag.env": name}), now);
    s.add_filter(user, &f, max, now).await.unwrap_or_else(|e| panic!("add_filter {name}: {e}"));
    f
}

/// Applies a patch (must succeed).
async fn update(s: &dyn Store, user: &UserId, patch: &PreferencesPatch, now: DateTime<Utc>) -> Preferences {
    s.update_preferences(user, patch, ROOMY, now).await.unwrap_or_else(|e| panic!("update_preferences: {e}"))
}

/// The stored preferences (must exist).
async fn stored(s: &dyn Store, user: &UserId) -> Preferences {
    s.preferences(user).await.expect("preferences").expect("the user has preferences")
}

/// Names of saved filters, in stored order.
fn names(p: &Preferences) -> Vec<&str> {
    p.saved_filters.iter().map(|f| f.name.as_str()).collect()
}

pub async fn a_user_who_never_saved_anything_has_no_preferences(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let patch = PreferencesPatch { theme_preference: Some(Some(theme("dark"))), ..Default::default() };
    update(s, &alice.user_id, &patch, at(1)).await;

    let for_bob = s.preferences(&bob.user_id).await.expect("preferences");

    assert_eq!(for_bob, None, "another user's preferences are not bob's");
}

pub async fn updating_preferences_creates_them_and_replaces_only_the_given_top_level_keys(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let me = &alice.user_id;
    let layout = object(json!({"widgets": ["map", "usage"], "columns": 2, "compact": true}));
    let alerts = object(json!({"email": {"on_quota": true, "digest": "daily"}}));
    let narrower = object(json!({"widgets": ["map"]}));

    let created = update(
        s,
        me,
        &PreferencesPatch {
            dashboard_layout: Some(layout.clone()),
            theme_preference: Some(Some(theme("dark"))),
            ..Default::default()
        },
        at(1),
    )
    .await;
    let expected_created = Preferences {
        dashboard_layout: layout.clone(),
        theme_preference: Some(theme("dark")),
        updated_at: Some(at(1)),
        ..Preferences::defaults(me)
    };
    assert_eq!(created, expected_created, "the first update creates the record");
    assert_eq!(stored(s, me).await, expected_created, "and stores it");

    let merged =
        update(s, me, &PreferencesPatch { notification_settings: Some(alerts.clone()), ..Default::default() }, at(2))
            .await;
    let expected_merged =
        Preferences { notification_settings: alerts.clone(), updated_at: Some(at(2)), ..expected_created };
    assert_eq!(merged, expected_merged, "keys not given are kept");
    assert_eq!(stored(s, me).await, expected_merged);

    let replaced = update(
        s,
        me,
        &PreferencesPatch {
            dashboard_layout: Some(narrower.clone()),
            theme_preference: Some(None),
            ..Default::default()
        },
        at(3),
    )
    .await;
    let expected_replaced =
        Preferences { dashboard_layout: narrower, theme_preference: None, updated_at: Some(at(3)), ..expected_merged };
    assert_eq!(replaced, expected_replaced, "a given key is replaced whole and Some(None) clears the theme");
    assert_eq!(stored(s, me).await, expected_replaced);
}

pub async fn preferences_larger_than_the_limit_are_refused_and_change_nothing(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let me = &alice.user_id;
    let small = PreferencesPatch { theme_preference: Some(Some(theme("dark"))), ..Default::default() };
    let before = update(s, me, &small, at(1)).await;
    let big = PreferencesPatch {
        notification_settings: Some(object(json!({"note": "x".repeat(2_000)}))),
        ..Default::default()
    };
    let mut merged = before.clone();
    merged.apply(&big);
    let size = merged.settings_size();
    let mut merged_for_new = Preferences::defaults(&bob.user_id);
    merged_for_new.apply(&big);
    let size_for_new = merged_for_new.settings_size();

    let refused = s.update_preferences(me, &big, size - 1, at(2)).await;
    let refused_for_new = s.update_preferences(&bob.user_id, &big, size_for_new - 1, at(2)).await;

    assert!(matches!(refused, Err(IpamError::Validation(_))), "one byte too many: {:?}", refused.err());
    assert_eq!(stored(s, me).await, before, "a refused update changes nothing");
    assert!(
        matches!(refused_for_new, Err(IpamError::Validation(_))),
        "also for a new user: {:?}",
        refused_for_new.err()
    );
    assert_eq!(s.preferences(&bob.user_id).await.expect("preferences"), None, "and creates nothing");
    let at_limit = s.update_preferences(me, &big, size, at(3)).await.expect("exactly the limit is accepted");
    assert_eq!(at_limit, Preferences { updated_at: Some(at(3)), ..merged });
}

pub async fn saved_filters_are_appended_oldest_first_up_to_the_limit(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let me = &alice.user_id;
    let first = add(s, me, "first", 3, at(1)).await;
    let second = add(s, me, "second", 3, at(2)).await;
    let third = add(s, me, "third", 3, at(3)).await;
    let one_too_many = filter("fourth", json!({"status": "Active"}), at(4));

    let refused = s.add_filter(me, &one_too_many, 3, at(4)).await;

    expect_conflict(refused, ConflictKind::Conflict);
    assert_eq!(stored(s, me).await.saved_filters, vec![first, second.clone(), third], "nothing added");
    assert!(s.delete_filter(me, &second.id, at(5)).await.expect("delete_filter"));
    s.add_filter(me, &one_too_many, 3, at(6)).await.expect("a freed place can be used again");
    assert_eq!(names(&stored(s, me).await), ["first", "third", "fourth"], "appended at the end");
}

pub async fn deleting_a_filter_is_true_once_and_false_for_unknown_filters_and_users(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let me = &alice.user_id;
    let gone = add(s, me, "gone", 50, at(1)).await;
    let kept = add(s, me, "kept", 50, at(2)).await;

    let by_bob = s.delete_filter(&bob.user_id, &gone.id, at(3)).await.expect("delete_filter");
    let first = s.delete_filter(me, &gone.id, at(4)).await.expect("delete_filter");
    let again = s.delete_filter(me, &gone.id, at(5)).await.expect("delete_filter");
    let unknown = s.delete_filter(me, &FilterId::generate(), at(6)).await.expect("delete_filter");

    assert!(!by_bob, "a user without preferences deletes nothing, not even another user's filter");
    assert_eq!(s.preferences(&bob.user_id).await.expect("preferences"), None, "and gets no record");
    assert!(first, "the owner deletes a saved filter");
    assert!(!again, "a deleted filter is gone");
    assert!(!unknown, "an unknown id deletes nothing");
    assert_eq!(stored(s, me).await.saved_filters, vec![kept]);
}

pub async fn saved_filters_and_settings_survive_each_others_changes(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let me = &alice.user_id;
    let early = add(s, me, "early", 50, at(1)).await;
    let patch = PreferencesPatch {
        dashboard_layout: Some(object(json!({"widgets": ["map"]}))),
        notification_settings: Some(object(json!({"email": false}))),
        theme_preference: Some(Some(theme("solarized"))),
    };

    let updated = update(s, me, &patch, at(2)).await;
    let late = add(s, me, "late", 50, at(3)).await;
    assert!(s.delete_filter(me, &early.id, at(4)).await.expect("delete_filter"));
    let after = stored(s, me).await;

    assert_eq!(updated.saved_filters, vec![early], "updating settings keeps the saved filters");
    assert_eq!(after.saved_filters, vec![late], "filters were added and deleted");
    assert_eq!(
        (&after.dashboard_layout, &after.notification_settings, &after.theme_preference),
        (&updated.dashboard_layout, &updated.notification_settings, &updated.theme_preference),
        "adding and deleting filters keeps the settings"
    );
    assert_eq!(updated.theme_preference, Some(theme("solarized")));
}

pub async fn sixty_racing_filter_additions_under_a_limit_of_fifty_leave_exactly_fifty(store: Arc<dyn Store>) {
    let alice = user("alice");
    let me = &alice.user_id;
    let filters: Vec<SavedFilter> =
        (0..60).map(|i| filter(&format!("filter {i}"), json!({"hostname": format!("web-{i}")}), at(1))).collect();

    let outcomes = futures::future::join_all(filters.iter().map(|f| {
        let s = Arc::clone(&store);
        async move { s.add_filter(me, f, 50, at(1)).await.map(|()| f.id.clone()) }
    }))
    .await;

    let mut winners = BTreeSet::new();
    let mut refused = 0;
    for outcome in outcomes {
        match outcome {
            Ok(id) => {
                winners.insert(id.to_string());
            }
            Err(e) => {
                expect_conflict(Err::<(), _>(e), ConflictKind::Conflict);
                refused += 1;
            }
        }
    }
    assert_eq!((winners.len(), refused), (50, 10), "exactly 50 additions succeed");
    let kept: BTreeSet<String> = stored(&*store, me).await.saved_filters.iter().map(|f| f.id.to_string()).collect();
    assert_eq!(kept, winners, "exactly the successful additions are stored");
}
