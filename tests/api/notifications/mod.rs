//! Notifications: the inbox (`/ipam/notifications`: list with filters, the unread summary, mark
//! read or unread, read-all, delete) and the rules (`/ipam/notifications/rules`). Only the
//! system creates notifications, so these tests store them directly through the app's store. The
//! rules' own tests are in `rules.rs`.

use chrono::{DateTime, Duration, Utc};
use ipam_core::auth::Permission;
use ipam_core::clock::Clock;
use ipam_core::configuration::Switch;
use ipam_core::domain::{
    Notification, NotificationId, NotificationResource, NotificationType, Severity, UserId, notification::RETENTION,
};
use ipam_tests::json::text;
use ipam_tests::{Caller, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

mod firing;
mod rules;

/// Stores a notification for `user`, created `minutes_ago` before the app's clock, and returns its id.
async fn notify(app: &TestApp, user: &str, kind: NotificationType, severity: Severity, minutes_ago: i64) -> String {
    let created_at: DateTime<Utc> = app.clock.now() - Duration::minutes(minutes_ago);
    let n = Notification {
        id: NotificationId::generate(),
        user_id: UserId::parse(user).unwrap(),
        notification_type: kind,
        severity,
        message: format!("{} {minutes_ago}", kind.as_str()),
        resource_type: Some(NotificationResource::Region),
        resource_id: Some("R1".into()),
        resource_link: Some("/ipam/regions/R1".into()),
        is_read: false,
        read_at: None,
        created_at,
        expires_at: created_at + RETENTION,
        dedup_key: NotificationId::generate().to_string(),
    };
    assert!(app.state.ipam.store().insert_notification(&n).await.expect("stored"));
    n.id.to_string()
}

/// The ids of a list's results, in order.
fn ids(body: &Value) -> Vec<String> {
    body["results"].as_array().expect("results").iter().map(|n| text(n, "notification_id")).collect()
}

/// Creates a rule and returns its body (panics unless 201).
pub(super) async fn rule(u: &Caller<'_>, body: Value) -> Value {
    u.post("/ipam/notifications/rules", body).await.assert_status(201).clone()
}

/// The fields a 422 names.
pub(super) fn named(r: &ipam_tests::TestResponse) -> Vec<String> {
    let details = r.assert_error(422, "validation_error")["details"].as_object().expect("details").clone();
    details.keys().cloned().collect()
}

#[tokio::test]
async fn a_new_user_has_no_unread_notifications() {
    let app = spawn_app().await;
    let body = app.user("newbie").get("/ipam/notifications/unread").await.assert_status(200).clone();
    assert_eq!(body, json!({"unread_count": 0, "recent": []}));
}

#[tokio::test]
async fn the_list_is_newest_first_filtered_paginated_and_counts_unread() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let old = notify(&app, "alice", NotificationType::WebhookDisabled, Severity::Critical, 30).await;
    let mid = notify(&app, "alice", NotificationType::EventRule, Severity::Info, 20).await;
    let new = notify(&app, "alice", NotificationType::CapacityThreshold, Severity::Warning, 10).await;
    notify(&app, "bob", NotificationType::EventRule, Severity::Info, 5).await;
    u.patch(&format!("/ipam/notifications/{mid}"), json!({"is_read": true})).await.assert_status(200);

    let all = u.get("/ipam/notifications").await.assert_status(200).clone();
    assert_eq!(ids(&all), [new.clone(), mid.clone(), old.clone()]);
    assert_eq!(all["unread_count"], 2);
    assert_eq!(all["pagination"]["total_count"], 3);
    let first = &all["results"][0];
    assert_eq!(text(first, "_id"), new);
    assert_eq!(
        (text(first, "severity"), text(first, "notification_type")),
        ("warning".into(), "capacity_threshold".into())
    );

    let page = u.get("/ipam/notifications?page=2&page_size=2").await.assert_status(200).clone();
    assert_eq!(ids(&page), [old.as_str()]);
    assert_eq!(page["pagination"]["has_prev"], true);
    assert_eq!(page["unread_count"], 2, "the unread count ignores pagination");

    let unread = u.get("/ipam/notifications?is_read=false").await.assert_status(200).clone();
    assert_eq!(ids(&unread), [new.clone(), old.clone()]);
    assert_eq!(ids(u.get("/ipam/notifications?severity=CRITICAL").await.assert_status(200)), [old.as_str()]);
    assert_eq!(ids(u.get("/ipam/notifications?notification_type=event_rule").await.assert_status(200)), [mid.as_str()]);
    let after = (app.clock.now() - Duration::minutes(25)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let before = (app.clock.now() - Duration::minutes(15)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let window = format!("/ipam/notifications?created_after={after}&created_before={before}");
    assert_eq!(ids(u.get(&window.replace('+', "%2B")).await.assert_status(200)), [mid]);
}

#[tokio::test]
async fn each_bad_filter_is_a_422_naming_its_parameter() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let r = u
        .get("/ipam/notifications?is_read=maybe&severity=loud&notification_type=gossip&created_after=soon&page=0")
        .await;
    assert_eq!(named(&r), ["created_after", "is_read", "notification_type", "page", "severity"]);
    let r = u.get("/ipam/notifications?created_after=2026-02-01&created_before=2026-01-01").await;
    assert_eq!(named(&r), ["created_before"]);
}

#[tokio::test]
async fn marking_read_and_unread_sets_and_clears_read_at_and_moves_the_unread_summary() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let mut made = Vec::new();
    for minutes_ago in (1..=7).rev() {
        made.push(notify(&app, "alice", NotificationType::EventRule, Severity::Info, minutes_ago).await);
    }
    let summary = u.get("/ipam/notifications/unread").await.assert_status(200).clone();
    assert_eq!(summary["unread_count"], 7);
    let recent: Vec<String> = summary["recent"].as_array().unwrap().iter().map(|n| text(n, "_id")).collect();
    let newest_five: Vec<String> = made.iter().rev().take(5).cloned().collect();
    assert_eq!(recent, newest_five);

    let newest = made.last().unwrap();
    let read =
        u.patch(&format!("/ipam/notifications/{newest}"), json!({"is_read": true})).await.assert_status(200).clone();
    assert_eq!((read["is_read"].clone(), text(&read, "notification_id")), (json!(true), newest.clone()));
    assert!(read["read_at"].is_string());
    assert_eq!(u.get("/ipam/notifications/unread").await.assert_status(200)["unread_count"], 6);

    let unread =
        u.patch(&format!("/ipam/notifications/{newest}"), json!({"is_read": false})).await.assert_status(200).clone();
    assert_eq!((unread["is_read"].clone(), unread["read_at"].clone()), (json!(false), Value::Null));

    let r = u.patch(&format!("/ipam/notifications/{newest}"), json!({})).await;
    assert_eq!(named(&r), ["is_read"]);
}

