//! The audit trail: events written by every mutation, `/ipam/audit` with its filters, single
//! events, and the per-resource histories.

use chrono::{Duration, SecondsFormat};
use ipam_tests::{Caller, spawn_app};
use serde_json::{Value, json};

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("{field} missing in {v}")).to_owned()
}

/// `path?…` with every value URL-encoded.
fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params(&format!("http://x{path}"), params).expect("valid URL");
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

async fn audit(u: &Caller<'_>, params: &[(&str, &str)]) -> Value {
    u.get(&with_query("/ipam/audit", params)).await.assert_status(200).clone()
}

fn events(body: &Value) -> &Vec<Value> {
    body["results"].as_array().expect("results array")
}

fn actions(body: &Value) -> Vec<String> {
    events(body).iter().map(|e| id(e, "action_type")).collect()
}

/// The only event of `body`, asserting there is exactly one.
fn single(body: &Value) -> &Value {
    assert_eq!(events(body).len(), 1, "expected exactly one event: {body}");
    assert_eq!(body["pagination"]["total_count"], 1);
    &events(body)[0]
}

fn change<'a>(event: &'a Value, field: &str) -> &'a Value {
    event["changes"]
        .as_array()
        .expect("changes array")
        .iter()
        .find(|c| c["field"] == field)
        .unwrap_or_else(|| panic!("no change of {field} in {event}"))
}

#[tokio::test]
async fn allocating_a_region_writes_a_create_event_with_a_snapshot() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let region = u.create_region("USA", "us-east").await;

    let body = audit(&u, &[]).await;
    let e = single(&body);
    assert_eq!(e["action_type"], "create");
    assert_eq!(e["resource_type"], "region");
    assert_eq!(e["resource_id"], region["region_id"]);
    assert_eq!(e["cidr"], "10.153.0.0/24");
    assert_eq!(e["ip_address"], Value::Null);
    assert_eq!(e["user_id"], "alice");
    assert_eq!(e["actor_id"], "alice");
    assert_eq!(e["actor_username"], "alice");
    assert_eq!(e["snapshot"]["region_name"], "us-east");
    assert_eq!(e["snapshot"]["cidr"], "10.153.0.0/24");
    assert_eq!(e["changes"], json!([]));
    assert_eq!(e["reason"], Value::Null);
    assert_eq!(e["audit_id"], e["_id"]);
    assert!(e["timestamp"].as_str().unwrap().ends_with('Z'), "RFC 3339 UTC: {}", e["timestamp"]);
}

#[tokio::test]
async fn allocating_a_host_writes_a_create_event_with_its_address() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("USA", "us-east").await;

    let host = u.create_host(&id(&region, "region_id"), "web-01").await;

    let body = audit(&u, &[("resource_type", "host")]).await;
    let e = single(&body);
    assert_eq!(e["action_type"], "create");
    assert_eq!(e["resource_id"], host["host_id"]);
    assert_eq!(e["ip_address"], "10.153.0.1");
    assert_eq!(e["cidr"], "10.153.0.0/24");
    assert_eq!(e["snapshot"]["hostname"], "web-01");
    assert_eq!(e["snapshot"]["region_id"], region["region_id"]);
}

#[tokio::test]
async fn a_batch_writes_one_create_event_per_host() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "us-east").await, "region_id");

    u.post("/ipam/hosts/batch", json!({"region_id": region, "count": 3, "hostname_prefix": "web"}))
        .await
        .assert_status(201);

    let body = audit(&u, &[("resource_type", "host"), ("action_type", "create")]).await;
    assert_eq!(body["pagination"]["total_count"], 3);
    let mut ips: Vec<_> = events(&body).iter().map(|e| id(e, "ip_address")).collect();
    ips.sort();
    assert_eq!(ips, ["10.153.0.1", "10.153.0.2", "10.153.0.3"]);
}

