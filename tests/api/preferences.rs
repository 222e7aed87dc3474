//! `/ipam/preferences`: per-user settings (merge of top-level keys, 50 KB cap), saved filters
//! (at most 50, criteria checked at save time) and `?filter_id=` on the region, host and search
//! lists.

use chrono::Duration;
use futures::future::join_all;
use ipam_core::auth::Permission;
use ipam_core::clock::Clock;
use ipam_tests::json::{text, time};
use ipam_tests::{Caller, TestResponse, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const PREFS: &str = "/ipam/preferences";
const FILTERS: &str = "/ipam/preferences/filters";

/// `path?…` with every value URL-encoded.
fn url(path: &str, params: &[(&str, &str)]) -> String {
    let u = reqwest::Url::parse_with_params(&format!("http://x{path}"), params).expect("valid URL");
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

async fn put(u: &Caller<'_>, body: Value) -> TestResponse {
    u.send(Method::PUT, PREFS, Some(&body)).await
}

async fn prefs(u: &Caller<'_>) -> Value {
    u.get(PREFS).await.assert_status(200).clone()
}

async fn save_filter(u: &Caller<'_>, name: &str, criteria: Value) -> Value {
    u.post(FILTERS, json!({"name": name, "criteria": criteria})).await.assert_status(201).clone()
}

/// The `field` of every result of a list, sorted.
fn sorted_field(body: &Value, field: &str) -> Vec<String> {
    let mut v: Vec<String> =
        body["results"].as_array().expect("results array").iter().map(|r| text(r, field)).collect();
    v.sort();
    v
}

/// `kind:name` of every search result, sorted.
fn search_labels(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["results"]
        .as_array()
        .expect("results array")
        .iter()
        .map(|r| match r["resource_type"].as_str() {
            Some("region") => format!("region:{}", text(r, "region_name")),
            Some("host") => format!("host:{}", text(r, "hostname")),
            other => panic!("unknown resource_type {other:?}: {r}"),
        })
        .collect();
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The ids of the caller's saved filters, in listed order.
async fn listed_ids(u: &Caller<'_>) -> Vec<String> {
    let body = u.get(FILTERS).await.assert_status(200).clone();
    body["results"].as_array().expect("results").iter().map(|f| text(f, "filter_id")).collect()
}

async fn region_with(u: &Caller<'_>, body: Value) -> Value {
    u.post("/ipam/regions", body).await.assert_status(201).clone()
}

async fn host_with(u: &Caller<'_>, body: Value) -> Value {
    u.post("/ipam/hosts", body).await.assert_status(201).clone()
}

/// Five regions of `u` that differ by country, tags and status:
/// us-prod-a (USA, env=prod), us-prod-b (USA, env=prod, team=net), us-dev (USA, env=dev),
/// in-prod (IND, env=prod), us-plain (USA, no tags, status Reserved).
async fn regions_fixture(u: &Caller<'_>) {
    region_with(u, json!({"country": "USA", "region_name": "us-prod-a", "tags": {"env": "prod"}})).await;
    region_with(u, json!({"country": "USA", "region_name": "us-prod-b", "tags": {"env": "prod", "team": "net"}})).await;
    region_with(u, json!({"country": "USA", "region_name": "us-dev", "tags": {"env": "dev"}})).await;
    region_with(u, json!({"country": "IND", "region_name": "in-prod", "tags": {"env": "prod"}})).await;
    let plain = region_with(u, json!({"country": "USA", "region_name": "us-plain"})).await;
    let id = text(&plain, "region_id");
    u.patch(&format!("/ipam/regions/{id}"), json!({"status": "Reserved"})).await.assert_status(200);
}

/// A USA region "us-east" with hosts web-1 (VM), web-2 (Physical), db-1 (VM, env=prod), and an
/// India region "in-west" with web-3 (VM, env=prod). Returns (us-east id, in-west id).
async fn hosts_fixture(u: &Caller<'_>) -> (String, String) {
    let us = text(&u.create_region("USA", "us-east").await, "region_id");
    let ind = text(&u.create_region("IND", "in-west").await, "region_id");
    host_with(u, json!({"region_id": us, "hostname": "web-1", "device_type": "VM"})).await;
    host_with(u, json!({"region_id": us, "hostname": "web-2", "device_type": "Physical"})).await;
    host_with(u, json!({"region_id": us, "hostname": "db-1", "device_type": "VM", "tags": {"env": "prod"}})).await;
    host_with(u, json!({"region_id": ind, "hostname": "web-3", "device_type": "VM", "tags": {"env": "prod"}})).await;
    (us, ind)
}

// ---------------------------------------------------------------------------------------------
// Reading: the seed's smoke test
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_user_gets_the_empty_defaults_with_a_null_updated_at() {
    let app = spawn_app().await;

    let body = prefs(&app.user("alice")).await;

    assert_eq!(
        body,
        json!({
            "saved_filters": [],
            "dashboard_layout": {},
            "notification_settings": {},
            "theme_preference": null,
            "updated_at": null,
        })
    );
}

#[tokio::test]
async fn reading_preferences_writes_nothing() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    prefs(&alice).await;
    app.clock.advance(Duration::minutes(5));

    let again = prefs(&alice).await;
    let bob = prefs(&app.user("bob")).await;

    assert_eq!(again["updated_at"], Value::Null, "a read must not create a stored document");
    assert_eq!(bob["updated_at"], Value::Null);
    assert_eq!(bob["saved_filters"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// Updating
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn putting_a_theme_answers_success_with_the_time_and_is_read_back() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    let r = put(&alice, json!({"theme_preference": "dark"})).await;

    let body = r.assert_status(200).clone();
    assert_eq!(body["success"], true);
    assert_eq!(time(&body, "updated_at"), app.clock.now());
    let stored = prefs(&alice).await;
    assert_eq!(stored["theme_preference"], "dark");
    assert_eq!(stored["updated_at"], body["updated_at"]);
    assert_eq!(stored["dashboard_layout"], json!({}));
    assert_eq!(prefs(&app.user("bob")).await["theme_preference"], Value::Null, "other users are unaffected");
}

#[tokio::test]
async fn putting_one_top_level_key_keeps_the_others_and_moves_updated_at() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    put(&alice, json!({"theme_preference": "dark"})).await.assert_status(200);
    app.clock.advance(Duration::minutes(1));
    let layout = json!({"widgets": ["utilization", "recent"], "refresh_interval": 300});

    let r = put(&alice, json!({"dashboard_layout": layout})).await;

    let body = r.assert_status(200).clone();
    assert_eq!(time(&body, "updated_at"), app.clock.now());
    put(&alice, json!({"notification_settings": {"email_enabled": false}})).await.assert_status(200);
    let stored = prefs(&alice).await;
    assert_eq!(stored["theme_preference"], "dark");
    assert_eq!(stored["dashboard_layout"], layout);
    assert_eq!(stored["notification_settings"], json!({"email_enabled": false}));
}

#[tokio::test]
async fn a_given_key_is_replaced_whole_not_deep_merged() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    put(&alice, json!({"dashboard_layout": {"widgets": ["a"], "refresh_interval": 300}})).await.assert_status(200);

    put(&alice, json!({"dashboard_layout": {"widgets": ["b"]}})).await.assert_status(200);

    assert_eq!(prefs(&alice).await["dashboard_layout"], json!({"widgets": ["b"]}));
}

#[tokio::test]
async fn a_null_theme_clears_it_and_keeps_the_rest() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    put(&alice, json!({"theme_preference": "dark", "dashboard_layout": {"cols": 3}})).await.assert_status(200);

    put(&alice, json!({"theme_preference": null})).await.assert_status(200);

    let stored = prefs(&alice).await;
    assert_eq!(stored["theme_preference"], Value::Null);
    assert_eq!(stored["dashboard_layout"], json!({"cols": 3}));
}

#[tokio::test]
async fn a_theme_of_fifty_characters_is_accepted() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let theme = "t".repeat(50);

    put(&alice, json!({"theme_preference": theme})).await.assert_status(200);

    assert_eq!(prefs(&alice).await["theme_preference"], theme.as_str());
}

