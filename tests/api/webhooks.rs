//! Webhooks: `/ipam/webhooks` (create, list, get, patch, delete), the delivery log, the test ping
//! and the manual retry, with deliveries made to a real HTTP receiver on loopback. Workers are
//! off in test apps: `state.platform.drain()` runs dispatch and every due delivery, and the
//! manual clock makes retries due.

use chrono::Duration;
use ipam_core::clock::Clock;
use ipam_core::configuration::Settings;
use ipam_tests::json::{keys, text, time};
use ipam_tests::receiver::{Received, Receiver, signature};
use ipam_tests::{Caller, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Settings that let webhooks reach the loopback receiver.
fn private_targets(s: &mut Settings) {
    s.webhook_allow_private_targets = true;
}

/// An app whose webhooks may post to loopback.
async fn app() -> TestApp {
    spawn_app_with(private_targets).await
}

/// Runs dispatch and every due delivery.
async fn drain(app: &TestApp) {
    app.state.platform.drain().await.expect("the job platform drains");
}

/// Moves the clock a minute on (past any early retry) and drains.
async fn later(app: &TestApp) {
    app.clock.advance(Duration::seconds(60));
    drain(app).await;
}

/// Creates a webhook and returns its body (panics unless 201).
async fn webhook(u: &Caller<'_>, url: &str, events: &[&str]) -> Value {
    let r = u.post("/ipam/webhooks", json!({"webhook_url": url, "events": events})).await;
    r.assert_status(201).clone()
}

/// The deliveries of a webhook, newest first.
async fn deliveries(u: &Caller<'_>, id: &str) -> Vec<Value> {
    let r = u.get(&format!("/ipam/webhooks/{id}/deliveries")).await;
    r.assert_status(200)["results"].as_array().expect("results is an array").clone()
}

/// The single delivery of a webhook.
async fn only_delivery(u: &Caller<'_>, id: &str) -> Value {
    let all = deliveries(u, id).await;
    assert_eq!(all.len(), 1, "expected one delivery: {all:?}");
    all[0].clone()
}

/// A webhook as its owner sees it.
async fn get_webhook(u: &Caller<'_>, id: &str) -> Value {
    u.get(&format!("/ipam/webhooks/{id}")).await.assert_status(200).clone()
}

// ---------------------------------------------------------------------------------------------
// Creating, reading and owning webhooks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_webhook_shows_its_secret_once_and_only_its_owner_sees_it() {
    let app = app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");

    let r = alice
        .post(
            "/ipam/webhooks",
            json!({"webhook_url": "http://127.0.0.1:9/hook", "events": ["host.allocated", "region.created"]}),
        )
        .await;
    let created = r.assert_status(201).clone();
    let id = text(&created, "webhook_id");
    assert_eq!(created["_id"], created["webhook_id"]);
    assert!(text(&created, "secret_key").starts_with("whsec_"), "{created}");
    let mut events: Vec<String> =
        created["events"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned()).collect();
    events.sort();
    assert_eq!(events, ["host.allocated", "region.created"]);
    assert_eq!(created["is_active"], true);
    assert_eq!(created["failure_count"], 0);
    assert_eq!(created["webhook_url"], "http://127.0.0.1:9/hook");

    let one = get_webhook(&alice, &id).await;
    assert!(one.get("secret_key").is_none(), "GET shows the secret: {one}");
    assert_eq!(one["webhook_id"], id.as_str());

    let list = alice.get("/ipam/webhooks").await.assert_status(200).clone();
    let results = list["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{list}");
    assert!(results[0].get("secret_key").is_none(), "the list shows the secret: {list}");
    assert!(!list.to_string().contains(&text(&created, "secret_key")));

    // Another user neither sees nor touches it.
    let bobs = bob.get("/ipam/webhooks").await.assert_status(200).clone();
    assert_eq!(bobs["results"].as_array().unwrap().len(), 0, "{bobs}");
    bob.get(&format!("/ipam/webhooks/{id}")).await.assert_error(404, "not_found");
    bob.patch(&format!("/ipam/webhooks/{id}"), json!({"is_active": false})).await.assert_error(404, "not_found");
    bob.get(&format!("/ipam/webhooks/{id}/deliveries")).await.assert_error(404, "not_found");
    bob.delete(&format!("/ipam/webhooks/{id}")).await.assert_error(404, "not_found");

    // Still there, unchanged.
    let after = get_webhook(&alice, &id).await;
    assert_eq!(after["is_active"], true);
}

