//! Webhooks: `/ipam/webhooks` (create, list, get, patch, delete), the delivery log, the test ping
//! and the manual retry, with deliveries made to a real HTTP receiver on loopback. Workers are
//! off in test apps: `state.platform.drain()` runs dispatch and every due delivery, and the
//! manual clock makes retries due.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use ipam_core::clock::Clock;
use ipam_core::configuration::Settings;
use ipam_tests::json::{keys, text, time};
use ipam_tests::{Caller, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
// HMAC-SHA256 (the receiver's check; the tests cannot depend on the product's signing code)
// ---------------------------------------------------------------------------------------------

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
];

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for (k, wi) in K.iter().zip(w.iter()) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(*k).wrapping_add(*wi);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// `sha256=<hex HMAC-SHA256(key, body)>`.
fn signature(key: &str, body: &[u8]) -> String {
    let mut k = key.as_bytes().to_vec();
    if k.len() > 64 {
        k = sha256(&k).to_vec();
    }
    k.resize(64, 0);
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(body);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    let mac = sha256(&outer);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[test]
fn the_receivers_hmac_matches_the_rfc_4231_test_vector() {
    assert_eq!(
        signature("Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

// ---------------------------------------------------------------------------------------------
// A local HTTP receiver
// ---------------------------------------------------------------------------------------------

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    /// Headers, names lowercased.
    headers: HashMap<String, String>,
    /// The raw body bytes.
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

/// A loopback HTTP server that records every request and answers with scripted statuses, then
/// with the default status.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    default: Arc<AtomicU16>,
}

impl Receiver {
    /// Answers `script` in order, then `default`.
    async fn start(script: &[u16], default: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("receiver binds");
        let port = listener.local_addr().expect("receiver address").port();
        let receiver = Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            received: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            default: Arc::new(AtomicU16::new(default)),
        };
        let r = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let r = r.clone();
                tokio::spawn(async move {
                    let _ = r.serve(stream).await;
                });
            }
        });
        receiver
    }

    /// Always answers `status`.
    async fn answering(status: u16) -> Self {
        Self::start(&[], status).await
    }

    fn set_default(&self, status: u16) {
        self.default.store(status, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("receiver lock").clone()
    }

    async fn serve(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let headers: HashMap<String, String> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        let status = {
            let mut script = self.script.lock().expect("receiver lock");
            script.pop_front().unwrap_or_else(|| self.default.load(Ordering::SeqCst))
        };
        self.received.lock().expect("receiver lock").push(Received { headers, body });
        let response = format!("HTTP/1.1 {status} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    }
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
