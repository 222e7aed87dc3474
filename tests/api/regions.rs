//! `/ipam/regions`.

use ipam_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn regions_are_allocated_lowest_first_in_the_country_range() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let first = u.post("/ipam/regions", json!({"country": "USA", "region_name": "us-east"})).await;
    let body = first.assert_status(201).clone();
    assert_eq!(body["cidr"], "10.153.0.0/24");
    assert_eq!(body["country"], "United States");
    assert_eq!(body["country_code"], "USA");
    assert_eq!(body["continent"], "North America");
    assert_eq!(body["status"], "Active");
    assert_eq!(body["owner"], "u1");
    assert_eq!(body["region_id"], body["_id"]);
    assert_eq!(first.header("location").unwrap(), format!("/ipam/regions/{}", body["region_id"].as_str().unwrap()));
    assert_eq!(u.create_region("united states", "us-west").await["cidr"], "10.153.1.0/24");
    assert_eq!(u.create_region("India", "in-1").await["cidr"], "10.0.0.0/24");
}

#[tokio::test]
async fn a_retired_block_is_handed_out_again_first() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let a = u.create_region("USA", "aa").await;
    u.create_region("USA", "bb").await;
    let id = a["region_id"].as_str().unwrap();
    u.delete(&format!("/ipam/regions/{id}?reason=no%20longer%20needed")).await.assert_status(204);
    assert_eq!(u.create_region("USA", "cc").await["cidr"], "10.153.0.0/24");
}

#[tokio::test]
async fn every_user_has_an_independent_namespace() {
    let app = spawn_app().await;
    let alice = app.user("alice").create_region("USA", "east").await;
    let bob = app.user("bob").create_region("USA", "east").await;
    assert_eq!(alice["cidr"], "10.153.0.0/24");
    assert_eq!(bob["cidr"], "10.153.0.0/24", "same block, different namespace");
    let id = alice["region_id"].as_str().unwrap();
    let bob_caller = app.user("bob");
    bob_caller.get(&format!("/ipam/regions/{id}")).await.assert_error(404, "not_found");
    bob_caller
        .patch(&format!("/ipam/regions/{id}"), json!({"description": "mine"}))
        .await
        .assert_error(404, "not_found");
    bob_caller.delete(&format!("/ipam/regions/{id}?reason=taking%20it")).await.assert_error(404, "not_found");
    let listed = bob_caller.get("/ipam/regions").await.assert_status(200).clone();
    assert_eq!(listed["pagination"]["total_count"], 1);
}

#[tokio::test]
async fn the_reserved_block_cannot_be_allocated() {
    let app = spawn_app().await;
    for country in ["ZZZ", "Future Use"] {
        let r = app.user("u1").post("/ipam/regions", json!({"country": country, "region_name": "later"})).await;
        r.assert_error(409, "country_reserved");
    }
}

#[tokio::test]
async fn duplicate_names_in_a_country_are_refused_ignoring_case() {
    let app = spawn_app().await;
    let u = app.user("u1");
    u.create_region("USA", "Prod").await;
    let r = u.post("/ipam/regions", json!({"country": "USA", "region_name": "prod"})).await;
    r.assert_error(409, "duplicate_name");
    assert!(r.json["message"].as_str().unwrap().contains("already exists"));
    u.create_region("Canada", "prod").await;
}
