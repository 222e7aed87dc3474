//! Notifications as a user notices them, end to end over HTTP: rules fire when the outbox is
//! dispatched (threshold crossings with their cooldown, event rules), the bell's unread summary,
//! the user's notification settings, isolation between users, the `webhook` channel to a real
//! signed receiver on loopback, the scheduled rule catch-up, and the system's own notices
//! (reservations expiring and expired, a webhook disabled). Workers are off: every test drains
//! dispatch and deliveries explicitly and moves the manual clock.

use chrono::Duration;
use ipam_core::configuration::Settings;
use ipam_jobs::{Envelope, Job, ScheduleName};
use ipam_tests::json::{text, time};
use ipam_tests::receiver::{Receiver, signature};
use ipam_tests::{Caller, TestApp, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

use super::rule;

/// Runs dispatch (rules and notices included) and every due delivery.
async fn drain(app: &TestApp) {
    app.state.platform.drain().await.expect("the job platform drains");
}

/// The bell's summary: `{unread_count, recent}`.
async fn bell(u: &Caller<'_>) -> Value {
    u.get("/ipam/notifications/unread").await.assert_status(200).clone()
}

/// Every notification of the caller, newest first.
async fn inbox(u: &Caller<'_>) -> Vec<Value> {
    let page = u.get("/ipam/notifications?page_size=100").await.assert_status(200).clone();
    page["results"].as_array().expect("results").clone()
}

/// Releases the first `count` of `hosts` in one bulk request and forgets them.
async fn release(u: &Caller<'_>, hosts: &mut Vec<String>, count: usize) {
    let gone: Vec<String> = hosts.drain(..count).collect();
    let body = json!({"host_ids": gone, "reason": "making room again"});
    let r = u.post("/ipam/hosts/bulk-release", body).await.assert_status(200).clone();
    assert_eq!(r["total_released"], count, "{r}");
}

/// A rule watching every region of the caller at 50 %, sent through `channels`.
async fn half_full_rule(u: &Caller<'_>, channels: &[&str]) -> Value {
    let conditions = json!({"utilization_threshold": 50, "resource_type": "region"});
    rule(u, json!({"rule_name": "Half full", "conditions": conditions, "notification_channels": channels})).await
}

/// Replaces the caller's notification settings.
async fn settings(u: &Caller<'_>, s: Value) {
    u.send(Method::PUT, "/ipam/preferences", Some(&json!({"notification_settings": s}))).await.assert_status(200);
}

/// Runs a schedule as operators do: an administrator queues it through the API, a worker runs
/// the queued tick (the test app has none, so the test runs it), then events are drained.
async fn run_schedule(app: &TestApp, name: &str) {
    let queued = app.admin("root").post(&format!("/ipam/admin/schedules/{name}/run"), json!({})).await;
    let tick = time(queued.assert_status(202), "tick_at");
    let schedule = ScheduleName::parse(name).expect("a schedule");
    app.state.platform.execute(Envelope::new(Job::Scheduled { schedule, tick })).await.expect("the run is recorded");
    let list = app.admin("root").get("/ipam/admin/schedules").await.assert_status(200).clone();
    let runs = &list["results"].as_array().expect("schedules").iter().find(|s| s["name"] == name).expect("listed")["recent_runs"];
    assert_eq!(runs[0]["outcome"], "succeeded", "{name} ran: {}", runs[0]);
    drain(app).await;
}

#[tokio::test]
async fn a_half_full_region_rule_fires_once_per_crossing_and_not_again_within_its_cooldown() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("USA", "dc-east").await, "region_id");
    half_full_rule(&u, &["in_app"]).await;

    let mut hosts = u.allocate_hosts(&rid, "web", 126).await;
    drain(&app).await;
    assert_eq!(bell(&u).await, json!({"unread_count": 0, "recent": []}), "126 of 254 is below 50 %");
    hosts.extend(u.allocate_hosts(&rid, "web", 1).await);
    drain(&app).await;
    let summary = bell(&u).await;
    assert_eq!(summary["unread_count"], 1, "{summary}");
    let n = &summary["recent"][0];
    assert_eq!(n["_id"], n["notification_id"], "{n}");
    assert!(n["_id"].as_str().is_some_and(|id| !id.is_empty()), "{n}");
    assert_eq!(
        (n["notification_type"].clone(), n["severity"].clone()),
        (json!("capacity_threshold"), json!("warning"))
    );
    assert_eq!(n["resource_link"], format!("/ipam/regions/{rid}"), "{n}");
    assert!(text(n, "message").contains("is at 50.0% (127 of 254 hosts)"), "{n}");

    hosts.extend(u.allocate_hosts(&rid, "web", 20).await);
    drain(&app).await;
    assert_eq!(bell(&u).await["unread_count"], 1, "staying above the threshold is not a new crossing");

    // Each step is dispatched before the next, as a worker would: rules observe a region's
    // utilisation when its event is dispatched, so a dip undone before dispatch is not seen.
    release(&u, &mut hosts, 30).await; // 117 of 254
    drain(&app).await;
    hosts.extend(u.allocate_hosts(&rid, "web", 20).await); // 137 of 254
    drain(&app).await;
    assert_eq!(bell(&u).await["unread_count"], 1, "a fresh crossing within the 60-minute cooldown is silent");

    app.clock.advance(Duration::minutes(61));
    release(&u, &mut hosts, 30).await; // 107 of 254
    drain(&app).await;
    u.allocate_hosts(&rid, "web", 30).await; // 137 of 254
    drain(&app).await;
    let summary = bell(&u).await;
    assert_eq!(summary["unread_count"], 2, "a crossing after the cooldown fires again: {summary}");
    assert!(text(&summary["recent"][0], "message").contains("(137 of 254 hosts)"), "{summary}");
}

