//! `GET /ipam/statistics/forecast/{resource_type}/{resource_id}` over HTTP: exact figures on
//! synthetic histories written day by day with the manual clock (linear, shrinking, flat,
//! full), country forecasts by code or name, validation, isolation, and the result cache.

use chrono::{Days, Duration};
use ipam_core::clock::Clock as _;
use ipam_tests::json::text;
use ipam_tests::{Caller, TestApp, spawn_app};
use serde_json::{Value, json};

/// Releases the hosts.
async fn release(u: &Caller<'_>, hosts: &[String]) {
    u.post("/ipam/hosts/bulk-release", json!({"host_ids": hosts, "reason": "decommissioned"})).await.assert_status(200);
}

/// The forecast at `path` (after `/ipam/statistics/forecast/`), expecting 200.
async fn forecast(u: &Caller<'_>, path: &str) -> Value {
    u.get(&format!("/ipam/statistics/forecast/{path}")).await.assert_status(200).clone()
}

/// The app's UTC date `days` days from now, as the API writes it.
fn date_in(app: &TestApp, days: u64) -> String {
    (app.clock.now().date_naive() + Days::new(days)).to_string()
}

/// A region that received 10 hosts a day for 10 days (100 hosts), the clock on the last day.
async fn linear_region(app: &TestApp) -> String {
    let u = app.user("alice");
    let region = text(&u.create_region("USA", "east").await, "region_id");
    for day in 0..10 {
        if day > 0 {
            app.clock.advance(Duration::days(1));
        }
        u.allocate_hosts(&region, "h", 10).await;
    }
    region
}

#[tokio::test]
async fn a_linear_history_gives_its_rate_a_perfect_fit_and_the_exact_exhaustion_date() {
    let app = spawn_app().await;
    let region = linear_region(&app).await;
    let f = forecast(&app.user("alice"), &format!("region/{region}")).await;
    assert_eq!((&f["resource_type"], &f["resource_id"]), (&json!("region"), &json!(region)), "{f}");
    assert_eq!(
        (&f["method"], &f["forecast_period_days"], &f["days_ahead"]),
        (&json!("least_squares"), &json!(90), &json!(30))
    );
    assert_eq!((&f["daily_allocation_rate"], &f["r_squared"]), (&json!(10.0), &json!(1.0)), "{f}");
    assert_eq!((&f["data_points"], &f["confidence_level"]), (&json!(10), &json!("medium")), "10 days, R² 1");
    assert_eq!((&f["capacity"], &f["allocated"], &f["remaining"]), (&json!(254), &json!(100), &json!(154)));
    assert_eq!(f["current_utilization"], 39.37, "100 of 254");
    assert_eq!(f["days_until_exhaustion"], 16, "154 / 10 = 15.4, rounded up");
    assert_eq!(f["estimated_exhaustion_date"], json!(date_in(&app, 16)));
    assert_eq!(f["projected_utilization"], 100.0, "100 + 30 × 10 is past the capacity");
    let advice = f["recommendation"].as_str().unwrap();
    assert!(advice.starts_with("Critical") && advice.contains("16 days"), "{advice}");
}

#[tokio::test]
async fn days_ahead_moves_the_projection_along_the_line() {
    let app = spawn_app().await;
    let region = linear_region(&app).await;
    let u = app.user("alice");
    let one = forecast(&u, &format!("region/{region}?days_ahead=1")).await;
    let five = forecast(&u, &format!("region/{region}?days_ahead=5")).await;
    assert_eq!((&one["days_ahead"], &one["projected_utilization"]), (&json!(1), &json!(43.31)), "110 of 254");
    assert_eq!((&five["days_ahead"], &five["projected_utilization"]), (&json!(5), &json!(59.06)), "150 of 254");
    assert_eq!(five["cached"], false, "another days_ahead is another forecast");
    assert_eq!(one["days_until_exhaustion"], five["days_until_exhaustion"]);
}

