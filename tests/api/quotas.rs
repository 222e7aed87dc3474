//! Quotas: `/ipam/quotas/me`, the administrators' `/ipam/admin/quotas`, and enforcement.

use ipam_core::auth::Permission;
use ipam_tests::{Caller, TestApp, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("{field} missing in {v}")).to_owned()
}

async fn my_quota(u: &Caller<'_>) -> Value {
    u.get("/ipam/quotas/me").await.assert_status(200).clone()
}

async fn set_quota(app: &TestApp, user: &str, body: Value) -> Value {
    app.admin("root").patch(&format!("/ipam/admin/quotas/{user}"), body).await.assert_status(200).clone()
}

/// (regions used, hosts used) as `/ipam/quotas/me` reports them.
async fn usage(u: &Caller<'_>) -> (u64, u64) {
    let q = my_quota(u).await;
    assert_eq!(q["regions"]["used"], q["region_count"], "{q}");
    assert_eq!(q["hosts"]["used"], q["host_count"], "{q}");
    (q["region_count"].as_u64().unwrap(), q["host_count"].as_u64().unwrap())
}

#[tokio::test]
async fn a_new_user_has_the_default_limits_and_no_usage() {
    let app = spawn_app().await;

    let q = my_quota(&app.user("alice")).await;

    assert_eq!(q["user_id"], "alice");
    assert_eq!(q["region_quota"], 1000);
    assert_eq!(q["host_quota"], 10000);
    assert_eq!(q["region_count"], 0);
    assert_eq!(q["host_count"], 0);
    assert_eq!(
        q["regions"],
        json!({
            "limit": 1000, "used": 0, "available": 1000, "usage_percent": 0.0, "warning": false, "custom_limit": false
        })
    );
    assert_eq!(q["hosts"]["limit"], 10000);
    assert_eq!(q["hosts"]["available"], 10000);
}

#[tokio::test]
async fn my_quota_follows_allocations_releases_and_retirements() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let a = id(&u.create_region("USA", "r-a").await, "region_id");
    let b = id(&u.create_region("USA", "r-b").await, "region_id");
    let h1 = id(&u.create_host(&a, "h1").await, "host_id");
    u.post("/ipam/hosts/batch", json!({"region_id": a, "count": 2, "hostname_prefix": "n"})).await.assert_status(201);
    u.create_host(&b, "h2").await;
    assert_eq!(usage(&u).await, (2, 4));

    u.delete(&format!("/ipam/hosts/{h1}?reason=decommissioned")).await.assert_status(204);
    assert_eq!(usage(&u).await, (2, 3));

    u.delete(&format!("/ipam/regions/{a}?reason=site%20closed&cascade=true")).await.assert_status(204);
    assert_eq!(usage(&u).await, (1, 1), "the cascade released region a's two remaining hosts");

    let b_host = u.get(&format!("/ipam/hosts?region_id={b}")).await.assert_status(200)["results"][0].clone();
    u.post("/ipam/hosts/bulk-release", json!({"host_ids": [id(&b_host, "host_id")], "reason": "cleanup"}))
        .await
        .assert_status(200);
    u.delete(&format!("/ipam/regions/{b}?reason=site%20closed")).await.assert_status(204);
    let q = my_quota(&u).await;
    assert_eq!((q["region_count"].clone(), q["host_count"].clone()), (json!(0), json!(0)));
    assert_eq!(q["regions"]["available"], 1000);
}

#[tokio::test]
async fn refused_allocations_use_no_quota() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r-a").await, "region_id");
    u.create_host(&rid, "h1").await;

    u.post("/ipam/regions", json!({"country": "USA", "region_name": "R-A"})).await.assert_error(409, "duplicate_name");
    u.post("/ipam/hosts", json!({"region_id": rid, "hostname": "h1"})).await.assert_error(409, "duplicate_name");
    u.post("/ipam/regions", json!({"country": "ZZZ", "region_name": "later"}))
        .await
        .assert_error(409, "country_reserved");

    assert_eq!(usage(&u).await, (1, 1));
}

#[tokio::test]
async fn usage_is_counted_per_user() {
    let app = spawn_app().await;
    app.user("alice").create_region("USA", "r-a").await;

    assert_eq!(usage(&app.user("bob")).await, (0, 0));
    assert_eq!(usage(&app.user("alice")).await, (1, 0));
}

