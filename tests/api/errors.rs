//! Malformed input never yields a 500.

use ipam_tests::spawn_app;
use reqwest::Method;

#[tokio::test]
async fn malformed_json_is_a_422_naming_the_body() {
    let app = spawn_app().await;
    let r = app.user("u1").send_raw(Method::POST, "/ipam/regions", "application/json", b"{not json".to_vec()).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["body"].as_str().unwrap().contains("malformed JSON"));
}