#[tokio::test]
async fn a_shrinking_region_is_never_exhausted_and_the_advice_names_the_releases() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = text(&u.create_region("USA", "east").await, "region_id");
    let mut hosts = u.allocate_hosts(&region, "h", 100).await;
    for _ in 0..4 {
        app.clock.advance(Duration::days(1));
        let gone: Vec<String> = hosts.drain(..10).collect();
        release(&u, &gone).await;
    }
    let f = forecast(&u, &format!("region/{region}")).await;
    assert_eq!((&f["daily_allocation_rate"], &f["r_squared"]), (&json!(-10.0), &json!(1.0)), "100, 90, …, 60: {f}");
    assert_eq!((&f["allocated"], &f["remaining"], &f["data_points"]), (&json!(60), &json!(194), &json!(5)));
    assert_eq!((&f["days_until_exhaustion"], &f["estimated_exhaustion_date"]), (&Value::Null, &Value::Null));
    assert_eq!(f["projected_utilization"], 0.0, "60 − 30 × 10 stops at 0");
    assert!(f["recommendation"].as_str().unwrap().contains("releases outpace allocations"), "{f}");
}

#[tokio::test]
async fn a_flat_region_is_never_exhausted_and_a_full_one_is_exhausted_today() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let flat = text(&u.create_region("USA", "flat").await, "region_id");
    let full = text(&u.create_region("USA", "full").await, "region_id");
    u.allocate_hosts(&flat, "h", 20).await;
    for _ in 0..3 {
        app.clock.advance(Duration::days(1));
        let churn = u.allocate_hosts(&flat, "h", 2).await;
        release(&u, &churn).await;
    }
    u.allocate_hosts(&full, "h", 254).await;

    let f = forecast(&u, &format!("region/{flat}")).await;
    assert_eq!((&f["daily_allocation_rate"], &f["r_squared"]), (&json!(0.0), &json!(1.0)), "a flat line fits: {f}");
    assert_eq!((&f["data_points"], &f["confidence_level"]), (&json!(4), &json!("low")));
    assert_eq!((&f["days_until_exhaustion"], &f["estimated_exhaustion_date"]), (&Value::Null, &Value::Null));
    assert_eq!(f["projected_utilization"], 7.87, "20 of 254, unchanged");
    assert!(f["recommendation"].as_str().unwrap().contains("no net growth"), "{f}");

    let f = forecast(&u, &format!("region/{full}")).await;
    assert_eq!((&f["remaining"], &f["current_utilization"]), (&json!(0), &json!(100.0)), "{f}");
    assert_eq!((&f["days_until_exhaustion"], &f["estimated_exhaustion_date"]), (&json!(0), &json!(date_in(&app, 0))));
    assert_eq!(f["confidence_level"], "insufficient_data", "one day of activity");
    assert!(f["recommendation"].as_str().unwrap().contains("is full"), "{f}");
}

