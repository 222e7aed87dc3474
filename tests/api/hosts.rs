//! `/ipam/hosts`: allocation (single and batch), listing, lookups, changes and release.

use chrono::Duration;
use ipam_core::auth::Permission;
use ipam_tests::json::text;
use ipam_tests::{Caller, TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Allocates a USA region and returns its id.
async fn region(u: &Caller<'_>, name: &str) -> String {
    text(&u.create_region("USA", name).await, "region_id")
}

/// Allocates a host and returns its id.
async fn host(u: &Caller<'_>, region_id: &str, hostname: &str) -> String {
    text(&u.create_host(region_id, hostname).await, "host_id")
}

/// Allocates a batch and returns the response body.
async fn batch(u: &Caller<'_>, region_id: &str, prefix: &str, count: u32) -> Value {
    let r =
        u.post("/ipam/hosts/batch", json!({"region_id": region_id, "hostname_prefix": prefix, "count": count})).await;
    r.assert_status(201).clone()
}

/// Fills a region completely (254 hosts) with three batches.
async fn fill(u: &Caller<'_>, region_id: &str) {
    for count in [100, 100, 54] {
        batch(u, region_id, "fill", count).await;
    }
}

/// The hostnames of a list response, in order.
fn hostnames(body: &Value) -> Vec<String> {
    body["results"].as_array().expect("results array").iter().map(|h| text(h, "hostname")).collect()
}

/// The hostnames of a list response, sorted.
fn sorted_hostnames(body: &Value) -> Vec<String> {
    let mut names = hostnames(body);
    names.sort();
    names
}

/// Moves the app clock so the next write gets a strictly later timestamp.
fn tick(app: &TestApp) {
    app.clock.advance(Duration::seconds(1));
}

/// Total of a list response.
async fn count_hosts(u: &Caller<'_>, query: &str) -> u64 {
    u.get(&format!("/ipam/hosts{query}")).await.assert_status(200)["pagination"]["total_count"].as_u64().unwrap()
}

/// A well-formed id that no resource has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

// ---------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_first_host_gets_z_one_and_echoes_every_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;

    let r = u
        .post(
            "/ipam/hosts",
            json!({"region_id": region_id, "hostname": "Web-01.Example.COM", "device_type": "vm",
                   "os_type": "Ubuntu 24.04", "application": "shop", "cost_center": "CC-7", "owner": "team-web",
                   "purpose": "frontend", "notes": "line one\nline two", "tags": {"env": "prod"}}),
        )
        .await;

    let body = r.assert_status(201).clone();
    let id = text(&body, "host_id");
    assert_eq!(r.header("location").unwrap(), format!("/ipam/hosts/{id}"));
    assert_eq!(body["_id"], body["host_id"]);
    assert_eq!(body["region_id"], region_id);
    assert_eq!(body["ip_address"], "10.153.0.1");
    assert_eq!(body["cidr"], "10.153.0.0/24");
    assert_eq!(
        (body["x_octet"].clone(), body["y_octet"].clone(), body["z_octet"].clone()),
        (json!(153), json!(0), json!(1))
    );
    assert_eq!(body["country_code"], "USA");
    assert_eq!(body["country"], "United States");
    assert_eq!(body["continent"], "North America");
    assert_eq!(body["hostname"], "web-01.example.com", "hostnames are lower-cased");
    assert_eq!(body["device_type"], "VM", "device types are canonicalised");
    assert_eq!(body["os_type"], "Ubuntu 24.04");
    assert_eq!(body["application"], "shop");
    assert_eq!(body["cost_center"], "CC-7");
    assert_eq!(body["purpose"], "frontend");
    assert_eq!(body["notes"], "line one\nline two");
    assert_eq!(body["owner"], "team-web");
    assert_eq!(body["owner_id"], "u1");
    assert_eq!(body["user_id"], "u1");
    assert_eq!(body["status"], "Active");
    assert_eq!(body["tags"], json!({"env": "prod"}));
    assert_eq!(body["created_by"], "u1");
    assert_eq!(body["created_at"], body["updated_at"]);
    let parent = u.get(&format!("/ipam/regions/{region_id}")).await.assert_status(200).clone();
    assert_eq!(parent["allocated_hosts"], 1);
}

#[tokio::test]
async fn a_host_without_optional_fields_gets_nulls_and_the_callers_name_as_owner() {
    let app = spawn_app().await;
    let u = app.user("dave");
    let region_id = region(&u, "r1").await;

    let body = u.create_host(&region_id, "db1").await;

    for field in ["device_type", "os_type", "application", "cost_center", "purpose", "notes"] {
        assert_eq!(body[field], Value::Null, "{field}");
    }
    assert_eq!(body["owner"], "dave");
    assert_eq!(body["tags"], json!({}));
}

#[tokio::test]
async fn blank_optional_fields_are_stored_as_absent() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;

    let r = u
        .post("/ipam/hosts", json!({"region_id": region_id, "hostname": "h1", "device_type": "", "notes": "   "}))
        .await;

    let body = r.assert_status(201);
    assert_eq!(body["device_type"], Value::Null);
    assert_eq!(body["notes"], Value::Null);
}

#[tokio::test]
async fn every_device_type_is_accepted_in_any_case_and_stored_canonically() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let cases = [
        ("vm", "VM"),
        ("CONTAINER", "Container"),
        ("physical", "Physical"),
        ("Network", "Network"),
        ("storage", "Storage"),
        ("oThEr", "Other"),
    ];

    for (i, (given, stored)) in cases.into_iter().enumerate() {
        let r = u
            .post("/ipam/hosts", json!({"region_id": region_id, "hostname": format!("h{i}"), "device_type": given}))
            .await;
        assert_eq!(r.assert_status(201)["device_type"], stored, "{given}");
    }
}