#[tokio::test]
async fn admin_endpoints_are_403_without_the_admin_permission() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for r in [
        u.get("/ipam/admin/quotas").await,
        u.get("/ipam/admin/quotas/bob").await,
        u.patch("/ipam/admin/quotas/bob", json!({"region_quota": 5})).await,
        u.patch("/ipam/admin/quotas/alice", json!({"region_quota": 5000})).await,
    ] {
        r.assert_error(403, "forbidden");
        assert_eq!(r.json["details"]["required_permission"], "ipam:admin");
    }
    app.anonymous().get("/ipam/admin/quotas").await.assert_error(401, "unauthorized");
    assert_eq!(my_quota(&u).await["region_quota"], 1000, "the refused change did not happen");
}

#[tokio::test]
async fn an_administrator_also_holds_the_ordinary_permissions() {
    let app = spawn_app().await;
    let root = app.admin("root");

    let region = root.create_region("USA", "admin-region").await;
    root.create_host(&id(&region, "region_id"), "h1").await;

    let q = my_quota(&root).await;
    assert_eq!((q["region_count"].clone(), q["host_count"].clone()), (json!(1), json!(1)));
}

#[tokio::test]
async fn an_administrator_reads_any_users_quota() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let rid = id(&alice.create_region("USA", "r-a").await, "region_id");
    alice.create_host(&rid, "h1").await;

    let q = app.admin("root").get("/ipam/admin/quotas/alice").await.assert_status(200).clone();
    let nobody = app.admin("root").get("/ipam/admin/quotas/never-seen").await.assert_status(200).clone();

    assert_eq!(q["user_id"], "alice");
    assert_eq!((q["region_count"].clone(), q["host_count"].clone()), (json!(1), json!(1)));
    assert_eq!(nobody["user_id"], "never-seen");
    assert_eq!((nobody["region_count"].clone(), nobody["region_quota"].clone()), (json!(0), json!(1000)));
}

#[tokio::test]
async fn the_admin_list_shows_every_user_with_usage_or_a_custom_limit() {
    let app = spawn_app().await;
    app.user("alice").create_region("USA", "r-a").await;
    let bob = app.user("bob");
    bob.create_region("USA", "r-b").await;
    bob.create_region("Canada", "r-c").await;
    set_quota(&app, "carol", json!({"host_quota": 7})).await;

    let body = app.admin("root").get("/ipam/admin/quotas").await.assert_status(200).clone();

    assert_eq!(body["pagination"]["total_count"], 3);
    let users: Vec<_> = body["results"].as_array().unwrap().iter().map(|q| id(q, "user_id")).collect();
    assert_eq!(users, ["alice", "bob", "carol"]);
    let bob_line = &body["results"][1];
    assert_eq!(bob_line["region_count"], 2);
    let carol_line = &body["results"][2];
    assert_eq!(carol_line["host_quota"], 7);
    assert_eq!(carol_line["hosts"]["custom_limit"], true);
    let paged = app.admin("root").get("/ipam/admin/quotas?page_size=2&page=2").await.assert_status(200).clone();
    assert_eq!(paged["results"].as_array().unwrap().len(), 1);
    app.admin("root").get("/ipam/admin/quotas?page=0").await.assert_error(422, "validation_error");
}

#[tokio::test]
async fn patch_sets_limits_and_null_resets_them_to_the_default() {
    let app = spawn_app().await;
    let alice = app.user("alice");

    let set = set_quota(&app, "alice", json!({"region_quota": 5, "host_quota": 20})).await;
    assert_eq!((set["region_quota"].clone(), set["host_quota"].clone()), (json!(5), json!(20)));
    assert_eq!(set["regions"]["custom_limit"], true);
    let mine = my_quota(&alice).await;
    assert_eq!((mine["region_quota"].clone(), mine["host_quota"].clone()), (json!(5), json!(20)));

    let reset = set_quota(&app, "alice", json!({"region_quota": null})).await;
    assert_eq!(reset["region_quota"], 1000);
    assert_eq!(reset["regions"]["custom_limit"], false);
    assert_eq!(reset["host_quota"], 20, "an absent field is left alone");
    let mine = my_quota(&alice).await;
    assert_eq!((mine["region_quota"].clone(), mine["host_quota"].clone()), (json!(1000), json!(20)));
}

#[tokio::test]
async fn zero_and_the_largest_limits_are_accepted() {
    let app = spawn_app().await;

    let q = set_quota(&app, "alice", json!({"region_quota": 65536, "host_quota": 0})).await;

    assert_eq!((q["region_quota"].clone(), q["host_quota"].clone()), (json!(65536), json!(0)));
    let alice = app.user("alice");
    let rid = id(&alice.create_region("USA", "r-a").await, "region_id");
    alice.post("/ipam/hosts", json!({"region_id": rid, "hostname": "h1"})).await.assert_error(429, "quota_exceeded");
}

