//! `/ipam/regions`.

use chrono::Duration;
use ipam_tests::json::text;
use ipam_tests::{Caller, TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

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

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Allocates a region and returns its id.
async fn region(u: &Caller<'_>, country: &str, name: &str) -> String {
    text(&u.create_region(country, name).await, "region_id")
}

/// Allocates a region with extra fields and returns the response body.
async fn region_with(u: &Caller<'_>, body: Value) -> Value {
    u.post("/ipam/regions", body).await.assert_status(201).clone()
}

/// The names of a list response, in order.
fn names(body: &Value) -> Vec<String> {
    body["results"].as_array().expect("results array").iter().map(|r| text(r, "region_name")).collect()
}

/// Moves the app clock so the next write gets a strictly later timestamp.
fn tick(app: &TestApp) {
    app.clock.advance(Duration::seconds(1));
}

/// A well-formed id that no resource has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

// ---------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_region_echoes_every_field_it_was_given() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let body = region_with(
        &u,
        json!({"country": "jpn", "region_name": "  Tokyo Prod  ", "description": "core site",
               "tags": {"env": "prod", "cost-center": "cc_42"}, "owner": "team-net"}),
    )
    .await;

    assert_eq!(body["cidr"], "10.46.0.0/24");
    assert_eq!(body["x_octet"], 46);
    assert_eq!(body["y_octet"], 0);
    assert_eq!(body["country"], "Japan");
    assert_eq!(body["country_code"], "JPN");
    assert_eq!(body["continent"], "Asia");
    assert_eq!(body["region_name"], "Tokyo Prod", "surrounding blanks are trimmed");
    assert_eq!(body["description"], "core site");
    assert_eq!(body["tags"], json!({"env": "prod", "cost-center": "cc_42"}));
    assert_eq!(body["owner"], "team-net");
    assert_eq!(body["owner_id"], "u1");
    assert_eq!(body["user_id"], "u1");
    assert_eq!(body["created_by"], "u1");
    assert_eq!(body["updated_by"], "u1");
    assert_eq!(body["allocated_hosts"], 0);
    assert_eq!(body["total_capacity"], 254);
    assert_eq!(body["utilization_percentage"], 0.0);
    assert_eq!(body["created_at"], body["updated_at"]);
    assert!(
        chrono::DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).is_ok(),
        "created_at is RFC 3339: {}",
        body["created_at"]
    );
}

#[tokio::test]
async fn a_region_without_optional_fields_gets_empty_defaults_and_the_callers_name_as_owner() {
    let app = spawn_app().await;

    let body = app.user("carol").create_region("Brazil", "sao-paulo").await;

    assert_eq!(body["description"], "");
    assert_eq!(body["tags"], json!({}));
    assert_eq!(body["owner"], "carol");
    assert_eq!(body["status"], "Active");
}

#[tokio::test]
async fn the_lowest_free_block_fills_the_gap_left_by_a_retired_region_in_the_middle() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let mut ids = Vec::new();
    for name in ["r0", "r1", "r2", "r3"] {
        ids.push(region(&u, "Chile", name).await);
    }

    u.delete(&format!("/ipam/regions/{}?reason=freeing%20the%20middle", ids[1])).await.assert_status(204);
    let refill = u.create_region("Chile", "r4").await;
    let next = u.create_region("Chile", "r5").await;

    assert_eq!(refill["cidr"], "10.178.1.0/24", "the hole is refilled first");
    assert_eq!(next["cidr"], "10.178.4.0/24", "then allocation continues after the highest block");
}

#[tokio::test]
async fn the_same_name_is_accepted_again_once_the_region_holding_it_is_retired() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "edge").await;

    u.delete(&format!("/ipam/regions/{id}?reason=renumbering")).await.assert_status(204);

    assert_eq!(u.create_region("USA", "EDGE").await["region_name"], "EDGE");
}

#[tokio::test]
async fn an_unknown_country_is_a_validation_error_naming_the_country() {
    let app = spawn_app().await;

    let r = app.user("u1").post("/ipam/regions", json!({"country": "Atlantis", "region_name": "lost"})).await;

    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["country"].as_str().unwrap().contains("Atlantis"), "{}", r.text);
}