#[tokio::test]
async fn hosts_get_the_lowest_free_z_and_a_released_address_is_reused_first() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let mut ids = Vec::new();
    for (i, name) in ["a", "b", "c", "d"].into_iter().enumerate() {
        let body = u.create_host(&region_id, name).await;
        assert_eq!(body["z_octet"], i + 1);
        ids.push(text(&body, "host_id"));
    }

    u.delete(&format!("/ipam/hosts/{}?reason=freeing%20z2", ids[1])).await.assert_status(204);
    u.delete(&format!("/ipam/hosts/{}?reason=freeing%20z3", ids[2])).await.assert_status(204);
    let refill = u.create_host(&region_id, "e").await;
    let refill2 = u.create_host(&region_id, "f").await;
    let next = u.create_host(&region_id, "g").await;

    assert_eq!(refill["ip_address"], "10.153.0.2");
    assert_eq!(refill2["ip_address"], "10.153.0.3");
    assert_eq!(next["ip_address"], "10.153.0.5");
}

#[tokio::test]
async fn hosts_of_a_second_region_use_its_own_block() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let first = region(&u, "r1").await;
    let second = region(&u, "r2").await;
    u.create_host(&first, "a").await;

    let body = u.create_host(&second, "a").await;

    assert_eq!(body["ip_address"], "10.153.1.1", "the same hostname is fine in another region");
}

#[tokio::test]
async fn a_duplicate_hostname_in_the_region_is_409_ignoring_case() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    u.create_host(&region_id, "web-01").await;

    let r = u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "WEB-01"})).await;

    r.assert_error(409, "duplicate_name");
    assert_eq!(r.json["details"]["hostname"], "web-01");
    assert_eq!(count_hosts(&u, "").await, 1);
}

#[tokio::test]
async fn a_host_cannot_be_allocated_in_a_missing_region() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for region_id in ["nope", UNKNOWN_ID] {
        let r = u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "h1"})).await;
        r.assert_error(404, "not_found");
    }
}

#[tokio::test]
async fn a_reserved_region_refuses_new_hosts_until_it_is_active_again() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    u.patch(&format!("/ipam/regions/{region_id}"), json!({"status": "Reserved"})).await.assert_status(200);

    let single = u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "h1"})).await;
    let many = u.post("/ipam/hosts/batch", json!({"region_id": region_id, "hostname_prefix": "h", "count": 2})).await;

    for r in [&single, &many] {
        r.assert_error(409, "conflict");
        assert_eq!(r.json["details"]["status"], "Reserved");
        assert!(r.json["message"].as_str().unwrap().contains("Active"), "{}", r.text);
    }
    assert_eq!(count_hosts(&u, "").await, 0);
    u.patch(&format!("/ipam/regions/{region_id}"), json!({"status": "Active"})).await.assert_status(200);
    assert_eq!(u.create_host(&region_id, "h1").await["z_octet"], 1);
}

#[tokio::test]
async fn a_full_region_refuses_another_host_with_capacity_exhausted() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    fill(&u, &region_id).await;

    let single = u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "one-more"})).await;
    let many =
        u.post("/ipam/hosts/batch", json!({"region_id": region_id, "hostname_prefix": "more", "count": 1})).await;

    for r in [&single, &many] {
        r.assert_error(409, "capacity_exhausted");
        assert_eq!(r.json["details"]["capacity"], 254);
        assert_eq!(r.json["details"]["allocated"], 254);
    }
    let util = u.get(&format!("/ipam/regions/{region_id}/utilization")).await.assert_status(200).clone();
    assert_eq!(util["allocated"], 254);
    assert_eq!(util["available"], 0);
    assert_eq!(util["utilization_percent"], 100.0);
    let last = u.get("/ipam/hosts/by-ip/10.153.0.254").await.assert_status(200).clone();
    assert_eq!(last["hostname"], "fill-254");
    u.get("/ipam/hosts/by-ip/10.153.0.255").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn invalid_host_fields_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let cases = [
        ("hostname", json!("")),
        ("hostname", json!("-web")),
        ("hostname", json!("web-")),
        ("hostname", json!("web_1")),
        ("hostname", json!("web..prod")),
        ("hostname", json!("wëb")),
        ("hostname", json!("web 1")),
        ("hostname", json!("a".repeat(64))),
        ("hostname", json!(vec!["a".repeat(63); 4].join("."))),
        ("hostname", json!(42)),
        ("device_type", json!("Toaster")),
        ("os_type", json!("o".repeat(101))),
        ("application", json!("a".repeat(201))),
        ("cost_center", json!("c".repeat(101))),
        ("purpose", json!("p".repeat(501))),
        ("notes", json!("n".repeat(2001))),
        ("owner", json!("o".repeat(101))),
        ("owner", json!("")),
        ("tags", json!({"bad key": "v"})),
        ("tags", json!("env=prod")),
    ];
    for (field, value) in cases {
        let mut body = json!({"region_id": region_id, "hostname": "valid"});
        body[field] = value.clone();
        let r = u.post("/ipam/hosts", body).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{field}={value} → {}", r.text);
    }
    assert_eq!(count_hosts(&u, "").await, 0, "nothing was allocated");
}

