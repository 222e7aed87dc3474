//! `GET /ipam/search`: one newest-first, paginated result over regions and hosts.

use chrono::{Duration, SecondsFormat};
use ipam_tests::{Caller, TestApp, spawn_app};
use serde_json::{Value, json};

/// `/ipam/search?…` with every value URL-encoded.
fn search(params: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params("http://x/ipam/search", params).expect("valid URL");
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

/// The id of a result: `region_id` for regions, `host_id` for hosts.
fn id_of(item: &Value) -> String {
    match item["resource_type"].as_str() {
        Some("region") => item["region_id"].as_str().expect("region_id").to_owned(),
        Some("host") => item["host_id"].as_str().expect("host_id").to_owned(),
        other => panic!("result without a known resource_type ({other:?}): {item}"),
    }
}

/// The ids of a page of results, in order.
fn ids(body: &Value) -> Vec<String> {
    body["results"].as_array().expect("results array").iter().map(id_of).collect()
}

/// The ids of a page of results, sorted (for order-independent comparisons).
fn sorted_ids(body: &Value) -> Vec<String> {
    let mut v = ids(body);
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("{field} missing in {v}")).to_owned()
}

async fn search_ok(u: &Caller<'_>, params: &[(&str, &str)]) -> Value {
    u.get(&search(params)).await.assert_status(200).clone()
}

async fn host_with(u: &Caller<'_>, body: Value) -> Value {
    u.post("/ipam/hosts", body).await.assert_status(201).clone()
}

async fn region_with(u: &Caller<'_>, body: Value) -> Value {
    u.post("/ipam/regions", body).await.assert_status(201).clone()
}

/// One USA region (10.153.0.0/24) holding two hosts (.1, .2) and one Canada region (10.138.0.0/24)
/// holding one host (.1).
struct Fixture {
    us: Value,
    us_hosts: Vec<Value>,
    ca: Value,
    ca_host: Value,
}

async fn fixture(app: &TestApp) -> Fixture {
    let u = app.user("alice");
    let us = u.create_region("USA", "us-east").await;
    let us_id = id(&us, "region_id");
    let us_hosts = vec![u.create_host(&us_id, "web-01").await, u.create_host(&us_id, "web-02").await];
    let ca = u.create_region("Canada", "ca-central").await;
    let ca_host = u.create_host(&id(&ca, "region_id"), "db-01").await;
    Fixture { us, us_hosts, ca, ca_host }
}

#[tokio::test]
async fn without_filters_every_region_and_host_of_the_caller_is_found() {
    let app = spawn_app().await;
    let f = fixture(&app).await;

    let body = search_ok(&app.user("alice"), &[]).await;

    assert_eq!(body["pagination"]["total_count"], 5);
    let expected = vec![
        id(&f.us, "region_id"),
        id(&f.us_hosts[0], "host_id"),
        id(&f.us_hosts[1], "host_id"),
        id(&f.ca, "region_id"),
        id(&f.ca_host, "host_id"),
    ];
    assert_eq!(sorted_ids(&body), sorted(expected));
}

#[tokio::test]
async fn every_result_is_tagged_with_its_resource_type_and_carries_its_fields() {
    let app = spawn_app().await;
    let f = fixture(&app).await;

    let body = search_ok(&app.user("alice"), &[]).await;

    for item in body["results"].as_array().unwrap() {
        match item["resource_type"].as_str().unwrap() {
            "region" => {
                assert!(item["cidr"].as_str().unwrap().ends_with(".0/24"), "{item}");
                assert!(item["region_name"].is_string(), "{item}");
                assert!(item.get("host_id").is_none(), "a region is not a host: {item}");
            }
            "host" => {
                assert!(item["ip_address"].as_str().unwrap().starts_with("10."), "{item}");
                assert!(item["hostname"].is_string(), "{item}");
            }
            other => panic!("unexpected resource_type {other}"),
        }
    }
    let us = body["results"].as_array().unwrap().iter().find(|i| id_of(i) == id(&f.us, "region_id")).unwrap();
    assert_eq!(us["cidr"], "10.153.0.0/24");
    assert_eq!(us["country_code"], "USA");
}