#[tokio::test]
async fn a_missing_or_blank_or_mistyped_country_is_a_validation_error() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for body in [
        json!({"region_name": "nowhere"}),
        json!({"country": "", "region_name": "nowhere"}),
        json!({"country": "   ", "region_name": "nowhere"}),
        json!({"country": 840, "region_name": "nowhere"}),
        json!({"country": null, "region_name": "nowhere"}),
    ] {
        let r = u.post("/ipam/regions", body.clone()).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["country"].is_string(), "{body} → {}", r.text);
    }
}

#[tokio::test]
async fn invalid_region_names_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let long = "n".repeat(101);
    for name in ["", "x", " y ", long.as_str(), "<script>", "a&b", "say \"hi\"", "it's", "tab\there"] {
        let r = u.post("/ipam/regions", json!({"country": "USA", "region_name": name})).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["region_name"].is_string(), "{name:?} → {}", r.text);
    }
    let missing = u.post("/ipam/regions", json!({"country": "USA"})).await;
    assert_eq!(missing.assert_error(422, "validation_error")["details"]["region_name"], "is required");
    let list = u.get("/ipam/regions").await.assert_status(200).clone();
    assert_eq!(list["pagination"]["total_count"], 0, "nothing was allocated");
}

#[tokio::test]
async fn region_names_of_exactly_two_and_one_hundred_characters_are_accepted() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let short = u.create_region("USA", "ab").await;
    let long = u.create_region("USA", &"é".repeat(100)).await;

    assert_eq!(short["region_name"], "ab");
    assert_eq!(long["region_name"].as_str().unwrap().chars().count(), 100);
}

#[tokio::test]
async fn malformed_tags_are_refused_naming_the_tags_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let too_many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    for tags in [
        json!(["env"]),
        json!("env=prod"),
        json!({"env": 1}),
        json!({"env": null}),
        json!({"bad key": "v"}),
        json!({"env.type": "v"}),
        json!({"": "v"}),
        json!({"k": "v".repeat(501)}),
        Value::Object(too_many),
    ] {
        let r = u.post("/ipam/regions", json!({"country": "USA", "region_name": "tagged", "tags": tags})).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["tags"].is_string(), "{tags} → {}", r.text);
    }
}

#[tokio::test]
async fn fifty_tags_are_accepted() {
    let app = spawn_app().await;
    let fifty: serde_json::Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();

    let body = region_with(&app.user("u1"), json!({"country": "USA", "region_name": "tagged", "tags": fifty})).await;

    assert_eq!(body["tags"].as_object().unwrap().len(), 50);
}

#[tokio::test]
async fn an_overlong_description_or_bad_owner_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let cases = [
        ("description", json!("d".repeat(501))),
        ("description", json!(42)),
        ("owner", json!("")),
        ("owner", json!("o".repeat(101))),
        ("owner", json!("team\nnet")),
    ];
    for (field, value) in cases {
        let mut body = json!({"country": "USA", "region_name": "fields"});
        body[field] = value.clone();
        let r = u.post("/ipam/regions", body).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{field}={value} → {}", r.text);
    }
}

#[tokio::test]
async fn wrong_types_and_non_object_bodies_are_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let wrong_type = u.post("/ipam/regions", json!({"country": "USA", "region_name": ["x1"]})).await;
    let not_an_object = u.post("/ipam/regions", json!(["USA", "x1"])).await;
    let empty = u.send_raw(Method::POST, "/ipam/regions", "application/json", Vec::new()).await;

    wrong_type.assert_error(422, "validation_error");
    assert!(wrong_type.json["details"]["region_name"].is_string(), "{}", wrong_type.text);
    not_an_object.assert_error(422, "validation_error");
    empty.assert_error(422, "validation_error");
    assert!(empty.json["details"]["body"].is_string(), "{}", empty.text);
}

