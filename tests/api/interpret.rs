//! `POST /ipam/interpret`: where an address sits in the hierarchy, as far as the caller can see.

use ipam_tests::{Caller, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn interpret(u: &Caller<'_>, ip: &str) -> Value {
    u.post("/ipam/interpret", json!({ "ip_address": ip })).await.assert_status(200).clone()
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_else(|| panic!("no message in {body}"))
}

#[tokio::test]
async fn an_address_outside_every_region_of_the_caller_is_not_allocated() {
    let app = spawn_app().await;

    let body = interpret(&app.user("alice"), "10.153.4.7").await;

    assert_eq!(body["ip_address"], "10.153.4.7");
    assert_eq!(body["status"], "not_allocated");
    assert!(message(&body).contains("10.153.4.0/24"), "{}", message(&body));
    let h = &body["hierarchy"];
    assert_eq!(h["global_root"]["cidr"], "10.0.0.0/8");
    assert_eq!(h["continent"]["name"], "North America");
    assert_eq!(h["country"]["name"], "United States");
    assert_eq!(h["country"]["code"], "USA");
    assert_eq!(h["country"]["x_range"], "153-167");
    assert_eq!(h["country"]["is_reserved"], false);
    assert_eq!(h["region"], Value::Null);
    assert_eq!(h["host"], Value::Null);
}

#[tokio::test]
async fn a_free_address_in_a_held_region_is_region_allocated() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("USA", "us-east").await;
    u.create_host(region["region_id"].as_str().unwrap(), "web-01").await;

    let body = interpret(&u, "10.153.0.7").await;

    assert_eq!(body["status"], "region_allocated");
    assert_eq!(body["hierarchy"]["region"]["region_id"], region["region_id"]);
    assert_eq!(body["hierarchy"]["region"]["cidr"], "10.153.0.0/24");
    assert_eq!(body["hierarchy"]["host"], Value::Null);
    assert!(message(&body).contains("us-east"), "{}", message(&body));
}

#[tokio::test]
async fn a_held_host_address_is_fully_allocated() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("India", "in-1").await;
    let host = u.create_host(region["region_id"].as_str().unwrap(), "db-01").await;
    assert_eq!(host["ip_address"], "10.0.0.1");

    let body = interpret(&u, "10.0.0.1").await;

    assert_eq!(body["status"], "fully_allocated");
    assert_eq!(body["hierarchy"]["continent"]["name"], "Asia");
    assert_eq!(body["hierarchy"]["country"]["code"], "IND");
    assert_eq!(body["hierarchy"]["region"]["region_id"], region["region_id"]);
    assert_eq!(body["hierarchy"]["host"]["host_id"], host["host_id"]);
    assert_eq!(body["hierarchy"]["host"]["hostname"], "db-01");
    assert!(message(&body).contains("db-01"), "{}", message(&body));
}

#[tokio::test]
async fn a_released_host_address_falls_back_to_region_allocated() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("USA", "us-east").await;
    let host = u.create_host(region["region_id"].as_str().unwrap(), "web-01").await;
    u.delete(&format!("/ipam/hosts/{}?reason=decommissioned", host["host_id"].as_str().unwrap()))
        .await
        .assert_status(204);

    let body = interpret(&u, "10.153.0.1").await;

    assert_eq!(body["status"], "region_allocated");
    assert_eq!(body["hierarchy"]["host"], Value::Null);
}

#[tokio::test]
async fn the_network_and_broadcast_addresses_of_a_held_region_are_named_as_such() {
    let app = spawn_app().await;
    let u = app.user("alice");
    u.create_region("USA", "us-east").await;

    let network = interpret(&u, "10.153.0.0").await;
    let broadcast = interpret(&u, "10.153.0.255").await;

    assert_eq!(network["status"], "region_allocated");
    assert!(message(&network).contains("network address"), "{}", message(&network));
    assert_eq!(broadcast["status"], "region_allocated");
    assert!(message(&broadcast).contains("broadcast address"), "{}", message(&broadcast));
    assert_eq!(broadcast["hierarchy"]["host"], Value::Null);
}

