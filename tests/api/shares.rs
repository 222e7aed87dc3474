//! Shareable links: `POST/GET /ipam/shares`, `DELETE /ipam/shares/{share_id}` and the public
//! reader `GET /ipam/shares/{share_token}`.

use chrono::Duration;
use ipam_core::auth::Permission;
use ipam_core::clock::Clock;
use ipam_core::configuration::Switch;
use ipam_tests::json::{keys, sorted, text, time};
use ipam_tests::{Caller, TestApp, TestResponse, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A well-formed id that no resource has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// A well-formed token (43 url-safe characters) that no share has.
const UNKNOWN_TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Creates a share and returns its body (panics unless 201).
async fn share(u: &Caller<'_>, resource_type: &str, resource_id: &str, days: i64) -> Value {
    let r = u
        .post(
            "/ipam/shares",
            json!({"resource_type": resource_type, "resource_id": resource_id, "expires_in_days": days}),
        )
        .await;
    r.assert_status(201).clone()
}

/// Shares country USA for 7 days and returns the body.
async fn share_usa(u: &Caller<'_>) -> Value {
    share(u, "country", "USA", 7).await
}

/// The public read of `token`, without any `Authorization` header.
async fn open(app: &TestApp, token: &str) -> TestResponse {
    app.anonymous().get(&format!("/ipam/shares/{token}")).await
}

/// The public read of `token` as a browser asks for it: `(status, content type, body)`.
async fn open_in_browser(app: &TestApp, token: &str) -> (u16, String, String) {
    let r = app
        .client
        .get(format!("{}/ipam/shares/{token}", app.address))
        .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .send()
        .await
        .expect("request is sent");
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, r.text().await.expect("body is read"))
}

/// The caller's share list (panics unless 200).
async fn list(u: &Caller<'_>, query: &str) -> Value {
    u.get(&format!("/ipam/shares{query}")).await.assert_status(200).clone()
}

/// The share ids of a list body, in order.
fn share_ids(body: &Value) -> Vec<String> {
    body["results"].as_array().expect("results array").iter().map(|s| text(s, "share_id")).collect()
}

/// The share `share_id` as the caller's list shows it (panics when it is not listed).
async fn listed(u: &Caller<'_>, share_id: &str) -> Value {
    let body = list(u, "?page_size=100").await;
    body["results"]
        .as_array()
        .expect("results array")
        .iter()
        .find(|s| s["share_id"] == share_id)
        .unwrap_or_else(|| panic!("share {share_id} is not listed in {body}"))
        .clone()
}

/// Asserts the one "this link does not work" answer: 404 `not_found` about a share.
#[track_caller]
fn assert_gone(r: &TestResponse) {
    r.assert_error(404, "not_found");
    assert_eq!(r.json["details"]["resource"], "share", "{}", r.text);
}

/// Moves the app clock so the next write gets a strictly later timestamp.
fn tick(app: &TestApp) {
    app.clock.advance(Duration::seconds(1));
}

/// The port the test app listens on.
fn port(app: &TestApp) -> &str {
    app.address.rsplit(':').next().expect("address has a port")
}

const REGION_DATA_KEYS: &[&str] =
    &["region_name", "cidr", "status", "utilization", "host_count", "tags", "country", "continent"];
const HOST_DATA_KEYS: &[&str] =
    &["hostname", "ip_address", "status", "device_type", "os_type", "application", "tags", "region_name", "cidr"];
const COUNTRY_DATA_KEYS: &[&str] =
    &["code", "name", "continent", "x_start", "x_end", "capacity", "allocated_regions", "utilization"];
const PUBLIC_KEYS: &[&str] = &["resource_type", "resource_data", "shared_by", "created_at", "expires_at"];

// ---------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_seed_smoke_test_creates_a_country_share_with_an_absolute_link() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let now = app.clock.now();

    let r =
        u.post("/ipam/shares", json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": 7})).await;

    let body = r.assert_status(201).clone();
    let token = text(&body, "share_token");
    let share_id = text(&body, "share_id");
    assert!(!share_id.is_empty());
    assert_eq!(body["_id"], share_id.as_str(), "_id repeats share_id");
    assert_eq!(token.len(), 43, "token {token}");
    let url = text(&body, "share_url");
    assert!(url.starts_with("http"), "absolute link: {url}");
    assert!(url.ends_with(&format!("/ipam/shares/{token}")), "link ends with the token path: {url}");
    assert_eq!(url, format!("http://localhost:{}/ipam/shares/{token}", port(&app)), "default public base URL");
    assert_eq!(r.header("location"), Some(format!("/ipam/shares/{token}").as_str()));
    assert_eq!(body["resource_type"], "country");
    assert_eq!(body["resource_id"], "USA");
    assert_eq!(body["view_count"], 0);
    assert_eq!(body["last_accessed"], Value::Null);
    assert_eq!(body["is_active"], true);
    assert_eq!(body["created_by"], "alice");
    assert_eq!(time(&body, "created_at"), now);
    assert_eq!(time(&body, "expires_at"), time(&body, "created_at") + Duration::days(7));
}