#[tokio::test]
async fn unknown_fields_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;

    let create = u.post("/ipam/regions", json!({"country": "USA", "region_name": "x1", "colour": "red"})).await;
    let patch = u.patch(&format!("/ipam/regions/{id}"), json!({"cidr": "10.0.0.0/24"})).await;
    let retire = u
        .send(Method::DELETE, &format!("/ipam/regions/{id}"), Some(&json!({"reason": "cleanup", "force": true})))
        .await;

    for (r, field) in [(&create, "colour"), (&patch, "cidr"), (&retire, "force")] {
        r.assert_error(422, "validation_error");
        let why = r.json["details"][field].as_str().unwrap_or_else(|| panic!("{field} not named: {}", r.text));
        assert!(why.contains("not a known field"), "{why}");
    }
    u.get(&format!("/ipam/regions/{id}")).await.assert_status(200);
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;

    let create = u.post("/ipam/regions", json!({"country": "USA", "region_name": "x1", "colour": "red"})).await;
    let patch = u.patch(&format!("/ipam/regions/{id}"), json!({"description": "d", "country": "Canada"})).await;
    let retire = u
        .send(Method::DELETE, &format!("/ipam/regions/{id}"), Some(&json!({"reason": "cleanup", "force": true})))
        .await;

    for r in [&create, &patch, &retire] {
        r.assert_error(422, "validation_error");
        assert!(r.json["message"].as_str().unwrap().contains("not a known field"), "{}", r.text);
    }
    let read = u.get(&format!("/ipam/regions/{id}")).await.assert_status(200).clone();
    assert_eq!(read["description"], "", "the refused patch was not applied");
    assert_eq!(u.get("/ipam/regions").await.assert_status(200)["pagination"]["total_count"], 1);
}

#[tokio::test]
async fn several_invalid_fields_are_all_reported_at_once() {
    let app = spawn_app().await;

    let r = app
        .user("u1")
        .post("/ipam/regions", json!({"country": "USA", "region_name": "x", "tags": {"a b": "c"}, "owner": ""}))
        .await;

    let details = &r.assert_error(422, "validation_error")["details"];
    for field in ["region_name", "tags", "owner"] {
        assert!(details[field].is_string(), "{field} missing in {details}");
    }
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_is_paginated_newest_first() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for name in ["first", "second", "third"] {
        u.create_region("USA", name).await;
        tick(&app);
    }

    let page1 = u.get("/ipam/regions?page_size=2").await.assert_status(200).clone();
    let page2 = u.get("/ipam/regions?page=2&page_size=2").await.assert_status(200).clone();
    let page3 = u.get("/ipam/regions?page=3&page_size=2").await.assert_status(200).clone();

    assert_eq!(names(&page1), ["third", "second"]);
    assert_eq!(
        page1["pagination"],
        json!({"page": 1, "page_size": 2, "total_count": 3, "total_pages": 2, "has_next": true, "has_prev": false})
    );
    assert_eq!(names(&page2), ["first"]);
    assert_eq!(
        page2["pagination"],
        json!({"page": 2, "page_size": 2, "total_count": 3, "total_pages": 2, "has_next": false, "has_prev": true})
    );
    assert_eq!(names(&page3), Vec::<String>::new(), "past the end is empty, not an error");
    assert_eq!(page3["pagination"]["total_count"], 3);
}

#[tokio::test]
async fn an_empty_list_has_zero_pages_and_the_default_page_size() {
    let app = spawn_app().await;

    let body = app.user("u1").get("/ipam/regions").await.assert_status(200).clone();

    assert_eq!(body["results"], json!([]));
    assert_eq!(
        body["pagination"],
        json!({"page": 1, "page_size": 50, "total_count": 0, "total_pages": 0, "has_next": false, "has_prev": false})
    );
}

#[tokio::test]
async fn the_list_filters_by_country_code_or_name_and_by_continent() {
    let app = spawn_app().await;
    let u = app.user("u1");
    u.create_region("USA", "us-1").await;
    u.create_region("Canada", "ca-1").await;
    u.create_region("Finland", "fi-1").await;

    let usa = u.get("/ipam/regions?country=usa").await.assert_status(200).clone();
    let canada = u.get("/ipam/regions?country=Canada").await.assert_status(200).clone();
    let america = u.get("/ipam/regions?continent=north%20america").await.assert_status(200).clone();
    let both = u.get("/ipam/regions?continent=Europe&country=USA").await.assert_status(200).clone();

    assert_eq!(names(&usa), ["us-1"]);
    assert_eq!(names(&canada), ["ca-1"]);
    let mut in_america = names(&america);
    in_america.sort();
    assert_eq!(in_america, ["ca-1", "us-1"]);
    assert_eq!(america["pagination"]["total_count"], 2);
    assert_eq!(both["pagination"]["total_count"], 0, "a country outside the continent matches nothing");
}