#[tokio::test]
async fn the_longest_valid_values_are_accepted() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let hostname = format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));

    let r = u
        .post(
            "/ipam/hosts",
            json!({"region_id": region_id, "hostname": hostname, "os_type": "o".repeat(100),
                   "application": "a".repeat(200), "notes": "n".repeat(2000), "purpose": "p".repeat(500)}),
        )
        .await;

    assert_eq!(r.assert_status(201)["hostname"].as_str().unwrap().len(), 253);
}

#[tokio::test]
async fn missing_required_host_fields_are_named() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;

    let no_hostname = u.post("/ipam/hosts", json!({"region_id": region_id})).await;
    let no_region = u.post("/ipam/hosts", json!({"hostname": "h1"})).await;
    let empty = u.send_raw(Method::POST, "/ipam/hosts", "application/json", b"  ".to_vec()).await;

    assert_eq!(no_hostname.assert_error(422, "validation_error")["details"]["hostname"], "is required");
    assert_eq!(no_region.assert_error(422, "validation_error")["details"]["region_id"], "is required");
    empty.assert_error(422, "validation_error");
}

#[tokio::test]
async fn unknown_host_fields_are_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;

    let r = u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "h1", "ip_address": "10.153.0.9"})).await;

    r.assert_error(422, "validation_error");
    assert!(r.json["message"].as_str().unwrap().contains("not a known field"), "{}", r.text);
    assert_eq!(count_hosts(&u, "").await, 0);
}

#[tokio::test]
async fn unknown_host_fields_are_named_in_the_details() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let id = host(&u, &region_id, "h1").await;

    let create =
        u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "h2", "ip_address": "10.153.0.9"})).await;
    let patch = u.patch(&format!("/ipam/hosts/{id}"), json!({"region_id": region_id})).await;

    for (r, field) in [(&create, "ip_address"), (&patch, "region_id")] {
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{field} not named: {}", r.text);
    }
}

// ---------------------------------------------------------------------------------------------
// Batch
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_batch_allocates_consecutive_addresses_with_numbered_names() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;

    let r = u
        .post(
            "/ipam/hosts/batch",
            json!({"region_id": region_id, "hostname_prefix": "Web", "count": 3, "device_type": "container",
                   "owner": "team-web", "tags": {"env": "prod"}}),
        )
        .await;

    let body = r.assert_status(201).clone();
    assert_eq!(r.header("location").unwrap(), format!("/ipam/hosts?region_id={region_id}"));
    assert_eq!(body["region_id"], region_id);
    assert_eq!(body["total_allocated"], 3);
    let hosts = body["hosts"].as_array().unwrap();
    let got: Vec<(String, String)> = hosts.iter().map(|h| (text(h, "hostname"), text(h, "ip_address"))).collect();
    assert_eq!(
        got,
        [
            ("web-001".to_owned(), "10.153.0.1".to_owned()),
            ("web-002".to_owned(), "10.153.0.2".to_owned()),
            ("web-003".to_owned(), "10.153.0.3".to_owned())
        ]
    );
    for h in hosts {
        assert_eq!(h["device_type"], "Container");
        assert_eq!(h["owner"], "team-web");
        assert_eq!(h["tags"], json!({"env": "prod"}));
    }
    assert_eq!(count_hosts(&u, &format!("?region_id={region_id}")).await, 3);
}

#[tokio::test]
async fn batch_names_continue_after_the_highest_existing_number_and_fill_address_gaps() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let first = host(&u, &region_id, "web-001").await;
    host(&u, &region_id, "web-007").await;
    host(&u, &region_id, "web-db-050").await;
    host(&u, &region_id, "webx-099").await;
    u.delete(&format!("/ipam/hosts/{first}?reason=freeing%20z1")).await.assert_status(204);

    let body = batch(&u, &region_id, "web", 3).await;

    let got: Vec<(String, String)> =
        body["hosts"].as_array().unwrap().iter().map(|h| (text(h, "hostname"), text(h, "ip_address"))).collect();
    assert_eq!(
        got,
        [
            ("web-008".to_owned(), "10.153.0.1".to_owned()),
            ("web-009".to_owned(), "10.153.0.5".to_owned()),
            ("web-010".to_owned(), "10.153.0.6".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_batch_that_does_not_fit_allocates_nothing() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    batch(&u, &region_id, "a", 100).await;
    batch(&u, &region_id, "b", 100).await;

    let r = u.post("/ipam/hosts/batch", json!({"region_id": region_id, "hostname_prefix": "c", "count": 55})).await;

    r.assert_error(409, "capacity_exhausted");
    assert_eq!(r.json["details"]["requested"], 55);
    assert!(r.json["message"].as_str().unwrap().contains("54"), "{}", r.text);
    assert_eq!(count_hosts(&u, "").await, 200, "all or nothing");
    assert_eq!(count_hosts(&u, "?hostname=c-").await, 0);
    let exact = batch(&u, &region_id, "c", 54).await;
    assert_eq!(exact["total_allocated"], 54, "exactly the free room still fits");
}

#[tokio::test]
async fn invalid_batch_requests_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let cases = [
        ("count", json!(0)),
        ("count", json!(101)),
        ("count", json!(-1)),
        ("count", json!("3")),
        ("hostname_prefix", json!("")),
        ("hostname_prefix", json!("a.b")),
        ("hostname_prefix", json!("web-")),
        ("hostname_prefix", json!("web_")),
        ("hostname_prefix", json!("a".repeat(60))),
        ("device_type", json!("Toaster")),
        ("tags", json!({"a b": "c"})),
    ];
    for (field, value) in cases {
        let mut body = json!({"region_id": region_id, "hostname_prefix": "web", "count": 2});
        body[field] = value.clone();
        let r = u.post("/ipam/hosts/batch", body).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{field}={value} → {}", r.text);
    }
    let missing = u.post("/ipam/hosts/batch", json!({"region_id": region_id, "hostname_prefix": "web"})).await;
    assert_eq!(missing.assert_error(422, "validation_error")["details"]["count"], "is required");
    assert_eq!(count_hosts(&u, "").await, 0);
}

#[tokio::test]
async fn a_batch_of_one_hundred_is_accepted() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;

    let body = batch(&u, &region_id, "n", 100).await;

    assert_eq!(body["total_allocated"], 100);
    assert_eq!(body["hosts"][99]["hostname"], "n-100");
    assert_eq!(body["hosts"][99]["ip_address"], "10.153.0.100");
}

