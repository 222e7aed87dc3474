//! Comments on regions and hosts: `/ipam/{regions|hosts}/{id}/comments`.

use chrono::Duration;
use ipam_core::auth::Permission;
use ipam_tests::json::text;
use ipam_tests::{Caller, TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A region and a host in it, as `(region_id, host_id)`.
async fn region_and_host(u: &Caller<'_>) -> (String, String) {
    let region_id = text(&u.create_region("USA", "r1").await, "region_id");
    let host_id = text(&u.create_host(&region_id, "h1").await, "host_id");
    (region_id, host_id)
}

/// Adds a comment and returns the response body (panics unless 201).
async fn comment(u: &Caller<'_>, path: &str, words: &str) -> Value {
    u.post(path, json!({"comment_text": words})).await.assert_status(201).clone()
}

/// The texts of a comment list, in order.
fn texts(body: &Value) -> Vec<String> {
    body["results"].as_array().expect("results array").iter().map(|c| text(c, "text")).collect()
}

/// Moves the app clock so the next write gets a strictly later timestamp.
fn tick(app: &TestApp) {
    app.clock.advance(Duration::seconds(1));
}

/// A well-formed id that no resource has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

// ---------------------------------------------------------------------------------------------
// Add
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_comment_on_a_region_is_created_with_its_author_and_target() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, _) = region_and_host(&u).await;
    let path = format!("/ipam/regions/{region_id}/comments");

    let r = u.post(&path, json!({"comment_text": "  planned maintenance on Friday  "})).await;

    let body = r.assert_status(201).clone();
    assert_eq!(r.header("location").unwrap(), path);
    assert_eq!(body["resource_type"], "region");
    assert_eq!(body["resource_id"], region_id);
    assert_eq!(body["text"], "planned maintenance on Friday", "surrounding blanks are trimmed");
    assert_eq!(body["author_id"], "u1");
    assert_eq!(body["author"], "u1");
    assert!(!text(&body, "comment_id").is_empty());
    assert!(chrono::DateTime::parse_from_rfc3339(&text(&body, "created_at")).is_ok());
}

#[tokio::test]
async fn a_comment_on_a_host_is_created_with_its_author_and_target() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (_, host_id) = region_and_host(&u).await;
    let path = format!("/ipam/hosts/{host_id}/comments");

    let r = u.post(&path, json!({"comment_text": "disk replaced"})).await;

    let body = r.assert_status(201).clone();
    assert_eq!(r.header("location").unwrap(), path);
    assert_eq!(body["resource_type"], "host");
    assert_eq!(body["resource_id"], host_id);
    assert_eq!(body["text"], "disk replaced");
    assert_eq!(body["author_id"], "u1");
}

#[tokio::test]
async fn text_is_accepted_as_an_alias_of_comment_text() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;

    let on_region = u.post(&format!("/ipam/regions/{region_id}/comments"), json!({"text": "via alias"})).await;
    let on_host = u.post(&format!("/ipam/hosts/{host_id}/comments"), json!({"text": "via alias"})).await;

    assert_eq!(on_region.assert_status(201)["text"], "via alias");
    assert_eq!(on_host.assert_status(201)["text"], "via alias");
}

#[tokio::test]
async fn comments_of_one_to_two_thousand_characters_are_accepted() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;

    let one = comment(&u, &format!("/ipam/regions/{region_id}/comments"), "x").await;
    let longest = comment(&u, &format!("/ipam/hosts/{host_id}/comments"), &"é".repeat(2000)).await;
    let multiline = comment(&u, &format!("/ipam/hosts/{host_id}/comments"), "line one\nline two\ttabbed").await;

    assert_eq!(one["text"], "x");
    assert_eq!(longest["text"].as_str().unwrap().chars().count(), 2000, "length counts characters");
    assert_eq!(multiline["text"], "line one\nline two\ttabbed");
}