#[tokio::test]
async fn updating_a_region_records_old_and_new_values_and_the_reason() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("USA", "old-name").await;
    let rid = id(&region, "region_id");

    u.patch(
        &format!("/ipam/regions/{rid}"),
        json!({"region_name": "new-name", "description": "edge site", "reason": "renamed for clarity"}),
    )
    .await
    .assert_status(200);

    let body = audit(&u, &[("action_type", "update")]).await;
    let e = single(&body);
    assert_eq!(e["resource_type"], "region");
    assert_eq!(e["resource_id"], rid.as_str());
    assert_eq!(e["reason"], "renamed for clarity");
    assert_eq!(e["cidr"], "10.153.0.0/24");
    let name = change(e, "region_name");
    assert_eq!((&name["old_value"], &name["new_value"]), (&json!("old-name"), &json!("new-name")));
    let description = change(e, "description");
    assert_eq!((&description["old_value"], &description["new_value"]), (&json!(""), &json!("edge site")));
    assert_eq!(e["changes"].as_array().unwrap().len(), 2, "unchanged fields are not listed: {e}");
    assert_eq!(e["snapshot"]["region_name"], "old-name", "the snapshot is the state before the update");
}

#[tokio::test]
async fn updating_a_host_records_old_and_new_values() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "r1").await, "region_id");
    let host = u.create_host(&region, "web-01").await;
    let hid = id(&host, "host_id");

    u.patch(&format!("/ipam/hosts/{hid}"), json!({"hostname": "web-99", "device_type": "vm", "reason": "re-imaged"}))
        .await
        .assert_status(200);

    let body = audit(&u, &[("action_type", "update"), ("resource_type", "host")]).await;
    let e = single(&body);
    assert_eq!(e["resource_id"], hid.as_str());
    assert_eq!(e["ip_address"], "10.153.0.1");
    assert_eq!(e["reason"], "re-imaged");
    let hostname = change(e, "hostname");
    assert_eq!((&hostname["old_value"], &hostname["new_value"]), (&json!("web-01"), &json!("web-99")));
    let device = change(e, "device_type");
    assert_eq!((&device["old_value"], &device["new_value"]), (&Value::Null, &json!("VM")));
}

#[tokio::test]
async fn a_patch_that_changes_nothing_writes_no_event() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "same").await, "region_id");

    u.patch(&format!("/ipam/regions/{rid}"), json!({"region_name": "same"})).await.assert_status(200);

    let body = audit(&u, &[("action_type", "update")]).await;
    assert_eq!(body["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn releasing_a_host_writes_a_release_event_with_the_reason_and_a_snapshot() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "r1").await, "region_id");
    let hid = id(&u.create_host(&region, "web-01").await, "host_id");

    u.delete(&format!("/ipam/hosts/{hid}?reason=decommissioned")).await.assert_status(204);

    let body = audit(&u, &[("action_type", "release")]).await;
    let e = single(&body);
    assert_eq!(e["resource_type"], "host");
    assert_eq!(e["resource_id"], hid.as_str());
    assert_eq!(e["ip_address"], "10.153.0.1");
    assert_eq!(e["reason"], "decommissioned");
    assert_eq!(e["snapshot"]["hostname"], "web-01");
}

#[tokio::test]
async fn bulk_release_writes_one_release_event_per_released_host() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "r1").await, "region_id");
    let a = id(&u.create_host(&region, "a").await, "host_id");
    let b = id(&u.create_host(&region, "b").await, "host_id");
    u.create_host(&region, "c").await;

    u.post("/ipam/hosts/bulk-release", json!({"host_ids": [a, b], "reason": "cleanup of old hosts"}))
        .await
        .assert_status(200);

    let body = audit(&u, &[("action_type", "release")]).await;
    let mut released: Vec<_> = events(&body).iter().map(|e| id(e, "resource_id")).collect();
    released.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(released, expected);
    assert!(events(&body).iter().all(|e| e["reason"] == "cleanup of old hosts"));
}

