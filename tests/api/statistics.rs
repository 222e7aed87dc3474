//! `GET /ipam/statistics/dashboard`: exact figures on constructed data, the cache (a hit, then
//! a write, then a fresh figure), `?fresh=true`, isolation, validation and its rate class.

use ipam_core::configuration::Switch;
use ipam_tests::json::text;
use ipam_tests::{Caller, spawn_app, spawn_app_with};
use serde_json::{Value, json};

async fn dashboard(u: &Caller<'_>, query: &str) -> Value {
    u.get(&format!("/ipam/statistics/dashboard{query}")).await.assert_status(200).clone()
}

#[tokio::test]
async fn the_dashboard_counts_utilisation_top_countries_and_warnings_exactly() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let usa1 = text(&u.create_region("USA", "east").await, "region_id");
    let usa2 = text(&u.create_region("USA", "west").await, "region_id");
    let ind = text(&u.create_region("IND", "mumbai").await, "region_id");
    let bra = text(&u.create_region("BRA", "rio").await, "region_id");
    u.allocate_hosts(&usa1, "h", 204).await;
    u.allocate_hosts(&usa2, "h", 10).await;
    let mut in_india = u.allocate_hosts(&ind, "h", 127).await;
    app.user("bob").create_region("CAN", "toronto").await;

    let d = dashboard(&u, "").await;
    assert_eq!(
        (&d["total_countries"], &d["countries_available"], &d["total_regions"], &d["total_hosts"]),
        (&json!(3), &json!(18), &json!(4), &json!(341)),
        "{d}"
    );
    assert_eq!(d["overall_utilization"], 33.56, "341 of 4 × 254");
    assert_eq!(d["capacity_warnings"], 1, "204 of 254 is above 80 %; 127 is not");
    assert_eq!(d["recent_activity_count"], 345, "4 regions and 341 hosts this week");
    assert_eq!((&d["retired_regions"], &d["released_hosts"]), (&json!(0), &json!(0)));
    assert_eq!(d["cached"], false);
    let top: Vec<(String, u64, u64, f64)> = d["top_countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                text(c, "country_code"),
                c["region_count"].as_u64().unwrap(),
                c["host_count"].as_u64().unwrap(),
                c["utilization"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        [("USA".into(), 2, 214, 42.13), ("IND".into(), 1, 127, 50.0), ("BRA".into(), 1, 0, 0.0)],
        "by regions, then hosts"
    );
    assert_eq!(d["top_countries"][0]["country_name"], "United States");

    // Releases and retirements are counted, and leave the totals.
    let gone: Vec<String> = in_india.drain(..5).collect();
    let body = json!({"host_ids": gone, "reason": "decommissioned"});
    u.post("/ipam/hosts/bulk-release", body).await.assert_status(200);
    u.delete(&format!("/ipam/regions/{bra}?reason=closed")).await.assert_status(204);
    let d = dashboard(&u, "").await;
    assert_eq!((&d["retired_regions"], &d["released_hosts"]), (&json!(1), &json!(5)), "{d}");
    assert_eq!((&d["total_countries"], &d["total_regions"], &d["total_hosts"]), (&json!(2), &json!(3), &json!(336)));
    assert_eq!(d["overall_utilization"], 44.09, "336 of 3 × 254");
}

#[tokio::test]
async fn a_cached_dashboard_is_never_stale_after_a_change_and_fresh_bypasses_the_cache() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = text(&u.create_region("USA", "east").await, "region_id");
    let first = dashboard(&u, "").await;
    let again = dashboard(&u, "").await;
    assert_eq!((&first["cached"], &again["cached"]), (&json!(false), &json!(true)));
    assert_eq!(again["generated_at"], first["generated_at"], "the same result, served again");

    u.allocate_hosts(&region, "h", 3).await;
    let after_write = dashboard(&u, "").await;
    assert_eq!((&after_write["cached"], &after_write["total_hosts"]), (&json!(false), &json!(3)), "{after_write}");

    let forced = dashboard(&u, "?fresh=true").await;
    assert_eq!(forced["cached"], false, "fresh=true computes anew");
    assert_eq!(dashboard(&u, "?fresh=false").await["cached"], true);

    // A new share is audited too: its creation moves the version.
    u.post("/ipam/shares", json!({"resource_type": "country", "resource_id": "USA", "expires_in_days": 7}))
        .await
        .assert_status(201);
    let with_share = dashboard(&u, "").await;
    assert_eq!((&with_share["cached"], &with_share["active_shares"]), (&json!(false), &json!(1)));
}