#[tokio::test]
async fn invalid_updates_are_422_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    put(&alice, json!({"theme_preference": "dark", "dashboard_layout": {"cols": 3}})).await.assert_status(200);
    let before = prefs(&alice).await;
    let cases = [
        (json!({"dashboard_layout": "grid"}), "dashboard_layout"),
        (json!({"dashboard_layout": ["a", "b"]}), "dashboard_layout"),
        (json!({"notification_settings": 5}), "notification_settings"),
        (json!({"theme_preference": "t".repeat(51)}), "theme_preference"),
        (json!({"theme_preference": ""}), "theme_preference"),
        (json!({"theme_preference": "   "}), "theme_preference"),
        (json!({"theme_preference": 7}), "theme_preference"),
        (json!({"default_country": "USA"}), "default_country"),
    ];

    for (body, field) in cases {
        app.clock.advance(Duration::seconds(1));
        let r = put(&alice, body.clone()).await;

        let err = r.assert_error(422, "validation_error");
        assert!(err["details"].get(field).is_some(), "details should name {field} for {body}: {}", r.text);
    }
    assert_eq!(prefs(&alice).await, before, "rejected updates must not change anything");
}

#[tokio::test]
async fn preferences_over_fifty_kilobytes_are_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    put(&alice, json!({"theme_preference": "dark"})).await.assert_status(200);
    let before = prefs(&alice).await;
    app.clock.advance(Duration::minutes(1));

    let r = put(&alice, json!({"dashboard_layout": {"blob": "x".repeat(60_000)}})).await;

    assert!(matches!(r.code(), 413 | 422), "expected 413 or 422, got {}: {}", r.code(), r.text);
    let code = if r.code() == 413 { "payload_too_large" } else { "validation_error" };
    let err = r.assert_error(r.code(), code);
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("51200") || message.contains("50 KB"), "message should state the limit: {}", r.text);
    assert_eq!(prefs(&alice).await, before);
}