#[tokio::test]
async fn retiring_a_region_writes_a_retire_event_with_the_reason() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");

    u.delete(&format!("/ipam/regions/{rid}?reason=site%20closed")).await.assert_status(204);

    let body = audit(&u, &[("action_type", "retire")]).await;
    let e = single(&body);
    assert_eq!(e["resource_type"], "region");
    assert_eq!(e["resource_id"], rid.as_str());
    assert_eq!(e["cidr"], "10.153.0.0/24");
    assert_eq!(e["reason"], "site closed");
    assert_eq!(e["snapshot"]["region_name"], "r1");
    assert_eq!(e["snapshot"]["child_hosts"], json!([]));
}

#[tokio::test]
async fn a_cascade_retirement_writes_an_event_for_every_host_and_one_for_the_region() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    let h1 = u.create_host(&rid, "web-01").await;
    let h2 = u.create_host(&rid, "web-02").await;

    u.delete(&format!("/ipam/regions/{rid}?reason=site%20closed&cascade=true")).await.assert_status(204);

    let hosts = audit(&u, &[("action_type", "retire"), ("resource_type", "host")]).await;
    assert_eq!(hosts["pagination"]["total_count"], 2);
    let mut retired: Vec<_> = events(&hosts).iter().map(|e| id(e, "resource_id")).collect();
    retired.sort();
    let mut expected = vec![id(&h1, "host_id"), id(&h2, "host_id")];
    expected.sort();
    assert_eq!(retired, expected);
    for e in events(&hosts) {
        let reason = e["reason"].as_str().unwrap();
        assert!(reason.contains("10.153.0.0/24") && reason.contains("site closed"), "{reason}");
        assert!(e["ip_address"].as_str().unwrap().starts_with("10.153.0."));
    }
    let region = audit(&u, &[("action_type", "retire"), ("resource_type", "region")]).await;
    let e = single(&region);
    assert_eq!(e["resource_id"], rid.as_str());
    let children = e["snapshot"]["child_hosts"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    assert!(children.iter().any(|c| c["hostname"] == "web-01" && c["ip_address"] == "10.153.0.1"));
}

#[tokio::test]
async fn comments_write_comment_events_on_regions_and_hosts() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    let hid = id(&u.create_host(&rid, "web-01").await, "host_id");

    u.post(&format!("/ipam/regions/{rid}/comments"), json!({"comment_text": "racked today"})).await.assert_status(201);
    u.post(&format!("/ipam/hosts/{hid}/comments"), json!({"text": "needs a reboot"})).await.assert_status(201);

    let region_comment = audit(&u, &[("action_type", "comment"), ("resource_type", "region")]).await;
    let e = single(&region_comment);
    assert_eq!(e["resource_id"], rid.as_str());
    assert_eq!(change(e, "comment")["new_value"], "racked today");
    let host_comment = audit(&u, &[("action_type", "comment"), ("resource_type", "host")]).await;
    let e = single(&host_comment);
    assert_eq!(e["resource_id"], hid.as_str());
    assert_eq!(e["ip_address"], "10.153.0.1");
    assert_eq!(change(e, "comment")["new_value"], "needs a reboot");
}

#[tokio::test]
async fn refused_mutations_write_no_event() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    u.create_host(&rid, "web-01").await;

    u.post("/ipam/regions", json!({"country": "USA", "region_name": "R1"})).await.assert_error(409, "duplicate_name");
    u.post("/ipam/hosts", json!({"region_id": rid, "hostname": "web-01"})).await.assert_error(409, "duplicate_name");
    u.delete(&format!("/ipam/regions/{rid}?reason=not%20yet")).await.assert_error(409, "conflict");

    let body = audit(&u, &[]).await;
    assert_eq!(actions(&body), ["create", "create"], "only the two successful allocations");
}

