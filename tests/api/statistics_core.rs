//! The statistics routes of the original core API: `GET /ipam/statistics/continent/{continent}`,
//! `/statistics/top-utilized` and `/statistics/allocation-velocity`. Exact figures on
//! constructed data, isolation (another user's data never counts or appears), the cache (a hit,
//! a write, a fresh figure), the continent's spellings, validation and the rate class.

use chrono::{DateTime, Utc};
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

/// Sets the service clock.
fn at(app: &TestApp, when: &str) {
    let t: DateTime<Utc> = when.parse().expect("an instant");
    app.clock.set(t);
}

/// `(period, count)` of a series.
fn buckets(v: &Value, series: &str) -> Vec<(String, u64)> {
    let list = v[series].as_array().unwrap_or_else(|| panic!("no {series} in {v}"));
    list.iter().map(|p| (text(p, "period"), p["count"].as_u64().unwrap_or_else(|| panic!("{p}")))).collect()
}

/// The non-zero buckets of a series.
fn busy(v: &Value, series: &str) -> Vec<(String, u64)> {
    buckets(v, series).into_iter().filter(|(_, n)| *n > 0).collect()
}

/// Alice allocates a USA region and 3 hosts on 2028-02-28 (09:00Z), an IND region and 2 hosts
/// on 2028-03-01 at 08:15Z, 4 more hosts at 10:20Z (releasing one of them: it still counts);
/// bob allocates at 10:20Z too. The clock is left at 2028-03-01T10:42:00Z.
async fn allocations(app: &TestApp) -> Caller<'_> {
    let u = app.user("alice");
    at(app, "2028-02-28T09:00:00Z");
    let usa = text(&u.create_region("USA", "east").await, "region_id");
    u.allocate_hosts(&usa, "h", 3).await;
    at(app, "2028-03-01T08:15:00Z");
    let ind = text(&u.create_region("IND", "mumbai").await, "region_id");
    u.allocate_hosts(&ind, "a", 2).await;
    at(app, "2028-03-01T10:20:00Z");
    let later = u.allocate_hosts(&ind, "b", 4).await;
    let body = json!({"host_ids": &later[..1], "reason": "decommissioned"});
    u.post("/ipam/hosts/bulk-release", body).await.assert_status(200);
    let bob = app.user("bob");
    let theirs = text(&bob.create_region("USA", "bobs").await, "region_id");
    bob.allocate_hosts(&theirs, "h", 8).await;
    at(app, "2028-03-01T10:42:00Z");
    u
}

#[tokio::test]
async fn one_day_of_velocity_is_24_hourly_buckets_ending_with_the_current_hour() {
    let app = spawn_app().await;
    let u = allocations(&app).await;

    let v = get(&u, "/ipam/statistics/allocation-velocity?time_range=1d").await;
    assert_eq!(
        keys(&v),
        sorted(&[
            "time_range",
            "start_date",
            "end_date",
            "period_label",
            "total_regions_allocated",
            "total_hosts_allocated",
            "avg_regions_per_period",
            "avg_hosts_per_period",
            "region_velocity",
            "host_velocity",
            "timestamp"
        ])
    );
    assert_eq!(
        (&v["time_range"], &v["period_label"], &v["start_date"], &v["end_date"], &v["timestamp"]),
        (
            &json!("1d"),
            &json!("hour"),
            &json!("2028-02-29T11:00:00Z"),
            &json!("2028-03-01T10:42:00Z"),
            &json!("2028-03-01T10:42:00Z")
        ),
        "{v}"
    );
    let hours = buckets(&v, "host_velocity");
    assert_eq!(hours.len(), 24, "every hour listed");
    assert_eq!(
        (&hours[0], &hours[23]),
        (&("2028-02-29T11:00:00Z".to_owned(), 0), &("2028-03-01T10:00:00Z".to_owned(), 4))
    );
    assert_eq!(busy(&v, "host_velocity"), [("2028-03-01T08:00:00Z".into(), 2), ("2028-03-01T10:00:00Z".into(), 4)]);
    assert_eq!(busy(&v, "region_velocity"), [("2028-03-01T08:00:00Z".into(), 1)], "the 28th is outside; bob's are his");
    assert_eq!((&v["total_regions_allocated"], &v["total_hosts_allocated"]), (&json!(1), &json!(6)));
    assert_eq!((&v["avg_regions_per_period"], &v["avg_hosts_per_period"]), (&json!(0.04), &json!(0.25)));

    let same = get(&u, "/ipam/statistics/allocation-velocity?time_range=DAY").await;
    assert_eq!((&same["time_range"], &same["total_hosts_allocated"]), (&json!("1d"), &json!(6)), "the original's name");
}