#[tokio::test]
async fn read_all_marks_every_unread_one_and_delete_removes_one() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let a = notify(&app, "alice", NotificationType::EventRule, Severity::Info, 3).await;
    notify(&app, "alice", NotificationType::EventRule, Severity::Info, 2).await;
    notify(&app, "bob", NotificationType::EventRule, Severity::Info, 1).await;

    assert_eq!(
        u.post("/ipam/notifications/read-all", json!({})).await.assert_status(200).clone(),
        json!({"updated": 2})
    );
    assert_eq!(u.post("/ipam/notifications/read-all", json!({})).await.assert_status(200)["updated"], 0);
    assert_eq!(app.user("bob").get("/ipam/notifications/unread").await.assert_status(200)["unread_count"], 1);

    u.delete(&format!("/ipam/notifications/{a}")).await.assert_status(204);
    assert_eq!(u.get("/ipam/notifications").await.assert_status(200)["pagination"]["total_count"], 1);
    u.delete(&format!("/ipam/notifications/{a}")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn another_users_notification_or_rule_is_not_found() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let n = notify(&app, "alice", NotificationType::EventRule, Severity::Info, 1).await;
    let r = rule(&alice, json!({"rule_name": "mine", "conditions": {"event_types": ["host.allocated"]}})).await;
    let rid = text(&r, "rule_id");

    bob.patch(&format!("/ipam/notifications/{n}"), json!({"is_read": true})).await.assert_error(404, "not_found");
    bob.delete(&format!("/ipam/notifications/{n}")).await.assert_error(404, "not_found");
    bob.get(&format!("/ipam/notifications/rules/{rid}")).await.assert_error(404, "not_found");
    bob.patch(&format!("/ipam/notifications/rules/{rid}"), json!({"is_active": false}))
        .await
        .assert_error(404, "not_found");
    bob.delete(&format!("/ipam/notifications/rules/{rid}")).await.assert_error(404, "not_found");
    bob.patch("/ipam/notifications/not-an-id", json!({"is_read": true})).await.assert_error(404, "not_found");
    assert_eq!(bob.get("/ipam/notifications/rules").await.assert_status(200)["pagination"]["total_count"], 0);
    assert_eq!(alice.get(&format!("/ipam/notifications/rules/{rid}")).await.assert_status(200)["rule_name"], "mine");
}