#[tokio::test]
async fn a_batch_into_a_missing_region_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for region_id in ["nope", UNKNOWN_ID] {
        let r = u.post("/ipam/hosts/batch", json!({"region_id": region_id, "hostname_prefix": "h", "count": 1})).await;
        r.assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_host_list_is_paginated_newest_first() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    for name in ["h1", "h2", "h3"] {
        u.create_host(&region_id, name).await;
        tick(&app);
    }

    let page1 = u.get("/ipam/hosts?page_size=2").await.assert_status(200).clone();
    let page2 = u.get("/ipam/hosts?page=2&page_size=2").await.assert_status(200).clone();

    assert_eq!(hostnames(&page1), ["h3", "h2"]);
    assert_eq!(
        page1["pagination"],
        json!({"page": 1, "page_size": 2, "total_count": 3, "total_pages": 2, "has_next": true, "has_prev": false})
    );
    assert_eq!(hostnames(&page2), ["h1"]);
    assert_eq!(page2["pagination"]["has_prev"], true);
    assert_eq!(page2["pagination"]["has_next"], false);
}

#[tokio::test]
async fn the_host_list_filters_by_region_hostname_device_type_owner_and_status() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let r1 = region(&u, "r1").await;
    let r2 = region(&u, "r2").await;
    u.post("/ipam/hosts", json!({"region_id": r1, "hostname": "web-1", "device_type": "VM"})).await.assert_status(201);
    u.post("/ipam/hosts", json!({"region_id": r1, "hostname": "db-1", "device_type": "Physical", "owner": "dba"}))
        .await
        .assert_status(201);
    let reserved = host(&u, &r2, "web-2").await;
    u.patch(&format!("/ipam/hosts/{reserved}"), json!({"status": "Reserved"})).await.assert_status(200);

    let in_r1 = u.get(&format!("/ipam/hosts?region_id={r1}")).await.assert_status(200).clone();
    let webs = u.get("/ipam/hosts?hostname=WEB").await.assert_status(200).clone();
    let dot = u.get("/ipam/hosts?hostname=.").await.assert_status(200).clone();
    let vms = u.get("/ipam/hosts?device_type=vm").await.assert_status(200).clone();
    let dba = u.get("/ipam/hosts?owner=dba").await.assert_status(200).clone();
    let mine = u.get("/ipam/hosts?owner=u1").await.assert_status(200).clone();
    let held = u.get("/ipam/hosts?status=reserved").await.assert_status(200).clone();
    let combined = u.get(&format!("/ipam/hosts?region_id={r1}&hostname=web")).await.assert_status(200).clone();
    let unknown_region = u.get(&format!("/ipam/hosts?region_id={UNKNOWN_ID}")).await.assert_status(200).clone();

    assert_eq!(sorted_hostnames(&in_r1), ["db-1", "web-1"]);
    assert_eq!(sorted_hostnames(&webs), ["web-1", "web-2"]);
    assert_eq!(hostnames(&dot), Vec::<String>::new(), "'.' is matched literally");
    assert_eq!(hostnames(&vms), ["web-1"]);
    assert_eq!(hostnames(&dba), ["db-1"]);
    assert_eq!(mine["pagination"]["total_count"], 3, "owner also matches the owner id");
    assert_eq!(hostnames(&held), ["web-2"]);
    assert_eq!(hostnames(&combined), ["web-1"]);
    assert_eq!(unknown_region["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn the_host_list_filters_by_tags_and_creation_time() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let old = u
        .post("/ipam/hosts", json!({"region_id": region_id, "hostname": "old", "tags": {"env": "prod", "tier": "1"}}))
        .await
        .assert_status(201)
        .clone();
    app.clock.advance(Duration::days(2));
    u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "new", "tags": {"env": "prod"}}))
        .await
        .assert_status(201);
    let cut = chrono::DateTime::parse_from_rfc3339(old["created_at"].as_str().unwrap()).unwrap() + Duration::days(1);
    let cut = cut.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    let prod = u.get("/ipam/hosts?tag.env=prod").await.assert_status(200).clone();
    let tier1 = u.get("/ipam/hosts?tag.env=prod&tag.tier=1").await.assert_status(200).clone();
    let after = u.get(&format!("/ipam/hosts?created_after={cut}")).await.assert_status(200).clone();
    let before = u.get(&format!("/ipam/hosts?created_before={cut}")).await.assert_status(200).clone();

    assert_eq!(hostnames(&prod), ["new", "old"]);
    assert_eq!(hostnames(&tier1), ["old"]);
    assert_eq!(hostnames(&after), ["new"]);
    assert_eq!(hostnames(&before), ["old"]);
}