#[tokio::test]
async fn the_bell_shows_the_five_newest_unread_and_reading_them_empties_it() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("USA", "r1").await, "region_id");
    rule(&u, json!({"rule_name": "New hosts", "conditions": {"event_types": ["host.allocated"]}})).await;
    for i in 1..=7 {
        u.create_host(&rid, &format!("web-0{i}")).await;
        drain(&app).await;
        app.clock.advance(Duration::seconds(1));
    }

    let summary = bell(&u).await;
    assert_eq!(summary["unread_count"], 7, "{summary}");
    let recent = summary["recent"].as_array().expect("recent").clone();
    let named: Vec<bool> =
        recent.iter().zip(["07", "06", "05", "04", "03"]).map(|(n, i)| text(n, "message").contains(i)).collect();
    assert_eq!(named, [true; 5], "the five newest, newest first: {summary}");
    assert!(recent.iter().all(|n| n["_id"].is_string() && n["is_read"] == false), "{summary}");

    let newest = text(&recent[0], "_id");
    u.patch(&format!("/ipam/notifications/{newest}"), json!({"is_read": true})).await.assert_status(200);
    let summary = bell(&u).await;
    assert_eq!(summary["unread_count"], 6, "{summary}");
    assert!(text(&summary["recent"][0], "message").contains("web-06"), "the read one left the bell: {summary}");

    let all = u.post("/ipam/notifications/read-all", json!({})).await.assert_status(200).clone();
    assert_eq!(all, json!({"updated": 6}));
    assert_eq!(bell(&u).await, json!({"unread_count": 0, "recent": []}));
    assert_eq!(inbox(&u).await.len(), 7, "read notifications are kept");
    assert_eq!(bell(&app.user("newcomer")).await, json!({"unread_count": 0, "recent": []}));
}