#[tokio::test]
async fn fifty_kilobytes_is_a_limit_on_the_total_not_on_each_key() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    put(&alice, json!({"dashboard_layout": {"blob": "x".repeat(50_000)}})).await.assert_status(200);
    let before = prefs(&alice).await;

    let r = put(&alice, json!({"notification_settings": {"blob": "y".repeat(2_000)}})).await;

    assert!(matches!(r.code(), 413 | 422), "expected 413 or 422, got {}: {}", r.code(), r.text);
    assert_eq!(prefs(&alice).await, before);
    put(&alice, json!({"dashboard_layout": {}, "notification_settings": {"blob": "y".repeat(2_000)}}))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_body_over_the_request_size_limit_is_413() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    let r = put(&alice, json!({"dashboard_layout": {"blob": "x".repeat(1_100_000)}})).await;

    r.assert_error(413, "payload_too_large");
    assert_eq!(prefs(&alice).await["dashboard_layout"], json!({}));
}

// ---------------------------------------------------------------------------------------------
// Saved filters: create, list, delete, limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn saving_a_filter_is_201_with_its_id_and_location() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let criteria = json!({"country": "USA", "tag.env": "prod"});

    let r = alice.post(FILTERS, json!({"name": "US production", "criteria": criteria})).await;

    let body = r.assert_status(201).clone();
    let id = text(&body, "filter_id");
    assert!(!id.is_empty());
    assert_eq!(body["name"], "US production");
    assert_eq!(body["criteria"], criteria);
    assert_eq!(time(&body, "created_at"), app.clock.now());
    assert_eq!(r.header("location"), Some(format!("/ipam/preferences/filters/{id}").as_str()));
}

#[tokio::test]
async fn saved_filters_are_listed_oldest_first_and_shown_in_preferences() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    put(&alice, json!({"theme_preference": "dark"})).await.assert_status(200);
    let mut ids = vec![];
    for name in ["first", "second", "third"] {
        ids.push(text(&save_filter(&alice, name, json!({"status": "Active"})).await, "filter_id"));
        app.clock.advance(Duration::minutes(1));
    }

    let list = alice.get(FILTERS).await.assert_status(200).clone();

    let names: Vec<&str> = list["results"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["first", "second", "third"]);
    assert_eq!(listed_ids(&alice).await, ids);
    assert_eq!(list["pagination"]["page"], 1);
    assert_eq!(list["pagination"]["total_count"], 3);
    assert_eq!(list["pagination"]["total_pages"], 1);
    assert_eq!(list["pagination"]["has_next"], false);
    assert_eq!(list["pagination"]["has_prev"], false);
    let stored = prefs(&alice).await;
    assert_eq!(stored["saved_filters"], list["results"]);
    assert_eq!(stored["theme_preference"], "dark", "saving filters keeps the settings");
    assert_eq!(stored["saved_filters"][0]["criteria"], json!({"status": "Active"}));
}