#[tokio::test]
async fn invalid_urls_and_event_lists_are_422_naming_the_field() {
    let app = app().await;
    let u = app.user("alice");
    let good_url = "http://127.0.0.1:9/hook";
    let long_url = format!("https://example.com/{}", "a".repeat(500));
    // Eleven distinct subscribable names, one over the limit (duplicates are merged, so they do not count).
    let eleven = [
        "region.created",
        "region.updated",
        "region.retired",
        "host.allocated",
        "host.updated",
        "host.released",
        "reservation.created",
        "reservation.converted",
        "reservation.expired",
        "capacity.warning",
        "capacity.critical",
    ];
    let cases = [
        ("webhook_url", json!({"webhook_url": "ftp://example.com/hook", "events": ["host.allocated"]})),
        ("webhook_url", json!({"webhook_url": "http://", "events": ["host.allocated"]})),
        ("webhook_url", json!({"webhook_url": long_url, "events": ["host.allocated"]})),
        ("events", json!({"webhook_url": good_url, "events": []})),
        ("events", json!({"webhook_url": good_url, "events": ["host.exploded"]})),
        ("events", json!({"webhook_url": good_url, "events": eleven})),
    ];
    for (field, body) in cases {
        let r = u.post("/ipam/webhooks", body.clone()).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "expected details.{field} for {body}: {}", r.text);
    }
    let list = u.get("/ipam/webhooks").await.assert_status(200).clone();
    assert_eq!(list["results"].as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let app = spawn_app().await;
    let u = app.user("alice");
    for url in ["http://127.0.0.1:9/h", "http://localhost:9/h"] {
        let r = u.post("/ipam/webhooks", json!({"webhook_url": url, "events": ["host.allocated"]})).await;
        r.assert_error(422, "validation_error");
        let detail = r.json["details"]["webhook_url"].as_str().unwrap_or_else(|| panic!("{url}: {}", r.text));
        assert!(detail.contains("public address"), "{url}: {detail}");
        assert!(detail.contains("IPAM_WEBHOOK_ALLOW_PRIVATE_TARGETS"), "the fix is named: {detail}");
        assert!(!detail.contains("127.0.0.1") && !detail.contains("localhost"), "nothing is echoed: {detail}");
    }
}

