//! `GET /ipam/statistics/allocation-velocity`: exact hourly and daily buckets over allocations
//! placed in time with the service clock (across a leap day), released allocations still
//! counted, the original's range names, isolation and validation.

use chrono::{DateTime, Utc};
use ipam_tests::json::{keys, sorted, text};
use ipam_tests::{Caller, TestApp, spawn_app};
use serde_json::{Value, json};

async fn get(u: &Caller<'_>, path: &str) -> Value {
    u.get(path).await.assert_status(200).clone()
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