#[tokio::test]
async fn deleting_a_filter_is_204_and_then_404() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let keep = text(&save_filter(&alice, "keep", json!({"country": "USA"})).await, "filter_id");
    let gone = text(&save_filter(&alice, "gone", json!({"country": "IND"})).await, "filter_id");

    alice.delete(&format!("{FILTERS}/{gone}")).await.assert_status(204);

    alice.delete(&format!("{FILTERS}/{gone}")).await.assert_error(404, "not_found");
    assert_eq!(listed_ids(&alice).await, vec![keep.clone()]);
    let stored = prefs(&alice).await;
    assert_eq!(stored["saved_filters"].as_array().unwrap().len(), 1);
    assert_eq!(stored["saved_filters"][0]["filter_id"], keep.as_str());
}

#[tokio::test]
async fn deleting_a_malformed_or_unknown_filter_id_is_404() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    save_filter(&alice, "mine", json!({"country": "USA"})).await;

    for id in ["not-an-id", "01ARZ3NDEKTSV4RRFFQ69G5FAV"] {
        alice.delete(&format!("{FILTERS}/{id}")).await.assert_error(404, "not_found");
    }
    assert_eq!(listed_ids(&alice).await.len(), 1);
}

#[tokio::test]
async fn deleting_a_filter_of_a_user_without_preferences_is_404() {
    let app = spawn_app().await;

    let r = app.user("alice").delete(&format!("{FILTERS}/01ARZ3NDEKTSV4RRFFQ69G5FAV")).await;

    r.assert_error(404, "not_found");
}

#[tokio::test]
async fn saved_filters_are_private_to_their_owner() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    let id = text(&save_filter(&alice, "mine", json!({"country": "USA"})).await, "filter_id");
    save_filter(&bob, "bob's", json!({"country": "IND"})).await;

    let r = bob.delete(&format!("{FILTERS}/{id}")).await;

    r.assert_error(404, "not_found");
    assert_eq!(listed_ids(&alice).await, vec![id.clone()]);
    let bobs = bob.get(FILTERS).await.assert_status(200).clone();
    assert_eq!(bobs["pagination"]["total_count"], 1);
    assert_eq!(bobs["results"][0]["name"], "bob's");
    assert!(!prefs(&bob).await["saved_filters"].to_string().contains(&id));
}

#[tokio::test]
async fn the_fifty_first_filter_is_409_saying_the_limit_and_deleting_one_makes_room() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let mut ids = vec![];
    for i in 0..50 {
        ids.push(text(&save_filter(&alice, &format!("f{i}"), json!({"country": "USA"})).await, "filter_id"));
    }

    let r = alice.post(FILTERS, json!({"name": "one too many", "criteria": {"country": "USA"}})).await;

    let err = r.assert_error(409, "conflict");
    assert!(err["message"].as_str().unwrap().contains("50"), "message should state the limit: {}", r.text);
    assert_eq!(err["details"]["limit"], 50);
    assert_eq!(listed_ids(&alice).await, ids, "nothing was added or evicted");
    save_filter(&app.user("bob"), "bob's own limit", json!({})).await;
    alice.delete(&format!("{FILTERS}/{}", ids[0])).await.assert_status(204);
    let fresh = save_filter(&alice, "fits now", json!({"country": "USA"})).await;
    let now = listed_ids(&alice).await;
    assert_eq!(now.len(), 50);
    assert_eq!(now.last(), Some(&text(&fresh, "filter_id")));
}

// ---------------------------------------------------------------------------------------------
// Saved filters: validation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn invalid_criteria_are_422_naming_the_criterion() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let cases = [
        (json!("country=USA"), "criteria"),
        (json!(["country", "USA"]), "criteria"),
        (json!(null), "criteria"),
        (json!({"status": 1}), "criteria.status"),
        (json!({"country": ["USA"]}), "criteria.country"),
        (json!({"colour": "red"}), "criteria.colour"),
        (json!({"page": "2"}), "criteria.page"),
        (json!({"country": "Atlantis"}), "criteria.country"),
        (json!({"continent": "Atlantis"}), "criteria.continent"),
        (json!({"status": "Broken"}), "criteria.status"),
        (json!({"device_type": "Toaster"}), "criteria.device_type"),
        (json!({"ip_address": "192.168.0.1"}), "criteria.ip_address"),
        (json!({"ip_address": "not-an-ip"}), "criteria.ip_address"),
        (json!({"region_id": "nope"}), "criteria.region_id"),
        (json!({"resource_type": "country"}), "criteria.resource_type"),
        (json!({"created_after": "yesterday"}), "criteria.created_after"),
        (json!({"created_before": "2026-13-40"}), "criteria.created_before"),
        (json!({"tag.bad key": "x"}), "criteria.tag.bad key"),
        (json!({"tag.env": "v".repeat(501)}), "criteria.tag.env"),
    ];

    for (criteria, field) in cases {
        let r = alice.post(FILTERS, json!({"name": "bad", "criteria": criteria})).await;

        let err = r.assert_error(422, "validation_error");
        assert!(err["details"].get(field).is_some(), "details should name {field} for {criteria}: {}", r.text);
    }
    assert_eq!(listed_ids(&alice).await.len(), 0, "nothing was saved");
}

