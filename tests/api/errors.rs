//! Malformed input never yields a 500: every failure is a JSON error envelope with the right
//! status, and every response carries an `x-request-id`.

use ipam_tests::{Caller, TestResponse, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_json_is_a_422_naming_the_body() {
    let app = spawn_app().await;
    let r = app.user("u1").send_raw(Method::POST, "/ipam/regions", "application/json", b"{not json".to_vec()).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["body"].as_str().unwrap().contains("malformed JSON"));
}

async fn raw(u: &Caller<'_>, method: Method, path: &str, body: &[u8]) -> TestResponse {
    u.send_raw(method, path, "application/json", body.to_vec()).await
}

/// Asserts a 422 whose details name `field`.
#[track_caller]
fn assert_invalid(r: &TestResponse, field: &str) {
    r.assert_error(422, "validation_error");
    assert!(r.json["details"][field].is_string(), "expected details.{field}: {}", r.text);
}

async fn region_count(u: &Caller<'_>) -> Value {
    u.get("/ipam/regions").await.assert_status(200)["pagination"]["total_count"].clone()
}

/// A region and a host of `u` (for endpoints that need existing ids).
async fn region_and_host(u: &Caller<'_>) -> (String, String) {
    let region = u.create_region("USA", "base").await;
    let rid = region["region_id"].as_str().unwrap().to_owned();
    let host = u.create_host(&rid, "web-01").await;
    (rid, host["host_id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn wrong_json_types_are_422_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (rid, hid) = region_and_host(&u).await;
    let (region_path, host_path) = (format!("/ipam/regions/{rid}"), format!("/ipam/hosts/{hid}"));
    let comments_path = format!("/ipam/regions/{rid}/comments");

    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("POST", "/ipam/regions", json!({"country": "USA", "region_name": 5}), "region_name"),
        ("POST", "/ipam/regions", json!({"country": true, "region_name": "ok"}), "country"),
        ("POST", "/ipam/regions", json!({"country": "USA", "region_name": "ok", "tags": "env=prod"}), "tags"),
        ("POST", "/ipam/regions", json!({"country": "USA", "region_name": "ok", "tags": {"env": 1}}), "tags"),
        ("POST", "/ipam/regions", json!({"country": "USA", "region_name": "ok", "description": ["x"]}), "description"),
        ("POST", "/ipam/hosts", json!({"region_id": 123, "hostname": "h1"}), "region_id"),
        ("POST", "/ipam/hosts", json!({"region_id": rid, "hostname": {"name": "h1"}}), "hostname"),
        ("POST", "/ipam/hosts/batch", json!({"region_id": rid, "count": "ten", "hostname_prefix": "n"}), "count"),
        ("POST", "/ipam/hosts/batch", json!({"region_id": rid, "count": -1, "hostname_prefix": "n"}), "count"),
        ("POST", "/ipam/hosts/batch", json!({"region_id": rid, "count": 2.5, "hostname_prefix": "n"}), "count"),
        ("POST", "/ipam/hosts/bulk-release", json!({"host_ids": hid, "reason": "cleanup"}), "host_ids"),
        ("POST", "/ipam/hosts/bulk-lookup", json!({"ip_addresses": [1, 2]}), "ip_addresses[0]"),
        ("PATCH", &region_path, json!({"status": 1}), "status"),
        ("PATCH", &host_path, json!({"notes": false}), "notes"),
        ("POST", &comments_path, json!({"comment_text": 5}), "comment_text"),
        ("POST", "/ipam/interpret", json!({"ip_address": ["10.0.0.1"]}), "ip_address"),
    ];
    for (method, path, body, field) in cases {
        let r = u.send(method.parse().unwrap(), path, Some(&body)).await;
        assert_invalid(&r, field);
    }
    assert_eq!(region_count(&u).await, 1, "nothing was created");
}

#[tokio::test]
async fn missing_required_fields_are_422_saying_they_are_required() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (rid, hid) = region_and_host(&u).await;

    let cases: Vec<(String, Value, &str)> = vec![
        ("/ipam/regions".into(), json!({"country": "USA"}), "region_name"),
        ("/ipam/regions".into(), json!({"region_name": "r1"}), "country"),
        ("/ipam/hosts".into(), json!({"hostname": "h1"}), "region_id"),
        ("/ipam/hosts".into(), json!({"region_id": rid}), "hostname"),
        ("/ipam/hosts/batch".into(), json!({"region_id": rid, "hostname_prefix": "n"}), "count"),
        ("/ipam/hosts/bulk-release".into(), json!({"host_ids": [hid]}), "reason"),
        ("/ipam/hosts/bulk-lookup".into(), json!({}), "ip_addresses"),
        (format!("/ipam/hosts/{hid}/comments"), json!({}), "comment_text"),
        ("/ipam/interpret".into(), json!({}), "ip_address"),
    ];
    for (path, body, field) in cases {
        let r = u.post(&path, body).await;
        assert_invalid(&r, field);
        assert_eq!(r.json["details"][field], "is required", "{path}");
    }
    let r = u.delete(&format!("/ipam/hosts/{hid}")).await;
    assert_invalid(&r, "reason");
    let r = u.delete(&format!("/ipam/regions/{rid}")).await;
    assert_invalid(&r, "reason");
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let r = u.post("/ipam/regions", json!({"country": "USA", "region_name": "r1", "colour": "red"})).await;

    r.assert_error(422, "validation_error");
    assert!(r.json["message"].as_str().unwrap().contains("colour"), "{}", r.text);
    assert_eq!(region_count(&u).await, 0);
}