#[tokio::test]
async fn an_address_finds_its_host_and_the_region_that_holds_it() {
    let app = spawn_app().await;
    let f = fixture(&app).await;

    let body = search_ok(&app.user("alice"), &[("ip_address", "10.153.0.2")]).await;

    assert_eq!(body["pagination"]["total_count"], 2);
    assert_eq!(sorted_ids(&body), sorted(vec![id(&f.us, "region_id"), id(&f.us_hosts[1], "host_id")]));
    let host = body["results"].as_array().unwrap().iter().find(|i| i["resource_type"] == "host").unwrap();
    assert_eq!(host["ip_address"], "10.153.0.2");
}

#[tokio::test]
async fn an_unused_address_in_a_held_region_finds_only_the_region() {
    let app = spawn_app().await;
    let f = fixture(&app).await;

    let body = search_ok(&app.user("alice"), &[("ip_address", "10.153.0.200")]).await;

    assert_eq!(ids(&body), vec![id(&f.us, "region_id")]);
    assert_eq!(body["results"][0]["resource_type"], "region");
}

#[tokio::test]
async fn a_slash_16_finds_every_region_and_host_inside_it_and_nothing_outside() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let u = app.user("alice");
    let second_us = u.create_region("USA", "us-west").await;
    assert_eq!(second_us["cidr"], "10.153.1.0/24");
    let second_host = u.create_host(&id(&second_us, "region_id"), "app-01").await;

    let body = search_ok(&u, &[("ip_address", "10.153.0.0/16")]).await;

    assert_eq!(body["pagination"]["total_count"], 5, "two US regions and three US hosts: {body}");
    let expected = vec![
        id(&f.us, "region_id"),
        id(&f.us_hosts[0], "host_id"),
        id(&f.us_hosts[1], "host_id"),
        id(&second_us, "region_id"),
        id(&second_host, "host_id"),
    ];
    assert_eq!(sorted_ids(&body), sorted(expected));
    let canada = search_ok(&u, &[("ip_address", "10.138.0.0/16")]).await;
    assert_eq!(sorted_ids(&canada), sorted(vec![id(&f.ca, "region_id"), id(&f.ca_host, "host_id")]));
}

#[tokio::test]
async fn a_slash_26_finds_the_hosts_of_its_quarter_and_the_region_around_it() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("USA", "big").await;
    let region_id = id(&region, "region_id");
    let batch =
        u.post("/ipam/hosts/batch", json!({"region_id": region_id, "count": 70, "hostname_prefix": "node"})).await;
    batch.assert_status(201);

    let second_quarter = search_ok(&u, &[("ip_address", "10.153.0.64/26"), ("page_size", "100")]).await;
    let first_quarter = search_ok(&u, &[("ip_address", "10.153.0.0/26"), ("page_size", "100")]).await;

    // Hosts got .1–.70: .64–.70 lie in the second quarter, .1–.63 in the first.
    assert_eq!(second_quarter["pagination"]["total_count"], 8, "7 hosts and their region");
    assert_eq!(first_quarter["pagination"]["total_count"], 64, "63 hosts and their region");
    for item in second_quarter["results"].as_array().unwrap() {
        if item["resource_type"] == "host" {
            let z = item["z_octet"].as_u64().unwrap();
            assert!((64..=127).contains(&z), "host .{z} is outside 10.153.0.64/26");
        } else {
            assert_eq!(id_of(item), region_id);
        }
    }
    let top_quarter = search_ok(&u, &[("ip_address", "10.153.0.192/26")]).await;
    assert_eq!(ids(&top_quarter), vec![region_id], "no host up there, only the region overlaps");
}

#[tokio::test]
async fn a_misaligned_block_is_a_422_suggesting_the_aligned_one() {
    let app = spawn_app().await;

    let r = app.user("alice").get(&search(&[("ip_address", "10.153.3.0/16")])).await;

    r.assert_error(422, "validation_error");
    let problem = r.json["details"]["ip_address"].as_str().unwrap();
    assert!(problem.contains("did you mean 10.153.0.0/16"), "{problem}");
}

#[tokio::test]
async fn addresses_that_are_not_inside_ten_slash_eight_are_422() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for bad in ["192.168.0.1", "banana", "10.1.2.256", "10.0.0.0/7", "10.0.0.0/33", "11.0.0.0/8", "10.0.0.0/x"] {
        let r = u.get(&search(&[("ip_address", bad)])).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["ip_address"].is_string(), "{bad}: {}", r.text);
    }
}

