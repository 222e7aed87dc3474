//! `GET /ipam/search` served from the result cache: a repeated search is a hit, a change by its
//! user makes the next one fresh, and one user's cached result is never another's.

use ipam_tests::{Caller, spawn_app};
use serde_json::Value;

/// The search's body and its `x-ipam-cache` header.
async fn search(u: &Caller<'_>, query: &str) -> (Value, String) {
    let res = u.get(&format!("/ipam/search{query}")).await;
    let body = res.assert_status(200).clone();
    let cache = res.header("x-ipam-cache").expect("x-ipam-cache header").to_owned();
    (body, cache)
}

fn total(body: &Value) -> &Value {
    &body["pagination"]["total_count"]
}

#[tokio::test]
async fn a_repeated_search_is_served_from_the_cache_until_its_user_changes_something() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("USA", "us-east").await;
    let region_id = region["region_id"].as_str().unwrap().to_owned();
    u.create_host(&region_id, "web-01").await;

    let (first, cache) = search(&u, "?ip_address=10.153.0.0/16").await;
    assert_eq!((total(&first).as_u64(), cache.as_str()), (Some(2), "miss"));
    let (again, cache) = search(&u, "?ip_address=10.153.0.0/16").await;
    assert_eq!(cache, "hit");
    assert_eq!(again, first, "a hit answers exactly what the search answered");

    u.create_host(&region_id, "web-02").await;
    let (after_write, cache) = search(&u, "?ip_address=10.153.0.0/16").await;
    assert_eq!((total(&after_write).as_u64(), cache.as_str()), (Some(3), "miss"), "{after_write}");
    let (forced, cache) = search(&u, "?ip_address=10.153.0.0/16&fresh=true").await;
    assert_eq!((total(&forced).as_u64(), cache.as_str()), (Some(3), "miss"));
    let (_, cache) = search(&u, "?ip_address=10.153.0.0/16&page_size=1").await;
    assert_eq!(cache, "miss", "another page is another result");
}

#[tokio::test]
async fn one_users_cached_search_is_never_served_to_another() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    alice.create_region("USA", "us-east").await;
    let (mine, _) = search(&alice, "?country=USA").await;
    assert_eq!(search(&alice, "?country=USA").await.1, "hit");
    assert_eq!(total(&mine).as_u64(), Some(1));

    let (theirs, cache) = search(&app.user("bob"), "?country=USA").await;
    assert_eq!((total(&theirs).as_u64(), cache.as_str()), (Some(0), "miss"), "{theirs}");
}

#[tokio::test]
async fn fresh_must_be_true_or_false() {
    let app = spawn_app().await;
    let res = app.user("alice").get("/ipam/search?fresh=maybe").await;
    let body = res.assert_status(422);
    assert_eq!(body["details"]["fresh"], "must be true or false", "{body}");
}