#[tokio::test]
async fn share_tokens_are_long_url_safe_and_different_every_time() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let shares = [share_usa(&u).await, share_usa(&u).await, share_usa(&u).await];

    let tokens: Vec<String> = shares.iter().map(|s| text(s, "share_token")).collect();
    for t in &tokens {
        assert_eq!(t.len(), 43, "256 random bits in base64url: {t}");
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "url-safe: {t}");
    }
    assert_ne!(tokens[0], tokens[1]);
    assert_ne!(tokens[1], tokens[2]);
    assert_ne!(tokens[0], tokens[2]);
    let ids: Vec<String> = shares.iter().map(|s| text(s, "share_id")).collect();
    assert_ne!(ids[0], ids[1]);
    assert!(!tokens.contains(&ids[0]), "the share id is not the secret");
}

#[tokio::test]
async fn a_country_can_be_shared_by_name_in_any_case_and_is_stored_as_its_code() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for given in ["United States", "united states", "uSa", "  USA  "] {
        let body = share(&u, "country", given, 7).await;

        assert_eq!(body["resource_id"], "USA", "{given:?}");
        let public = open(&app, &text(&body, "share_token")).await;
        assert_eq!(public.assert_status(200)["resource_data"]["code"], "USA", "{given:?}");
    }
}

#[tokio::test]
async fn the_share_link_is_built_from_the_configured_public_base_url() {
    let app = spawn_app_with(|s| s.public_base_url = Some("https://ipam.example.com/".into())).await;
    let u = app.user("alice");

    let body = share_usa(&u).await;

    let token = text(&body, "share_token");
    assert_eq!(body["share_url"], format!("https://ipam.example.com/ipam/shares/{token}"));
    let shown = listed(&u, &text(&body, "share_id")).await;
    assert_eq!(shown["share_url"], body["share_url"], "the list shows the same link");
}

#[tokio::test]
async fn ones_own_region_and_host_can_be_shared_with_a_description() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(&u.create_region("USA", "web").await, "region_id");
    let host_id = text(&u.create_host(&region_id, "web-1").await, "host_id");

    let region = u
        .post(
            "/ipam/shares",
            json!({"resource_type": "region", "resource_id": region_id, "expires_in_days": 30,
                   "description": "for the audit team"}),
        )
        .await;
    let host =
        u.post("/ipam/shares", json!({"resource_type": "HOST", "resource_id": host_id, "expires_in_days": 1})).await;

    let region = region.assert_status(201);
    assert_eq!(region["resource_type"], "region");
    assert_eq!(region["resource_id"], region_id.as_str());
    assert_eq!(region["description"], "for the audit team");
    assert_eq!(time(region, "expires_at"), time(region, "created_at") + Duration::days(30));
    let host = host.assert_status(201);
    assert_eq!(host["resource_type"], "host", "resource types are accepted in any case");
    assert_eq!(host["resource_id"], host_id.as_str());
    assert_eq!(host["description"], Value::Null);
    assert_eq!(time(host, "expires_at"), time(host, "created_at") + Duration::days(1));
}

#[tokio::test]
async fn the_longest_lifetime_is_ninety_days() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let body = share(&u, "country", "USA", 90).await;

    assert_eq!(time(&body, "expires_at"), time(&body, "created_at") + Duration::days(90));
}

// ---- validation ------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_resource_type_is_a_validation_error() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for kind in ["continent", "", "regions"] {
        let r =
            u.post("/ipam/shares", json!({"resource_type": kind, "resource_id": "USA", "expires_in_days": 7})).await;

        let body = r.assert_error(422, "validation_error");
        assert!(body["details"]["resource_type"].is_string(), "{kind:?}: {}", r.text);
    }
    assert_eq!(list(&u, "").await["pagination"]["total_count"], 0, "nothing was created");
}

#[tokio::test]
async fn a_lifetime_outside_one_to_ninety_days_is_a_validation_error() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for days in [0, 91, -1, 365] {
        let r = u
            .post("/ipam/shares", json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": days}))
            .await;

        let body = r.assert_error(422, "validation_error");
        assert!(body["details"]["expires_in_days"].is_string(), "{days}: {}", r.text);
    }
    assert_eq!(list(&u, "").await["pagination"]["total_count"], 0, "nothing was created");
}

#[tokio::test]
async fn the_lifetime_is_required() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let r = u.post("/ipam/shares", json!({"resource_type": "country", "resource_id": "USA"})).await;

    let body = r.assert_error(422, "validation_error");
    assert!(body["details"]["expires_in_days"].is_string(), "{}", r.text);
}

#[tokio::test]
async fn a_lifetime_of_the_wrong_type_is_a_validation_error() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for days in [json!("7"), json!(7.5), json!(null), json!([7])] {
        let r = u
            .post("/ipam/shares", json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": days}))
            .await;

        let body = r.assert_error(422, "validation_error");
        assert!(body["details"]["expires_in_days"].is_string(), "{days}: {}", r.text);
    }
}

#[tokio::test]
async fn an_empty_resource_id_is_a_validation_error() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for id in ["", "   "] {
        let r =
            u.post("/ipam/shares", json!({"resource_type": "region", "resource_id": id, "expires_in_days": 7})).await;

        let body = r.assert_error(422, "validation_error");
        assert!(body["details"]["resource_id"].is_string(), "{id:?}: {}", r.text);
    }
}