#[tokio::test]
async fn hostname_text_is_matched_literally_so_a_dot_is_not_a_wildcard() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "r1").await, "region_id");
    let dotted = u.create_host(&region, "web.prod").await;
    u.create_host(&region, "webxprod").await;
    u.create_host(&region, "web-prod").await;

    let body = search_ok(&u, &[("hostname", "b.p")]).await;

    assert_eq!(ids(&body), vec![id(&dotted, "host_id")]);
    assert_eq!(body["pagination"]["total_count"], 1);
}

#[tokio::test]
async fn hostname_wildcard_characters_match_nothing_unless_present() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "r1").await, "region_id");
    u.create_host(&region, "web-01").await;
    u.create_host(&region, "db-01").await;

    for pattern in ["%", "_", "*", ".*", "web%", "w_b"] {
        let body = search_ok(&u, &[("hostname", pattern)]).await;
        assert_eq!(body["pagination"]["total_count"], 0, "{pattern:?} must not act as a wildcard: {body}");
    }
}

#[tokio::test]
async fn hostname_search_ignores_case_and_leaves_regions_out() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "web-region").await, "region_id");
    let host = u.create_host(&region, "web-01").await;

    let body = search_ok(&u, &[("hostname", "WEB")]).await;

    assert_eq!(ids(&body), vec![id(&host, "host_id")], "the region named web-region is not a host");
}