#[tokio::test]
async fn notifications_and_rules_need_a_token_and_the_right_permission() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    anon.get("/ipam/notifications/unread").await.assert_error(401, "unauthorized");
    anon.get("/ipam/notifications/rules").await.assert_error(401, "unauthorized");
    anon.post("/ipam/notifications/read-all", json!({})).await.assert_error(401, "unauthorized");

    let reader = app.caller("reader", &[Permission::Read]);
    reader.get("/ipam/notifications").await.assert_status(200);
    reader.get("/ipam/notifications/rules").await.assert_status(200);
    reader.post("/ipam/notifications/read-all", json!({})).await.assert_error(403, "forbidden");
    let body = json!({"rule_name": "r", "conditions": {"event_types": ["host.allocated"]}});
    reader.post("/ipam/notifications/rules", body).await.assert_error(403, "forbidden");
}

#[tokio::test]
async fn every_notification_route_is_in_the_standard_rate_limit_class() {
    let app = spawn_app_with(|s| {
        s.rate_limits = Switch::On;
        s.rate_limit_standard = 7;
    })
    .await;
    let u = app.user("alice");
    let n = notify(&app, "alice", NotificationType::EventRule, Severity::Info, 1).await;
    let r = rule(&u, json!({"rule_name": "r", "conditions": {"event_types": ["host.allocated"]}})).await;
    let rid = text(&r, "rule_id");
    let responses = [
        u.get("/ipam/notifications").await,
        u.get("/ipam/notifications/unread").await,
        u.patch(&format!("/ipam/notifications/{n}"), json!({"is_read": true})).await,
        u.post("/ipam/notifications/read-all", json!({})).await,
        u.get("/ipam/notifications/rules").await,
        u.get(&format!("/ipam/notifications/rules/{rid}")).await,
    ];
    for r in &responses {
        assert!(r.status.is_success(), "{}", r.text);
        assert_eq!(r.header("x-ratelimit-limit"), Some("7"), "{}", r.text);
    }
    // The rule's creation and these six spent the whole budget.
    u.delete(&format!("/ipam/notifications/{n}")).await.assert_error(429, "rate_limit_exceeded");
}

#[tokio::test]
async fn the_static_paths_are_never_taken_for_an_id_and_the_document_lists_every_route() {
    let app = spawn_app().await;
    let u = app.user("alice");
    u.patch("/ipam/notifications/unread", json!({"is_read": true})).await.assert_error(405, "method_not_allowed");
    u.delete("/ipam/notifications/read-all").await.assert_error(405, "method_not_allowed");
    u.delete("/ipam/notifications/rules").await.assert_error(405, "method_not_allowed");

    let doc = app.anonymous().get("/openapi.json").await.assert_status(200).clone();
    for path in [
        "/ipam/notifications",
        "/ipam/notifications/unread",
        "/ipam/notifications/read-all",
        "/ipam/notifications/{notification}",
        "/ipam/notifications/rules",
        "/ipam/notifications/rules/{rule}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let list = &doc["paths"]["/ipam/notifications"]["get"]["responses"]["200"];
    assert!(list.is_object(), "{list}");
}