// ---------------------------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_allocation_reaches_the_receiver_signed_over_the_exact_body() {
    let app = app().await;
    let u = app.user("alice");
    let receiver = Receiver::answering(200).await;
    let hook = webhook(&u, &receiver.url, &["host.allocated", "region.created"]).await;
    let id = text(&hook, "webhook_id");
    let secret = text(&hook, "secret_key");

    let region = u.create_region("USA", "r1").await;
    let region_id = text(&region, "region_id");
    let host = u
        .post(
            "/ipam/hosts",
            json!({"region_id": region_id, "hostname": "web-01", "notes": "secret note", "owner": "team-x"}),
        )
        .await
        .assert_status(201)
        .clone();
    drain(&app).await;

    let got = receiver.received();
    assert_eq!(got.len(), 2, "{got:?}");
    let mut types: Vec<String> = got.iter().map(|r| text(&r.json(), "event_type")).collect();
    types.sort();
    assert_eq!(types, ["host.allocated", "region.created"]);
    for r in &got {
        let sig = r.header("x-ipam-signature").expect("X-IPAM-Signature");
        assert_eq!(sig, signature(&secret, &r.body), "signature over the raw body");
        assert_ne!(sig, signature("whsec_other", &r.body));
        let body = r.json();
        assert_eq!(r.header("x-ipam-event"), Some(text(&body, "event_type").as_str()));
        assert!(r.header("x-ipam-delivery").is_some_and(|v| !v.is_empty()), "{r:?}");
        let ts: i64 = r.header("x-ipam-timestamp").expect("X-IPAM-Timestamp").parse().expect("unix seconds");
        assert!((ts - app.clock.now().timestamp()).abs() < 120, "timestamp {ts}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(keys(&body), ["data", "event_id", "event_type", "timestamp", "user_id"]);
        assert_eq!(body["user_id"], "alice");
        time(&body, "timestamp");
    }
    let host_event = got.iter().map(Received::json).find(|b| b["event_type"] == "host.allocated").unwrap();
    let data = &host_event["data"];
    assert_eq!(keys(data), ["host_id", "hostname", "ip_address", "region_id"], "{data}");
    assert_eq!(data["host_id"], host["host_id"]);
    assert_eq!(data["hostname"], host["hostname"]);
    assert_eq!(data["ip_address"], host["ip_address"]);
    assert_eq!(data["region_id"], region_id.as_str());
    assert!(!String::from_utf8_lossy(&got[0].body).contains("secret note"));
    assert!(!String::from_utf8_lossy(&got[1].body).contains("secret note"));

    let log = deliveries(&u, &id).await;
    assert_eq!(log.len(), 2, "{log:?}");
    for d in &log {
        assert_eq!(d["state"], "succeeded", "{d}");
        assert_eq!(d["attempt"], 1, "{d}");
        assert_eq!(d["status_code"], 200, "{d}");
        assert_eq!(d["next_retry_at"], Value::Null, "{d}");
        let delivered = got.iter().find(|r| r.header("x-ipam-delivery") == d["delivery_id"].as_str()).expect("seen");
        assert_eq!(delivered.json()["event_id"], d["event_id"]);
    }
    let after = get_webhook(&u, &id).await;
    assert!(after["last_delivery"].is_string(), "{after}");

    // Nothing is sent twice.
    later(&app).await;
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_growing_delays_under_the_same_delivery_id() {
    let app = app().await;
    let u = app.user("alice");
    let receiver = Receiver::start(&[500, 500], 200).await;
    let hook = webhook(&u, &receiver.url, &["region.created"]).await;
    let id = text(&hook, "webhook_id");
    u.create_region("USA", "r1").await;

    drain(&app).await;
    assert_eq!(receiver.received().len(), 1);
    let first = only_delivery(&u, &id).await;
    assert_eq!(first["state"], "pending", "{first}");
    assert_eq!(first["status_code"], 500, "{first}");
    assert!(first["next_retry_at"].is_string(), "{first}");

    // Not due yet: draining again sends nothing.
    drain(&app).await;
    assert_eq!(receiver.received().len(), 1);

    later(&app).await;
    assert_eq!(receiver.received().len(), 2);
    later(&app).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    let ids: Vec<&str> = got.iter().map(|r| r.header("x-ipam-delivery").unwrap()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert!(got.iter().all(|r| r.body == got[0].body), "the same body every time");

    let d = only_delivery(&u, &id).await;
    assert_eq!(d["delivery_id"], ids[0]);
    assert_eq!(d["attempt"], 3, "{d}");
    assert_eq!(d["state"], "succeeded", "{d}");
    assert_eq!(d["status_code"], 200, "{d}");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{d}");
    for (n, a) in attempts.iter().enumerate() {
        assert_eq!(a["attempt"], n + 1, "{d}");
    }
    for a in &attempts[..2] {
        assert_eq!(a["status_code"], 500, "{d}");
        assert!(a["error"].as_str().is_some_and(|e| e.contains("500")), "{d}");
        assert!(a["next_retry_at"].is_string(), "{d}");
    }
    assert_eq!(attempts[2]["next_retry_at"], Value::Null, "{d}");
    let gap = |a: &Value| time(a, "next_retry_at") - time(a, "attempted_at");
    assert!(gap(&attempts[0]) > Duration::zero(), "{d}");
    assert!(gap(&attempts[1]) > gap(&attempts[0]), "backoff grows: {d}");
}

#[tokio::test]
async fn a_dead_delivery_can_be_retried_by_hand() {
    let app = spawn_app_with(|s| {
        private_targets(s);
        s.webhook_max_attempts = 2;
    })
    .await;
    let u = app.user("alice");
    let receiver = Receiver::answering(500).await;
    let hook = webhook(&u, &receiver.url, &["region.created"]).await;
    let id = text(&hook, "webhook_id");
    u.create_region("USA", "r1").await;

    drain(&app).await;
    later(&app).await;
    later(&app).await;
    assert_eq!(receiver.received().len(), 2, "max attempts is 2");
    let dead = only_delivery(&u, &id).await;
    assert_eq!(dead["state"], "dead", "{dead}");
    assert_eq!(dead["attempt"], 2, "{dead}");
    assert_eq!(dead["next_retry_at"], Value::Null, "{dead}");
    assert_eq!(get_webhook(&u, &id).await["failure_count"], 1);
    let delivery_id = text(&dead, "delivery_id");

    let retry = format!("/ipam/webhooks/{id}/deliveries/{delivery_id}/retry");
    let r = u.post(&retry, json!({})).await;
    let queued = r.assert_status(202).clone();
    assert_eq!(queued["delivery_id"], delivery_id.as_str());
    assert_eq!(queued["status_url"], format!("/ipam/webhooks/{id}/deliveries"));

    // Now pending again: a second retry is a conflict.
    let again = u.post(&retry, json!({})).await;
    assert_eq!(again.code(), 409, "{}", again.text);
    // Another user cannot retry it.
    app.user("bob").post(&retry, json!({})).await.assert_error(404, "not_found");

    receiver.set_default(200);
    drain(&app).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].header("x-ipam-delivery"), Some(delivery_id.as_str()));
    let d = only_delivery(&u, &id).await;
    assert_eq!(d["state"], "succeeded", "{d}");
    assert_eq!(d["attempt"], 3, "{d}");
    assert_eq!(get_webhook(&u, &id).await["failure_count"], 0);

    // A succeeded delivery cannot be retried either.
    let done = u.post(&retry, json!({})).await;
    assert_eq!(done.code(), 409, "{}", done.text);
}