#[tokio::test]
async fn the_list_filters_by_status_owner_and_name() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let kept = region(&u, "USA", "Web-Frontend").await;
    region_with(&u, json!({"country": "USA", "region_name": "db 100%", "owner": "dba-team"})).await;
    u.patch(&format!("/ipam/regions/{kept}"), json!({"status": "Reserved"})).await.assert_status(200);

    let reserved = u.get("/ipam/regions?status=reserved").await.assert_status(200).clone();
    let active = u.get("/ipam/regions?status=Active").await.assert_status(200).clone();
    let by_label = u.get("/ipam/regions?owner=dba-team").await.assert_status(200).clone();
    let by_owner_id = u.get("/ipam/regions?owner=u1").await.assert_status(200).clone();
    let by_name = u.get("/ipam/regions?name=FRONT").await.assert_status(200).clone();
    let literal = u.get("/ipam/regions?name=100%25").await.assert_status(200).clone();
    let wildcard = u.get("/ipam/regions?name=%25").await.assert_status(200).clone();

    assert_eq!(names(&reserved), ["Web-Frontend"]);
    assert_eq!(names(&active), ["db 100%"]);
    assert_eq!(names(&by_label), ["db 100%"]);
    assert_eq!(by_owner_id["pagination"]["total_count"], 2, "owner also matches the owner id");
    assert_eq!(names(&by_name), ["Web-Frontend"]);
    assert_eq!(names(&literal), ["db 100%"]);
    assert_eq!(names(&wildcard), ["db 100%"], "'%' is matched literally, not as a wildcard");
}

#[tokio::test]
async fn the_list_filters_by_every_given_tag() {
    let app = spawn_app().await;
    let u = app.user("u1");
    region_with(&u, json!({"country": "USA", "region_name": "a1", "tags": {"env": "prod", "team": "net"}})).await;
    region_with(&u, json!({"country": "USA", "region_name": "a2", "tags": {"env": "prod", "team": "web"}})).await;
    region_with(&u, json!({"country": "USA", "region_name": "a3", "tags": {"env": "dev"}})).await;

    let prod = u.get("/ipam/regions?tag.env=prod").await.assert_status(200).clone();
    let prod_net = u.get("/ipam/regions?tag.env=prod&tag.team=net").await.assert_status(200).clone();
    let none = u.get("/ipam/regions?tag.env=staging").await.assert_status(200).clone();

    assert_eq!(prod["pagination"]["total_count"], 2);
    assert_eq!(names(&prod_net), ["a1"]);
    assert_eq!(none["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn the_list_filters_by_creation_time() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let old = u.create_region("USA", "old").await;
    app.clock.advance(Duration::days(2));
    let new = u.create_region("USA", "new").await;
    let cut = chrono::DateTime::parse_from_rfc3339(old["created_at"].as_str().unwrap()).unwrap() + Duration::days(1);
    let cut = cut.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    let after = u.get(&format!("/ipam/regions?created_after={cut}")).await.assert_status(200).clone();
    let before = u.get(&format!("/ipam/regions?created_before={cut}")).await.assert_status(200).clone();
    let exact = u
        .get(&format!("/ipam/regions?created_after={}", new["created_at"].as_str().unwrap()))
        .await
        .assert_status(200)
        .clone();

    assert_eq!(names(&after), ["new"]);
    assert_eq!(names(&before), ["old"]);
    assert_eq!(names(&exact), ["new"], "the bound is inclusive");
}

#[tokio::test]
async fn invalid_list_parameters_are_refused_naming_the_parameter() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let cases = [
        ("colour=red", "colour"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("country=Atlantis", "country"),
        ("continent=Atlantis", "continent"),
        ("status=Retired", "status"),
        ("status=gone", "status"),
        ("created_after=yesterday", "created_after"),
        ("created_after=2026-02-01&created_before=2026-01-01", "created_before"),
        ("tag.bad%20key=v", "tag.bad key"),
    ];
    for (query, field) in cases {
        let r = u.get(&format!("/ipam/regions?{query}")).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{query} should name {field}: {}", r.text);
    }
}

#[tokio::test]
async fn a_page_size_of_one_hundred_is_accepted() {
    let app = spawn_app().await;

    let body = app.user("u1").get("/ipam/regions?page_size=100").await.assert_status(200).clone();

    assert_eq!(body["pagination"]["page_size"], 100);
}

// ---------------------------------------------------------------------------------------------
// Get
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_region_is_read_back_by_its_id() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let created = u.create_region("Spain", "madrid").await;

    let read = u.get(&format!("/ipam/regions/{}", text(&created, "region_id"))).await.assert_status(200).clone();

    assert_eq!(read, created);
}

#[tokio::test]
async fn reading_a_malformed_or_unknown_region_id_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for id in ["not-an-id", "507f1f77bcf86cd799439011", UNKNOWN_ID] {
        let r = u.get(&format!("/ipam/regions/{id}")).await;
        r.assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn patch_changes_each_field_and_records_the_writer_and_time() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let created = region_with(&u, json!({"country": "USA", "region_name": "before", "tags": {"old": "x"}})).await;
    let id = text(&created, "region_id");
    tick(&app);

    let r = u
        .patch(
            &format!("/ipam/regions/{id}"),
            json!({"region_name": "after", "description": "moved", "owner": "ops", "status": "reserved",
                   "tags": {"env": "prod"}, "reason": "reorganisation"}),
        )
        .await;

    let body = r.assert_status(200).clone();
    assert_eq!(body["region_name"], "after");
    assert_eq!(body["description"], "moved");
    assert_eq!(body["owner"], "ops");
    assert_eq!(body["status"], "Reserved", "status is canonicalised");
    assert_eq!(body["tags"], json!({"env": "prod"}), "tags are replaced, not merged");
    assert_eq!(body["cidr"], created["cidr"], "the block never changes");
    assert_eq!(body["created_at"], created["created_at"]);
    assert_ne!(body["updated_at"], created["updated_at"]);
    let read = u.get(&format!("/ipam/regions/{id}")).await.assert_status(200).clone();
    assert_eq!(read, body, "the change is stored");
}

#[tokio::test]
async fn patch_can_clear_the_description_and_tags_and_reactivate_a_region() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let created =
        region_with(&u, json!({"country": "USA", "region_name": "r1", "description": "d", "tags": {"a": "b"}})).await;
    let id = text(&created, "region_id");
    u.patch(&format!("/ipam/regions/{id}"), json!({"status": "Reserved"})).await.assert_status(200);

    let body = u
        .patch(&format!("/ipam/regions/{id}"), json!({"description": "", "tags": {}, "status": "ACTIVE"}))
        .await
        .assert_status(200)
        .clone();

    assert_eq!(body["description"], "");
    assert_eq!(body["tags"], json!({}));
    assert_eq!(body["status"], "Active");
}