#[tokio::test]
async fn a_description_longer_than_500_characters_is_a_validation_error() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let body =
        |d: String| json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": 7, "description": d});

    let too_long = u.post("/ipam/shares", body("x".repeat(501))).await;
    let longest = u.post("/ipam/shares", body("x".repeat(500))).await;

    let err = too_long.assert_error(422, "validation_error");
    assert!(err["details"]["description"].is_string(), "{}", too_long.text);
    assert_eq!(longest.assert_status(201)["description"], "x".repeat(500));
}

#[tokio::test]
async fn unknown_fields_are_a_validation_error() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let r = u
        .post(
            "/ipam/shares",
            json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": 7, "is_active": false}),
        )
        .await;

    let body = r.assert_error(422, "validation_error");
    assert!(body["details"]["is_active"].is_string(), "{}", r.text);
    assert_eq!(list(&u, "").await["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn a_malformed_body_is_a_validation_error() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let r = u.send_raw(Method::POST, "/ipam/shares", "application/json", b"{\"resource_type\": ".to_vec()).await;

    r.assert_error(422, "validation_error");
}

#[tokio::test]
async fn an_unknown_country_is_not_found() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let r = u
        .post("/ipam/shares", json!({"resource_type": "country", "resource_id": "Atlantis", "expires_in_days": 7}))
        .await;

    r.assert_error(404, "not_found");
    assert_eq!(list(&u, "").await["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn another_users_unknown_or_malformed_region_is_not_found() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let bobs_region = text(&bob.create_region("USA", "bobs").await, "region_id");

    for id in [bobs_region.as_str(), UNKNOWN_ID, "not-an-id", "../hosts"] {
        let r = alice
            .post("/ipam/shares", json!({"resource_type": "region", "resource_id": id, "expires_in_days": 7}))
            .await;

        r.assert_error(404, "not_found");
    }
    assert_eq!(list(&alice, "").await["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn another_users_unknown_or_malformed_host_is_not_found() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let bobs_region = text(&bob.create_region("USA", "bobs").await, "region_id");
    let bobs_host = text(&bob.create_host(&bobs_region, "db-1").await, "host_id");

    for id in [bobs_host.as_str(), UNKNOWN_ID, "10.153.0.1"] {
        let r =
            alice.post("/ipam/shares", json!({"resource_type": "host", "resource_id": id, "expires_in_days": 7})).await;

        r.assert_error(404, "not_found");
    }
    assert_eq!(list(&alice, "").await["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn a_region_id_given_as_a_host_is_not_found() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(&u.create_region("USA", "web").await, "region_id");

    let r =
        u.post("/ipam/shares", json!({"resource_type": "host", "resource_id": region_id, "expires_in_days": 7})).await;

    r.assert_error(404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// Public read
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn anyone_can_open_a_country_share_without_a_token() {
    let app = spawn_app().await;
    let u = app.user("alice");
    u.create_region("USA", "web").await;
    let created = share_usa(&u).await;

    let r = open(&app, &text(&created, "share_token")).await;

    let body = r.assert_status(200);
    assert_eq!(keys(body), sorted(PUBLIC_KEYS), "{}", r.text);
    assert_eq!(body["resource_type"], "country");
    assert_eq!(body["shared_by"], "alice");
    assert_eq!(body["created_at"], created["created_at"]);
    assert_eq!(body["expires_at"], created["expires_at"]);
    let data = &body["resource_data"];
    assert_eq!(keys(data), sorted(COUNTRY_DATA_KEYS), "{data}");
    assert_eq!(data["code"], "USA");
    assert_eq!(data["name"], "United States");
    assert_eq!(data["continent"], "North America");
    assert_eq!(data["x_start"], 153);
    assert_eq!(data["x_end"], 167);
    assert_eq!(data["capacity"], 15 * 256);
    assert_eq!(data["allocated_regions"], 1);
    assert_eq!(data["utilization"], 0.03, "1 of 3840 regions, in percent with two decimals");
}

#[tokio::test]
async fn a_country_share_shows_the_owners_usage_and_nobody_elses() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    for name in ["a1", "a2", "a3"] {
        alice.create_region("USA", name).await;
    }
    alice.create_region("CAN", "elsewhere").await;
    for name in ["b1", "b2", "b3", "b4", "b5"] {
        bob.create_region("USA", name).await;
    }
    let token = text(&share_usa(&alice).await, "share_token");

    let first = open(&app, &token).await.assert_status(200).clone();
    alice.create_region("USA", "a4").await;
    let later = open(&app, &token).await.assert_status(200).clone();

    assert_eq!(first["resource_data"]["allocated_regions"], 3, "alice's USA regions only");
    assert_eq!(first["resource_data"]["utilization"], 0.08, "3 / 3840 in percent");
    assert_eq!(later["resource_data"]["allocated_regions"], 4, "the link shows the current usage");
}

#[tokio::test]
async fn a_region_share_shows_the_allow_listed_region_view() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u
        .post("/ipam/regions", json!({"country": "USA", "region_name": "web", "tags": {"env": "prod", "tier": "1"}}))
        .await
        .assert_status(201)
        .clone();
    let region_id = text(&region, "region_id");
    u.create_host(&region_id, "web-1").await;
    u.create_host(&region_id, "web-2").await;
    let token = text(&share(&u, "region", &region_id, 7).await, "share_token");

    let r = open(&app, &token).await;

    let body = r.assert_status(200);
    assert_eq!(keys(body), sorted(PUBLIC_KEYS));
    assert_eq!(body["resource_type"], "region");
    assert_eq!(body["shared_by"], "alice");
    let data = &body["resource_data"];
    assert_eq!(keys(data), sorted(REGION_DATA_KEYS), "{data}");
    assert_eq!(data["region_name"], "web");
    assert_eq!(data["cidr"], region["cidr"]);
    assert_eq!(data["cidr"], "10.153.0.0/24");
    assert_eq!(data["status"], "Active");
    assert_eq!(data["host_count"], 2);
    assert_eq!(data["utilization"], 0.79, "2 of 254 hosts");
    assert_eq!(data["tags"], json!({"env": "prod", "tier": "1"}));
    assert_eq!(data["country"], "United States");
    assert_eq!(data["continent"], "North America");
}

#[tokio::test]
async fn a_host_share_shows_the_allow_listed_host_view() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(&u.create_region("USA", "web").await, "region_id");
    let host = u
        .post(
            "/ipam/hosts",
            json!({"region_id": region_id, "hostname": "web-1", "device_type": "vm", "os_type": "Ubuntu 24.04",
                   "application": "nginx", "tags": {"env": "prod"}}),
        )
        .await
        .assert_status(201)
        .clone();
    let token = text(&share(&u, "host", &text(&host, "host_id"), 7).await, "share_token");

    let r = open(&app, &token).await;

    let body = r.assert_status(200);
    assert_eq!(keys(body), sorted(PUBLIC_KEYS));
    assert_eq!(body["resource_type"], "host");
    assert_eq!(body["shared_by"], "alice");
    let data = &body["resource_data"];
    assert_eq!(keys(data), sorted(HOST_DATA_KEYS), "{data}");
    assert_eq!(data["hostname"], "web-1");
    assert_eq!(data["ip_address"], "10.153.0.1");
    assert_eq!(data["status"], "Active");
    assert_eq!(data["device_type"], "VM");
    assert_eq!(data["os_type"], "Ubuntu 24.04");
    assert_eq!(data["application"], "nginx");
    assert_eq!(data["tags"], json!({"env": "prod"}));
    assert_eq!(data["region_name"], "web");
    assert_eq!(data["cidr"], "10.153.0.0/24");
}

#[tokio::test]
async fn a_shared_region_is_shown_as_it_is_now() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(&u.create_region("USA", "web").await, "region_id");
    let token = text(&share(&u, "region", &region_id, 7).await, "share_token");
    u.patch(&format!("/ipam/regions/{region_id}"), json!({"region_name": "frontend", "status": "Reserved"}))
        .await
        .assert_status(200);

    let r = open(&app, &token).await;

    let data = &r.assert_status(200)["resource_data"];
    assert_eq!(data["region_name"], "frontend");
    assert_eq!(data["status"], "Reserved");
}

#[tokio::test]
async fn the_public_view_never_contains_ids_owners_notes_costs_or_comments() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u
        .post(
            "/ipam/regions",
            json!({"country": "USA", "region_name": "payments", "description": "SECRET-REGION-DESCRIPTION",
                   "owner": "SECRET-REGION-OWNER", "tags": {"env": "prod"}}),
        )
        .await
        .assert_status(201)
        .clone();
    let region_id = text(&region, "region_id");
    let host = u
        .post(
            "/ipam/hosts",
            json!({"region_id": region_id, "hostname": "pay-1", "device_type": "Physical", "os_type": "linux",
                   "application": "ledger", "cost_center": "SECRET-COST-CENTER", "owner": "SECRET-HOST-OWNER",
                   "purpose": "SECRET-PURPOSE", "notes": "SECRET-NOTES", "tags": {"env": "prod"}}),
        )
        .await
        .assert_status(201)
        .clone();
    let host_id = text(&host, "host_id");
    u.post(&format!("/ipam/regions/{region_id}/comments"), json!({"comment_text": "SECRET-REGION-COMMENT"}))
        .await
        .assert_status(201);
    u.post(&format!("/ipam/hosts/{host_id}/comments"), json!({"comment_text": "SECRET-HOST-COMMENT"}))
        .await
        .assert_status(201);
    let region_share = share(&u, "region", &region_id, 7).await;
    let host_share = share(&u, "host", &host_id, 7).await;
    let country_share = share_usa(&u).await;

    for (created, data_keys) in
        [(&region_share, REGION_DATA_KEYS), (&host_share, HOST_DATA_KEYS), (&country_share, COUNTRY_DATA_KEYS)]
    {
        let r = open(&app, &text(created, "share_token")).await;

        let body = r.assert_status(200);
        assert_eq!(keys(body), sorted(PUBLIC_KEYS), "{}", r.text);
        assert_eq!(keys(&body["resource_data"]), sorted(data_keys), "{}", r.text);
        let planted = [
            "SECRET-REGION-DESCRIPTION",
            "SECRET-REGION-OWNER",
            "SECRET-COST-CENTER",
            "SECRET-HOST-OWNER",
            "SECRET-PURPOSE",
            "SECRET-NOTES",
            "SECRET-REGION-COMMENT",
            "SECRET-HOST-COMMENT",
            "SECRET",
        ];
        for value in planted {
            assert!(!r.text.contains(value), "{value} leaked: {}", r.text);
        }
        for id in [region_id.as_str(), host_id.as_str(), &text(created, "share_id"), &text(created, "share_token")] {
            assert!(!r.text.contains(id), "id {id} leaked: {}", r.text);
        }
        for key in ["region_id", "host_id", "user_id", "owner_id", "_id", "owner", "description", "created_by"] {
            assert!(!r.text.contains(&format!("\"{key}\"")), "key {key} leaked: {}", r.text);
        }
    }
}

// ---- view count ------------------------------------------------------------------------------

#[tokio::test]
async fn each_successful_public_read_counts_a_view_and_records_when() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let created = share_usa(&u).await;
    let (share_id, token) = (text(&created, "share_id"), text(&created, "share_token"));
    assert_eq!(listed(&u, &share_id).await["view_count"], 0);

    open(&app, &token).await.assert_status(200);
    app.clock.advance(Duration::minutes(5));
    open(&app, &token).await.assert_status(200);
    app.clock.advance(Duration::minutes(5));
    let last_read_at = app.clock.now();
    let (status, ..) = open_in_browser(&app, &token).await;
    assert_eq!(status, 200);

    let shown = listed(&u, &share_id).await;
    assert_eq!(shown["view_count"], 3, "two JSON reads and one browser read");
    assert_eq!(time(&shown, "last_accessed"), last_read_at);
}

#[tokio::test]
async fn concurrent_public_reads_are_all_counted() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let created = share_usa(&u).await;
    let token = text(&created, "share_token");

    let reads = futures::future::join_all((0..20).map(|_| open(&app, &token))).await;

    assert!(reads.iter().all(|r| r.code() == 200), "every read succeeds");
    assert_eq!(listed(&u, &text(&created, "share_id")).await["view_count"], 20);
}

#[tokio::test]
async fn failed_public_reads_do_not_count_as_views() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let created = share_usa(&u).await;
    let token = text(&created, "share_token");
    open(&app, &token).await.assert_status(200);
    let before = listed(&u, &text(&created, "share_id")).await;

    assert_gone(&open(&app, UNKNOWN_TOKEN).await);
    assert_gone(&open(&app, &token[..42]).await);
    assert_gone(&open(&app, &format!("{token}A")).await);
    assert_gone(&open(&app, &token.to_lowercase()).await);

    let after = listed(&u, &text(&created, "share_id")).await;
    assert_eq!(after["view_count"], 1);
    assert_eq!(after["last_accessed"], before["last_accessed"]);
}