#[tokio::test]
async fn a_country_forecast_counts_the_callers_regions_by_code_or_name() {
    let app = spawn_app().await;
    let u = app.user("alice");
    for day in 0..3 {
        if day > 0 {
            app.clock.advance(Duration::days(1));
        }
        u.create_region("USA", &format!("r{day}")).await;
    }
    u.create_region("CAN", "toronto").await;
    app.user("bob").create_region("USA", "bobs").await;

    let by_code = forecast(&u, "country/usa").await;
    assert_eq!((&by_code["resource_type"], &by_code["resource_id"]), (&json!("country"), &json!("USA")), "{by_code}");
    assert_eq!(
        (&by_code["capacity"], &by_code["allocated"], &by_code["remaining"]),
        (&json!(3840), &json!(3), &json!(3837))
    );
    assert_eq!((&by_code["daily_allocation_rate"], &by_code["data_points"]), (&json!(1.0), &json!(3)), "{by_code}");
    assert_eq!(by_code["days_until_exhaustion"], 3837);
    let by_name = forecast(&u, "Country/United%20States").await;
    assert_eq!(by_name["resource_id"], "USA");
    assert_eq!(by_name["cached"], true, "code and name share one cached forecast");
    u.get("/ipam/statistics/forecast/country/Atlantis").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn bad_types_and_days_ahead_are_named_and_foreign_regions_are_not_found() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let region = text(&alice.create_region("USA", "east").await, "region_id");
    for kind in ["host", "continent"] {
        let e = alice
            .get(&format!("/ipam/statistics/forecast/{kind}/x"))
            .await
            .assert_error(422, "validation_error")
            .clone();
        assert!(e["details"]["resource_type"].as_str().unwrap().contains("country or region"), "{e}");
    }
    for bad in ["0", "366", "x", "-1"] {
        let path = format!("/ipam/statistics/forecast/region/{region}?days_ahead={bad}");
        let e = alice.get(&path).await.assert_error(422, "validation_error").clone();
        assert!(e["details"]["days_ahead"].as_str().unwrap().contains("between 1 and 365"), "{bad}: {e}");
    }
    let e = alice
        .get("/ipam/statistics/forecast/host/x?days_ahead=0&fresh=maybe")
        .await
        .assert_error(422, "validation_error")
        .clone();
    assert_eq!(e["details"].as_object().unwrap().len(), 3, "every problem at once: {e}");
    alice.get("/ipam/statistics/forecast/country/USA?days=3").await.assert_error(422, "validation_error");
    forecast(&alice, &format!("region/{region}?days_ahead=365")).await;

    let bob = app.user("bob");
    bob.get(&format!("/ipam/statistics/forecast/region/{region}")).await.assert_error(404, "not_found");
    bob.get("/ipam/statistics/forecast/region/01ARZ3NDEKTSV4RRFFQ69G5FAV").await.assert_error(404, "not_found");
    bob.get("/ipam/statistics/forecast/region/not-an-id").await.assert_error(404, "not_found");
    app.anonymous().get("/ipam/statistics/forecast/country/USA").await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_cached_forecast_is_never_stale_after_a_write_or_a_new_day() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = text(&u.create_region("USA", "east").await, "region_id");
    u.allocate_hosts(&region, "h", 5).await;
    let path = format!("region/{region}");
    let first = forecast(&u, &path).await;
    let again = forecast(&u, &path).await;
    assert_eq!((&first["cached"], &again["cached"]), (&json!(false), &json!(true)));
    assert_eq!(again["generated_at"], first["generated_at"], "the same result, served again");

    u.allocate_hosts(&region, "h", 3).await;
    let after_write = forecast(&u, &path).await;
    assert_eq!((&after_write["cached"], &after_write["allocated"]), (&json!(false), &json!(8)), "{after_write}");
    assert_eq!(forecast(&u, &format!("{path}?fresh=true")).await["cached"], false, "fresh=true computes anew");
    assert_eq!(forecast(&u, &format!("{path}?fresh=false")).await["cached"], true);

    app.clock.advance(Duration::days(1));
    let next_day = forecast(&u, &path).await;
    assert_eq!(next_day["cached"], false, "a forecast runs to today: a new day is a new forecast");
    assert_eq!(next_day["daily_allocation_rate"], 0.0, "8, 8: {next_day}");
}

#[tokio::test]
async fn a_region_on_a_reused_block_does_not_inherit_the_history_of_its_predecessor() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let old = u.create_region("USA", "old").await;
    let hosts = u.allocate_hosts(&text(&old, "region_id"), "h", 30).await;
    release(&u, &hosts).await;
    u.delete(&format!("/ipam/regions/{}?reason=closed", text(&old, "region_id"))).await.assert_status(204);
    app.clock.advance(Duration::days(1));
    let new = u.create_region("USA", "new").await;
    assert_eq!(new["cidr"], old["cidr"], "the lowest free block is the same one: {new}");
    u.allocate_hosts(&text(&new, "region_id"), "h", 5).await;
    let f = forecast(&u, &format!("region/{}", text(&new, "region_id"))).await;
    assert_eq!((&f["data_points"], &f["allocated"]), (&json!(1), &json!(5)), "only the new region's day: {f}");
}