#[tokio::test]
async fn renaming_to_a_name_taken_in_the_same_country_is_409_but_other_countries_and_case_changes_are_fine() {
    let app = spawn_app().await;
    let u = app.user("u1");
    region(&u, "USA", "taken").await;
    let id = region(&u, "USA", "mine").await;
    let canadian = region(&u, "Canada", "other").await;

    let clash = u.patch(&format!("/ipam/regions/{id}"), json!({"region_name": "TAKEN"})).await;
    let case_only = u.patch(&format!("/ipam/regions/{id}"), json!({"region_name": "MINE"})).await;
    let other_country = u.patch(&format!("/ipam/regions/{canadian}"), json!({"region_name": "taken"})).await;

    clash.assert_error(409, "duplicate_name");
    assert_eq!(case_only.assert_status(200)["region_name"], "MINE");
    assert_eq!(other_country.assert_status(200)["region_name"], "taken");
    let unchanged = u.get(&format!("/ipam/regions/{id}")).await.assert_status(200).clone();
    assert_eq!(unchanged["region_name"], "MINE", "the refused rename left the region alone");
}

#[tokio::test]
async fn setting_status_retired_is_refused_with_a_pointer_to_delete() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;

    let r = u.patch(&format!("/ipam/regions/{id}"), json!({"status": "Retired"})).await;

    r.assert_error(422, "validation_error");
    let why = r.json["details"]["status"].as_str().unwrap();
    assert!(why.contains("DELETE /ipam/regions"), "{why}");
    assert_eq!(u.get(&format!("/ipam/regions/{id}")).await.assert_status(200)["status"], "Active");
}