#[tokio::test]
async fn an_inbox_switched_off_stores_nothing_until_it_is_switched_on_again() {
    let app = spawn_app().await;
    let u = app.user("alice");
    rule(&u, json!({"rule_name": "Regions", "conditions": {"event_types": ["region.created"]}})).await;
    settings(&u, json!({"in_app_enabled": false})).await;
    u.create_region("USA", "quiet").await;
    drain(&app).await;
    assert!(inbox(&u).await.is_empty(), "in_app_enabled false stores nothing");

    settings(&u, json!({"in_app_enabled": true})).await;
    u.create_region("USA", "loud").await;
    drain(&app).await;
    let all = inbox(&u).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(text(&all[0], "message").contains("region loud"), "{all:?}");
}

#[tokio::test]
async fn a_critical_severity_threshold_keeps_critical_notifications_only() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("USA", "r1").await, "region_id");
    let events = json!({"event_types": ["host.allocated"]});
    rule(&u, json!({"rule_name": "Quiet", "conditions": events, "severity": "warning"})).await;
    rule(&u, json!({"rule_name": "Loud", "conditions": events, "severity": "critical"})).await;
    settings(&u, json!({"severity_threshold": "critical"})).await;
    u.create_host(&rid, "web-01").await;
    drain(&app).await;
    let all = inbox(&u).await;
    assert_eq!(all.len(), 1, "the warning is dropped: {all:?}");
    assert_eq!(all[0]["severity"], "critical");
    assert!(text(&all[0], "message").starts_with("Rule 'Loud'"), "{all:?}");
}

#[tokio::test]
async fn another_users_allocations_never_fire_a_rule_and_their_inboxes_stay_apart() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    half_full_rule(&alice, &["in_app"]).await;
    let bobs = text(&bob.create_region("USA", "bobs").await, "region_id");
    bob.allocate_hosts(&bobs, "b", 200).await;
    drain(&app).await;
    assert_eq!(bell(&alice).await["unread_count"], 0, "bob's region is not alice's to watch");
    assert_eq!(bell(&bob).await["unread_count"], 0, "alice's rule notifies nobody else");

    let hers = text(&alice.create_region("USA", "hers").await, "region_id");
    alice.allocate_hosts(&hers, "a", 127).await;
    drain(&app).await;
    let summary = bell(&alice).await;
    assert_eq!(summary["unread_count"], 1, "{summary}");
    let id = text(&summary["recent"][0], "_id");
    assert!(inbox(&bob).await.is_empty());
    bob.patch(&format!("/ipam/notifications/{id}"), json!({"is_read": true})).await.assert_error(404, "not_found");
    bob.delete(&format!("/ipam/notifications/{id}")).await.assert_error(404, "not_found");
    assert_eq!(bell(&alice).await["unread_count"], 1, "untouched by bob");
}

#[tokio::test]
async fn a_webhook_channel_rule_posts_a_signed_notification_created_and_leaves_the_inbox_empty() {
    let app = spawn_app_with(|s: &mut Settings| s.webhook_allow_private_targets = true).await;
    let u = app.user("alice");
    let receiver = Receiver::answering(200).await;
    let hook = u
        .post("/ipam/webhooks", json!({"webhook_url": receiver.url, "events": ["notification.created"]}))
        .await
        .assert_status(201)
        .clone();
    let secret = text(&hook, "secret_key");
    half_full_rule(&u, &["webhook"]).await;
    let rid = text(&u.create_region("USA", "dc-east").await, "region_id");
    u.allocate_hosts(&rid, "web", 127).await;
    drain(&app).await;

    let got = receiver.received();
    assert_eq!(got.len(), 1, "one POST for one crossing: {got:?}");
    assert_eq!(got[0].headers.get("x-ipam-event").map(String::as_str), Some("notification.created"));
    let sig = got[0].headers.get("x-ipam-signature").expect("X-IPAM-Signature");
    assert_eq!(sig, &signature(&secret, &got[0].body), "HMAC-SHA256 of the raw body with the webhook's secret");
    let body: Value = serde_json::from_slice(&got[0].body).expect("JSON body");
    assert_eq!((body["event_type"].clone(), body["user_id"].clone()), (json!("notification.created"), json!("alice")));
    let data = &body["data"];
    assert_eq!(data["notification_type"], "capacity_threshold", "{body}");
    assert_eq!(data["resource_link"], format!("/ipam/regions/{rid}"), "{body}");
    let message = text(data, "message");
    assert!(message.starts_with("Rule 'Half full': region dc-east") && message.contains("127 of 254"), "{message}");
    assert!(inbox(&u).await.is_empty(), "the rule's only channel is the webhook");
}