#[tokio::test]
async fn the_reserved_block_is_reported_as_not_allocatable() {
    let app = spawn_app().await;

    let body = interpret(&app.user("alice"), "10.208.1.1").await;

    assert_eq!(body["status"], "not_allocated");
    assert!(message(&body).contains("reserved"), "{}", message(&body));
    assert_eq!(body["hierarchy"]["country"]["code"], "ZZZ");
    assert_eq!(body["hierarchy"]["country"]["is_reserved"], true);
    assert_eq!(body["hierarchy"]["country"]["x_range"], "208-255");
}

#[tokio::test]
async fn the_edges_of_the_plan_are_interpreted() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let lowest = interpret(&u, "10.0.0.0").await;
    let highest = interpret(&u, "10.255.255.255").await;

    assert_eq!(lowest["hierarchy"]["country"]["code"], "IND");
    assert_eq!(highest["hierarchy"]["country"]["code"], "ZZZ");
}

#[tokio::test]
async fn other_users_allocations_are_invisible() {
    let app = spawn_app().await;
    let bob = app.user("bob");
    let region = bob.create_region("USA", "bobs").await;
    bob.create_host(region["region_id"].as_str().unwrap(), "secret-01").await;

    let body = interpret(&app.user("alice"), "10.153.0.1").await;

    assert_eq!(body["status"], "not_allocated");
    assert_eq!(body["hierarchy"]["region"], Value::Null);
    assert_eq!(body["hierarchy"]["host"], Value::Null);
    assert!(!body.to_string().contains("secret-01") && !body.to_string().contains("bobs"), "{body}");
    assert_eq!(interpret(&bob, "10.153.0.1").await["status"], "fully_allocated");
}

#[tokio::test]
async fn surrounding_whitespace_is_ignored() {
    let app = spawn_app().await;

    let body = interpret(&app.user("alice"), "  10.153.0.9 ").await;

    assert_eq!(body["ip_address"], "10.153.0.9");
}

#[tokio::test]
async fn addresses_outside_ten_slash_eight_are_422() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for bad in ["192.168.1.1", "11.0.0.1", "0.0.0.0", "255.255.255.255"] {
        let r = u.post("/ipam/interpret", json!({ "ip_address": bad })).await;
        r.assert_error(422, "validation_error");
        let problem = r.json["details"]["ip_address"].as_str().unwrap();
        assert!(problem.contains("10.0.0.0/8"), "{bad}: {problem}");
    }
}

#[tokio::test]
async fn text_that_is_not_an_address_is_422() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for bad in ["", "banana", "10.1.2", "10.1.2.256", "10.1.2.3.4", "10.01.2.3", "10.0.0.0/24", "::1", "１０.0.0.1"] {
        let r = u.post("/ipam/interpret", json!({ "ip_address": bad })).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["ip_address"].is_string(), "{bad:?}: {}", r.text);
    }
}

#[tokio::test]
async fn a_very_long_input_is_refused_without_echoing_it_all() {
    let app = spawn_app().await;
    let long = "9".repeat(10_000);

    let r = app.user("alice").post("/ipam/interpret", json!({ "ip_address": long })).await;

    r.assert_error(422, "validation_error");
    assert!(r.text.len() < 1_000, "the error echoes the whole input ({} bytes)", r.text.len());
}

#[tokio::test]
async fn a_missing_or_mistyped_field_is_422_naming_it() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let missing = u.post("/ipam/interpret", json!({})).await;
    missing.assert_error(422, "validation_error");
    assert_eq!(missing.json["details"]["ip_address"], "is required");

    let number = u.post("/ipam/interpret", json!({ "ip_address": 10 })).await;
    number.assert_error(422, "validation_error");
    assert!(number.json["details"]["ip_address"].is_string());

    let extra = u.post("/ipam/interpret", json!({ "ip_address": "10.0.0.1", "verbose": true })).await;
    extra.assert_error(422, "validation_error");
    assert!(extra.json["details"]["verbose"].is_string(), "{}", extra.text);

    let empty = u.send_raw(Method::POST, "/ipam/interpret", "application/json", Vec::new()).await;
    empty.assert_error(422, "validation_error");
    assert!(empty.json["details"]["body"].is_string());
}

#[tokio::test]
async fn interpreting_needs_a_token_but_only_read_permission() {
    let app = spawn_app().await;

    app.anonymous()
        .post("/ipam/interpret", json!({ "ip_address": "10.0.0.1" }))
        .await
        .assert_error(401, "unauthorized");
    let reader = app.caller("alice", &[ipam_core::auth::Permission::Read]);
    interpret(&reader, "10.0.0.1").await;
}
