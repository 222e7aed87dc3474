//! Authentication, permissions and rate limits.

use chrono::{Duration, Utc};
use ipam_core::auth::{Permission, Permissions, TokenKeys};
use ipam_core::configuration::Switch;
use ipam_core::domain::{UserId, Username};
use ipam_tests::{Caller, TEST_SECRET, TestApp, USER_PERMISSIONS, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let app = spawn_app().await;
    app.anonymous().get("/ipam/regions").await.assert_error(401, "unauthorized");
    app.with_token("not-a-jwt").get("/ipam/regions").await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_missing_permission_is_403_and_names_it() {
    let app = spawn_app().await;
    let reader = app.caller("u1", &[Permission::Read]);
    let r = reader.post("/ipam/regions", json!({"country": "USA", "region_name": "x1"})).await;
    r.assert_error(403, "forbidden");
    assert_eq!(r.json["details"]["required_permission"], "ipam:allocate");
}

/// A token signed with `secret` for `user`, issued at `issued` and valid for `ttl`.
fn mint(secret: &str, user: &str, permissions: &[Permission], issued: chrono::DateTime<Utc>, ttl: Duration) -> String {
    TokenKeys::new(&SecretString::from(secret.to_owned()))
        .mint(
            &UserId::parse(user).expect("user id"),
            &Username::parse(user).expect("username"),
            Permissions::of(permissions),
            ttl,
            issued,
        )
        .expect("token mints")
}

/// Sends a GET with a raw `Authorization` header value; returns the status and the JSON body.
async fn get_with_authorization(app: &TestApp, path: &str, value: &[u8]) -> (StatusCode, Value) {
    let header = reqwest::header::HeaderValue::from_bytes(value).expect("header value");
    let r = app
        .client
        .get(format!("{}{}", app.address, path))
        .header(reqwest::header::AUTHORIZATION, header)
        .send()
        .await
        .expect("request is sent");
    let status = r.status();
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

fn assert_unauthorized(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
    assert_eq!(body["success"], false, "{what}: {body}");
    assert_eq!(body["error"], "unauthorized", "{what}: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
}

#[tokio::test]
async fn an_expired_token_is_401_saying_so() {
    let app = spawn_app().await;
    let expired = mint(TEST_SECRET, "alice", USER_PERMISSIONS, Utc::now() - Duration::hours(2), Duration::hours(1));

    let r = app.with_token(&expired).get("/ipam/regions").await;

    r.assert_error(401, "unauthorized");
    assert!(r.json["message"].as_str().unwrap().contains("expired"), "{}", r.text);
}

#[tokio::test]
async fn a_fresh_token_minted_with_the_same_secret_is_accepted() {
    let app = spawn_app().await;
    let token = mint(TEST_SECRET, "alice", USER_PERMISSIONS, Utc::now(), Duration::minutes(5));

    app.with_token(&token).get("/ipam/regions").await.assert_status(200);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_401() {
    let app = spawn_app().await;
    let forged = mint("another-secret-0123456789abcdef", "alice", &[Permission::Admin], Utc::now(), Duration::hours(1));

    let r = app.with_token(&forged).get("/ipam/regions").await;

    r.assert_error(401, "unauthorized");
    assert_eq!(
        r.json["message"], "the token's signature did not match (it was signed with a different secret, or altered)",
        "the cause is named, and nothing else: {}",
        r.text
    );
    app.with_token(&forged)
        .post("/ipam/regions", json!({"country": "USA", "region_name": "forged"}))
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_tampered_token_is_401() {
    let app = spawn_app().await;
    let token = app.token("alice", &[Permission::Read]);
    let admin = app.token("alice", &[Permission::Admin]);
    // The admin token's claims with the reader token's signature.
    let parts: Vec<&str> = token.split('.').collect();
    let admin_parts: Vec<&str> = admin.split('.').collect();
    let spliced = format!("{}.{}.{}", parts[0], admin_parts[1], parts[2]);

    app.with_token(&spliced).get("/ipam/admin/quotas").await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn malformed_authorization_headers_are_401() {
    let app = spawn_app().await;
    let valid = app.token("alice", USER_PERMISSIONS);

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("scheme without a token", b"Bearer".to_vec()),
        ("blank token", b"Bearer    ".to_vec()),
        ("Basic scheme", b"Basic YWxpY2U6c2VjcmV0".to_vec()),
        ("Basic scheme with a valid JWT", format!("Basic {valid}").into_bytes()),
        ("unknown scheme", format!("Token {valid}").into_bytes()),
        ("token without a scheme", valid.clone().into_bytes()),
        ("three dots", b"Bearer a.b.c".to_vec()),
        ("non-ASCII bytes", b"Bearer \xff\xfe".to_vec()),
        ("empty value", Vec::new()),
    ];
    for (what, value) in cases {
        let (status, body) = get_with_authorization(&app, "/ipam/regions", &value).await;
        assert_unauthorized(status, &body, what);
    }
    let (status, _) = get_with_authorization(&app, "/ipam/regions", format!("Bearer {valid}").as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "the same token with the right scheme works");
}

#[tokio::test]
async fn a_token_without_permissions_can_do_nothing() {
    let app = spawn_app().await;
    let nobody = app.caller("alice", &[]);

    let r = nobody.get("/ipam/regions").await;

    r.assert_error(403, "forbidden");
    assert_eq!(r.json["details"]["required_permission"], "ipam:read");
    nobody.get("/ipam/quotas/me").await.assert_error(403, "forbidden");
}

/// One protected endpoint and the permission it needs.
struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    permission: Permission,
}

fn case(method: Method, path: String, body: Option<Value>, permission: Permission) -> Case {
    Case { method, path, body, permission }
}

/// Fresh resources of `user` (allocated with full rights) and every endpoint that acts on them.
async fn cases(app: &TestApp, user: &str, n: usize) -> Vec<Case> {
    let full = app.user(user);
    let region = full.create_region("USA", &format!("region-{n}")).await;
    let r = region["region_id"].as_str().unwrap().to_owned();
    let host = full.create_host(&r, "web-01").await;
    let h = host["host_id"].as_str().unwrap().to_owned();
    let other = full.create_host(&r, "web-02").await;
    let h2 = other["host_id"].as_str().unwrap().to_owned();
    use Permission::*;
    vec![
        case(Method::GET, "/ipam/countries".into(), None, Read),
        case(Method::GET, "/ipam/regions".into(), None, Read),
        case(Method::GET, format!("/ipam/regions/{r}"), None, Read),
        case(Method::GET, format!("/ipam/regions/{r}/utilization"), None, Read),
        case(Method::GET, "/ipam/hosts".into(), None, Read),
        case(Method::GET, format!("/ipam/hosts/{h}"), None, Read),
        case(Method::GET, format!("/ipam/hosts/{h}/audit"), None, Read),
        case(Method::GET, "/ipam/search".into(), None, Read),
        case(Method::GET, "/ipam/audit".into(), None, Read),
        case(Method::GET, "/ipam/quotas/me".into(), None, Read),
        case(Method::POST, "/ipam/interpret".into(), Some(json!({"ip_address": "10.153.0.1"})), Read),
        case(Method::POST, "/ipam/hosts/bulk-lookup".into(), Some(json!({"ip_addresses": ["10.153.0.1"]})), Read),
        case(
            Method::POST,
            "/ipam/regions".into(),
            Some(json!({"country": "Canada", "region_name": format!("new-{n}")})),
            Allocate,
        ),
        case(Method::POST, "/ipam/hosts".into(), Some(json!({"region_id": r, "hostname": "new-host"})), Allocate),
        case(
            Method::POST,
            "/ipam/hosts/batch".into(),
            Some(json!({"region_id": r, "count": 2, "hostname_prefix": "b"})),
            Allocate,
        ),
        case(Method::PATCH, format!("/ipam/regions/{r}"), Some(json!({"description": "changed"})), Update),
        case(Method::PATCH, format!("/ipam/hosts/{h}"), Some(json!({"notes": "changed"})), Update),
        case(Method::POST, format!("/ipam/regions/{r}/comments"), Some(json!({"text": "hello"})), Update),
        case(Method::POST, format!("/ipam/hosts/{h}/comments"), Some(json!({"text": "hello"})), Update),
        case(
            Method::POST,
            "/ipam/hosts/bulk-release".into(),
            Some(json!({"host_ids": [h2], "reason": "bulk cleanup"})),
            Release,
        ),
        case(Method::DELETE, format!("/ipam/hosts/{h}?reason=decommissioned"), None, Release),
        case(Method::DELETE, format!("/ipam/regions/{r}?reason=site%20closed&cascade=true"), None, Release),
        case(Method::GET, "/ipam/admin/quotas".into(), None, Admin),
        case(Method::GET, format!("/ipam/admin/quotas/{user}"), None, Admin),
        case(Method::PATCH, format!("/ipam/admin/quotas/{user}"), Some(json!({"host_quota": 500})), Admin),
    ]
}

async fn run(caller: &Caller<'_>, c: &Case) -> ipam_tests::TestResponse {
    caller.send(c.method.clone(), &c.path, c.body.as_ref()).await
}

#[tokio::test]
async fn every_endpoint_is_403_without_its_permission_and_names_it() {
    let app = spawn_app().await;

    for c in cases(&app, "alice", 0).await {
        let all_but: Vec<Permission> =
            Permission::ALL.iter().copied().filter(|p| *p != c.permission && *p != Permission::Admin).collect();
        let r = run(&app.caller("alice", &all_but), &c).await;
        r.assert_error(403, "forbidden");
        assert_eq!(r.json["details"]["required_permission"], c.permission.as_str(), "{} {}", c.method, c.path);
    }
    let listed = app.user("alice").get("/ipam/regions").await.assert_status(200).clone();
    assert_eq!(listed["pagination"]["total_count"], 1, "no refused request changed anything");
}

#[tokio::test]
async fn every_endpoint_admits_a_caller_holding_only_its_permission() {
    let app = spawn_app().await;
    let all = cases(&app, "alice", 0).await;

    for index in 0..all.len() {
        // Fresh resources for every case, so that deletions do not affect the next one.
        let c = cases(&app, "alice", index + 1).await.swap_remove(index);
        let r = run(&app.caller("alice", &[c.permission]), &c).await;
        assert!(
            r.status.is_success(),
            "{} {} with only {}: {} {}",
            c.method,
            c.path,
            c.permission.as_str(),
            r.status,
            r.text
        );
    }
}

#[tokio::test]
async fn the_admin_permission_implies_every_other() {
    let app = spawn_app().await;
    let all = cases(&app, "alice", 0).await;

    for index in 0..all.len() {
        let c = cases(&app, "alice", index + 1).await.swap_remove(index);
        let r = run(&app.caller("alice", &[Permission::Admin]), &c).await;
        assert!(r.status.is_success(), "{} {} as admin: {} {}", c.method, c.path, r.status, r.text);
    }
}

#[tokio::test]
async fn every_protected_endpoint_is_401_without_a_token() {
    let app = spawn_app().await;

    for c in cases(&app, "alice", 0).await {
        let r = run(&app.anonymous(), &c).await;
        r.assert_error(401, "unauthorized");
    }
}

// ---- rate limits -------------------------------------------------------------------------

/// An app with rate limits on and the given per-class limits.
async fn limited_app(reads: u32, writes: u32, bulk: u32) -> TestApp {
    spawn_app_with(|s| {
        s.rate_limits = Switch::On;
        s.rate_limit_core_reads = reads;
        s.rate_limit_core_writes = writes;
        s.rate_limit_bulk = bulk;
    })
    .await
}

fn header_number(r: &ipam_tests::TestResponse, name: &str) -> u64 {
    r.header(name)
        .unwrap_or_else(|| panic!("missing {name} header (status {})", r.status))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

#[tokio::test]
async fn responses_carry_the_remaining_budget() {
    let app = limited_app(3, 100, 10).await;
    let u = app.user("alice");

    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = u.get("/ipam/regions").await;
        r.assert_status(200);
        assert_eq!(header_number(&r, "x-ratelimit-limit"), 3);
        let reset = header_number(&r, "x-ratelimit-reset");
        assert!((1..=60).contains(&reset), "reset {reset} s lies within the minute window");
        remaining.push(header_number(&r, "x-ratelimit-remaining"));
    }

    assert_eq!(remaining, [2, 1, 0]);
}

#[tokio::test]
async fn the_request_after_the_limit_is_429_with_retry_after() {
    let app = limited_app(2, 100, 10).await;
    let u = app.user("alice");
    u.get("/ipam/regions").await.assert_status(200);
    u.get("/ipam/quotas/me").await.assert_status(200);

    let r = u.get("/ipam/regions").await;

    r.assert_error(429, "rate_limit_exceeded");
    let retry_after = header_number(&r, "retry-after");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(r.json["details"]["retry_after"], retry_after);
    assert_eq!(r.json["details"]["limit"], 2);
    assert_eq!(r.json["details"]["per"], "minute");
    assert!(r.json["message"].as_str().unwrap().contains("retry"), "{}", r.text);
}

#[tokio::test]
async fn a_refused_request_also_carries_the_budget_headers() {
    let app = limited_app(1, 100, 10).await;
    let u = app.user("alice");
    u.get("/ipam/regions").await.assert_status(200);

    let r = u.get("/ipam/regions").await;

    r.assert_error(429, "rate_limit_exceeded");
    assert_eq!(header_number(&r, "x-ratelimit-limit"), 1);
    assert_eq!(header_number(&r, "x-ratelimit-remaining"), 0);
    assert!(header_number(&r, "x-ratelimit-reset") >= 1);
}

#[tokio::test]
async fn a_refused_request_changes_nothing() {
    let app = limited_app(100, 1, 10).await;
    let u = app.user("alice");
    u.create_region("USA", "first").await;

    let r = u.post("/ipam/regions", json!({"country": "USA", "region_name": "second"})).await;

    r.assert_error(429, "rate_limit_exceeded");
    let listed = u.get("/ipam/regions").await.assert_status(200).clone();
    assert_eq!(listed["pagination"]["total_count"], 1);
}

#[tokio::test]
async fn reads_writes_and_bulk_requests_are_limited_separately() {
    let app = limited_app(1, 1, 1).await;
    let u = app.user("alice");

    // One write: it does not use the read budget.
    let region = u.create_region("USA", "r-a").await;
    let rid = region["region_id"].as_str().unwrap();
    // One read: it does not use the write budget.
    let read = u.get("/ipam/regions").await;
    read.assert_status(200);
    assert_eq!(header_number(&read, "x-ratelimit-remaining"), 0);
    // One bulk request: neither budget is touched.
    let batch = u.post("/ipam/hosts/batch", json!({"region_id": rid, "count": 2, "hostname_prefix": "n"})).await;
    batch.assert_status(201);
    assert_eq!(header_number(&batch, "x-ratelimit-limit"), 1);

    u.get(&format!("/ipam/regions/{rid}")).await.assert_error(429, "rate_limit_exceeded");
    u.patch(&format!("/ipam/regions/{rid}"), json!({"description": "x"}))
        .await
        .assert_error(429, "rate_limit_exceeded");
    u.post("/ipam/interpret", json!({"ip_address": "10.153.0.1"})).await.assert_error(429, "rate_limit_exceeded");
    let bulk = u.post("/ipam/hosts/bulk-release", json!({"host_ids": ["x"], "reason": "cleanup"})).await;
    bulk.assert_error(429, "rate_limit_exceeded");
    assert_eq!(bulk.json["details"]["per"], "hour");
    assert!(header_number(&bulk, "retry-after") > 60, "the bulk budget refills per hour");
}

#[tokio::test]
async fn users_are_limited_separately() {
    let app = limited_app(1, 1, 1).await;
    let alice = app.user("alice");
    alice.get("/ipam/regions").await.assert_status(200);
    alice.get("/ipam/regions").await.assert_error(429, "rate_limit_exceeded");

    let r = app.user("bob").get("/ipam/regions").await;

    r.assert_status(200);
    assert_eq!(header_number(&r, "x-ratelimit-remaining"), 0);
}

#[tokio::test]
async fn with_limits_switched_off_nothing_is_refused() {
    let app = spawn_app_with(|s| {
        s.rate_limits = Switch::Off;
        s.rate_limit_core_reads = 1;
    })
    .await;
    let u = app.user("alice");

    for _ in 0..5 {
        let r = u.get("/ipam/regions").await;
        r.assert_status(200);
        assert!(r.header("x-ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn public_endpoints_are_not_charged_to_a_budget() {
    let app = limited_app(1, 1, 1).await;
    let u = app.user("alice");

    for _ in 0..3 {
        u.get("/health").await.assert_status(200);
    }

    u.get("/ipam/regions").await.assert_status(200);
}