#[tokio::test]
async fn region_name_text_is_matched_literally_so_percent_and_underscore_are_not_wildcards() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let percent = u.create_region("USA", "load 50%").await;
    u.create_region("USA", "load 500").await;
    let underscore = u.create_region("USA", "a_b").await;
    u.create_region("USA", "axb").await;

    let by_percent = search_ok(&u, &[("region_name", "%")]).await;
    let by_underscore = search_ok(&u, &[("region_name", "_")]).await;
    let by_dot = search_ok(&u, &[("region_name", "a.b")]).await;

    assert_eq!(ids(&by_percent), vec![id(&percent, "region_id")]);
    assert_eq!(ids(&by_underscore), vec![id(&underscore, "region_id")]);
    assert_eq!(by_dot["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn region_name_finds_regions_and_the_hosts_inside_them() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let edge = u.create_region("USA", "Edge-East").await;
    let edge_id = id(&edge, "region_id");
    let h1 = u.create_host(&edge_id, "a-01").await;
    let h2 = u.create_host(&edge_id, "a-02").await;
    let core = id(&u.create_region("USA", "core-west").await, "region_id");
    u.create_host(&core, "a-03").await;

    let body = search_ok(&u, &[("region_name", "edge")]).await;

    assert_eq!(body["pagination"]["total_count"], 3);
    assert_eq!(sorted_ids(&body), sorted(vec![edge_id.clone(), id(&h1, "host_id"), id(&h2, "host_id")]));
    for item in body["results"].as_array().unwrap() {
        if item["resource_type"] == "host" {
            assert_eq!(item["region_id"], edge_id.as_str());
        }
    }
}

#[tokio::test]
async fn country_filters_regions_and_hosts_by_their_block() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let u = app.user("alice");
    let expected = sorted(vec![id(&f.ca, "region_id"), id(&f.ca_host, "host_id")]);

    for key in ["CAN", "canada", " Canada "] {
        let body = search_ok(&u, &[("country", key)]).await;
        assert_eq!(sorted_ids(&body), expected, "country={key:?}");
    }
    let spain = search_ok(&u, &[("country", "Spain")]).await;
    assert_eq!(spain["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn continent_filters_regions_and_hosts_of_all_its_countries() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let u = app.user("alice");
    let es = u.create_region("Spain", "es-1").await;

    let america = search_ok(&u, &[("continent", "north america")]).await;
    let europe = search_ok(&u, &[("continent", "Europe")]).await;
    let both = search_ok(&u, &[("continent", "North America"), ("country", "USA")]).await;
    let contradiction = search_ok(&u, &[("continent", "Europe"), ("country", "USA")]).await;

    assert_eq!(america["pagination"]["total_count"], 5);
    assert_eq!(ids(&europe), vec![id(&es, "region_id")]);
    let us = vec![id(&f.us, "region_id"), id(&f.us_hosts[0], "host_id"), id(&f.us_hosts[1], "host_id")];
    assert_eq!(sorted_ids(&both), sorted(us));
    assert_eq!(contradiction["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn unknown_countries_and_continents_are_422() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let r = u.get(&search(&[("country", "Atlantis")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["country"].as_str().unwrap().contains("Atlantis"));
    let r = u.get(&search(&[("continent", "Atlantis")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["continent"].is_string());
    u.get(&search(&[("country", "  ")])).await.assert_error(422, "validation_error");
}

#[tokio::test]
async fn status_filters_regions_and_hosts() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let active = u.create_region("USA", "active-one").await;
    let active_id = id(&active, "region_id");
    let reserved_host = u.create_host(&active_id, "h-reserved").await;
    let active_host = u.create_host(&active_id, "h-active").await;
    let reserved_region = u.create_region("USA", "reserved-one").await;
    let reserved_region_id = id(&reserved_region, "region_id");
    u.patch(&format!("/ipam/regions/{reserved_region_id}"), json!({"status": "Reserved"})).await.assert_status(200);
    u.patch(&format!("/ipam/hosts/{}", id(&reserved_host, "host_id")), json!({"status": "Reserved"}))
        .await
        .assert_status(200);

    let reserved = search_ok(&u, &[("status", "reserved")]).await;
    let active_results = search_ok(&u, &[("status", "Active")]).await;

    assert_eq!(sorted_ids(&reserved), sorted(vec![reserved_region_id, id(&reserved_host, "host_id")]));
    assert_eq!(sorted_ids(&active_results), sorted(vec![active_id, id(&active_host, "host_id")]));
    let r = u.get(&search(&[("status", "Retired")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["status"].is_string());
}

#[tokio::test]
async fn device_type_finds_only_hosts_of_that_type() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "vm-land").await, "region_id");
    let vm = host_with(&u, json!({"region_id": region, "hostname": "vm-01", "device_type": "VM"})).await;
    host_with(&u, json!({"region_id": region, "hostname": "ct-01", "device_type": "Container"})).await;
    u.create_host(&region, "plain-01").await;

    let body = search_ok(&u, &[("device_type", "vm")]).await;

    assert_eq!(ids(&body), vec![id(&vm, "host_id")], "no regions, no other device types");
    let r = u.get(&search(&[("device_type", "Toaster")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["device_type"].is_string());
}

#[tokio::test]
async fn owner_matches_regions_and_hosts_with_that_owner_label() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let owned = region_with(&u, json!({"country": "USA", "region_name": "netops", "owner": "team-net"})).await;
    let other = id(&u.create_region("USA", "mine").await, "region_id");
    let owned_host = host_with(&u, json!({"region_id": other, "hostname": "h1", "owner": "team-net"})).await;
    u.create_host(&other, "h2").await;

    let body = search_ok(&u, &[("owner", "team-net")]).await;
    let nobody = search_ok(&u, &[("owner", "nobody")]).await;

    assert_eq!(sorted_ids(&body), sorted(vec![id(&owned, "region_id"), id(&owned_host, "host_id")]));
    assert_eq!(nobody["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn resource_type_returns_one_kind_only() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let u = app.user("alice");

    let regions = search_ok(&u, &[("resource_type", "region")]).await;
    let hosts = search_ok(&u, &[("resource_type", "HOST")]).await;

    assert_eq!(sorted_ids(&regions), sorted(vec![id(&f.us, "region_id"), id(&f.ca, "region_id")]));
    assert!(regions["results"].as_array().unwrap().iter().all(|i| i["resource_type"] == "region"));
    assert_eq!(hosts["pagination"]["total_count"], 3);
    assert!(hosts["results"].as_array().unwrap().iter().all(|i| i["resource_type"] == "host"));
    let r = u.get(&search(&[("resource_type", "country")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["resource_type"].is_string());
}

#[tokio::test]
async fn tag_conditions_must_all_hold() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let prod_web =
        region_with(&u, json!({"country": "USA", "region_name": "r1", "tags": {"env": "prod", "tier": "web"}})).await;
    let dev = region_with(&u, json!({"country": "USA", "region_name": "r2", "tags": {"env": "dev"}})).await;
    let prod_host =
        host_with(&u, json!({"region_id": id(&dev, "region_id"), "hostname": "h1", "tags": {"env": "prod"}})).await;

    let prod = search_ok(&u, &[("tag.env", "prod")]).await;
    let prod_and_web = search_ok(&u, &[("tag.env", "prod"), ("tag.tier", "web")]).await;
    let case_matters = search_ok(&u, &[("tag.env", "PROD")]).await;

    assert_eq!(sorted_ids(&prod), sorted(vec![id(&prod_web, "region_id"), id(&prod_host, "host_id")]));
    assert_eq!(ids(&prod_and_web), vec![id(&prod_web, "region_id")]);
    assert_eq!(case_matters["pagination"]["total_count"], 0, "tag values are compared exactly");
}

#[tokio::test]
async fn malformed_tag_keys_and_unknown_parameters_are_422() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let r = u.get(&search(&[("tag.bad key!", "x")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["tag.bad key!"].is_string(), "{}", r.text);
    let r = u.get(&search(&[("colour", "red")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["colour"].as_str().unwrap().contains("not a supported query parameter"));
}

#[tokio::test]
async fn created_after_and_created_before_bound_the_creation_time() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let old = u.create_region("USA", "old").await;
    app.clock.advance(Duration::days(2));
    let new_region = u.create_region("USA", "new").await;
    let new_host = u.create_host(&id(&new_region, "region_id"), "h1").await;
    let t_old: chrono::DateTime<chrono::Utc> = old["created_at"].as_str().unwrap().parse().unwrap();
    let middle = (t_old + Duration::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let exact_new = new_region["created_at"].as_str().unwrap().to_owned();

    let after = search_ok(&u, &[("created_after", &middle)]).await;
    let before = search_ok(&u, &[("created_before", &middle)]).await;
    let from_exact = search_ok(&u, &[("created_after", &exact_new)]).await;
    let window = search_ok(&u, &[("created_after", &middle), ("created_before", &middle)]).await;

    assert_eq!(sorted_ids(&after), sorted(vec![id(&new_region, "region_id"), id(&new_host, "host_id")]));
    assert_eq!(ids(&before), vec![id(&old, "region_id")]);
    assert_eq!(from_exact["pagination"]["total_count"], 2, "the bound is inclusive");
    assert_eq!(window["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn plain_dates_cover_whole_days() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("USA", "today").await;
    let created: chrono::DateTime<chrono::Utc> = region["created_at"].as_str().unwrap().parse().unwrap();
    let today = created.format("%Y-%m-%d").to_string();
    let tomorrow = (created + Duration::days(1)).format("%Y-%m-%d").to_string();

    let on_the_day = search_ok(&u, &[("created_after", &today), ("created_before", &today)]).await;
    let from_tomorrow = search_ok(&u, &[("created_after", &tomorrow)]).await;

    assert_eq!(ids(&on_the_day), vec![id(&region, "region_id")]);
    assert_eq!(from_tomorrow["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn bad_dates_and_inverted_windows_are_422() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for bad in ["yesterday", "2026-13-01", "31/01/2026", ""] {
        let r = u.get(&search(&[("created_after", bad)])).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["created_after"].is_string(), "{bad:?}: {}", r.text);
    }
    let r = u.get(&search(&[("created_before", "not-a-date")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["created_before"].is_string());
    let r = u.get(&search(&[("created_after", "2026-02-01"), ("created_before", "2026-01-01")])).await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["created_before"].as_str().unwrap().contains("earlier"));
}

#[tokio::test]
async fn results_are_newest_first_across_both_kinds() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let mut created = Vec::new();
    let r1 = u.create_region("USA", "first").await;
    created.push(id(&r1, "region_id"));
    app.clock.advance(Duration::minutes(1));
    created.push(id(&u.create_host(&id(&r1, "region_id"), "h1").await, "host_id"));
    app.clock.advance(Duration::minutes(1));
    created.push(id(&u.create_region("Canada", "second").await, "region_id"));
    app.clock.advance(Duration::minutes(1));
    created.push(id(&u.create_host(&id(&r1, "region_id"), "h2").await, "host_id"));

    let body = search_ok(&u, &[]).await;

    created.reverse();
    assert_eq!(ids(&body), created);
    let kinds: Vec<_> = body["results"].as_array().unwrap().iter().map(|i| i["resource_type"].clone()).collect();
    assert_eq!(kinds, vec![json!("host"), json!("region"), json!("host"), json!("region")]);
}

#[tokio::test]
async fn pages_split_the_merged_results_with_real_totals() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let mut created = Vec::new();
    for n in 0..3 {
        let r = u.create_region("USA", &format!("region-{n}")).await;
        created.push(id(&r, "region_id"));
        app.clock.advance(Duration::seconds(1));
        created.push(id(&u.create_host(&id(&r, "region_id"), "h1").await, "host_id"));
        app.clock.advance(Duration::seconds(1));
    }
    created.reverse();

    let p1 = search_ok(&u, &[("page_size", "4")]).await;
    let p2 = search_ok(&u, &[("page_size", "4"), ("page", "2")]).await;
    let p3 = search_ok(&u, &[("page_size", "4"), ("page", "3")]).await;

    assert_eq!(ids(&p1), created[..4].to_vec());
    assert_eq!(ids(&p2), created[4..].to_vec());
    assert_eq!(
        p1["pagination"],
        json!({"page": 1, "page_size": 4, "total_count": 6, "total_pages": 2, "has_next": true, "has_prev": false})
    );
    assert_eq!(p2["pagination"]["has_next"], false);
    assert_eq!(p2["pagination"]["has_prev"], true);
    assert_eq!(p3["results"], json!([]), "past the end is empty, not an error");
    assert_eq!(p3["pagination"]["total_count"], 6);
}

#[tokio::test]
async fn the_total_counts_every_match_not_just_the_page() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "r1").await, "region_id");
    u.post("/ipam/hosts/batch", json!({"region_id": region, "count": 60, "hostname_prefix": "n"}))
        .await
        .assert_status(201);

    let body = search_ok(&u, &[("resource_type", "host"), ("page_size", "10")]).await;

    assert_eq!(body["results"].as_array().unwrap().len(), 10);
    assert_eq!(body["pagination"]["total_count"], 60);
    assert_eq!(body["pagination"]["total_pages"], 6);
}

#[tokio::test]
async fn invalid_pagination_is_422() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for (field, value) in [("page", "0"), ("page", "-1"), ("page", "x"), ("page_size", "0"), ("page_size", "101")] {
        let r = u.get(&search(&[(field, value)])).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{field}={value}: {}", r.text);
    }
}

#[tokio::test]
async fn other_users_resources_never_appear() {
    let app = spawn_app().await;
    fixture(&app).await;
    let bob = app.user("bob");
    let bobs = bob.create_region("USA", "bobs").await;

    let everything = search_ok(&bob, &[]).await;
    let same_block = search_ok(&bob, &[("ip_address", "10.153.0.0/24")]).await;
    let alices_host = search_ok(&bob, &[("hostname", "web")]).await;

    assert_eq!(ids(&everything), vec![id(&bobs, "region_id")]);
    assert_eq!(everything["pagination"]["total_count"], 1);
    assert_eq!(ids(&same_block), vec![id(&bobs, "region_id")], "same block, different namespace");
    assert_eq!(alices_host["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn combined_filters_must_all_hold() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = id(&u.create_region("USA", "mixed").await, "region_id");
    let wanted = host_with(&u, json!({"region_id": region, "hostname": "web-01", "device_type": "VM"})).await;
    host_with(&u, json!({"region_id": region, "hostname": "web-02", "device_type": "Physical"})).await;
    host_with(&u, json!({"region_id": region, "hostname": "db-01", "device_type": "VM"})).await;

    let body = search_ok(&u, &[("hostname", "web"), ("device_type", "VM"), ("country", "USA")]).await;

    assert_eq!(ids(&body), vec![id(&wanted, "host_id")]);
}

#[tokio::test]
async fn a_country_outside_the_continent_matches_nothing_rather_than_failing() {
    let app = ipam_tests::spawn_app().await;
    let u = app.user("u1");
    let region = u.create_region("USA", "east").await;
    u.create_host(region["region_id"].as_str().unwrap(), "web-1").await;
    let r = u.get("/ipam/search?country=USA&continent=Europe").await;
    assert_eq!(r.assert_status(200)["pagination"]["total_count"], 0);
    let hosts_only = u.get("/ipam/search?country=USA&continent=Europe&resource_type=host").await;
    assert_eq!(hosts_only.assert_status(200)["pagination"]["total_count"], 0);
}