#[tokio::test]
async fn an_empty_patch_is_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;
    for body in [json!({}), json!({"reason": "nothing to change"}), json!({"description": null})] {
        let r = u.patch(&format!("/ipam/regions/{id}"), body.clone()).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["body"].is_string(), "{body} → {}", r.text);
    }
    let no_body = u.send(Method::PATCH, &format!("/ipam/regions/{id}"), None).await;
    no_body.assert_error(422, "validation_error");
}

#[tokio::test]
async fn invalid_patch_fields_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;
    let cases = [
        ("region_name", json!("x")),
        ("region_name", json!("<b>")),
        ("region_name", json!(7)),
        ("description", json!("d".repeat(501))),
        ("owner", json!("")),
        ("status", json!("Gone")),
        ("tags", json!({"bad key": "v"})),
        ("tags", json!([1])),
        ("reason", json!("shrt")),
    ];
    for (field, value) in cases {
        // Each bad field travels with a valid change, which must not be applied either.
        let companion = if field == "description" { "owner" } else { "description" };
        let r = u.patch(&format!("/ipam/regions/{id}"), json!({ field: value.clone(), companion: "changed" })).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{field}={value} → {}", r.text);
    }
    let read = u.get(&format!("/ipam/regions/{id}")).await.assert_status(200).clone();
    assert_eq!(read["description"], "", "no refused patch was applied");
    assert_eq!(read["owner"], "u1", "no refused patch was applied");
}

#[tokio::test]
async fn a_patch_that_changes_nothing_returns_the_region_unchanged() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let created = region_with(&u, json!({"country": "USA", "region_name": "same", "description": "d"})).await;
    let id = text(&created, "region_id");
    tick(&app);

    let r = u.patch(&format!("/ipam/regions/{id}"), json!({"region_name": "same", "description": "d"})).await;

    assert_eq!(r.assert_status(200), &created, "updated_at did not move either");
    let audit = u.get(&format!("/ipam/regions/{id}/audit")).await.assert_status(200).clone();
    assert_eq!(audit["pagination"]["total_count"], 1, "only the create is audited: {audit}");
}

#[tokio::test]
async fn patching_a_malformed_or_unknown_region_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for id in ["nope", UNKNOWN_ID] {
        let r = u.patch(&format!("/ipam/regions/{id}"), json!({"description": "x"})).await;
        r.assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------------------------------------
// Delete (retire)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn retiring_requires_a_reason_of_at_least_five_characters() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;

    let missing = u.delete(&format!("/ipam/regions/{id}")).await;
    let short = u.delete(&format!("/ipam/regions/{id}?reason=nope")).await;
    let blank = u.delete(&format!("/ipam/regions/{id}?reason=%20%20%20%20%20%20")).await;
    let long = u.delete(&format!("/ipam/regions/{id}?reason={}", "r".repeat(501))).await;
    let short_body = u.send(Method::DELETE, &format!("/ipam/regions/{id}"), Some(&json!({"reason": "no"}))).await;

    for r in [&missing, &short, &blank, &long, &short_body] {
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["reason"].is_string(), "{}", r.text);
    }
    assert!(missing.json["details"]["reason"].as_str().unwrap().contains("required"));
    u.get(&format!("/ipam/regions/{id}")).await.assert_status(200);
}

#[tokio::test]
async fn a_region_can_be_retired_with_the_reason_in_a_json_body() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;

    let r = u.send(Method::DELETE, &format!("/ipam/regions/{id}"), Some(&json!({"reason": "decommissioned"}))).await;

    r.assert_status(204);
    assert!(r.text.is_empty(), "204 has no body: {}", r.text);
    u.get(&format!("/ipam/regions/{id}")).await.assert_error(404, "not_found");
    assert_eq!(u.get("/ipam/regions").await.assert_status(200)["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn bad_retire_parameters_are_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;

    let bad_cascade = u.delete(&format!("/ipam/regions/{id}?reason=cleanup&cascade=maybe")).await;
    let bad_cascade_body =
        u.send(Method::DELETE, &format!("/ipam/regions/{id}"), Some(&json!({"reason": "cleanup", "cascade": 1}))).await;
    let unknown_query = u.delete(&format!("/ipam/regions/{id}?reason=cleanup&force=1")).await;
    let malformed_body =
        u.send_raw(Method::DELETE, &format!("/ipam/regions/{id}"), "application/json", b"{".to_vec()).await;

    for r in [&bad_cascade, &bad_cascade_body] {
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["cascade"].is_string(), "{}", r.text);
    }
    unknown_query.assert_error(422, "validation_error");
    malformed_body.assert_error(422, "validation_error");
    u.get(&format!("/ipam/regions/{id}")).await.assert_status(200);
}