#[tokio::test]
async fn a_read_of_a_share_whose_resource_is_gone_is_not_counted() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(&u.create_region("USA", "web").await, "region_id");
    let created = share(&u, "region", &region_id, 7).await;
    let (share_id, token) = (text(&created, "share_id"), text(&created, "share_token"));
    open(&app, &token).await.assert_status(200);
    let before = listed(&u, &share_id).await;
    u.delete(&format!("/ipam/regions/{region_id}?reason=decommissioned")).await.assert_status(204);
    app.clock.advance(Duration::minutes(1));

    assert_gone(&open(&app, &token).await);

    let after = listed(&u, &share_id).await;
    assert_eq!(after["view_count"], 1, "the failed read is not a view");
    assert_eq!(after["last_accessed"], before["last_accessed"]);
}

// ---- browser ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_browser_gets_a_read_only_html_page_of_the_same_data() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(
        &u.post(
            "/ipam/regions",
            json!({"country": "USA", "region_name": "web", "description": "SECRET-DESCRIPTION",
                   "tags": {"note": "<script>alert(1)</script>"}}),
        )
        .await
        .assert_status(201)
        .clone(),
        "region_id",
    );
    let token = text(&share(&u, "region", &region_id, 7).await, "share_token");

    let (status, content_type, page) = open_in_browser(&app, &token).await;

    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "content type {content_type}");
    assert!(page.contains("web"), "region name: {page}");
    assert!(page.contains("10.153.0.0/24"), "cidr: {page}");
    assert!(page.contains("United States"), "country: {page}");
    assert!(page.contains("alice"), "shared by: {page}");
    assert!(!page.contains("<script>alert(1)</script>"), "the tag value is escaped: {page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the tag value is shown escaped: {page}");
    assert!(!page.contains("SECRET-DESCRIPTION"), "the page is sanitised too: {page}");
    assert!(!page.contains(&region_id), "no ids on the page: {page}");
}