#[tokio::test]
async fn invalid_comment_text_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;
    let too_long = "x".repeat(2001);
    for path in [format!("/ipam/regions/{region_id}/comments"), format!("/ipam/hosts/{host_id}/comments")] {
        for bad in [json!(""), json!("   "), json!(too_long), json!("bell\u{7}"), json!(5), json!(null)] {
            let r = u.post(&path, json!({"comment_text": bad})).await;
            r.assert_error(422, "validation_error");
            assert!(r.json["details"]["comment_text"].is_string(), "{path} {bad} → {}", r.text);
        }
        let missing = u.post(&path, json!({})).await;
        assert_eq!(missing.assert_error(422, "validation_error")["details"]["comment_text"], "is required");
        let unknown = u.post(&path, json!({"comment_text": "ok", "pinned": true})).await;
        unknown.assert_error(422, "validation_error");
        let both = u.post(&path, json!({"comment_text": "a", "text": "b"})).await;
        both.assert_error(422, "validation_error");
        let no_body = u.send(Method::POST, &path, None).await;
        no_body.assert_error(422, "validation_error");
        let listed = u.get(&path).await.assert_status(200).clone();
        assert_eq!(listed["pagination"]["total_count"], 0, "nothing was stored for {path}");
    }
}

#[tokio::test]
async fn an_unknown_comment_field_is_named_in_the_details() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, _) = region_and_host(&u).await;

    let r = u.post(&format!("/ipam/regions/{region_id}/comments"), json!({"comment_text": "ok", "pinned": true})).await;

    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["pinned"].is_string(), "{}", r.text);
}

#[tokio::test]
async fn commenting_on_a_malformed_or_unknown_id_is_404() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for kind in ["regions", "hosts"] {
        for id in ["nope", UNKNOWN_ID] {
            let path = format!("/ipam/{kind}/{id}/comments");
            u.post(&path, json!({"comment_text": "hello"})).await.assert_error(404, "not_found");
            u.get(&path).await.assert_error(404, "not_found");
        }
    }
}

#[tokio::test]
async fn a_region_id_is_not_accepted_as_a_host_id_or_the_other_way_round() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;

    u.post(&format!("/ipam/hosts/{region_id}/comments"), json!({"comment_text": "x"}))
        .await
        .assert_error(404, "not_found");
    u.post(&format!("/ipam/regions/{host_id}/comments"), json!({"comment_text": "x"}))
        .await
        .assert_error(404, "not_found");
    u.get(&format!("/ipam/hosts/{region_id}/comments")).await.assert_error(404, "not_found");
    u.get(&format!("/ipam/regions/{host_id}/comments")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn commenting_needs_the_update_permission_and_reading_needs_read() {
    let app = spawn_app().await;
    let owner = app.user("u1");
    let (region_id, host_id) = region_and_host(&owner).await;
    let reader = app.caller("u1", &[Permission::Read]);
    let writer = app.caller("u1", &[Permission::Update]);

    for path in [format!("/ipam/regions/{region_id}/comments"), format!("/ipam/hosts/{host_id}/comments")] {
        let r = reader.post(&path, json!({"comment_text": "hello"})).await;
        r.assert_error(403, "forbidden");
        assert_eq!(r.json["details"]["required_permission"], "ipam:update");
        reader.get(&path).await.assert_status(200);
        writer.post(&path, json!({"comment_text": "hello"})).await.assert_status(201);
        let r = writer.get(&path).await;
        r.assert_error(403, "forbidden");
        assert_eq!(r.json["details"]["required_permission"], "ipam:read");
        app.anonymous().get(&path).await.assert_error(401, "unauthorized");
    }
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn comments_are_listed_newest_first_with_pagination() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, _) = region_and_host(&u).await;
    let path = format!("/ipam/regions/{region_id}/comments");
    let mut created = Vec::new();
    for words in ["first", "second", "third"] {
        created.push(comment(&u, &path, words).await);
        tick(&app);
    }

    let page1 = u.get(&format!("{path}?page_size=2")).await.assert_status(200).clone();
    let page2 = u.get(&format!("{path}?page=2&page_size=2")).await.assert_status(200).clone();
    let all = u.get(&path).await.assert_status(200).clone();

    assert_eq!(texts(&page1), ["third", "second"]);
    assert_eq!(
        page1["pagination"],
        json!({"page": 1, "page_size": 2, "total_count": 3, "total_pages": 2, "has_next": true, "has_prev": false})
    );
    assert_eq!(texts(&page2), ["first"]);
    assert_eq!(page2["pagination"]["has_prev"], true);
    assert_eq!(page2["pagination"]["has_next"], false);
    assert_eq!(all["pagination"]["page_size"], 50);
    assert_eq!(all["results"][0], created[2], "listed comments look as they did when created");
}