#[tokio::test]
async fn invalid_host_list_parameters_are_refused_naming_the_parameter() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let cases = [
        ("region=abc", "region"),
        ("region_id=abc", "region_id"),
        ("status=Released", "status"),
        ("device_type=Toaster", "device_type"),
        ("hostname=", "hostname"),
        ("page=0", "page"),
        ("page_size=101", "page_size"),
        ("page_size=ten", "page_size"),
        ("created_before=tomorrow", "created_before"),
        ("tag.a%2Bb=c", "tag.a+b"),
    ];
    for (query, field) in cases {
        let r = u.get(&format!("/ipam/hosts?{query}")).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{query} should name {field}: {}", r.text);
    }
}

// ---------------------------------------------------------------------------------------------
// Get, by-ip, bulk lookup
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_host_is_read_back_by_id_and_by_address() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let created = u.create_host(&region_id, "h1").await;

    let by_id = u.get(&format!("/ipam/hosts/{}", text(&created, "host_id"))).await.assert_status(200).clone();
    let by_ip = u.get("/ipam/hosts/by-ip/10.153.0.1").await.assert_status(200).clone();

    assert_eq!(by_id, created);
    assert_eq!(by_ip, created);
}

#[tokio::test]
async fn reading_a_malformed_or_unknown_host_id_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for id in ["nope", "507f1f77bcf86cd799439011", UNKNOWN_ID] {
        u.get(&format!("/ipam/hosts/{id}")).await.assert_error(404, "not_found");
    }
}

#[tokio::test]
async fn by_ip_refuses_what_is_not_an_address_in_ten_slash_eight() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for ip in ["banana", "10.1.2", "10.1.2.256", "10.1.2.3.4", "192.168.1.1"] {
        let r = u.get(&format!("/ipam/hosts/by-ip/{ip}")).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["ip_address"].is_string(), "{ip}: {}", r.text);
    }
}

#[tokio::test]
async fn by_ip_of_an_address_the_caller_does_not_hold_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    u.create_host(&region_id, "h1").await;

    for ip in ["10.153.0.2", "10.153.0.0", "10.153.1.1", "10.0.0.1"] {
        u.get(&format!("/ipam/hosts/by-ip/{ip}")).await.assert_error(404, "not_found");
    }
}

#[tokio::test]
async fn bulk_lookup_answers_every_item_in_request_order() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    u.create_host(&region_id, "h1").await;
    let items = ["10.153.0.1", "10.153.0.2", "10.154.0.1", "banana", "192.168.1.1", "10.153.0.1"];

    let r = u.post("/ipam/hosts/bulk-lookup", json!({"ip_addresses": items})).await;

    let body = r.assert_status(200).clone();
    assert_eq!(body["total_count"], 6);
    let results = body["results"].as_array().unwrap();
    let statuses: Vec<&str> = results.iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["fully_allocated", "region_allocated", "not_allocated", "invalid", "invalid", "fully_allocated"]
    );
    assert_eq!(results[0]["ip_address"], "10.153.0.1");
    assert_eq!(results[0]["hierarchy"]["host"]["hostname"], "h1");
    assert_eq!(results[0]["hierarchy"]["region"]["region_id"], region_id);
    assert_eq!(results[0]["hierarchy"]["country"]["code"], "USA");
    assert_eq!(results[1]["hierarchy"]["host"], Value::Null);
    assert_eq!(results[1]["hierarchy"]["region"]["cidr"], "10.153.0.0/24");
    assert_eq!(results[2]["hierarchy"]["region"], Value::Null);
    assert_eq!(results[3]["ip_address"], "banana");
    assert_eq!(results[3]["hierarchy"], Value::Null);
    assert!(results[3]["error"].is_string());
    assert!(results[4]["error"].as_str().unwrap().contains("outside 10.0.0.0/8"), "{}", results[4]);
}

#[tokio::test]
async fn bulk_lookup_takes_one_to_one_hundred_addresses() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let hundred: Vec<String> = (1..=100).map(|z| format!("10.153.0.{z}")).collect();
    let too_many: Vec<String> = (1..=101).map(|z| format!("10.153.0.{z}")).collect();

    let ok = u.post("/ipam/hosts/bulk-lookup", json!({"ip_addresses": hundred})).await;
    let over = u.post("/ipam/hosts/bulk-lookup", json!({"ip_addresses": too_many})).await;
    let empty = u.post("/ipam/hosts/bulk-lookup", json!({"ip_addresses": []})).await;
    let missing = u.post("/ipam/hosts/bulk-lookup", json!({})).await;
    let wrong_type = u.post("/ipam/hosts/bulk-lookup", json!({"ip_addresses": "10.153.0.1"})).await;

    assert_eq!(ok.assert_status(200)["total_count"], 100);
    for r in [&over, &empty, &missing, &wrong_type] {
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["ip_addresses"].is_string(), "{}", r.text);
    }
}

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn patch_changes_each_host_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let created = u.create_host(&region_id, "h1").await;
    let id = text(&created, "host_id");
    tick(&app);

    let r = u
        .patch(
            &format!("/ipam/hosts/{id}"),
            json!({"hostname": "H1-Renamed", "device_type": "storage", "os_type": "Debian", "application": "nfs",
                   "cost_center": "CC-9", "purpose": "files", "notes": "n", "owner": "team-st", "status": "reserved",
                   "tags": {"env": "prod"}, "reason": "moved to storage"}),
        )
        .await;

    let body = r.assert_status(200).clone();
    assert_eq!(body["hostname"], "h1-renamed");
    assert_eq!(body["device_type"], "Storage");
    assert_eq!(body["os_type"], "Debian");
    assert_eq!(body["application"], "nfs");
    assert_eq!(body["cost_center"], "CC-9");
    assert_eq!(body["purpose"], "files");
    assert_eq!(body["notes"], "n");
    assert_eq!(body["owner"], "team-st");
    assert_eq!(body["status"], "Reserved");
    assert_eq!(body["tags"], json!({"env": "prod"}));
    assert_eq!(body["ip_address"], created["ip_address"], "the address never changes");
    assert_ne!(body["updated_at"], created["updated_at"]);
    assert_eq!(u.get(&format!("/ipam/hosts/{id}")).await.assert_status(200), &body, "the change is stored");
}