#[tokio::test]
async fn ten_dead_deliveries_disable_the_webhook_until_it_is_enabled_again() {
    let app = spawn_app_with(|s| {
        private_targets(s);
        s.webhook_max_attempts = 1;
    })
    .await;
    let u = app.user("alice");
    let receiver = Receiver::answering(500).await;
    let hook = webhook(&u, &receiver.url, &["region.created"]).await;
    let id = text(&hook, "webhook_id");

    for _ in 0..10 {
        u.post(&format!("/ipam/webhooks/{id}/test"), json!({})).await.assert_status(202);
    }
    drain(&app).await;
    assert_eq!(receiver.received().len(), 10);

    let w = get_webhook(&u, &id).await;
    assert_eq!(w["is_active"], false, "{w}");
    assert_eq!(w["failure_count"], 10, "{w}");
    assert!(w["disabled_reason"].as_str().is_some_and(|r| !r.is_empty()), "{w}");
    let log = deliveries(&u, &id).await;
    assert_eq!(log.len(), 10);
    assert!(log.iter().all(|d| d["state"] == "dead"), "{log:?}");

    // Disabled: new events are not sent, and neither tests nor retries are accepted.
    u.post(&format!("/ipam/webhooks/{id}/test"), json!({})).await.assert_error(409, "conflict");
    let dead = text(&log[0], "delivery_id");
    u.post(&format!("/ipam/webhooks/{id}/deliveries/{dead}/retry"), json!({})).await.assert_error(409, "conflict");
    u.create_region("USA", "r1").await;
    drain(&app).await;
    assert_eq!(receiver.received().len(), 10, "a disabled webhook receives nothing");

    let r = u.patch(&format!("/ipam/webhooks/{id}"), json!({"is_active": true})).await;
    let enabled = r.assert_status(200).clone();
    assert_eq!(enabled["is_active"], true, "{enabled}");
    assert_eq!(enabled["failure_count"], 0, "{enabled}");
    assert_eq!(enabled["disabled_reason"], Value::Null, "{enabled}");

    receiver.set_default(200);
    u.create_region("USA", "r2").await;
    drain(&app).await;
    let got = receiver.received();
    assert_eq!(got.last().map(|r| text(&r.json(), "event_type")).as_deref(), Some("region.created"));
}