#[tokio::test]
async fn invalid_limits_are_422_naming_the_field() {
    let app = spawn_app().await;
    let root = app.admin("root");

    for (body, field) in [
        (json!({"region_quota": -1}), "region_quota"),
        (json!({"region_quota": 65537}), "region_quota"),
        (json!({"host_quota": 16_646_145}), "host_quota"),
        (json!({"host_quota": 99_999_999_999_u64}), "host_quota"),
        (json!({"region_quota": "5"}), "region_quota"),
        (json!({"region_quota": 1.5}), "region_quota"),
        (json!({"host_quota": true}), "host_quota"),
        (json!({}), "body"),
    ] {
        let r = root.patch("/ipam/admin/quotas/alice", body.clone()).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{body} should name {field}: {}", r.text);
    }
    let unknown = root.patch("/ipam/admin/quotas/alice", json!({"regions": 5})).await;
    unknown.assert_error(422, "validation_error");
    assert!(unknown.text.contains("regions"), "{}", unknown.text);
    let empty = root.send_raw(Method::PATCH, "/ipam/admin/quotas/alice", "application/json", Vec::new()).await;
    empty.assert_error(422, "validation_error");
    assert!(empty.json["details"]["body"].is_string());
    let q = root.get("/ipam/admin/quotas/alice").await.assert_status(200).clone();
    assert_eq!((q["region_quota"].clone(), q["host_quota"].clone()), (json!(1000), json!(10000)), "nothing changed");
}

#[tokio::test]
async fn an_array_instead_of_an_object_changes_no_limit() {
    let app = spawn_app().await;
    let root = app.admin("root");

    let r = root.patch("/ipam/admin/quotas/alice", json!([5])).await;

    r.assert_error(422, "validation_error");
    let q = root.get("/ipam/admin/quotas/alice").await.assert_status(200).clone();
    assert_eq!(q["region_quota"], 1000);
}

#[tokio::test]
async fn reaching_the_region_limit_is_429_quota_exceeded_with_details() {
    let app = spawn_app().await;
    set_quota(&app, "alice", json!({"region_quota": 2})).await;
    let u = app.user("alice");
    u.create_region("USA", "r-a").await;
    u.create_region("USA", "r-b").await;

    let r = u.post("/ipam/regions", json!({"country": "USA", "region_name": "r-c"})).await;

    r.assert_error(429, "quota_exceeded");
    assert_eq!(r.json["details"], json!({"quota": "regions", "limit": 2, "current": 2, "requested": 1}));
    let listed = u.get("/ipam/regions").await.assert_status(200).clone();
    assert_eq!(listed["pagination"]["total_count"], 2, "nothing was allocated");
    assert_eq!(usage(&u).await, (2, 0));
}

#[tokio::test]
async fn a_batch_larger_than_the_hosts_left_is_refused_whole() {
    let app = spawn_app().await;
    set_quota(&app, "alice", json!({"host_quota": 5})).await;
    let u = app.user("alice");
    let rid = id(&u.create_region("USA", "r-a").await, "region_id");
    for name in ["h1", "h2", "h3"] {
        u.create_host(&rid, name).await;
    }

    let r = u.post("/ipam/hosts/batch", json!({"region_id": rid, "count": 3, "hostname_prefix": "n"})).await;

    r.assert_error(429, "quota_exceeded");
    assert_eq!(r.json["details"], json!({"quota": "hosts", "limit": 5, "current": 3, "requested": 3}));
    let hosts = u.get(&format!("/ipam/hosts?region_id={rid}")).await.assert_status(200).clone();
    assert_eq!(hosts["pagination"]["total_count"], 3, "all or nothing: no host of the batch exists");
    assert_eq!(usage(&u).await, (1, 3));
    let exact = u.post("/ipam/hosts/batch", json!({"region_id": rid, "count": 2, "hostname_prefix": "n"})).await;
    assert_eq!(exact.assert_status(201)["total_allocated"], 2, "the last units of quota can be used");
    u.post("/ipam/hosts", json!({"region_id": rid, "hostname": "h9"})).await.assert_error(429, "quota_exceeded");
}

