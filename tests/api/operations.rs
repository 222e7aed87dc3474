//! Operations endpoints: `/health`, `/metrics`, `/openapi.json` and `/docs`, all public.

use ipam_tests::{TestApp, TestResponse, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// Every path the application serves under `/ipam`, with its methods.
const IPAM_ROUTES: &[(&str, &[&str])] = &[
    ("/ipam/countries", &["get"]),
    ("/ipam/countries/{country}", &["get"]),
    ("/ipam/countries/{country}/utilization", &["get"]),
    ("/ipam/regions", &["get", "post"]),
    ("/ipam/regions/preview-next", &["get"]),
    ("/ipam/regions/{region_id}", &["get", "patch", "delete"]),
    ("/ipam/regions/{region_id}/utilization", &["get"]),
    ("/ipam/regions/{region_id}/comments", &["get", "post"]),
    ("/ipam/regions/{region_id}/audit", &["get"]),
    ("/ipam/hosts", &["get", "post"]),
    ("/ipam/hosts/batch", &["post"]),
    ("/ipam/hosts/bulk-lookup", &["post"]),
    ("/ipam/hosts/bulk-release", &["post"]),
    ("/ipam/hosts/preview-next", &["get"]),
    ("/ipam/hosts/by-ip/{ip_address}", &["get"]),
    ("/ipam/hosts/{host_id}", &["get", "patch", "delete"]),
    ("/ipam/hosts/{host_id}/comments", &["get", "post"]),
    ("/ipam/hosts/{host_id}/audit", &["get"]),
    ("/ipam/interpret", &["post"]),
    ("/ipam/search", &["get"]),
    ("/ipam/audit", &["get"]),
    ("/ipam/audit/{audit_id}", &["get"]),
    ("/ipam/quotas/me", &["get"]),
    ("/ipam/admin/quotas", &["get"]),
    ("/ipam/admin/quotas/{user_id}", &["get", "patch"]),
    ("/ipam/statistics/dashboard", &["get"]),
    ("/ipam/statistics/trends", &["get"]),
    ("/ipam/statistics/forecast/{resource_type}/{resource_id}", &["get"]),
    ("/ipam/bulk/tags", &["post"]),
    ("/ipam/bulk/jobs", &["get"]),
    ("/ipam/bulk/jobs/{job_id}", &["get", "delete"]),
    ("/ipam/statistics/continent/{continent}", &["get"]),
    ("/ipam/statistics/top-utilized", &["get"]),
    ("/ipam/statistics/allocation-velocity", &["get"]),
];

async fn openapi(app: &TestApp) -> Value {
    app.anonymous().get("/openapi.json").await.assert_status(200).clone()
}

#[tokio::test]
async fn health_needs_no_token_and_reports_the_database_and_the_result_cache() {
    let app = spawn_app().await;

    let r = app.anonymous().get("/health").await;

    let body = r.assert_status(200);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["checks"]["database"]["status"], "ok");
    let backend = if ipam_tests::app_mongodb_url(app.dir.path()).is_some() { "mongodb" } else { "sqlite" };
    assert_eq!(body["checks"]["database"]["backend"], backend);
    assert!(body["checks"]["database"]["latency_ms"].is_number(), "{body}");
    let cache = &body["checks"]["cache"];
    assert_eq!((&cache["status"], &cache["backend"]), (&json!("ok"), &json!("memory")), "no Redis configured: {body}");
    assert!(body["version"].as_str().is_some_and(|v| !v.is_empty()), "{body}");
    assert!(r.header("content-type").unwrap().starts_with("application/json"));
}

#[tokio::test]
async fn public_endpoints_ignore_a_bad_token() {
    let app = spawn_app().await;
    let bad = app.with_token("not-a-jwt");

    bad.get("/health").await.assert_status(200);
    bad.get("/metrics").await.assert_status(200);
    bad.get("/openapi.json").await.assert_status(200);
    bad.get("/docs/").await.assert_status(200);
}