#[tokio::test]
async fn criteria_of_up_to_ten_kilobytes_are_accepted_and_larger_ones_are_422() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    // Each tag condition is about 615 bytes of JSON: 15 of them are ~9.2 KB, 17 are ~10.4 KB.
    let tags = |n: usize| {
        let mut m = serde_json::Map::new();
        for i in 0..n {
            m.insert(format!("tag.k{i:02}{}", "a".repeat(97)), Value::String("v".repeat(500)));
        }
        Value::Object(m)
    };
    assert!(tags(15).to_string().len() < 10_000 && tags(17).to_string().len() > 10_240);

    save_filter(&alice, "big but fine", tags(15)).await;
    let r = alice.post(FILTERS, json!({"name": "too big", "criteria": tags(17)})).await;

    let err = r.assert_error(422, "validation_error");
    assert!(err["details"].get("criteria").is_some(), "{}", r.text);
    assert_eq!(listed_ids(&alice).await.len(), 1);
}

#[tokio::test]
async fn empty_criteria_are_a_valid_filter() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    let body = save_filter(&alice, "everything", json!({})).await;

    assert_eq!(body["criteria"], json!({}));
}

#[tokio::test]
async fn filter_names_must_be_one_to_one_hundred_characters() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    save_filter(&alice, &"n".repeat(100), json!({})).await;

    for name in [String::new(), "   ".to_owned(), "n".repeat(101)] {
        let r = alice.post(FILTERS, json!({"name": name, "criteria": {}})).await;

        let err = r.assert_error(422, "validation_error");
        assert!(err["details"].get("name").is_some(), "{}", r.text);
    }
    assert_eq!(listed_ids(&alice).await.len(), 1);
}

#[tokio::test]
async fn a_filter_body_needs_a_name_and_criteria_and_nothing_else() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let cases = [
        (json!({"criteria": {}}), "name"),
        (json!({"name": "x"}), "criteria"),
        (json!({"name": "x", "criteria": {}, "pinned": true}), "pinned"),
        (json!({"filter_name": "x", "criteria": {}}), "filter_name"),
    ];

    for (body, field) in cases {
        let r = alice.post(FILTERS, body.clone()).await;

        let err = r.assert_error(422, "validation_error");
        assert!(err["details"].get(field).is_some(), "details should name {field} for {body}: {}", r.text);
    }
    assert_eq!(listed_ids(&alice).await.len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Applying a saved filter with ?filter_id=
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_saved_filter_narrows_the_region_list_to_exactly_the_matching_regions() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    regions_fixture(&alice).await;
    let id = text(&save_filter(&alice, "US prod", json!({"country": "USA", "tag.env": "prod"})).await, "filter_id");

    let body = alice.get(&url("/ipam/regions", &[("filter_id", &id)])).await.assert_status(200).clone();

    assert_eq!(sorted_field(&body, "region_name"), strings(&["us-prod-a", "us-prod-b"]));
    assert_eq!(body["pagination"]["total_count"], 2);
    let all = alice.get("/ipam/regions").await.assert_status(200).clone();
    assert_eq!(all["pagination"]["total_count"], 5, "without the filter every region is listed");
}

