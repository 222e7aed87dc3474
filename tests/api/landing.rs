//! `GET /`: the landing page, JSON for API clients and HTML for browsers, without a token.

use ipam_tests::spawn_app;
use serde_json::json;

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[tokio::test]
async fn the_root_answers_json_naming_the_entry_points_without_a_token() {
    let app = spawn_app().await;

    for accept in [None, Some("*/*"), Some("application/json")] {
        let r = match accept {
            None => app.anonymous().get("/").await,
            Some(a) => app.anonymous().get_accepting("/", a).await,
        };

        r.assert_status(200);
        assert!(r.header("content-type").unwrap().starts_with("application/json"), "{accept:?}");
        assert_eq!(
            r.json,
            json!({
                "name": "ipam",
                "version": env!("CARGO_PKG_VERSION"),
                "docs": "/docs",
                "health": "/health",
                "openapi": "/openapi.json",
                "readme": "README.md#five-minute-walkthrough",
            }),
            "{accept:?}"
        );
    }
}

#[tokio::test]
async fn a_browser_at_the_root_gets_a_page_linking_the_docs_and_health() {
    let app = spawn_app().await;

    let r = app.anonymous().get_accepting("/", BROWSER).await;

    r.assert_status(200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"), "{:?}", r.headers);
    for link in ["href=\"/docs\"", "href=\"/health\"", "href=\"/openapi.json\"", "README.md#five-minute-walkthrough"] {
        assert!(r.text.contains(link), "{link} in {}", r.text);
    }
    assert!(!r.text.contains("<script") && !r.text.contains("src="), "self-contained: {}", r.text);
    // Each link it gives answers, without a token.
    for path in ["/docs/", "/health", "/openapi.json"] {
        let code = app.anonymous().get(path).await.code();
        assert_eq!(code, 200, "{path}");
    }
}