#[tokio::test]
async fn an_unknown_field_is_named_in_the_details() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let r = u.post("/ipam/regions", json!({"country": "USA", "region_name": "r1", "colour": "red"})).await;
    let nested = u.post("/ipam/interpret", json!({"ip_address": "10.0.0.1", "verbose": true})).await;

    assert_invalid(&r, "colour");
    assert!(r.json["details"]["colour"].as_str().unwrap().contains("not a known field"), "{}", r.text);
    assert_invalid(&nested, "verbose");
}

#[tokio::test]
async fn arrays_and_scalars_instead_of_objects_are_422() {
    let app = spawn_app().await;
    let u = app.user("u1");

    for body in [json!([1, 2]), json!(["USA"]), json!([]), json!(null), json!(42), json!("USA"), json!(true)] {
        let r = u.post("/ipam/regions", body.clone()).await;
        assert_invalid(&r, "body");
    }
    assert_eq!(region_count(&u).await, 0);
}

#[tokio::test]
async fn an_array_holding_every_field_in_order_is_still_not_an_object() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let r = u.post("/ipam/regions", json!(["USA", "from-an-array", null, null, null])).await;

    assert_invalid(&r, "body");
    assert_eq!(region_count(&u).await, 0);
}

#[tokio::test]
async fn an_empty_or_blank_body_is_422_asking_for_an_object() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (rid, _) = region_and_host(&u).await;

    for (method, path) in [
        (Method::POST, "/ipam/regions".to_owned()),
        (Method::POST, "/ipam/hosts".to_owned()),
        (Method::POST, "/ipam/hosts/batch".to_owned()),
        (Method::PATCH, format!("/ipam/regions/{rid}")),
        (Method::POST, "/ipam/interpret".to_owned()),
    ] {
        for body in [&b""[..], b"   \n\t "] {
            let r = raw(&u, method.clone(), &path, body).await;
            assert_invalid(&r, "body");
            assert!(r.json["details"]["body"].as_str().unwrap().contains("JSON object"), "{}", r.text);
        }
    }
}