#[tokio::test]
async fn a_change_made_by_another_process_is_seen_at_once() {
    // Two apps on one data directory stand for the API and a worker process: what one writes
    // moves the user's data version in the shared database, which the other's cache keys on.
    let api = spawn_app().await;
    let worker = ipam_tests::spawn_app_in(api.dir.clone(), |_| {}).await;
    let (u, w) = (api.user("alice"), worker.user("alice"));
    let region = text(&u.create_region("USA", "east").await, "region_id");
    assert_eq!(dashboard(&u, "").await["total_hosts"], 0);
    assert_eq!(dashboard(&u, "").await["cached"], true);
    w.allocate_hosts(&region, "h", 2).await;
    let seen = dashboard(&u, "").await;
    assert_eq!((&seen["cached"], &seen["total_hosts"]), (&json!(false), &json!(2)), "{seen}");
}

#[tokio::test]
async fn unread_notifications_are_always_current_even_on_a_cached_dashboard() {
    let app = spawn_app().await;
    let u = app.user("alice");
    u.post(
        "/ipam/notifications/rules",
        json!({"rule_name": "regions", "conditions": {"event_types": ["region.created"]}}),
    )
    .await
    .assert_status(201);
    assert_eq!(dashboard(&u, "").await["unread_notifications"], 0);
    u.create_region("USA", "east").await;
    app.state.platform.drain().await.expect("drains");
    dashboard(&u, "").await;
    u.post("/ipam/notifications/read-all", json!({})).await.assert_status(200);
    let d = dashboard(&u, "").await;
    assert_eq!((&d["cached"], &d["unread_notifications"]), (&json!(true), &json!(0)), "{d}");
}

#[tokio::test]
async fn each_user_sees_only_their_own_figures_and_a_new_user_sees_zeros() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let region = text(&alice.create_region("USA", "east").await, "region_id");
    alice.allocate_hosts(&region, "h", 5).await;
    let bob = dashboard(&app.user("bob"), "").await;
    for field in ["total_countries", "total_regions", "total_hosts", "recent_activity_count", "capacity_warnings"] {
        assert_eq!(bob[field], 0, "{field}: {bob}");
    }
    assert_eq!((&bob["overall_utilization"], &bob["top_countries"]), (&json!(0.0), &json!([])));
}

#[tokio::test]
async fn bad_parameters_are_named_and_the_dashboard_needs_a_token() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let e = u.get("/ipam/statistics/dashboard?fresh=maybe").await.assert_error(422, "validation_error").clone();
    assert!(e["details"]["fresh"].as_str().unwrap().contains("true or false"), "{e}");
    u.get("/ipam/statistics/dashboard?days=3").await.assert_error(422, "validation_error");
    app.anonymous().get("/ipam/statistics/dashboard").await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn the_dashboard_has_its_own_rate_class() {
    let app = spawn_app_with(|s| {
        s.rate_limits = Switch::On;
        s.rate_limit_dashboard = 2;
    })
    .await;
    let u = app.user("alice");
    let ok = u.get("/ipam/statistics/dashboard").await;
    assert_eq!(ok.header("x-ratelimit-limit"), Some("2"));
    u.get("/ipam/statistics/dashboard").await.assert_status(200);
    let refused = u.get("/ipam/statistics/dashboard").await;
    refused.assert_error(429, "rate_limit_exceeded");
    u.get("/ipam/reservations").await.assert_status(200);
}

#[tokio::test]
async fn the_seeds_smoke_test_3_the_dashboard_widget_and_the_js_forecast_call_get_what_they_read() {
    let app = spawn_app().await;
    let u = app.user("newcomer");

    // Smoke test 3 and `getDashboardStats()`: a new user, 200, and the widget's four numbers.
    let d = dashboard(&u, "").await;
    for field in ["total_countries", "total_regions", "total_hosts", "overall_utilization"] {
        assert!(d[field].is_number(), "the DashboardStats widget reads `{field}` as a number: {d}");
    }
    assert_eq!((&d["total_regions"], &d["overall_utilization"]), (&json!(0), &json!(0.0)), "{d}");

    // `getCapacityForecast(resourceType, resourceId)`: no query string, a country by code and a
    // region by id (the seed's performance check asks for country/USA).
    let region = text(&u.create_region("USA", "east").await, "region_id");
    for path in ["country/USA".to_owned(), format!("region/{region}")] {
        let f = u.get(&format!("/ipam/statistics/forecast/{path}")).await.assert_status(200).clone();
        for field in ["current_utilization", "daily_allocation_rate", "confidence_level", "recommendation"] {
            assert!(!f[field].is_null(), "{path}: `{field}` missing in {f}");
        }
    }
}