#[tokio::test]
async fn host_and_region_comments_are_listed_separately() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;
    let other_host = text(&u.create_host(&region_id, "h2").await, "host_id");
    comment(&u, &format!("/ipam/regions/{region_id}/comments"), "on the region").await;
    comment(&u, &format!("/ipam/hosts/{host_id}/comments"), "on the host").await;

    let region_list = u.get(&format!("/ipam/regions/{region_id}/comments")).await.assert_status(200).clone();
    let host_list = u.get(&format!("/ipam/hosts/{host_id}/comments")).await.assert_status(200).clone();
    let other_list = u.get(&format!("/ipam/hosts/{other_host}/comments")).await.assert_status(200).clone();

    assert_eq!(texts(&region_list), ["on the region"]);
    assert_eq!(texts(&host_list), ["on the host"]);
    assert_eq!(other_list["results"], json!([]));
    assert_eq!(other_list["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn invalid_comment_list_parameters_are_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;
    for path in [format!("/ipam/regions/{region_id}/comments"), format!("/ipam/hosts/{host_id}/comments")] {
        for (query, field) in
            [("page=0", "page"), ("page_size=0", "page_size"), ("page_size=101", "page_size"), ("page=x", "page")]
        {
            let r = u.get(&format!("{path}?{query}")).await;
            r.assert_error(422, "validation_error");
            assert!(r.json["details"][field].is_string(), "{path}?{query}: {}", r.text);
        }
        u.get(&format!("{path}?sort=asc")).await.assert_error(422, "validation_error");
    }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn comments_go_away_with_a_released_host() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;
    let path = format!("/ipam/hosts/{host_id}/comments");
    comment(&u, &path, "about to go").await;

    u.delete(&format!("/ipam/hosts/{host_id}?reason=decommissioned")).await.assert_status(204);

    u.get(&path).await.assert_error(404, "not_found");
    u.post(&path, json!({"comment_text": "too late"})).await.assert_error(404, "not_found");
    let replacement = text(&u.create_host(&region_id, "h1").await, "host_id");
    let fresh = u.get(&format!("/ipam/hosts/{replacement}/comments")).await.assert_status(200).clone();
    assert_eq!(fresh["pagination"]["total_count"], 0, "a new host at the same address starts without comments");
}

#[tokio::test]
async fn comments_go_away_with_a_retired_region_and_its_hosts() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;
    comment(&u, &format!("/ipam/regions/{region_id}/comments"), "region note").await;
    comment(&u, &format!("/ipam/hosts/{host_id}/comments"), "host note").await;

    u.delete(&format!("/ipam/regions/{region_id}?reason=decommissioned&cascade=true")).await.assert_status(204);

    u.get(&format!("/ipam/regions/{region_id}/comments")).await.assert_error(404, "not_found");
    u.get(&format!("/ipam/hosts/{host_id}/comments")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn comments_survive_changes_to_their_resource() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (region_id, host_id) = region_and_host(&u).await;
    comment(&u, &format!("/ipam/regions/{region_id}/comments"), "region note").await;
    comment(&u, &format!("/ipam/hosts/{host_id}/comments"), "host note").await;

    u.patch(&format!("/ipam/regions/{region_id}"), json!({"region_name": "renamed"})).await.assert_status(200);
    u.patch(&format!("/ipam/hosts/{host_id}"), json!({"hostname": "renamed"})).await.assert_status(200);

    let region_list = u.get(&format!("/ipam/regions/{region_id}/comments")).await.assert_status(200).clone();
    let host_list = u.get(&format!("/ipam/hosts/{host_id}/comments")).await.assert_status(200).clone();
    assert_eq!(texts(&region_list), ["region note"]);
    assert_eq!(texts(&host_list), ["host note"]);
}

// ---------------------------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_user_can_neither_read_nor_add_comments_on_someone_elses_resources() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let (region_id, host_id) = region_and_host(&alice).await;
    let bob = app.user("bob");
    for path in [format!("/ipam/regions/{region_id}/comments"), format!("/ipam/hosts/{host_id}/comments")] {
        comment(&alice, &path, "private note").await;

        bob.get(&path).await.assert_error(404, "not_found");
        bob.post(&path, json!({"comment_text": "hi from bob"})).await.assert_error(404, "not_found");

        let listed = alice.get(&path).await.assert_status(200).clone();
        assert_eq!(texts(&listed), ["private note"], "bob's attempt left nothing behind");
    }
}