#[tokio::test]
async fn a_region_with_hosts_is_not_retired_without_cascade() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;
    let host = u.create_host(&id, "web-1").await;
    u.create_host(&id, "web-2").await;

    let plain = u.delete(&format!("/ipam/regions/{id}?reason=decommissioned")).await;
    let explicit = u.delete(&format!("/ipam/regions/{id}?reason=decommissioned&cascade=false")).await;

    plain.assert_error(409, "conflict");
    assert_eq!(plain.json["details"]["allocated_hosts"], 2);
    assert!(plain.json["message"].as_str().unwrap().contains("cascade=true"), "{}", plain.text);
    explicit.assert_error(409, "conflict");
    u.get(&format!("/ipam/regions/{id}")).await.assert_status(200);
    u.get(&format!("/ipam/hosts/{}", text(&host, "host_id"))).await.assert_status(200);
}

#[tokio::test]
async fn cascade_retirement_releases_the_hosts_and_frees_every_address() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;
    let h1 = text(&u.create_host(&id, "web-1").await, "host_id");
    let h2 = text(&u.create_host(&id, "web-2").await, "host_id");

    u.delete(&format!("/ipam/regions/{id}?reason=decommissioned&cascade=true")).await.assert_status(204);

    u.get(&format!("/ipam/regions/{id}")).await.assert_error(404, "not_found");
    for h in [&h1, &h2] {
        u.get(&format!("/ipam/hosts/{h}")).await.assert_error(404, "not_found");
    }
    u.get("/ipam/hosts/by-ip/10.153.0.1").await.assert_error(404, "not_found");
    assert_eq!(u.get("/ipam/hosts").await.assert_status(200)["pagination"]["total_count"], 0);
    let again = region(&u, "USA", "r2").await;
    let host = u.create_host(&again, "web-1").await;
    assert_eq!(host["ip_address"], "10.153.0.1", "the block and its addresses are free again");
}

#[tokio::test]
async fn cascade_may_be_given_in_the_json_body() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;
    u.create_host(&id, "web-1").await;

    let r = u
        .send(
            Method::DELETE,
            &format!("/ipam/regions/{id}"),
            Some(&json!({"reason": "decommissioned", "cascade": true})),
        )
        .await;

    r.assert_status(204);
    u.get(&format!("/ipam/regions/{id}")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn retiring_a_malformed_unknown_or_already_retired_region_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;
    u.delete(&format!("/ipam/regions/{id}?reason=decommissioned")).await.assert_status(204);

    for id in ["nope".to_owned(), UNKNOWN_ID.to_owned(), id] {
        u.delete(&format!("/ipam/regions/{id}?reason=decommissioned")).await.assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------------------------------------
// Utilization
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn utilization_counts_the_hosts_of_the_region() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let id = region(&u, "USA", "r1").await;
    for name in ["a", "b", "c"] {
        u.create_host(&id, name).await;
    }

    let body = u.get(&format!("/ipam/regions/{id}/utilization")).await.assert_status(200).clone();
    let region = u.get(&format!("/ipam/regions/{id}")).await.assert_status(200).clone();

    assert_eq!(
        body,
        json!({"resource_type": "region", "resource_id": id, "cidr": "10.153.0.0/24", "total_capacity": 254,
               "allocated": 3, "available": 251, "utilization_percent": 1.18})
    );
    assert_eq!(region["allocated_hosts"], 3);
    assert_eq!(region["utilization_percentage"], 1.18);
}

#[tokio::test]
async fn utilization_of_a_malformed_or_unknown_region_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for id in ["nope", UNKNOWN_ID] {
        u.get(&format!("/ipam/regions/{id}/utilization")).await.assert_error(404, "not_found");
    }
}