#[tokio::test]
async fn text_that_is_not_json_is_422() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let plain = u.send_raw(Method::POST, "/ipam/regions", "text/plain", b"country=USA&region_name=r1".to_vec()).await;
    let form =
        u.send_raw(Method::POST, "/ipam/regions", "application/x-www-form-urlencoded", b"country=USA".to_vec()).await;
    let not_utf8 = raw(&u, Method::POST, "/ipam/regions", &[b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']).await;
    let lone_surrogate =
        raw(&u, Method::POST, "/ipam/regions", br#"{"country": "USA", "region_name": "\ud800x"}"#).await;
    let huge_number = raw(&u, Method::POST, "/ipam/hosts/batch", br#"{"region_id": "x", "count": 1e400}"#).await;

    for r in [&plain, &form, &not_utf8, &lone_surrogate, &huge_number] {
        assert_invalid(r, "body");
        assert!(r.json["details"]["body"].as_str().unwrap().contains("malformed JSON"), "{}", r.text);
    }
    assert_eq!(region_count(&u).await, 0);
}

#[tokio::test]
async fn trailing_text_after_the_json_object_is_422() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let r = raw(&u, Method::POST, "/ipam/regions", br#"{"country": "USA", "region_name": "r1"} extra"#).await;
    let two = raw(&u, Method::POST, "/ipam/regions", br#"{"country": "USA", "region_name": "r2"}{"x": 1}"#).await;

    assert_invalid(&r, "body");
    assert_invalid(&two, "body");
    assert_eq!(region_count(&u).await, 0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_changes_nothing() {
    let app = spawn_app_with(|s| s.max_body_bytes = 4096).await;
    let u = app.user("u1");
    let big = json!({"country": "USA", "region_name": "big", "description": "x".repeat(10_000)});

    let r = u.post("/ipam/regions", big).await;

    r.assert_error(413, "payload_too_large");
    assert_eq!(r.json["details"]["max_bytes"], 4096);
    assert!(r.json["message"].as_str().unwrap().contains("4096"), "{}", r.text);
    assert_eq!(region_count(&u).await, 0);
}

#[tokio::test]
async fn a_body_under_the_limit_is_judged_on_its_content() {
    let app = spawn_app_with(|s| s.max_body_bytes = 4096).await;
    let u = app.user("u1");

    let r =
        u.post("/ipam/regions", json!({"country": "USA", "region_name": "r1", "description": "x".repeat(3000)})).await;

    assert_invalid(&r, "description");
}

#[tokio::test]
async fn every_body_taking_endpoint_enforces_the_limit() {
    let app = spawn_app_with(|s| s.max_body_bytes = 4096).await;
    let u = app.user("u1");
    let (rid, hid) = region_and_host(&u).await;
    let filler = "y".repeat(8_000);

    for (method, path, body) in [
        (Method::POST, "/ipam/hosts".to_owned(), json!({"region_id": rid, "hostname": "h2", "notes": filler})),
        (Method::PATCH, format!("/ipam/hosts/{hid}"), json!({"notes": filler})),
        (Method::PATCH, format!("/ipam/regions/{rid}"), json!({"description": filler})),
        (Method::POST, format!("/ipam/regions/{rid}/comments"), json!({"text": filler})),
        (Method::POST, "/ipam/hosts/bulk-lookup".to_owned(), json!({"ip_addresses": [filler]})),
        (Method::POST, "/ipam/interpret".to_owned(), json!({"ip_address": filler})),
        (Method::DELETE, format!("/ipam/hosts/{hid}"), json!({"reason": filler})),
    ] {
        let r = u.send(method.clone(), &path, Some(&body)).await;
        assert_eq!(r.code(), 413, "{method} {path}: {}", r.text);
        r.assert_error(413, "payload_too_large");
    }
    u.get(&format!("/ipam/hosts/{hid}")).await.assert_status(200);
}

#[tokio::test]
async fn the_default_limit_is_one_mebibyte() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let body =
        format!(r#"{{"country": "USA", "region_name": "r1", "description": "{}"}}"#, "z".repeat(2 * 1024 * 1024));

    let r = raw(&u, Method::POST, "/ipam/regions", body.as_bytes()).await;

    r.assert_error(413, "payload_too_large");
    assert_eq!(r.json["details"]["max_bytes"], 1_048_576);
}

#[tokio::test]
async fn deeply_nested_json_is_422_not_a_crash() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let depth = 100_000;
    let arrays =
        format!(r#"{{"country": "USA", "region_name": "deep", "tags": {}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    let objects = format!(
        r#"{{"country": "USA", "region_name": "deep", "tags": {}1{}}}"#,
        r#"{"a":"#.repeat(depth),
        "}".repeat(depth)
    );

    for body in [arrays, objects] {
        let r = raw(&u, Method::POST, "/ipam/regions", body.as_bytes()).await;
        assert_invalid(&r, "body");
    }
    let top_level = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let r = raw(&u, Method::POST, "/ipam/interpret", top_level.as_bytes()).await;
    r.assert_error(422, "validation_error");
    u.get("/ipam/regions").await.assert_status(200);
}

#[tokio::test]
async fn unknown_routes_are_404_with_the_envelope() {
    let app = spawn_app().await;
    let u = app.user("u1");

    for path in ["/ipam/nothing", "/nothing", "/ipam", "/ipam/regions/x/y/z", "/IPAM/regions", "/ipam/regions/"] {
        for caller in [app.anonymous(), u.clone()] {
            let r = caller.get(path).await;
            r.assert_error(404, "not_found");
            assert!(r.json["message"].as_str().unwrap().contains("no route"), "{path}: {}", r.text);
        }
    }
    u.post("/ipam/regions/x/y/z", json!({})).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_envelope_and_the_allowed_methods() {
    let app = spawn_app().await;
    let u = app.user("u1");

    for (method, path, allowed) in [
        (Method::PUT, "/ipam/regions", "POST"),
        (Method::DELETE, "/ipam/search", "GET"),
        (Method::PATCH, "/ipam/audit", "GET"),
        (Method::GET, "/ipam/interpret", "POST"),
        (Method::POST, "/health", "GET"),
        (Method::PUT, "/ipam/quotas/me", "GET"),
        (Method::GET, "/ipam/hosts/batch", "POST"),
    ] {
        let r = u.send(method.clone(), path, None).await;
        r.assert_error(405, "method_not_allowed");
        let allow = r.header("allow").unwrap_or_default();
        assert!(allow.contains(allowed), "{method} {path}: Allow is {allow:?}");
    }
}

#[tokio::test]
async fn very_long_path_ids_are_404_without_echoing_them_in_full() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let long = "x".repeat(20_000);

    for path in [
        format!("/ipam/regions/{long}"),
        format!("/ipam/hosts/{long}"),
        format!("/ipam/regions/{long}/utilization"),
        format!("/ipam/regions/{long}/audit"),
        format!("/ipam/hosts/{long}/comments"),
        format!("/ipam/audit/{long}"),
    ] {
        let r = u.get(&path).await;
        r.assert_error(404, "not_found");
        assert!(r.text.len() < 1_000, "the response echoes {} bytes", r.text.len());
    }
    let r = u.patch(&format!("/ipam/regions/{long}"), json!({"description": "x"})).await;
    r.assert_error(404, "not_found");
    let r = u.delete(&format!("/ipam/hosts/{long}?reason=cleanup")).await;
    r.assert_error(404, "not_found");
}

#[tokio::test]
async fn very_long_query_and_field_values_are_422() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let long = "w".repeat(5_000);

    assert_invalid(&u.get(&format!("/ipam/search?hostname={long}")).await, "hostname");
    assert_invalid(&u.get(&format!("/ipam/hosts/by-ip/{long}")).await, "ip_address");
    assert_invalid(&u.post("/ipam/regions", json!({"country": "USA", "region_name": long})).await, "region_name");
    assert_invalid(&u.post("/ipam/regions", json!({"country": long, "region_name": "r1"})).await, "country");
}

#[tokio::test]
async fn an_unknown_country_is_not_echoed_in_full() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let long = "w".repeat(5_000);

    let created = u.post("/ipam/regions", json!({"country": long, "region_name": "r1"})).await;
    let searched = u.get(&format!("/ipam/search?country={long}")).await;

    for r in [created, searched] {
        assert_invalid(&r, "country");
        assert!(r.text.len() < 1_000, "the response echoes {} bytes", r.text.len());
    }
}

#[tokio::test]
async fn unicode_names_are_kept_verbatim_and_found_again() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let name = "Zürich-Ost 東京 🚀";

    let region = u
        .post(
            "/ipam/regions",
            json!({"country": "USA", "region_name": name, "description": "Ünïcödé ✓", "tags": {"site": "東京"}}),
        )
        .await
        .assert_status(201)
        .clone();

    assert_eq!(region["region_name"], name);
    let rid = region["region_id"].as_str().unwrap();
    let fetched = u.get(&format!("/ipam/regions/{rid}")).await.assert_status(200).clone();
    assert_eq!(fetched["region_name"], name);
    assert_eq!(fetched["description"], "Ünïcödé ✓");
    assert_eq!(fetched["tags"]["site"], "東京");
    let found = u.get("/ipam/search?region_name=%E6%9D%B1%E4%BA%AC").await.assert_status(200).clone();
    assert_eq!(found["pagination"]["total_count"], 1);
    let by_case = u.get("/ipam/search?region_name=Z%C3%9CRICH").await.assert_status(200).clone();
    assert_eq!(by_case["pagination"]["total_count"], 1, "case folding covers non-ASCII letters");
    let by_tag = u.get("/ipam/regions?tag.site=%E6%9D%B1%E4%BA%AC").await.assert_status(200).clone();
    assert_eq!(by_tag["pagination"]["total_count"], 1);
}

#[tokio::test]
async fn unicode_where_only_ascii_is_allowed_is_422_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let (rid, _) = region_and_host(&u).await;

    assert_invalid(&u.post("/ipam/hosts", json!({"region_id": rid, "hostname": "straße"})).await, "hostname");
    assert_invalid(
        &u.post("/ipam/regions", json!({"country": "USA", "region_name": "tg", "tags": {"schlüssel": "x"}})).await,
        "tags",
    );
    assert_invalid(
        &u.post("/ipam/hosts/batch", json!({"region_id": rid, "count": 1, "hostname_prefix": "knoten-ü"})).await,
        "hostname_prefix",
    );
    u.get("/ipam/regions/%F0%9F%9A%80").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn a_path_id_that_is_not_utf8_is_404_with_the_envelope() {
    let app = spawn_app().await;
    let u = app.user("u1");

    u.get("/ipam/regions/%FF").await.assert_error(404, "not_found");
    u.get("/ipam/hosts/%C3%28/audit").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn malformed_query_strings_are_422() {
    let app = spawn_app().await;
    let u = app.user("u1");

    for path in [
        "/ipam/regions?page=abc",
        "/ipam/regions?page_size=1000",
        "/ipam/regions?page=1&page=2",
        "/ipam/regions?tag.=x",
        "/ipam/regions?status=Retired",
        "/ipam/hosts?region_id=not-an-id&device_type=Toaster",
        "/ipam/countries?continent=Atlantis",
        "/ipam/hosts/preview-next",
        "/ipam/regions/preview-next",
    ] {
        let r = u.get(path).await;
        assert_eq!(r.code(), 422, "{path}: {}", r.text);
        r.assert_error(422, "validation_error");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let u = app.user("u1");

    let responses = [
        u.get("/ipam/regions").await,
        u.post("/ipam/regions", json!({"country": "USA", "region_name": "r1"})).await,
        u.get("/ipam/regions/nope").await,
        u.post("/ipam/regions", json!({})).await,
        app.anonymous().get("/ipam/regions").await,
        u.send(Method::PUT, "/ipam/regions", None).await,
        app.anonymous().get("/nothing").await,
        app.anonymous().get("/health").await,
    ];

    let ids: Vec<&str> = responses
        .iter()
        .map(|r| r.header("x-request-id").unwrap_or_else(|| panic!("no x-request-id on {} {}", r.status, r.text)))
        .collect();
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "request ids are unique: {ids:?}");
    assert!(ids.iter().all(|id| !id.is_empty()));
}

#[tokio::test]
async fn a_request_id_sent_by_the_client_is_echoed() {
    let app = spawn_app().await;

    let r = app
        .client
        .get(format!("{}/ipam/regions", app.address))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .expect("request is sent");

    assert_eq!(r.status(), 401);
    assert_eq!(r.headers().get("x-request-id").unwrap(), "trace-abc-123");
}

#[tokio::test]
async fn error_responses_are_json() {
    let app = spawn_app().await;
    let u = app.user("u1");

    for r in [
        app.anonymous().get("/ipam/regions").await,
        u.get("/ipam/regions/nope").await,
        u.post("/ipam/regions", json!({})).await,
        u.send(Method::PUT, "/ipam/regions", None).await,
        u.get("/ipam/nothing").await,
    ] {
        let ct = r.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/json"), "{} has content-type {ct:?}", r.status);
        assert_eq!(r.json["success"], false);
    }
}