#[tokio::test]
async fn status_name_and_continent_criteria_apply_to_the_region_list() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    regions_fixture(&alice).await;
    let cases = [
        (json!({"status": "Reserved"}), vec!["us-plain"]),
        (json!({"status": "active", "name": "PROD"}), vec!["in-prod", "us-prod-a", "us-prod-b"]),
        (json!({"continent": "Asia"}), vec!["in-prod"]),
        (json!({"tag.team": "net"}), vec!["us-prod-b"]),
        (json!({"created_before": "2000-01-01"}), vec![]),
        (json!({"created_after": "2000-01-01", "country": "united states", "tag.env": "dev"}), vec!["us-dev"]),
    ];

    for (criteria, expected) in cases {
        let id = text(&save_filter(&alice, "f", criteria.clone()).await, "filter_id");

        let body = alice.get(&url("/ipam/regions", &[("filter_id", &id)])).await.assert_status(200).clone();

        assert_eq!(sorted_field(&body, "region_name"), strings(&expected), "criteria {criteria}");
        assert_eq!(body["pagination"]["total_count"], expected.len(), "criteria {criteria}");
    }
}

#[tokio::test]
async fn explicit_query_parameters_win_over_the_saved_criteria() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    regions_fixture(&alice).await;
    let id = text(&save_filter(&alice, "US prod", json!({"country": "USA", "tag.env": "prod"})).await, "filter_id");
    let cases = [(("country", "IND"), "in-prod"), (("tag.env", "dev"), "us-dev"), (("name", "-b"), "us-prod-b")];

    for (param, expected) in cases {
        let body =
            alice.get(&url("/ipam/regions", &[("filter_id", id.as_str()), param])).await.assert_status(200).clone();

        assert_eq!(sorted_field(&body, "region_name"), strings(&[expected]), "param {param:?}");
        assert_eq!(body["pagination"]["total_count"], 1);
    }
}

#[tokio::test]
async fn a_filter_applied_to_regions_still_paginates() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    regions_fixture(&alice).await;
    let id = text(&save_filter(&alice, "USA", json!({"country": "USA"})).await, "filter_id");

    let body = alice
        .get(&url("/ipam/regions", &[("filter_id", &id), ("page", "2"), ("page_size", "3")]))
        .await
        .assert_status(200)
        .clone();

    assert_eq!(body["results"].as_array().unwrap().len(), 1);
    assert_eq!(body["pagination"]["total_count"], 4);
    assert_eq!(body["pagination"]["total_pages"], 2);
    assert_eq!(body["pagination"]["has_prev"], true);
}

#[tokio::test]
async fn the_host_list_applies_the_host_criteria_and_ignores_region_only_ones() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let (us, _) = hosts_fixture(&alice).await;
    let vm_web =
        save_filter(&alice, "web VMs", json!({"hostname": "web", "device_type": "VM", "country": "IND", "name": "zz"}))
            .await;
    let prod_in_us = save_filter(&alice, "prod in us-east", json!({"region_id": us, "tag.env": "prod"})).await;

    let body =
        alice.get(&url("/ipam/hosts", &[("filter_id", &text(&vm_web, "filter_id"))])).await.assert_status(200).clone();

    assert_eq!(sorted_field(&body, "hostname"), strings(&["web-1", "web-3"]), "country and name do not apply to hosts");
    assert_eq!(body["pagination"]["total_count"], 2);
    let body = alice
        .get(&url("/ipam/hosts", &[("filter_id", &text(&prod_in_us, "filter_id"))]))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(sorted_field(&body, "hostname"), strings(&["db-1"]));
    let body = alice
        .get(&url("/ipam/hosts", &[("filter_id", &text(&vm_web, "filter_id")), ("device_type", "physical")]))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(sorted_field(&body, "hostname"), strings(&["web-2"]), "an explicit device_type wins");
}

#[tokio::test]
async fn search_applies_a_saved_filter() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    hosts_fixture(&alice).await;
    let us_hosts = save_filter(&alice, "US hosts", json!({"country": "USA", "resource_type": "host"})).await;
    let prod = save_filter(&alice, "prod", json!({"tag.env": "prod", "name": "no-such-region"})).await;

    let body = alice
        .get(&url("/ipam/search", &[("filter_id", &text(&us_hosts, "filter_id"))]))
        .await
        .assert_status(200)
        .clone();

    assert_eq!(search_labels(&body), strings(&["host:db-1", "host:web-1", "host:web-2"]));
    assert_eq!(body["pagination"]["total_count"], 3);
    let body =
        alice.get(&url("/ipam/search", &[("filter_id", &text(&prod, "filter_id"))])).await.assert_status(200).clone();
    assert_eq!(search_labels(&body), strings(&["host:db-1", "host:web-3"]), "name is a region-list key only");
    let body = alice
        .get(&url("/ipam/search", &[("filter_id", &text(&us_hosts, "filter_id")), ("resource_type", "region")]))
        .await
        .assert_status(200)
        .clone();
    assert_eq!(search_labels(&body), strings(&["region:us-east"]), "an explicit resource_type wins");
}