#[tokio::test]
async fn null_clears_optional_fields_and_absent_fields_are_kept() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let id = text(
        u.post(
            "/ipam/hosts",
            json!({"region_id": region_id, "hostname": "h1", "device_type": "VM", "os_type": "Linux",
                   "application": "app", "cost_center": "cc", "purpose": "p", "notes": "n"}),
        )
        .await
        .assert_status(201),
        "host_id",
    );

    let r = u
        .patch(
            &format!("/ipam/hosts/{id}"),
            json!({"device_type": null, "os_type": null, "application": null, "purpose": null, "notes": ""}),
        )
        .await;

    let body = r.assert_status(200).clone();
    for field in ["device_type", "os_type", "application", "purpose", "notes"] {
        assert_eq!(body[field], Value::Null, "{field} cleared");
    }
    assert_eq!(body["cost_center"], "cc", "an absent field is left alone");
    assert_eq!(body["hostname"], "h1");
}

#[tokio::test]
async fn renaming_a_host_to_a_name_taken_in_its_region_is_409() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let r1 = region(&u, "r1").await;
    let r2 = region(&u, "r2").await;
    host(&u, &r1, "taken").await;
    let id = host(&u, &r1, "mine").await;
    let elsewhere = host(&u, &r2, "other").await;

    let clash = u.patch(&format!("/ipam/hosts/{id}"), json!({"hostname": "TAKEN"})).await;
    let other_region = u.patch(&format!("/ipam/hosts/{elsewhere}"), json!({"hostname": "taken"})).await;

    clash.assert_error(409, "duplicate_name");
    assert_eq!(u.get(&format!("/ipam/hosts/{id}")).await.assert_status(200)["hostname"], "mine");
    assert_eq!(other_region.assert_status(200)["hostname"], "taken");
}

#[tokio::test]
async fn an_empty_or_invalid_host_patch_is_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let id = host(&u, &region_id, "h1").await;

    let empty = u.patch(&format!("/ipam/hosts/{id}"), json!({})).await;
    let only_reason = u.patch(&format!("/ipam/hosts/{id}"), json!({"reason": "no change at all"})).await;
    assert!(empty.assert_error(422, "validation_error")["details"]["body"].is_string(), "{}", empty.text);
    only_reason.assert_error(422, "validation_error");

    let cases = [
        ("hostname", json!("bad_name")),
        ("device_type", json!("Toaster")),
        ("os_type", json!("o".repeat(101))),
        ("notes", json!("n".repeat(2001))),
        ("owner", json!("")),
        ("status", json!("Gone")),
        ("tags", json!({"a.b": "c"})),
        ("reason", json!("shrt")),
        ("device_type", json!(3)),
    ];
    for (field, value) in cases {
        let companion = if field == "application" { "purpose" } else { "application" };
        let r = u.patch(&format!("/ipam/hosts/{id}"), json!({ field: value.clone(), companion: "changed" })).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{field}={value} → {}", r.text);
    }
    assert_eq!(u.get(&format!("/ipam/hosts/{id}")).await.assert_status(200)["application"], Value::Null);
}

#[tokio::test]
async fn setting_a_host_status_to_released_points_at_delete() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let id = host(&u, &region_id, "h1").await;

    let r = u.patch(&format!("/ipam/hosts/{id}"), json!({"status": "Released"})).await;

    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["status"].as_str().unwrap().contains("DELETE /ipam/hosts"), "{}", r.text);
}

#[tokio::test]
async fn a_host_patch_that_changes_nothing_returns_it_unchanged() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let created = u.create_host(&region_id, "h1").await;
    tick(&app);

    let r =
        u.patch(&format!("/ipam/hosts/{}", text(&created, "host_id")), json!({"hostname": "H1", "notes": null})).await;

    assert_eq!(r.assert_status(200), &created);
}