#[tokio::test]
async fn a_json_client_gets_the_unescaped_data() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(
        &u.post("/ipam/regions", json!({"country": "USA", "region_name": "web", "tags": {"note": "<b>&</b>"}}))
            .await
            .assert_status(201)
            .clone(),
        "region_id",
    );
    let token = text(&share(&u, "region", &region_id, 7).await, "share_token");

    let r = app
        .client
        .get(format!("{}/ipam/shares/{token}", app.address))
        .header("accept", "application/json")
        .send()
        .await
        .expect("request is sent");

    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = r.json().await.expect("JSON body");
    assert_eq!(body["resource_data"]["tags"]["note"], "<b>&</b>");
}

#[tokio::test]
async fn a_browser_opening_a_revoked_expired_or_unknown_link_gets_one_and_the_same_404_page() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let revoked = share_usa(&u).await;
    u.delete(&format!("/ipam/shares/{}", text(&revoked, "share_id"))).await.assert_status(204);
    let revoked = text(&revoked, "share_token");
    let expiring = text(&share(&u, "country", "JPN", 1).await, "share_token");
    app.clock.advance(Duration::days(2));

    let mut pages = Vec::new();
    for token in [revoked.as_str(), expiring.as_str(), UNKNOWN_TOKEN, "garbage"] {
        let (status, content_type, page) = open_in_browser(&app, token).await;

        assert_eq!(status, 404, "{token}");
        assert!(content_type.starts_with("text/html"), "{token}: {content_type}");
        assert!(page.contains("expired or been revoked"), "{page}");
        assert!(!page.contains(token) && !page.contains("alice"), "nothing of the link or its owner: {page}");
        pages.push(page);
    }
    assert!(pages.iter().all(|p| *p == pages[0]), "the same page whether the link ever existed or not");
    // JSON clients still get the envelope.
    assert_gone(&open(&app, &revoked).await);
    let r = app.anonymous().get_accepting(&format!("/ipam/shares/{expiring}"), "*/*").await;
    assert_gone(&r);
}