#[tokio::test]
async fn an_ip_address_criterion_applies_to_search() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    hosts_fixture(&alice).await;
    // us-east is the first USA block, 10.153.0.0/24; its first host is 10.153.0.1.
    let id = text(&save_filter(&alice, "one address", json!({"ip_address": "10.153.0.1"})).await, "filter_id");

    let body = alice.get(&url("/ipam/search", &[("filter_id", &id)])).await.assert_status(200).clone();

    assert_eq!(search_labels(&body), strings(&["host:web-1", "region:us-east"]));
}

#[tokio::test]
async fn an_unknown_or_foreign_filter_id_is_422_naming_filter_id() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    alice.create_region("USA", "us-east").await;
    let bobs = text(&save_filter(&bob, "bob's", json!({"country": "USA"})).await, "filter_id");
    let deleted = text(&save_filter(&alice, "gone", json!({"country": "USA"})).await, "filter_id");
    alice.delete(&format!("{FILTERS}/{deleted}")).await.assert_status(204);

    for path in ["/ipam/regions", "/ipam/hosts", "/ipam/search"] {
        for id in ["not-an-id", "01ARZ3NDEKTSV4RRFFQ69G5FAV", bobs.as_str(), deleted.as_str()] {
            let r = alice.get(&url(path, &[("filter_id", id)])).await;

            let err = r.assert_error(422, "validation_error");
            assert!(err["details"].get("filter_id").is_some(), "{path} with {id}: {}", r.text);
        }
    }
}

/// Applies the saved filter `id` to the region, host and search lists; all must answer 200.
async fn assert_applies_everywhere(u: &Caller<'_>, id: &str) {
    for path in ["/ipam/regions", "/ipam/hosts", "/ipam/search"] {
        let applied = u.get(&url(path, &[("filter_id", id)])).await;
        assert_eq!(applied.code(), 200, "{path}: a saved filter must apply: {}", applied.text);
    }
}

#[tokio::test]
async fn crossed_dates_are_refused_at_save_time_so_a_saved_filter_always_applies() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    alice.create_region("USA", "us-east").await;

    let r = alice
        .post(
            FILTERS,
            json!({"name": "crossed", "criteria": {"created_after": "2030-01-01", "created_before": "2020-01-01"}}),
        )
        .await;

    let err = r.assert_error(422, "validation_error");
    assert!(err["details"].get("criteria.created_before").is_some(), "{}", r.text);
    assert_eq!(listed_ids(&alice).await.len(), 0);
    let same_day =
        save_filter(&alice, "one day", json!({"created_after": "2030-01-01", "created_before": "2030-01-01"})).await;
    assert_applies_everywhere(&alice, &text(&same_day, "filter_id")).await;
}

#[tokio::test]
async fn more_than_fifty_tag_conditions_are_refused_at_save_time_and_fifty_apply() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    alice.create_region("USA", "us-east").await;
    let tags = |n: usize| {
        let mut m = serde_json::Map::new();
        for i in 0..n {
            m.insert(format!("tag.k{i}"), Value::String("v".into()));
        }
        Value::Object(m)
    };

    let r = alice.post(FILTERS, json!({"name": "many tags", "criteria": tags(51)})).await;

    let err = r.assert_error(422, "validation_error");
    assert!(err["details"].as_object().unwrap().keys().any(|k| k.starts_with("criteria")), "{}", r.text);
    assert_eq!(listed_ids(&alice).await.len(), 0);
    let fifty = save_filter(&alice, "fifty tags", tags(50)).await;
    assert_applies_everywhere(&alice, &text(&fifty, "filter_id")).await;
}

// ---------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reading_preferences_and_filters_needs_ipam_read() {
    let app = spawn_app().await;
    let writer = app.caller("w", &[Permission::Update, Permission::Allocate, Permission::Release]);

    for path in [PREFS, FILTERS] {
        let r = writer.get(path).await;

        let err = r.assert_error(403, "forbidden");
        assert_eq!(err["details"]["required_permission"], "ipam:read", "{path}");
    }
}