#[tokio::test]
async fn the_catch_up_fires_a_rule_created_above_its_threshold_once() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("USA", "full").await, "region_id");
    u.allocate_hosts(&rid, "web", 200).await;
    drain(&app).await;
    half_full_rule(&u, &["in_app"]).await;
    drain(&app).await;
    assert_eq!(bell(&u).await["unread_count"], 0, "no event crossed the threshold");

    run_schedule(&app, "rule_catch_up").await;
    let summary = bell(&u).await;
    assert_eq!(summary["unread_count"], 1, "{summary}");
    assert_eq!(summary["recent"][0]["resource_link"], format!("/ipam/regions/{rid}"));
    assert!(text(&summary["recent"][0], "message").contains("(200 of 254 hosts)"), "{summary}");

    app.clock.advance(Duration::minutes(15));
    run_schedule(&app, "rule_catch_up").await;
    assert_eq!(bell(&u).await["unread_count"], 1, "the crossing was seen already");
}

#[tokio::test]
async fn a_reservation_is_announced_before_and_after_it_expires() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let body = json!({"resource_type": "region", "x_octet": 99, "y_octet": 9, "reason": "lab", "expires_in_days": 1});
    let id = text(u.post("/ipam/reservations", body).await.assert_status(201), "reservation_id");
    drain(&app).await;
    run_schedule(&app, "reservation_expiry").await;
    let all = inbox(&u).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        (all[0]["notification_type"].clone(), all[0]["severity"].clone()),
        (json!("reservation_expiring"), json!("warning"))
    );
    assert_eq!(all[0]["resource_link"], format!("/ipam/reservations/{id}"));
    app.clock.advance(Duration::hours(1));
    run_schedule(&app, "reservation_expiry").await;
    assert_eq!(inbox(&u).await.len(), 1, "announced once");

    app.clock.advance(Duration::hours(24));
    run_schedule(&app, "reservation_expiry").await;
    let all = inbox(&u).await;
    let types: Vec<&str> = all.iter().filter_map(|n| n["notification_type"].as_str()).collect();
    assert_eq!(types, ["reservation_expired", "reservation_expiring"], "{all:?}");
    assert_eq!(
        (all[0]["severity"].clone(), all[0]["resource_link"].clone()),
        (json!("info"), json!(format!("/ipam/reservations/{id}")))
    );
}

#[tokio::test]
async fn a_webhook_disabled_after_consecutive_failures_raises_one_critical_notice() {
    let app = spawn_app_with(|s: &mut Settings| {
        s.webhook_allow_private_targets = true;
        s.webhook_max_attempts = 1;
        s.webhook_disable_after_failures = 3;
    })
    .await;
    let u = app.user("alice");
    let receiver = Receiver::answering(500).await;
    let hook = u.post("/ipam/webhooks", json!({"webhook_url": receiver.url, "events": ["region.created"]})).await;
    let id = text(hook.assert_status(201), "webhook_id");
    for _ in 0..3 {
        u.post(&format!("/ipam/webhooks/{id}/test"), json!({})).await.assert_status(202);
    }
    drain(&app).await;
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(u.get(&format!("/ipam/webhooks/{id}")).await.assert_status(200)["is_active"], false);

    let summary = bell(&u).await;
    assert_eq!(summary["unread_count"], 1, "{summary}");
    let n = &summary["recent"][0];
    assert_eq!((n["notification_type"].clone(), n["severity"].clone()), (json!("webhook_disabled"), json!("critical")));
    assert_eq!(n["resource_link"], format!("/ipam/webhooks/{id}"));
    assert!(text(n, "message").contains("after 3 consecutive failed deliveries"), "{n}");
}