#[tokio::test]
async fn patching_a_malformed_or_unknown_host_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for id in ["nope", UNKNOWN_ID] {
        u.patch(&format!("/ipam/hosts/{id}"), json!({"notes": "x"})).await.assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------------------------------------
// Delete (release)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn releasing_a_host_needs_a_reason_then_frees_the_address() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let id = host(&u, &region_id, "h1").await;

    let missing = u.delete(&format!("/ipam/hosts/{id}")).await;
    let short = u.delete(&format!("/ipam/hosts/{id}?reason=nah")).await;
    let short_body = u.send(Method::DELETE, &format!("/ipam/hosts/{id}"), Some(&json!({"reason": "x"}))).await;
    for r in [&missing, &short, &short_body] {
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["reason"].is_string(), "{}", r.text);
    }
    u.get(&format!("/ipam/hosts/{id}")).await.assert_status(200);

    let released = u.delete(&format!("/ipam/hosts/{id}?reason=decommissioned")).await;

    released.assert_status(204);
    assert!(released.text.is_empty());
    u.get(&format!("/ipam/hosts/{id}")).await.assert_error(404, "not_found");
    u.get("/ipam/hosts/by-ip/10.153.0.1").await.assert_error(404, "not_found");
    assert_eq!(u.get(&format!("/ipam/regions/{region_id}")).await.assert_status(200)["allocated_hosts"], 0);
    u.delete(&format!("/ipam/hosts/{id}?reason=decommissioned")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn a_host_can_be_released_with_the_reason_in_a_json_body() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let id = host(&u, &region_id, "h1").await;

    let r = u.send(Method::DELETE, &format!("/ipam/hosts/{id}"), Some(&json!({"reason": "decommissioned"}))).await;

    r.assert_status(204);
    u.get(&format!("/ipam/hosts/{id}")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn releasing_a_malformed_or_unknown_host_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for id in ["nope", UNKNOWN_ID] {
        u.delete(&format!("/ipam/hosts/{id}?reason=decommissioned")).await.assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------------------------------------
// Bulk release
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bulk_release_reports_each_distinct_id() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let h1 = host(&u, &region_id, "h1").await;
    let h2 = host(&u, &region_id, "h2").await;
    let kept = host(&u, &region_id, "h3").await;
    let ids = [h1.as_str(), h1.as_str(), h2.as_str(), UNKNOWN_ID, "garbage", "garbage"];

    let r = u.post("/ipam/hosts/bulk-release", json!({"host_ids": ids, "reason": "decommissioned"})).await;

    let body = r.assert_status(200).clone();
    assert_eq!(body["total_requested"], 6);
    assert_eq!(body["total_released"], 2);
    assert_eq!(body["total_failed"], 2);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "one entry per distinct id: {body}");
    let find = |id: &str| results.iter().find(|r| r["host_id"] == id).unwrap_or_else(|| panic!("{id} in {body}"));
    assert_eq!(find(&h1)["status"], "released");
    assert_eq!(find(&h1)["ip_address"], "10.153.0.1");
    assert_eq!(find(&h1)["hostname"], "h1");
    assert_eq!(find(&h2)["status"], "released");
    for missing in [UNKNOWN_ID, "garbage"] {
        assert_eq!(find(missing)["status"], "not_found");
        assert!(find(missing)["error"].is_string());
    }
    u.get(&format!("/ipam/hosts/{h1}")).await.assert_error(404, "not_found");
    u.get(&format!("/ipam/hosts/{kept}")).await.assert_status(200);
    assert_eq!(u.get(&format!("/ipam/regions/{region_id}")).await.assert_status(200)["allocated_hosts"], 1);
    assert_eq!(u.create_host(&region_id, "h4").await["ip_address"], "10.153.0.1", "addresses are free again");
}

#[tokio::test]
async fn bulk_release_of_only_malformed_ids_releases_nothing_without_error() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let r = u.post("/ipam/hosts/bulk-release", json!({"host_ids": ["x", "y"], "reason": "decommissioned"})).await;

    let body = r.assert_status(200).clone();
    assert_eq!(body["total_released"], 0);
    assert_eq!(body["total_failed"], 2);
}

#[tokio::test]
async fn invalid_bulk_release_requests_are_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    let id = host(&u, &region_id, "h1").await;
    let too_many: Vec<String> = (0..101).map(|_| id.clone()).collect();
    let cases = [
        (json!({"host_ids": too_many, "reason": "decommissioned"}), "host_ids"),
        (json!({"host_ids": [], "reason": "decommissioned"}), "host_ids"),
        (json!({"host_ids": [id], "reason": "no"}), "reason"),
        (json!({"host_ids": [id]}), "reason"),
        (json!({"reason": "decommissioned"}), "host_ids"),
        (json!({"host_ids": id, "reason": "decommissioned"}), "host_ids"),
    ];
    for (body, field) in cases {
        let r = u.post("/ipam/hosts/bulk-release", body.clone()).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{body} should name {field}: {}", r.text);
    }
    u.get(&format!("/ipam/hosts/{id}")).await.assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// Preview
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn preview_shows_the_next_address_without_reserving_it() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;

    let first = u.get(&format!("/ipam/hosts/preview-next?region_id={region_id}")).await.assert_status(200).clone();
    let again = u.get(&format!("/ipam/hosts/preview-next?region_id={region_id}")).await.assert_status(200).clone();
    u.create_host(&region_id, "h1").await;
    let after = u.get(&format!("/ipam/hosts/preview-next?region_id={region_id}")).await.assert_status(200).clone();

    assert_eq!(first["available"], true);
    assert_eq!(first["region_id"], region_id);
    assert_eq!(first["region_name"], "r1");
    assert_eq!(first["next_ip"], "10.153.0.1");
    assert_eq!(first["z_octet"], 1);
    assert!(first["message"].as_str().unwrap().contains("10.153.0.1"));
    assert_eq!(again, first, "previewing reserves nothing");
    assert_eq!(after["next_ip"], "10.153.0.2");
}

#[tokio::test]
async fn preview_of_a_full_region_says_it_is_full() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    fill(&u, &region_id).await;

    let body = u.get(&format!("/ipam/hosts/preview-next?region_id={region_id}")).await.assert_status(200).clone();

    assert_eq!(body["available"], false);
    assert_eq!(body["next_ip"], Value::Null);
    assert_eq!(body["z_octet"], Value::Null);
    assert!(body["message"].as_str().unwrap().contains("full"), "{body}");
}