#[tokio::test]
async fn changing_preferences_and_filters_needs_ipam_update() {
    let app = spawn_app().await;
    let owner = app.user("r");
    let id = text(&save_filter(&owner, "mine", json!({"country": "USA"})).await, "filter_id");
    let reader = app.caller("r", &[Permission::Read, Permission::Allocate, Permission::Release]);
    let attempts = [
        reader.send(Method::PUT, PREFS, Some(&json!({"theme_preference": "dark"}))).await,
        reader.post(FILTERS, json!({"name": "x", "criteria": {}})).await,
        reader.delete(&format!("{FILTERS}/{id}")).await,
    ];

    for r in attempts {
        let err = r.assert_error(403, "forbidden");
        assert_eq!(err["details"]["required_permission"], "ipam:update");
        assert!(err["message"].as_str().unwrap().contains("ipam:update"), "{}", r.text);
    }
    let stored = prefs(&reader).await;
    assert_eq!(stored["theme_preference"], Value::Null);
    assert_eq!(listed_ids(&reader).await, vec![id], "a read-only caller can still list");
}

#[tokio::test]
async fn a_read_only_caller_can_apply_their_saved_filter() {
    let app = spawn_app().await;
    let owner = app.user("r");
    owner.create_region("USA", "us-east").await;
    owner.create_region("IND", "in-west").await;
    let id = text(&save_filter(&owner, "US", json!({"country": "USA"})).await, "filter_id");
    let reader = app.caller("r", &[Permission::Read]);

    let body = reader.get(&url("/ipam/regions", &[("filter_id", &id)])).await.assert_status(200).clone();

    assert_eq!(sorted_field(&body, "region_name"), strings(&["us-east"]));
}

#[tokio::test]
async fn every_preferences_route_needs_a_token() {
    let app = spawn_app().await;
    let id = text(&save_filter(&app.user("alice"), "mine", json!({})).await, "filter_id");
    let anon = app.anonymous();
    let attempts = [
        anon.get(PREFS).await,
        anon.send(Method::PUT, PREFS, Some(&json!({"theme_preference": "dark"}))).await,
        anon.get(FILTERS).await,
        anon.post(FILTERS, json!({"name": "x", "criteria": {}})).await,
        anon.delete(&format!("{FILTERS}/{id}")).await,
        app.with_token("not-a-jwt").get(PREFS).await,
    ];

    for r in attempts {
        r.assert_error(401, "unauthorized");
    }
    assert_eq!(listed_ids(&app.user("alice")).await, vec![id]);
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sixty_simultaneous_saves_store_exactly_fifty_filters() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    let responses = join_all(
        (0..60).map(|i| alice.post(FILTERS, json!({"name": format!("f{i}"), "criteria": {"country": "USA"}}))),
    )
    .await;

    let created = responses.iter().filter(|r| r.code() == 201).count();
    let refused: Vec<&TestResponse> = responses.iter().filter(|r| r.code() == 409).collect();
    assert_eq!(created, 50, "statuses: {:?}", responses.iter().map(TestResponse::code).collect::<Vec<_>>());
    assert_eq!(refused.len(), 10);
    for r in refused {
        r.assert_error(409, "conflict");
    }
    let mut ids = listed_ids(&alice).await;
    assert_eq!(ids.len(), 50);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "filter ids are unique");
}

#[tokio::test]
async fn simultaneous_updates_of_different_keys_all_survive() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    let (theme, layout, notify, filter) = futures::join!(
        put(&alice, json!({"theme_preference": "dark"})),
        put(&alice, json!({"dashboard_layout": {"cols": 3}})),
        put(&alice, json!({"notification_settings": {"email_enabled": true}})),
        alice.post(FILTERS, json!({"name": "f", "criteria": {"country": "USA"}})),
    );

    theme.assert_status(200);
    layout.assert_status(200);
    notify.assert_status(200);
    filter.assert_status(201);
    let stored = prefs(&alice).await;
    assert_eq!(stored["theme_preference"], "dark");
    assert_eq!(stored["dashboard_layout"], json!({"cols": 3}));
    assert_eq!(stored["notification_settings"], json!({"email_enabled": true}));
    assert_eq!(stored["saved_filters"].as_array().unwrap().len(), 1);
}