/// The value of the `ipam_http_requests_total` series whose labels contain all of `labels`.
fn request_count(metrics: &str, labels: &[&str]) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("ipam_http_requests_total{") && labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_not_by_concrete_path() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("USA", "metered").await;
    let id = region["region_id"].as_str().unwrap();
    let labels = [r#"method="GET""#, r#"route="/ipam/regions/{region_id}""#, r#"status="200""#];
    let before = request_count(&app.anonymous().get("/metrics").await.text, &labels);

    u.get(&format!("/ipam/regions/{id}")).await.assert_status(200);
    u.get(&format!("/ipam/regions/{id}")).await.assert_status(200);
    let r = app.anonymous().get("/metrics").await;

    r.assert_status(200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"), "{:?}", r.header("content-type"));
    let after = request_count(&r.text, &labels);
    assert!(after >= before + 2, "the two reads were counted under the route pattern ({before} → {after})");
    assert!(!r.text.contains(id), "a concrete id leaked into a label");
    assert!(r.text.contains("# TYPE ipam_http_requests_total counter"));
    assert!(
        r.text.lines().any(|l| l.starts_with("ipam_http_request_duration_seconds_bucket{")
            && l.contains(r#"route="/ipam/regions/{region_id}""#)),
        "latency is observed by route pattern"
    );
}

#[tokio::test]
async fn metrics_label_errors_by_status_and_never_by_unknown_paths() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let marker = "no-such-route-5f3a9c1e";

    u.get("/ipam/regions/01ARZ3NDEKTSV4RRFFQ69G5FAV").await.assert_error(404, "not_found");
    app.anonymous().get(&format!("/{marker}/x")).await.assert_error(404, "not_found");
    let r = app.anonymous().get("/metrics").await;

    assert!(
        request_count(&r.text, &[r#"route="/ipam/regions/{region_id}""#, r#"status="404""#]) >= 1,
        "the 404 is counted under its route"
    );
    assert!(!r.text.contains(marker), "an unknown path became a label value");
}

#[tokio::test]
async fn the_openapi_document_is_version_3_1_and_needs_no_token() {
    let app = spawn_app().await;

    let doc = openapi(&app).await;

    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"].is_string());
}

#[tokio::test]
async fn the_openapi_document_lists_every_ipam_route_with_its_methods() {
    let app = spawn_app().await;

    let doc = openapi(&app).await;

    let paths = doc["paths"].as_object().expect("paths object");
    for (path, methods) in IPAM_ROUTES {
        let item = paths.get(*path).unwrap_or_else(|| panic!("{path} is not documented"));
        for m in *methods {
            assert!(item.get(*m).is_some(), "{} {path} is not documented", m.to_uppercase());
        }
    }
    assert!(paths.contains_key("/health"));
}

#[tokio::test]
async fn the_openapi_document_declares_bearer_authentication_on_protected_operations() {
    let app = spawn_app().await;

    let doc = openapi(&app).await;

    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    for (path, methods) in IPAM_ROUTES {
        for m in *methods {
            let security = &doc["paths"][*path][*m]["security"];
            assert!(
                security.as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some())),
                "{} {path} does not declare the bearer scheme: {security}",
                m.to_uppercase()
            );
        }
    }
    assert!(doc["paths"]["/health"]["get"]["security"].is_null(), "/health is public");
}

#[tokio::test]
async fn every_path_parameter_is_in_its_template_and_every_other_parameter_is_an_optional_query_field() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;

    let mut wrong = Vec::new();
    let mut queries = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                let in_template = template.contains(&format!("{{{name}}}"));
                match (p["in"].as_str(), in_template) {
                    (Some("path"), true) if p["required"] == true => {}
                    (Some("query"), false) if p["required"] != true => queries += 1,
                    (place, _) => wrong.push(format!(
                        "{} {template} `{name}`: in {place:?}, required {}",
                        method.to_uppercase(),
                        p["required"]
                    )),
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} parameters declared in the wrong place:\n{}", wrong.len(), wrong.join("\n"));
    let regions = doc["paths"]["/ipam/regions"]["get"]["parameters"].as_array().unwrap();
    let names: Vec<&str> = regions.iter().filter_map(|p| p["name"].as_str()).collect();
    for filter in ["country", "status", "page", "page_size", "filter_id"] {
        assert!(names.contains(&filter), "GET /ipam/regions documents `{filter}`: {names:?}");
    }
    assert!(queries > 50, "only {queries} query parameters are documented");
}

#[tokio::test]
async fn the_conversion_body_is_documented_as_one_of_the_two_request_shapes() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;

    let body = &doc["paths"]["/ipam/reservations/{reservation_id}/convert"]["post"]["requestBody"];
    let schema = &body["content"]["application/json"]["schema"];
    let target = schema["$ref"].as_str().expect("a named schema").rsplit('/').next().unwrap();
    let shapes: Vec<&str> = doc["components"]["schemas"][target]["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("{target} is oneOf: {}", doc["components"]["schemas"][target]))
        .iter()
        .filter_map(|s| s["$ref"].as_str()?.rsplit('/').next())
        .collect();
    assert_eq!(shapes, ["ConvertRegionRequest", "ConvertHostRequest"]);
    let host = &doc["components"]["schemas"]["ConvertHostRequest"];
    assert!(host["properties"]["hostname"].is_object(), "{host}");
}

/// A concrete path for a documented template.
fn concrete(template: &str) -> String {
    template
        .replace("{country}", "USA")
        .replace("{ip_address}", "10.0.0.1")
        .replace("{user_id}", "someone")
        .split('/')
        .map(|seg| if seg.starts_with('{') { "01ARZ3NDEKTSV4RRFFQ69G5FAV" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_no_route(r: &TestResponse) -> bool {
    r.code() == 404 && r.json["message"].as_str().is_some_and(|m| m.starts_with("no route"))
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    let admin = app.admin("root");

    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            let body = matches!(m, Method::POST | Method::PATCH | Method::PUT).then(|| json!({}));
            let r = admin.send(m.clone(), &concrete(template), body.as_ref()).await;
            assert!(!is_no_route(&r) && r.code() != 405, "{m} {template} is documented but not served: {}", r.text);
            assert!(r.code() < 500, "{m} {template}: {}", r.text);
            checked += 1;
        }
    }
    let served: usize = IPAM_ROUTES.iter().map(|(_, methods)| methods.len()).sum::<usize>() + 1;
    assert!(checked >= served, "only {checked} operations documented, {served} expected");
}

#[tokio::test]
async fn the_docs_page_is_swagger_ui_served_without_a_token() {
    let app = spawn_app().await;

    // The client follows the redirect from /docs to /docs/.
    let r = app.anonymous().get("/docs").await;

    r.assert_status(200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text.contains("swagger-ui"), "{}", r.text);
}

/// The local assets an HTML page references through `src="…"` and `href="…"`.
fn referenced_assets(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            if let Some(end) = part.find('"') {
                found.push(part[..end].to_owned());
            }
        }
    }
    found
}

#[tokio::test]
async fn the_docs_page_works_offline_with_assets_served_by_the_binary() {
    let app = spawn_app().await;
    let page = app.anonymous().get("/docs/").await;
    page.assert_status(200);

    let assets = referenced_assets(&page.text);

    assert!(assets.iter().any(|a| a.contains("swagger-ui-bundle.js")), "{assets:?}");
    for asset in &assets {
        assert!(!asset.starts_with("http:") && !asset.starts_with("https:") && !asset.starts_with("//"), "{asset}");
        let path = format!("/docs/{}", asset.trim_start_matches("./"));
        let r = app.anonymous().get(&path).await;
        assert_eq!(r.code(), 200, "{path} is not served");
    }
    let init = app.anonymous().get("/docs/swagger-initializer.js").await;
    assert!(init.text.contains("/openapi.json"), "the UI loads our document: {}", init.text);
}