#[tokio::test]
async fn events_are_listed_newest_first() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    app.clock.advance(Duration::seconds(1));
    u.patch(&format!("/ipam/regions/{rid}"), json!({"description": "d"})).await.assert_status(200);
    app.clock.advance(Duration::seconds(1));
    u.post(&format!("/ipam/regions/{rid}/comments"), json!({"text": "hello"})).await.assert_status(201);
    app.clock.advance(Duration::seconds(1));
    u.delete(&format!("/ipam/regions/{rid}?reason=all%20done")).await.assert_status(204);

    let body = audit(&u, &[]).await;

    assert_eq!(actions(&body), ["retire", "comment", "update", "create"]);
}

/// Region A (10.153.0.0/24) with hosts .1 and .2, region B (10.153.1.0/24), and a Canada
/// region (10.138.0.0/24): five create events.
async fn address_fixture(u: &Caller<'_>) -> (String, String, String) {
    let a = id(&u.create_region("USA", "r-a").await, "region_id");
    u.create_host(&a, "h1").await;
    let h2 = id(&u.create_host(&a, "h2").await, "host_id");
    let b = id(&u.create_region("USA", "r-b").await, "region_id");
    u.create_region("Canada", "r-c").await;
    (a, h2, b)
}

#[tokio::test]
async fn the_address_filter_takes_an_address_or_a_block() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let (a, h2, b) = address_fixture(&u).await;

    let one_address = audit(&u, &[("ip_address", "10.153.0.2")]).await;
    let block_b = audit(&u, &[("ip_address", "10.153.1.0/24")]).await;
    let usa = audit(&u, &[("ip_address", "10.153.0.0/16")]).await;
    let everything = audit(&u, &[("ip_address", "10.0.0.0/8")]).await;
    let nothing = audit(&u, &[("ip_address", "10.99.0.0/16")]).await;

    let mut ids: Vec<_> = events(&one_address).iter().map(|e| id(e, "resource_id")).collect();
    ids.sort();
    let mut expected = vec![a, h2];
    expected.sort();
    assert_eq!(ids, expected, "the host at the address and the region holding it");
    assert_eq!(id(single(&block_b), "resource_id"), b);
    assert_eq!(usa["pagination"]["total_count"], 4);
    assert_eq!(everything["pagination"]["total_count"], 5);
    assert_eq!(nothing["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn resource_id_and_resource_type_filters_select_one_resource() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let (a, h2, _) = address_fixture(&u).await;
    u.patch(&format!("/ipam/hosts/{h2}"), json!({"notes": "n"})).await.assert_status(200);

    let of_host = audit(&u, &[("resource_id", &h2)]).await;
    let of_region = audit(&u, &[("resource_id", &a)]).await;
    let regions = audit(&u, &[("resource_type", "region")]).await;
    let unknown = audit(&u, &[("resource_id", "01ARZ3NDEKTSV4RRFFQ69G5FAV")]).await;

    assert_eq!(actions(&of_host), ["update", "create"]);
    assert_eq!(id(single(&of_region), "action_type"), "create");
    assert_eq!(regions["pagination"]["total_count"], 3);
    assert!(events(&regions).iter().all(|e| e["resource_type"] == "region"));
    assert_eq!(unknown["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn start_and_end_dates_bound_the_event_time() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    let first = audit(&u, &[]).await;
    let t0: chrono::DateTime<chrono::Utc> = events(&first)[0]["timestamp"].as_str().unwrap().parse().unwrap();
    app.clock.advance(Duration::days(3));
    u.patch(&format!("/ipam/regions/{rid}"), json!({"description": "later"})).await.assert_status(200);
    let middle = (t0 + Duration::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let day_of_t0 = t0.format("%Y-%m-%d").to_string();

    let after = audit(&u, &[("start_date", &middle)]).await;
    let before = audit(&u, &[("end_date", &middle)]).await;
    let on_day = audit(&u, &[("start_date", &day_of_t0), ("end_date", &day_of_t0)]).await;

    assert_eq!(id(single(&after), "action_type"), "update");
    assert_eq!(id(single(&before), "action_type"), "create");
    assert_eq!(id(single(&on_day), "action_type"), "create");
}

#[tokio::test]
async fn the_audit_list_is_paginated_with_real_totals() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    u.post("/ipam/hosts/batch", json!({"region_id": rid, "count": 4, "hostname_prefix": "h"})).await.assert_status(201);

    let p1 = audit(&u, &[("page_size", "2")]).await;
    let p3 = audit(&u, &[("page_size", "2"), ("page", "3")]).await;

    assert_eq!(events(&p1).len(), 2);
    assert_eq!(p1["pagination"]["total_count"], 5);
    assert_eq!(p1["pagination"]["total_pages"], 3);
    assert_eq!(p1["pagination"]["has_next"], true);
    assert_eq!(events(&p3).len(), 1);
    assert_eq!(p3["pagination"]["has_next"], false);
}

#[tokio::test]
async fn bad_filter_values_are_422_naming_the_filter() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for (field, value) in [
        ("action_type", "delete"),
        ("resource_type", "country"),
        ("ip_address", "banana"),
        ("ip_address", "192.168.0.0/16"),
        ("ip_address", "10.153.3.0/16"),
        ("start_date", "yesterday"),
        ("end_date", "2026-02-30"),
        ("page", "0"),
        ("page_size", "500"),
        ("resource_id", " "),
    ] {
        let r = u.get(&with_query("/ipam/audit", &[(field, value)])).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{field}={value}: {}", r.text);
    }
    let r = u.get(&with_query("/ipam/audit", &[("start_date", "2026-03-01"), ("end_date", "2026-02-01")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["end_date"].is_string());
}

#[tokio::test]
async fn unknown_audit_parameters_are_422() {
    let app = spawn_app().await;

    let r = app.user("alice").get("/ipam/audit?actor=bob").await;

    r.assert_error(422, "validation_error");
    assert!(r.text.contains("actor"), "{}", r.text);
}

#[tokio::test]
async fn one_event_can_be_read_by_its_id() {
    let app = spawn_app().await;
    let u = app.user("alice");
    u.create_region("USA", "r1").await;
    let listed = audit(&u, &[]).await;
    let event = single(&listed).clone();

    let r = u.get(&format!("/ipam/audit/{}", id(&event, "audit_id"))).await;

    assert_eq!(r.assert_status(200), &event);
}

#[tokio::test]
async fn unknown_malformed_and_other_users_event_ids_are_404() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    alice.create_region("USA", "r1").await;
    let alices_event = id(single(&audit(&alice, &[]).await), "audit_id");
    let bob = app.user("bob");

    bob.get(&format!("/ipam/audit/{alices_event}")).await.assert_error(404, "not_found");
    alice.get("/ipam/audit/01ARZ3NDEKTSV4RRFFQ69G5FAV").await.assert_error(404, "not_found");
    alice.get("/ipam/audit/not-an-id").await.assert_error(404, "not_found");
    alice.get(&format!("/ipam/audit/{}", "x".repeat(2000))).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn a_region_history_lists_its_events_newest_first_and_survives_retirement() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    let other = id(&u.create_region("USA", "r2").await, "region_id");
    app.clock.advance(Duration::seconds(1));
    u.patch(&format!("/ipam/regions/{rid}"), json!({"status": "Reserved", "reason": "maintenance"}))
        .await
        .assert_status(200);
    app.clock.advance(Duration::seconds(1));
    u.post(&format!("/ipam/regions/{rid}/comments"), json!({"text": "note"})).await.assert_status(201);
    app.clock.advance(Duration::seconds(1));
    u.delete(&format!("/ipam/regions/{rid}?reason=no%20longer%20needed")).await.assert_status(204);
    u.get(&format!("/ipam/regions/{rid}")).await.assert_error(404, "not_found");

    let r = u.get(&format!("/ipam/regions/{rid}/audit")).await;

    let body = r.assert_status(200);
    assert_eq!(actions(body), ["retire", "comment", "update", "create"]);
    assert!(events(body).iter().all(|e| e["resource_id"] == rid.as_str()), "not {other}'s events");
    let paged = u.get(&format!("/ipam/regions/{rid}/audit?page_size=1&page=2")).await;
    assert_eq!(actions(paged.assert_status(200)), ["comment"]);
    assert_eq!(paged.json["pagination"]["total_count"], 4);
}

#[tokio::test]
async fn a_host_history_survives_its_release() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    let hid = id(&u.create_host(&rid, "web-01").await, "host_id");
    app.clock.advance(Duration::seconds(1));
    u.patch(&format!("/ipam/hosts/{hid}"), json!({"os_type": "linux"})).await.assert_status(200);
    app.clock.advance(Duration::seconds(1));
    u.delete(&format!("/ipam/hosts/{hid}?reason=decommissioned")).await.assert_status(204);

    let r = u.get(&format!("/ipam/hosts/{hid}/audit")).await;

    let body = r.assert_status(200);
    assert_eq!(actions(body), ["release", "update", "create"]);
    assert!(events(body).iter().all(|e| e["resource_type"] == "host" && e["ip_address"] == "10.153.0.1"));
}

#[tokio::test]
async fn a_host_retired_with_its_region_keeps_its_history() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");
    let hid = id(&u.create_host(&rid, "web-01").await, "host_id");
    app.clock.advance(Duration::seconds(1));

    u.delete(&format!("/ipam/regions/{rid}?reason=site%20closed&cascade=true")).await.assert_status(204);

    let body = u.get(&format!("/ipam/hosts/{hid}/audit")).await.assert_status(200).clone();
    assert_eq!(actions(&body), ["retire", "create"]);
}

#[tokio::test]
async fn histories_of_unknown_malformed_or_other_users_resources_are_404() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let rid = id(&alice.create_region("USA", "r1").await, "region_id");
    let hid = id(&alice.create_host(&rid, "web-01").await, "host_id");
    let bob = app.user("bob");

    bob.get(&format!("/ipam/regions/{rid}/audit")).await.assert_error(404, "not_found");
    bob.get(&format!("/ipam/hosts/{hid}/audit")).await.assert_error(404, "not_found");
    alice.get("/ipam/regions/01ARZ3NDEKTSV4RRFFQ69G5FAV/audit").await.assert_error(404, "not_found");
    alice.get("/ipam/hosts/01ARZ3NDEKTSV4RRFFQ69G5FAV/audit").await.assert_error(404, "not_found");
    alice.get("/ipam/regions/nope/audit").await.assert_error(404, "not_found");
    alice.get("/ipam/hosts/nope/audit").await.assert_error(404, "not_found");
    // A host id is not a region id.
    alice.get(&format!("/ipam/regions/{hid}/audit")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn history_pagination_is_validated() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r1").await, "region_id");

    let r = u.get(&format!("/ipam/regions/{rid}/audit?page=0")).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["page"].is_string());
    u.get(&format!("/ipam/regions/{rid}/audit?colour=red")).await.assert_error(422, "validation_error");
}

#[tokio::test]
async fn users_see_only_their_own_events() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    alice.create_region("USA", "r1").await;
    let bob = app.user("bob");
    bob.create_region("Canada", "r2").await;

    let bobs = audit(&bob, &[]).await;
    let bob_in_alices_block = audit(&bob, &[("ip_address", "10.153.0.0/24")]).await;

    let e = single(&bobs);
    assert_eq!(e["user_id"], "bob");
    assert_eq!(e["cidr"], "10.138.0.0/24");
    assert_eq!(bob_in_alices_block["pagination"]["total_count"], 0);
}