#[tokio::test]
async fn longer_velocities_are_daily_buckets_ending_today_and_30_days_is_the_default() {
    let app = spawn_app().await;
    let u = allocations(&app).await;

    let week = get(&u, "/ipam/statistics/allocation-velocity?time_range=7d").await;
    assert_eq!((&week["period_label"], &week["start_date"]), (&json!("day"), &json!("2028-02-24T00:00:00Z")));
    let days: Vec<String> = buckets(&week, "region_velocity").into_iter().map(|(d, _)| d).collect();
    assert_eq!(
        days,
        ["2028-02-24", "2028-02-25", "2028-02-26", "2028-02-27", "2028-02-28", "2028-02-29", "2028-03-01"],
        "a leap day included, today last"
    );
    assert_eq!(busy(&week, "region_velocity"), [("2028-02-28".into(), 1), ("2028-03-01".into(), 1)]);
    assert_eq!(busy(&week, "host_velocity"), [("2028-02-28".into(), 3), ("2028-03-01".into(), 6)]);
    assert_eq!((&week["total_regions_allocated"], &week["total_hosts_allocated"]), (&json!(2), &json!(9)));
    assert_eq!((&week["avg_regions_per_period"], &week["avg_hosts_per_period"]), (&json!(0.29), &json!(1.29)));
    assert_eq!(get(&u, "/ipam/statistics/allocation-velocity?time_range=week").await["time_range"], "7d");

    let default = get(&u, "/ipam/statistics/allocation-velocity").await;
    assert_eq!((&default["time_range"], &default["start_date"]), (&json!("30d"), &json!("2028-02-01T00:00:00Z")));
    assert_eq!(buckets(&default, "host_velocity").len(), 30);
    assert_eq!((&default["total_hosts_allocated"], &default["avg_hosts_per_period"]), (&json!(9), &json!(0.3)));
    assert_eq!(get(&u, "/ipam/statistics/allocation-velocity?time_range=month").await["time_range"], "30d");

    let quarter = get(&u, "/ipam/statistics/allocation-velocity?time_range=90d").await;
    assert_eq!(
        (&quarter["start_date"], &quarter["total_regions_allocated"]),
        (&json!("2027-12-03T00:00:00Z"), &json!(2))
    );
    assert_eq!(buckets(&quarter, "region_velocity").len(), 90);

    let bob = get(&app.user("bob"), "/ipam/statistics/allocation-velocity?time_range=7d").await;
    assert_eq!((&bob["total_regions_allocated"], &bob["total_hosts_allocated"]), (&json!(1), &json!(8)), "{bob}");
}

#[tokio::test]
async fn an_unknown_time_range_is_a_422_listing_the_valid_ones() {
    let app = spawn_app().await;
    let u = app.user("alice");
    for bad in ["2d", "quarter", "", "30", "1h"] {
        let e = u.get(&format!("/ipam/statistics/allocation-velocity?time_range={bad}")).await;
        let body = e.assert_error(422, "validation_error");
        let problem = body["details"]["time_range"].as_str().unwrap_or_else(|| panic!("{bad:?}: {body}"));
        assert!(problem.contains("1d, 7d, 30d, 90d"), "{problem}");
    }
    u.get("/ipam/statistics/allocation-velocity?fresh=true").await.assert_error(422, "validation_error");
    app.anonymous().get("/ipam/statistics/allocation-velocity").await.assert_error(401, "unauthorized");
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