#[tokio::test]
async fn a_test_ping_is_queued_and_delivered() {
    let app = app().await;
    let u = app.user("alice");
    let receiver = Receiver::answering(200).await;
    let hook = webhook(&u, &receiver.url, &["host.allocated"]).await;
    let id = text(&hook, "webhook_id");
    let secret = text(&hook, "secret_key");

    let r = u.post(&format!("/ipam/webhooks/{id}/test"), json!({})).await;
    let queued = r.assert_status(202).clone();
    let delivery_id = text(&queued, "delivery_id");
    assert_eq!(queued["status_url"], format!("/ipam/webhooks/{id}/deliveries"));

    drain(&app).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let body = got[0].json();
    assert_eq!(body["event_type"], "ping", "{body}");
    assert_eq!(got[0].header("x-ipam-event"), Some("ping"));
    assert_eq!(got[0].header("x-ipam-delivery"), Some(delivery_id.as_str()));
    assert_eq!(got[0].header("x-ipam-signature").unwrap(), signature(&secret, &got[0].body));

    let d = only_delivery(&u, &id).await;
    assert_eq!(d["delivery_id"], delivery_id.as_str());
    assert_eq!(d["event_type"], "ping");
    assert_eq!(d["state"], "succeeded");

    app.user("bob").post(&format!("/ipam/webhooks/{id}/test"), json!({})).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn deleting_a_webhook_removes_it_and_its_delivery_log() {
    let app = app().await;
    let u = app.user("alice");
    let receiver = Receiver::answering(200).await;
    let hook = webhook(&u, &receiver.url, &["region.created"]).await;
    let id = text(&hook, "webhook_id");
    u.create_region("USA", "r1").await;
    drain(&app).await;
    assert_eq!(deliveries(&u, &id).await.len(), 1);

    let r = u.delete(&format!("/ipam/webhooks/{id}")).await;
    assert_eq!(r.code(), 204, "{}", r.text);
    assert!(r.text.is_empty());
    u.get(&format!("/ipam/webhooks/{id}/deliveries")).await.assert_error(404, "not_found");
    u.get(&format!("/ipam/webhooks/{id}")).await.assert_error(404, "not_found");
    u.delete(&format!("/ipam/webhooks/{id}")).await.assert_error(404, "not_found");

    // Later events go nowhere.
    u.create_region("USA", "r2").await;
    drain(&app).await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_delivery_pending_when_its_webhook_is_disabled_is_closed_without_counting_a_failure() {
    let app = app().await;
    let u = app.user("alice");
    let receiver = Receiver::answering(200).await;
    let hook = webhook(&u, &receiver.url, &["region.created"]).await;
    let id = text(&hook, "webhook_id");
    u.create_region("USA", "before-disable").await;
    // The event is fanned out while the webhook is active, but not yet delivered.
    app.state.ipam.store().dispatch_events(100, app.clock.now()).await.unwrap();
    u.patch(&format!("/ipam/webhooks/{id}"), json!({"is_active": false})).await.assert_status(200);

    drain(&app).await;

    assert!(receiver.received().is_empty(), "nothing is sent to a disabled webhook");
    let d = only_delivery(&u, &id).await;
    assert_eq!(d["state"], "dead", "{d}");
    assert!(text(&d, "error").contains("disabled"), "{d}");
    assert_eq!(get_webhook(&u, &id).await["failure_count"], 0, "not the receiver's failure");
}