// ---- links that do not work ------------------------------------------------------------------

#[tokio::test]
async fn unknown_and_garbage_tokens_are_not_found() {
    let app = spawn_app().await;
    let u = app.user("alice");
    share_usa(&u).await;
    let too_long = "A".repeat(300);

    for token in [UNKNOWN_TOKEN, "short", too_long.as_str(), "bad%20token", "%3Cscript%3E", "..%2F..%2Fhealth", "USA"] {
        let r = open(&app, token).await;

        assert_gone(&r);
    }
}

#[tokio::test]
async fn a_revoked_link_is_indistinguishable_from_an_unknown_one() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let created = share_usa(&u).await;
    let token = text(&created, "share_token");
    open(&app, &token).await.assert_status(200);
    u.delete(&format!("/ipam/shares/{}", text(&created, "share_id"))).await.assert_status(204);

    let revoked = open(&app, &token).await;
    let unknown = open(&app, UNKNOWN_TOKEN).await;

    assert_gone(&revoked);
    assert_gone(&unknown);
    assert_eq!(
        revoked.text.replace(&token[..40], "TOKEN"),
        unknown.text.replace(&UNKNOWN_TOKEN[..40], "TOKEN"),
        "same answer apart from the token itself"
    );
}

#[tokio::test]
async fn an_expired_link_is_indistinguishable_from_an_unknown_one() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let token = text(&share_usa(&u).await, "share_token");
    app.clock.advance(Duration::days(8));

    let expired = open(&app, &token).await;
    let unknown = open(&app, UNKNOWN_TOKEN).await;

    assert_gone(&expired);
    assert_eq!(
        expired.text.replace(&token[..40], "TOKEN"),
        unknown.text.replace(&UNKNOWN_TOKEN[..40], "TOKEN"),
        "same answer apart from the token itself"
    );
}

#[tokio::test]
async fn a_link_works_until_the_moment_it_expires() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let token = text(&share_usa(&u).await, "share_token");

    app.clock.advance(Duration::days(7) - Duration::seconds(1));
    let just_before = open(&app, &token).await;
    app.clock.advance(Duration::seconds(1));
    let at_expiry = open(&app, &token).await;

    just_before.assert_status(200);
    assert_gone(&at_expiry);
}

#[tokio::test]
async fn a_share_of_a_retired_region_is_not_found() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(&u.create_region("USA", "web").await, "region_id");
    let host_id = text(&u.create_host(&region_id, "web-1").await, "host_id");
    let region_token = text(&share(&u, "region", &region_id, 7).await, "share_token");
    let host_token = text(&share(&u, "host", &host_id, 7).await, "share_token");
    open(&app, &region_token).await.assert_status(200);

    u.delete(&format!("/ipam/regions/{region_id}?reason=decommissioned&cascade=true")).await.assert_status(204);

    assert_gone(&open(&app, &region_token).await);
    assert_gone(&open(&app, &host_token).await);
}

#[tokio::test]
async fn a_share_of_a_released_host_is_not_found() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(&u.create_region("USA", "web").await, "region_id");
    let host_id = text(&u.create_host(&region_id, "web-1").await, "host_id");
    let token = text(&share(&u, "host", &host_id, 7).await, "share_token");

    u.delete(&format!("/ipam/hosts/{host_id}?reason=decommissioned")).await.assert_status(204);

    assert_gone(&open(&app, &token).await);
}

#[tokio::test]
async fn a_new_host_at_a_released_address_is_not_shown_through_the_old_link() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region_id = text(&u.create_region("USA", "web").await, "region_id");
    let host_id = text(&u.create_host(&region_id, "old-box").await, "host_id");
    let token = text(&share(&u, "host", &host_id, 7).await, "share_token");
    u.delete(&format!("/ipam/hosts/{host_id}?reason=replaced")).await.assert_status(204);
    let new_host = u.create_host(&region_id, "new-box").await;
    assert_eq!(new_host["ip_address"], "10.153.0.1", "the address was reused");

    let r = open(&app, &token).await;

    assert_gone(&r);
    assert!(!r.text.contains("new-box"));
}

