//! The statistics routes of the original core API: `GET /ipam/statistics/continent/{continent}`
//! and `/statistics/top-utilized` (the allocation velocity is in `velocity.rs`). Exact figures on
//! constructed data, isolation (another user's data never counts or appears), the cache (a hit,
//! a write, a fresh figure), the continent's spellings, validation, and the rate class of all
//! three routes.

use ipam_core::clock::Clock;
use ipam_core::configuration::Switch;
use ipam_tests::json::{keys, sorted, text};
use ipam_tests::{Caller, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

async fn get(u: &Caller<'_>, path: &str) -> Value {
    u.get(path).await.assert_status(200).clone()
}

/// `(country_code, total_capacity, allocated, available, utilization_percent)` per country.
fn breakdown(s: &Value) -> Vec<(String, Value, Value, Value, Value)> {
    let list = s["country_breakdown"].as_array().unwrap_or_else(|| panic!("no country_breakdown in {s}"));
    let f = |c: &Value, k: &str| c[k].clone();
    list.iter()
        .map(|c| {
            (
                text(c, "country_code"),
                f(c, "total_capacity"),
                f(c, "allocated"),
                f(c, "available"),
                f(c, "utilization_percent"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_continent_counts_only_the_callers_regions_in_its_countries() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    for (country, name) in [("USA", "east"), ("USA", "west"), ("CAN", "toronto"), ("IND", "mumbai")] {
        alice.create_region(country, name).await;
    }
    let bob = app.user("bob");
    for name in ["aa", "bb", "cc"] {
        bob.create_region("USA", name).await;
    }

    let s = get(&alice, "/ipam/statistics/continent/North%20America").await;
    assert_eq!(
        keys(&s),
        sorted(&[
            "continent",
            "total_capacity",
            "allocated",
            "available",
            "utilization_percent",
            "country_count",
            "country_breakdown",
            "timestamp",
            "cached"
        ])
    );
    assert_eq!(
        (&s["continent"], &s["total_capacity"], &s["allocated"], &s["available"], &s["country_count"]),
        (&json!("North America"), &json!(7_680), &json!(3), &json!(7_677), &json!(2)),
        "Canada and the United States: 15 + 15 X octets × 256 regions; India is not counted: {s}"
    );
    assert_eq!(s["utilization_percent"], 0.04, "3 of 7680 is 0.039 %");
    assert_eq!(
        breakdown(&s),
        [
            ("CAN".into(), json!(3_840), json!(1), json!(3_839), json!(0.03)),
            ("USA".into(), json!(3_840), json!(2), json!(3_838), json!(0.05)),
        ],
        "bob's three USA regions are not alice's"
    );
    assert_eq!(s["country_breakdown"][1]["country"], "United States");
    assert_eq!(s["timestamp"], json!(app.clock.now()), "{s}");

    for spelling in ["north_america", "NORTH-AMERICA", "north%20%20america"] {
        let again = get(&alice, &format!("/ipam/statistics/continent/{spelling}?fresh=true")).await;
        assert_eq!((&again["continent"], &again["allocated"]), (&json!("North America"), &json!(3)), "{spelling}");
    }
    let theirs = get(&bob, "/ipam/statistics/continent/north%20america").await;
    assert_eq!(breakdown(&theirs)[1].2, json!(3), "bob sees his own: {theirs}");
    let asia = get(&bob, "/ipam/statistics/continent/asia").await;
    assert_eq!((&asia["allocated"], &asia["country_count"]), (&json!(0), &json!(7)), "{asia}");
}

#[tokio::test]
async fn an_unknown_continent_is_a_404_naming_the_known_ones() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let e = u.get("/ipam/statistics/continent/Atlantis").await.assert_error(404, "not_found").clone();
    let message = e["message"].as_str().unwrap_or_default();
    assert!(message.contains("Atlantis"), "{e}");
    for known in ["Asia", "Africa", "Europe", "North America", "South America", "Australia"] {
        assert!(message.contains(known), "{known} missing from: {message}");
    }
    u.get("/ipam/statistics/continent/Asia?fresh=maybe").await.assert_error(422, "validation_error");
    u.get("/ipam/statistics/continent/Asia?limit=3").await.assert_error(422, "validation_error");
    app.anonymous().get("/ipam/statistics/continent/Asia").await.assert_error(401, "unauthorized");
}

/// `(region_name, cidr, allocated, utilization_percent)` of each top region.
fn regions(t: &Value) -> Vec<(String, String, Value, Value)> {
    let list = t["top_regions"].as_array().unwrap_or_else(|| panic!("no top_regions in {t}"));
    list.iter()
        .map(|r| (text(r, "region_name"), text(r, "cidr"), r["allocated"].clone(), r["utilization_percent"].clone()))
        .collect()
}

/// `(country_code, allocated, capacity, utilization_percent)` of each top country.
fn countries(t: &Value) -> Vec<(String, Value, Value, Value)> {
    let list = t["top_countries"].as_array().unwrap_or_else(|| panic!("no top_countries in {t}"));
    list.iter()
        .map(|c| {
            (text(c, "country_code"), c["allocated"].clone(), c["capacity"].clone(), c["utilization_percent"].clone())
        })
        .collect()
}

fn r(name: &str, cidr: &str, allocated: u64, percent: f64) -> (String, String, Value, Value) {
    (name.into(), cidr.into(), json!(allocated), json!(percent))
}

fn c(code: &str, allocated: u64, capacity: u64, percent: f64) -> (String, Value, Value, Value) {
    (code.into(), json!(allocated), json!(capacity), json!(percent))
}

/// Alice: USA east (10.153.0.0/24, 5 hosts), USA west (10.153.1.0/24, 5), IND mumbai
/// (10.0.0.0/24, 7), CAN toronto (10.138.0.0/24, empty), one empty region each in ARE and SGP
/// (8 X octets each: a tie). Bob: a USA region with 20 hosts, which must never appear.
async fn holdings(app: &TestApp) -> (Caller<'_>, String) {
    let u = app.user("alice");
    let east = text(&u.create_region("USA", "east").await, "region_id");
    let west = text(&u.create_region("USA", "west").await, "region_id");
    let mumbai = text(&u.create_region("IND", "mumbai").await, "region_id");
    for (country, name) in [("CAN", "toronto"), ("SGP", "central"), ("ARE", "dubai")] {
        u.create_region(country, name).await;
    }
    u.allocate_hosts(&east, "h", 5).await;
    u.allocate_hosts(&west, "h", 5).await;
    u.allocate_hosts(&mumbai, "h", 7).await;
    let bob = app.user("bob");
    let theirs = text(&bob.create_region("USA", "bobs").await, "region_id");
    bob.allocate_hosts(&theirs, "h", 20).await;
    (u, mumbai)
}

#[tokio::test]
async fn top_utilized_ranks_the_callers_regions_by_hosts_and_countries_by_their_share() {
    let app = spawn_app().await;
    let (u, mumbai) = holdings(&app).await;

    let t = get(&u, "/ipam/statistics/top-utilized").await;
    assert_eq!(keys(&t), sorted(&["top_regions", "top_countries", "timestamp", "cached"]));
    assert_eq!(
        regions(&t),
        [
            r("mumbai", "10.0.0.0/24", 7, 2.76),
            r("east", "10.153.0.0/24", 5, 1.97),
            r("west", "10.153.1.0/24", 5, 1.97),
            r("dubai", "10.30.0.0/24", 0, 0.0),
            r("central", "10.38.0.0/24", 0, 0.0),
            r("toronto", "10.138.0.0/24", 0, 0.0),
        ],
        "by hosts; ties (east and west, the empty ones) in CIDR order; bob's 20 hosts are not alice's"
    );
    let first = &t["top_regions"][0];
    assert_eq!(
        (&first["region_id"], &first["country"], &first["country_code"], &first["capacity"]),
        (&json!(mumbai), &json!("India"), &json!("IND"), &json!(254))
    );
    assert_eq!(
        countries(&t),
        [
            c("USA", 2, 3_840, 0.05),
            c("ARE", 1, 2_048, 0.05),
            c("SGP", 1, 2_048, 0.05),
            c("CAN", 1, 3_840, 0.03),
            c("IND", 1, 7_680, 0.01),
        ],
        "by exact share (2/3840 > 1/2048, which ties ARE and SGP, broken by address), then count"
    );
    assert_eq!(t["top_countries"][0]["continent"], "North America");
    assert_eq!(t["timestamp"], json!(app.clock.now()));

    let two = get(&u, "/ipam/statistics/top-utilized?limit=2").await;
    assert_eq!(regions(&two), [r("mumbai", "10.0.0.0/24", 7, 2.76), r("east", "10.153.0.0/24", 5, 1.97)]);
    assert_eq!(countries(&two), [c("USA", 2, 3_840, 0.05), c("ARE", 1, 2_048, 0.05)]);

    let carol = get(&app.user("carol"), "/ipam/statistics/top-utilized?limit=100").await;
    assert_eq!((&carol["top_regions"], &carol["top_countries"]), (&json!([]), &json!([])), "{carol}");
}

#[tokio::test]
async fn cached_figures_are_served_again_until_a_write_and_fresh_bypasses_the_cache() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = text(&u.create_region("USA", "east").await, "region_id");
    u.allocate_hosts(&region, "h", 3).await;

    let first = get(&u, "/ipam/statistics/top-utilized").await;
    app.clock.advance(chrono::Duration::seconds(30));
    let again = get(&u, "/ipam/statistics/top-utilized").await;
    assert_eq!((&first["cached"], &again["cached"]), (&json!(false), &json!(true)));
    assert_eq!(again["timestamp"], first["timestamp"], "the same result, served again");
    assert_eq!(get(&u, "/ipam/statistics/top-utilized?limit=5").await["cached"], false, "the limit is in the key");

    u.allocate_hosts(&region, "h", 2).await;
    let after = get(&u, "/ipam/statistics/top-utilized").await;
    assert_eq!((&after["cached"], &after["top_regions"][0]["allocated"]), (&json!(false), &json!(5)), "{after}");
    assert_eq!(get(&u, "/ipam/statistics/top-utilized?fresh=true").await["cached"], false);
    assert_eq!(get(&u, "/ipam/statistics/top-utilized?fresh=false").await["cached"], true);

    let path = "/ipam/statistics/continent/North%20America";
    assert_eq!(get(&u, path).await["cached"], false);
    let hit = get(&u, "/ipam/statistics/continent/north_america").await;
    assert_eq!((&hit["cached"], &hit["allocated"]), (&json!(true), &json!(1)), "one entry for every spelling");
    u.create_region("CAN", "toronto").await;
    let changed = get(&u, path).await;
    assert_eq!((&changed["cached"], &changed["allocated"]), (&json!(false), &json!(2)), "{changed}");
    assert_eq!(get(&u, &format!("{path}?fresh=1")).await["cached"], false);

    // Another user's write moves only their own version: alice's entry stays.
    app.user("bob").create_region("USA", "bobs").await;
    assert_eq!(get(&u, path).await["cached"], true);
}

#[tokio::test]
async fn top_utilized_refuses_a_limit_outside_1_to_100() {
    let app = spawn_app().await;
    let u = app.user("alice");
    for bad in ["0", "101", "-1", "ten", "", "2.5"] {
        let e = u.get(&format!("/ipam/statistics/top-utilized?limit={bad}")).await;
        let body = e.assert_error(422, "validation_error");
        let problem = body["details"]["limit"].as_str().unwrap_or_else(|| panic!("limit={bad:?}: {body}"));
        assert!(problem.contains("between 1 and 100"), "{problem}");
    }
    get(&u, "/ipam/statistics/top-utilized?limit=1").await;
    get(&u, "/ipam/statistics/top-utilized?limit=100").await;
    let e = u.get("/ipam/statistics/top-utilized?fresh=later").await.assert_error(422, "validation_error").clone();
    assert!(e["details"]["fresh"].is_string(), "{e}");
    u.get("/ipam/statistics/top-utilized?country=USA").await.assert_error(422, "validation_error");
}

#[tokio::test]
async fn the_three_routes_are_in_the_standard_rate_class() {
    let app = spawn_app_with(|s| {
        s.rate_limits = Switch::On;
        s.rate_limit_standard = 3;
    })
    .await;
    let u = app.user("alice");
    let first = u.get("/ipam/statistics/continent/Asia").await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("3"));
    u.get("/ipam/statistics/top-utilized").await.assert_status(200);
    u.get("/ipam/statistics/allocation-velocity").await.assert_status(200);
    u.get("/ipam/statistics/top-utilized").await.assert_error(429, "rate_limit_exceeded");
    u.get("/ipam/statistics/dashboard").await.assert_status(200);
}