#[tokio::test]
async fn preview_needs_an_existing_region() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let missing = u.get("/ipam/hosts/preview-next").await;
    let extra = u.get(&format!("/ipam/hosts/preview-next?region_id={UNKNOWN_ID}&x=1")).await;

    missing.assert_error(422, "validation_error");
    assert!(missing.json["details"]["region_id"].is_string(), "{}", missing.text);
    extra.assert_error(422, "validation_error");
    for id in ["nope", UNKNOWN_ID] {
        u.get(&format!("/ipam/hosts/preview-next?region_id={id}")).await.assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------------------------------------
// Permissions and isolation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_host_operation_requires_its_own_permission() {
    let app = spawn_app().await;
    let owner = app.user("u1");
    let region_id = region(&owner, "r1").await;
    let id = host(&owner, &region_id, "h1").await;
    let reader = app.caller("u1", &[Permission::Read]);

    reader.get(&format!("/ipam/hosts/{id}")).await.assert_status(200);
    reader.post("/ipam/hosts/bulk-lookup", json!({"ip_addresses": ["10.153.0.1"]})).await.assert_status(200);
    let cases = [
        (reader.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "h2"})).await, "ipam:allocate"),
        (
            reader.post("/ipam/hosts/batch", json!({"region_id": region_id, "hostname_prefix": "b", "count": 1})).await,
            "ipam:allocate",
        ),
        (reader.patch(&format!("/ipam/hosts/{id}"), json!({"notes": "x"})).await, "ipam:update"),
        (reader.delete(&format!("/ipam/hosts/{id}?reason=decommissioned")).await, "ipam:release"),
        (
            reader.post("/ipam/hosts/bulk-release", json!({"host_ids": [id], "reason": "decommissioned"})).await,
            "ipam:release",
        ),
    ];
    for (r, needed) in &cases {
        r.assert_error(403, "forbidden");
        assert_eq!(r.json["details"]["required_permission"], *needed);
    }
    assert_eq!(count_hosts(&owner, "").await, 1);
}

#[tokio::test]
async fn another_user_cannot_see_or_touch_a_host_on_any_endpoint() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let region_id = region(&alice, "private").await;
    let id = host(&alice, &region_id, "secret").await;
    let bob = app.user("bob");

    bob.get(&format!("/ipam/hosts/{id}")).await.assert_error(404, "not_found");
    bob.get("/ipam/hosts/by-ip/10.153.0.1").await.assert_error(404, "not_found");
    bob.patch(&format!("/ipam/hosts/{id}"), json!({"notes": "mine now"})).await.assert_error(404, "not_found");
    bob.delete(&format!("/ipam/hosts/{id}?reason=taking%20it")).await.assert_error(404, "not_found");
    bob.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "intruder"}))
        .await
        .assert_error(404, "not_found");
    bob.post("/ipam/hosts/batch", json!({"region_id": region_id, "hostname_prefix": "x", "count": 1}))
        .await
        .assert_error(404, "not_found");
    bob.get(&format!("/ipam/hosts/preview-next?region_id={region_id}")).await.assert_error(404, "not_found");
    let released = bob
        .post("/ipam/hosts/bulk-release", json!({"host_ids": [id], "reason": "taking it"}))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(released["total_released"], 0);
    assert_eq!(released["results"][0]["status"], "not_found");
    let lookup =
        bob.post("/ipam/hosts/bulk-lookup", json!({"ip_addresses": ["10.153.0.1"]})).await.assert_status(200).clone();
    assert_eq!(lookup["results"][0]["status"], "not_allocated");
    assert_eq!(lookup["results"][0]["hierarchy"]["host"], Value::Null);
    assert_eq!(count_hosts(&bob, "").await, 0);
    assert_eq!(count_hosts(&bob, &format!("?region_id={region_id}")).await, 0);

    let still = alice.get(&format!("/ipam/hosts/{id}")).await.assert_status(200).clone();
    assert_eq!(still["notes"], Value::Null);
    assert_eq!(still["hostname"], "secret");
}

#[tokio::test]
async fn two_users_hold_the_same_address_independently() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    let a_region = region(&alice, "r1").await;
    let b_region = region(&bob, "r1").await;

    let a = alice.create_host(&a_region, "same").await;
    let b = bob.create_host(&b_region, "same").await;

    assert_eq!(a["ip_address"], "10.153.0.1");
    assert_eq!(b["ip_address"], "10.153.0.1");
    assert_eq!(alice.get("/ipam/hosts/by-ip/10.153.0.1").await.assert_status(200)["host_id"], a["host_id"]);
    assert_eq!(bob.get("/ipam/hosts/by-ip/10.153.0.1").await.assert_status(200)["host_id"], b["host_id"]);
}

#[tokio::test]
async fn preview_of_a_reserved_region_says_no_address_is_available() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region_id = region(&u, "r1").await;
    u.patch(&format!("/ipam/regions/{region_id}"), json!({"status": "Reserved"})).await.assert_status(200);
    u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "h1"})).await.assert_error(409, "conflict");

    let body = u.get(&format!("/ipam/hosts/preview-next?region_id={region_id}")).await.assert_status(200).clone();

    assert_eq!(body["available"], false, "the next allocation would be refused: {body}");
    assert_eq!(body["next_ip"], Value::Null);
    assert!(body["message"].as_str().unwrap().contains("Reserved"), "{body}");
}