// ---------------------------------------------------------------------------------------------
// Revoke
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn revoking_a_share_stops_its_link_at_once() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let created = share_usa(&u).await;
    let (share_id, token) = (text(&created, "share_id"), text(&created, "share_token"));
    open(&app, &token).await.assert_status(200);

    let r = u.delete(&format!("/ipam/shares/{share_id}")).await;

    assert_eq!(r.code(), 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_gone(&open(&app, &token).await);
    assert!(!share_ids(&list(&u, "").await).contains(&share_id), "a revoked share is not listed");
}

#[tokio::test]
async fn revoking_twice_is_not_found_the_second_time() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let share_id = text(&share_usa(&u).await, "share_id");
    u.delete(&format!("/ipam/shares/{share_id}")).await.assert_status(204);

    let r = u.delete(&format!("/ipam/shares/{share_id}")).await;

    r.assert_error(404, "not_found");
}

#[tokio::test]
async fn another_users_share_cannot_be_revoked_and_keeps_working() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let created = share_usa(&alice).await;
    let (share_id, token) = (text(&created, "share_id"), text(&created, "share_token"));

    let r = bob.delete(&format!("/ipam/shares/{share_id}")).await;

    r.assert_error(404, "not_found");
    open(&app, &token).await.assert_status(200);
    assert_eq!(listed(&alice, &share_id).await["is_active"], true);
}

#[tokio::test]
async fn revoking_an_unknown_or_malformed_share_id_or_a_token_is_not_found() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let created = share_usa(&u).await;
    let token = text(&created, "share_token");

    for id in [UNKNOWN_ID, "not-an-id", token.as_str()] {
        let r = u.delete(&format!("/ipam/shares/{id}")).await;

        r.assert_error(404, "not_found");
    }
    open(&app, &token).await.assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_holds_only_the_callers_live_shares_newest_first() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let short_lived = text(&share(&alice, "country", "USA", 1).await, "share_id");
    tick(&app);
    let revoked = text(&share_usa(&alice).await, "share_id");
    tick(&app);
    let older = text(&share(&alice, "country", "CAN", 7).await, "share_id");
    tick(&app);
    let newer = text(&share(&alice, "country", "BRA", 7).await, "share_id");
    tick(&app);
    let bobs = text(&share_usa(&bob).await, "share_id");
    alice.delete(&format!("/ipam/shares/{revoked}")).await.assert_status(204);
    app.clock.advance(Duration::days(2));

    let body = list(&alice, "").await;

    assert_eq!(share_ids(&body), [newer.clone(), older.clone()], "{body}");
    assert!(!share_ids(&body).contains(&short_lived), "expired shares are not listed");
    assert_eq!(body["pagination"]["total_count"], 2);
    assert_eq!(share_ids(&list(&bob, "").await), [bobs]);
    let first = &body["results"][0];
    for key in ["share_token", "share_url", "resource_type", "resource_id", "view_count", "expires_at", "created_at"] {
        assert!(!first[key].is_null(), "{key} is listed: {first}");
    }
    assert_eq!(first["_id"], newer.as_str());
    assert_eq!(first["resource_id"], "BRA");
    assert_eq!(first["is_active"], true);
}

#[tokio::test]
async fn a_user_without_shares_gets_an_empty_page() {
    let app = spawn_app().await;
    share_usa(&app.user("alice")).await;

    let body = list(&app.user("bob"), "").await;

    assert_eq!(body["results"], json!([]));
    assert_eq!(
        body["pagination"],
        json!({"page": 1, "page_size": 50, "total_count": 0, "total_pages": 0, "has_next": false, "has_prev": false})
    );
}

#[tokio::test]
async fn the_list_is_paginated() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(text(&share_usa(&u).await, "share_id"));
        tick(&app);
    }
    ids.reverse();

    let first = list(&u, "?page=1&page_size=2").await;
    let second = list(&u, "?page=2&page_size=2").await;

    assert_eq!(share_ids(&first), ids[..2]);
    assert_eq!(
        first["pagination"],
        json!({"page": 1, "page_size": 2, "total_count": 3, "total_pages": 2, "has_next": true, "has_prev": false})
    );
    assert_eq!(share_ids(&second), ids[2..]);
    assert_eq!(
        second["pagination"],
        json!({"page": 2, "page_size": 2, "total_count": 3, "total_pages": 2, "has_next": false, "has_prev": true})
    );
}

#[tokio::test]
async fn bad_list_parameters_are_validation_errors() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for query in ["?page=0", "?page_size=0", "?page_size=101", "?page=abc", "?resource_type=country"] {
        let r = u.get(&format!("/ipam/shares{query}")).await;

        r.assert_error(422, "validation_error");
    }
}

// ---------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_and_listing_shares_need_only_read_permission() {
    let app = spawn_app().await;
    let reader = app.caller("alice", &[Permission::Read]);

    let created = reader
        .post("/ipam/shares", json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": 7}))
        .await;
    let listed = reader.get("/ipam/shares").await;

    let share_id = text(created.assert_status(201), "share_id");
    assert_eq!(share_ids(listed.assert_status(200)), [share_id]);
}