#[tokio::test]
async fn a_limit_lowered_below_usage_takes_nothing_away_but_blocks_new_allocations() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let mut ids = Vec::new();
    for name in ["r-a", "r-b", "r-c"] {
        ids.push(id(&u.create_region("USA", name).await, "region_id"));
    }

    let q = set_quota(&app, "alice", json!({"region_quota": 1})).await;

    assert_eq!(q["regions"]["used"], 3);
    assert_eq!(q["regions"]["limit"], 1);
    assert_eq!(q["regions"]["available"], 0);
    assert_eq!(q["regions"]["warning"], true);
    assert_eq!(u.get("/ipam/regions").await.assert_status(200)["pagination"]["total_count"], 3);
    u.post("/ipam/regions", json!({"country": "USA", "region_name": "r-d"})).await.assert_error(429, "quota_exceeded");
    for rid in &ids[..2] {
        u.delete(&format!("/ipam/regions/{rid}?reason=shrinking")).await.assert_status(204);
    }
    u.post("/ipam/regions", json!({"country": "USA", "region_name": "r-d"})).await.assert_error(429, "quota_exceeded");
    u.delete(&format!("/ipam/regions/{}?reason=shrinking", ids[2])).await.assert_status(204);
    u.create_region("USA", "r-d").await;
}

#[tokio::test]
async fn the_default_limits_come_from_the_settings() {
    let app = spawn_app_with(|s| {
        s.default_region_quota = 1;
        s.default_host_quota = 2;
    })
    .await;
    let u = app.user("alice");

    let q = my_quota(&u).await;
    assert_eq!((q["region_quota"].clone(), q["host_quota"].clone()), (json!(1), json!(2)));
    let rid = id(&u.create_region("USA", "r-a").await, "region_id");
    u.post("/ipam/regions", json!({"country": "USA", "region_name": "r-b"})).await.assert_error(429, "quota_exceeded");
    let r = u.post("/ipam/hosts/batch", json!({"region_id": rid, "count": 3, "hostname_prefix": "n"})).await;
    r.assert_error(429, "quota_exceeded");
    assert_eq!(r.json["details"]["limit"], 2);
    let raised = set_quota(&app, "alice", json!({"region_quota": 2})).await;
    assert_eq!(raised["region_quota"], 2);
    u.create_region("USA", "r-b").await;
}

#[tokio::test]
async fn a_quota_change_is_audited_in_the_target_users_namespace() {
    let app = spawn_app().await;

    set_quota(&app, "bob", json!({"region_quota": 3})).await;

    let bobs = app.user("bob").get("/ipam/audit?action_type=quota_update").await.assert_status(200).clone();
    assert_eq!(bobs["pagination"]["total_count"], 1);
    let e = &bobs["results"][0];
    assert_eq!(e["resource_type"], "quota");
    assert_eq!(e["resource_id"], "bob");
    assert_eq!(e["user_id"], "bob");
    assert_eq!(e["actor_id"], "root");
    assert_eq!(e["changes"], json!([{"field": "region_quota", "old_value": null, "new_value": 3}]));
    let admins = app.admin("root").get("/ipam/audit?action_type=quota_update").await.assert_status(200).clone();
    assert_eq!(admins["pagination"]["total_count"], 0, "the event lives in bob's namespace, not root's");
    let alices = app.user("alice").get("/ipam/audit").await.assert_status(200).clone();
    assert_eq!(alices["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn a_reset_is_audited_with_the_old_value() {
    let app = spawn_app().await;
    set_quota(&app, "bob", json!({"host_quota": 50})).await;

    set_quota(&app, "bob", json!({"host_quota": null})).await;

    let bobs = app.user("bob").get("/ipam/audit?resource_type=quota").await.assert_status(200).clone();
    assert_eq!(bobs["pagination"]["total_count"], 2);
    assert_eq!(bobs["results"][0]["changes"], json!([{"field": "host_quota", "old_value": 50, "new_value": null}]));
}

#[tokio::test]
async fn setting_the_same_limit_again_writes_no_event() {
    let app = spawn_app().await;
    set_quota(&app, "bob", json!({"region_quota": 3})).await;

    let again = set_quota(&app, "bob", json!({"region_quota": 3})).await;

    assert_eq!(again["region_quota"], 3);
    let bobs = app.user("bob").get("/ipam/audit?action_type=quota_update").await.assert_status(200).clone();
    assert_eq!(bobs["pagination"]["total_count"], 1);
}

#[tokio::test]
async fn quota_reading_requires_the_read_permission() {
    let app = spawn_app().await;

    let r = app.caller("alice", &[Permission::Allocate]).get("/ipam/quotas/me").await;

    r.assert_error(403, "forbidden");
    assert_eq!(r.json["details"]["required_permission"], "ipam:read");
    app.anonymous().get("/ipam/quotas/me").await.assert_error(401, "unauthorized");
}