// ---------------------------------------------------------------------------------------------
// Preview
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn preview_shows_the_next_block_without_reserving_it() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let first = u.get("/ipam/regions/preview-next?country=united%20states").await.assert_status(200).clone();
    let again = u.get("/ipam/regions/preview-next?country=USA").await.assert_status(200).clone();
    u.create_region("USA", "r1").await;
    let after = u.get("/ipam/regions/preview-next?country=usa").await.assert_status(200).clone();

    assert_eq!(first["available"], true);
    assert_eq!(first["country"], "United States");
    assert_eq!(first["country_code"], "USA");
    assert_eq!(first["next_cidr"], "10.153.0.0/24");
    assert_eq!(first["x_octet"], 153);
    assert_eq!(first["y_octet"], 0);
    assert!(first["message"].as_str().unwrap().contains("10.153.0.0/24"));
    assert_eq!(again["next_cidr"], "10.153.0.0/24", "previewing reserves nothing");
    assert_eq!(after["next_cidr"], "10.153.1.0/24");
    assert_eq!(after["y_octet"], 1);
}

#[tokio::test]
async fn preview_of_the_reserved_block_says_it_is_not_available() {
    let app = spawn_app().await;

    let body = app.user("u1").get("/ipam/regions/preview-next?country=ZZZ").await.assert_status(200).clone();

    assert_eq!(body["available"], false);
    assert_eq!(body["next_cidr"], Value::Null);
    assert_eq!(body["x_octet"], Value::Null);
    assert_eq!(body["country"], "Future Use");
    assert!(body["message"].as_str().unwrap().contains("reserved"), "{body}");
}

#[tokio::test]
async fn preview_needs_a_known_country() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let missing = u.get("/ipam/regions/preview-next").await;
    let unknown = u.get("/ipam/regions/preview-next?country=Atlantis").await;
    let extra = u.get("/ipam/regions/preview-next?country=USA&x=1").await;

    missing.assert_error(422, "validation_error");
    assert!(missing.json["details"]["country"].is_string(), "{}", missing.text);
    unknown.assert_error(404, "not_found");
    extra.assert_error(422, "validation_error");
}

#[tokio::test]
async fn preview_follows_the_callers_own_namespace() {
    let app = spawn_app().await;
    app.user("alice").create_region("USA", "a1").await;

    let bob = app.user("bob").get("/ipam/regions/preview-next?country=USA").await.assert_status(200).clone();

    assert_eq!(bob["next_cidr"], "10.153.0.0/24", "alice's block does not count for bob");
}

// ---------------------------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_user_cannot_see_or_touch_a_region_on_any_endpoint() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let id = region(&alice, "USA", "private").await;
    alice.create_host(&id, "web-1").await;
    let bob = app.user("bob");

    bob.get(&format!("/ipam/regions/{id}")).await.assert_error(404, "not_found");
    bob.get(&format!("/ipam/regions/{id}/utilization")).await.assert_error(404, "not_found");
    bob.patch(&format!("/ipam/regions/{id}"), json!({"status": "Reserved"})).await.assert_error(404, "not_found");
    bob.delete(&format!("/ipam/regions/{id}?reason=taking%20it&cascade=true")).await.assert_error(404, "not_found");
    let listed = bob.get("/ipam/regions?name=private").await.assert_status(200).clone();
    assert_eq!(listed["pagination"]["total_count"], 0);

    let still = alice.get(&format!("/ipam/regions/{id}")).await.assert_status(200).clone();
    assert_eq!(still["status"], "Active");
    assert_eq!(still["allocated_hosts"], 1);
}

#[tokio::test]
async fn each_region_operation_requires_its_own_permission() {
    let app = spawn_app().await;
    let id = region(&app.user("u1"), "USA", "r1").await;
    let reader = app.caller("u1", &[ipam_core::auth::Permission::Read]);

    reader.get(&format!("/ipam/regions/{id}")).await.assert_status(200);
    reader.get("/ipam/regions/preview-next?country=USA").await.assert_status(200);
    let create = reader.post("/ipam/regions", json!({"country": "USA", "region_name": "r2"})).await;
    let patch = reader.patch(&format!("/ipam/regions/{id}"), json!({"description": "x"})).await;
    let retire = reader.delete(&format!("/ipam/regions/{id}?reason=decommissioned")).await;

    for (r, needed) in [(&create, "ipam:allocate"), (&patch, "ipam:update"), (&retire, "ipam:release")] {
        r.assert_error(403, "forbidden");
        assert_eq!(r.json["details"]["required_permission"], needed);
    }
    app.anonymous().get(&format!("/ipam/regions/{id}")).await.assert_error(401, "unauthorized");
}