#[tokio::test]
async fn creating_and_listing_shares_without_read_permission_is_forbidden() {
    let app = spawn_app().await;
    let writer = app.caller("alice", &[Permission::Allocate, Permission::Release]);

    let created = writer
        .post("/ipam/shares", json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": 7}))
        .await;
    let listed = writer.get("/ipam/shares").await;

    assert_eq!(created.assert_error(403, "forbidden")["details"]["required_permission"], "ipam:read");
    assert_eq!(listed.assert_error(403, "forbidden")["details"]["required_permission"], "ipam:read");
    assert_eq!(list(&app.user("alice"), "").await["pagination"]["total_count"], 0, "nothing was created");
}

#[tokio::test]
async fn managing_shares_without_a_token_is_unauthorized() {
    let app = spawn_app().await;
    let share_id = text(&share_usa(&app.user("alice")).await, "share_id");
    let anon = app.anonymous();

    anon.post("/ipam/shares", json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": 7}))
        .await
        .assert_error(401, "unauthorized");
    anon.get("/ipam/shares").await.assert_error(401, "unauthorized");
    anon.delete(&format!("/ipam/shares/{share_id}")).await.assert_error(401, "unauthorized");
    app.with_token("not-a-jwt").get("/ipam/shares").await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn revoking_needs_update_permission() {
    let app = spawn_app().await;
    let created = share_usa(&app.user("alice")).await;
    let (share_id, token) = (text(&created, "share_id"), text(&created, "share_token"));
    let reader = app.caller("alice", &[Permission::Read]);
    let updater = app.caller("alice", &[Permission::Update]);

    let refused = reader.delete(&format!("/ipam/shares/{share_id}")).await;
    let still_open = open(&app, &token).await;
    let revoked = updater.delete(&format!("/ipam/shares/{share_id}")).await;

    assert_eq!(refused.assert_error(403, "forbidden")["details"]["required_permission"], "ipam:update");
    still_open.assert_status(200);
    assert_eq!(revoked.code(), 204, "{}", revoked.text);
    assert_gone(&open(&app, &token).await);
}

#[tokio::test]
async fn opening_a_link_needs_no_permission_at_all() {
    let app = spawn_app().await;
    let token = text(&share_usa(&app.user("alice")).await, "share_token");

    let anonymous = open(&app, &token).await;
    let powerless = app.caller("carol", &[]).get(&format!("/ipam/shares/{token}")).await;

    assert_eq!(anonymous.assert_status(200)["shared_by"], "alice");
    assert_eq!(powerless.assert_status(200)["shared_by"], "alice", "the owner's data, whoever asks");
}

// ---------------------------------------------------------------------------------------------
// Public rate limit
// ---------------------------------------------------------------------------------------------

/// An app with rate limits on and a public share budget of `n` reads a minute.
async fn public_budget_app(n: u32) -> TestApp {
    spawn_app_with(|s| {
        s.rate_limits = Switch::On;
        s.rate_limit_public_shares = n;
    })
    .await
}

fn header_number(r: &TestResponse, name: &str) -> u64 {
    r.header(name)
        .unwrap_or_else(|| panic!("missing {name} header (status {})", r.status))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

#[tokio::test]
async fn public_reads_share_one_budget_for_everybody() {
    let app = public_budget_app(3).await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let created = share_usa(&alice).await;
    let token = text(&created, "share_token");
    let path = format!("/ipam/shares/{token}");

    let reads = [app.anonymous().get(&path).await, alice.get(&path).await, bob.get(&path).await];
    let refused = app.caller("carol", &[]).get(&path).await;

    let mut remaining = Vec::new();
    for r in &reads {
        r.assert_status(200);
        assert_eq!(header_number(r, "x-ratelimit-limit"), 3);
        assert!(header_number(r, "x-ratelimit-reset") <= 60);
        remaining.push(header_number(r, "x-ratelimit-remaining"));
    }
    assert_eq!(remaining, [2, 1, 0]);
    let body = refused.assert_error(429, "rate_limit_exceeded");
    let retry_after = header_number(&refused, "retry-after");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(body["details"]["retry_after"], retry_after);
    assert_eq!(body["details"]["limit"], 3);
    assert_eq!(listed(&alice, &text(&created, "share_id")).await["view_count"], 3, "the refused read is not a view");
}

#[tokio::test]
async fn reads_of_unknown_tokens_use_up_the_public_budget_too() {
    let app = public_budget_app(3).await;
    let token = text(&share_usa(&app.user("alice")).await, "share_token");

    for _ in 0..3 {
        assert_gone(&open(&app, UNKNOWN_TOKEN).await);
    }
    let r = open(&app, &token).await;

    r.assert_error(429, "rate_limit_exceeded");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn managing_shares_does_not_use_up_the_public_budget() {
    let app = public_budget_app(1).await;
    let u = app.user("alice");
    let token = text(&share_usa(&u).await, "share_token");
    share_usa(&u).await;
    list(&u, "").await;
    list(&u, "").await;

    let r = open(&app, &token).await;

    r.assert_status(200);
    assert_eq!(header_number(&r, "x-ratelimit-remaining"), 0);
}
