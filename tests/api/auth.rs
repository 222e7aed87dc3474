//! Authentication and permissions.

use ipam_core::auth::Permission;
use ipam_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let app = spawn_app().await;
    app.anonymous().get("/ipam/regions").await.assert_error(401, "unauthorized");
    app.with_token("not-a-jwt").get("/ipam/regions").await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_missing_permission_is_403_and_names_it() {
    let app = spawn_app().await;
    let reader = app.caller("u1", &[Permission::Read]);
    let r = reader.post("/ipam/regions", json!({"country": "USA", "region_name": "x1"})).await;
    r.assert_error(403, "forbidden");
    assert_eq!(r.json["details"]["required_permission"], "ipam:allocate");
}
