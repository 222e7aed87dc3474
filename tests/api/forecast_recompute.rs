//! The daily forecast recomputation over HTTP: a forecast asked for yesterday is served from
//! the cache today with the figures of a fresh computation; one not asked for in 7 days is
//! neither recomputed nor kept; a retired region's request is forgotten; a write still makes
//! the next forecast fresh; a request is recorded at most once an hour. Workers are off: each
//! test runs the schedule itself and moves the manual clock.

use chrono::{DateTime, Duration, Utc};
use ipam_core::clock::Clock as _;
use ipam_core::domain::statistics::forecast::ForecastRequest;
use ipam_jobs::{Envelope, Job, ScheduleName};
use ipam_tests::json::{text, time};
use ipam_tests::{Caller, TestApp, spawn_app};
use serde_json::{Value, json};

/// The forecast at `path` (after `/ipam/statistics/forecast/`), expecting 200.
async fn forecast(u: &Caller<'_>, path: &str) -> Value {
    u.get(&format!("/ipam/statistics/forecast/{path}")).await.assert_status(200).clone()
}

/// The forecast without its `cached` flag (what a fresh computation must equal).
fn figures(mut f: Value) -> Value {
    f.as_object_mut().expect("an object").remove("cached");
    f
}

/// Runs the recomputation as operators do (queued through the API, run by "a worker", here the
/// test) and returns the summary it recorded.
async fn recompute(app: &TestApp) -> String {
    let name = "forecast_recompute";
    let queued = app.admin("root").post(&format!("/ipam/admin/schedules/{name}/run"), json!({})).await;
    let tick = time(queued.assert_status(202), "tick_at");
    let job = Job::Scheduled { schedule: ScheduleName::ForecastRecompute, tick };
    app.state.platform.execute(Envelope::new(job)).await.expect("the run is recorded");
    let list = app.admin("root").get("/ipam/admin/schedules").await.assert_status(200).clone();
    let schedule =
        list["results"].as_array().expect("schedules").iter().find(|s| s["name"] == name).expect("listed").clone();
    let run = &schedule["recent_runs"][0];
    assert_eq!(run["outcome"], "succeeded", "{run}");
    text(run, "detail")
}

/// Every recorded request made at or after `since`.
async fn requests_since(app: &TestApp, since: DateTime<Utc>) -> Vec<ForecastRequest> {
    app.state.ipam.store().forecast_requests_since(since, None, 100).await.expect("requests")
}

#[tokio::test]
async fn a_forecast_asked_for_yesterday_is_served_warm_today_with_the_figures_of_a_fresh_computation() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = text(&u.create_region("USA", "east").await, "region_id");
    u.allocate_hosts(&region, "h", 10).await;
    let path = format!("region/{region}");
    assert_eq!(forecast(&u, &path).await["cached"], false);
    assert_eq!(forecast(&u, "country/United%20States?days_ahead=7").await["cached"], false);
    app.clock.advance(Duration::days(1));
    u.allocate_hosts(&region, "h", 5).await;
    app.clock.advance(Duration::days(1));

    let summary = recompute(&app).await;
    assert!(summary.starts_with("2 forecasts recomputed, 0 forgotten"), "{summary}");
    let warm = forecast(&u, &path).await;
    assert_eq!(warm["cached"], true, "computed by the job, under today's key: {warm}");
    assert_eq!((&warm["allocated"], &warm["data_points"]), (&json!(15), &json!(2)), "as of today: {warm}");
    let fresh = forecast(&u, &format!("{path}?fresh=true")).await;
    assert_eq!(fresh["cached"], false);
    assert_eq!(figures(warm), figures(fresh), "the job computed what a fresh request computes");
    let country = forecast(&u, "country/USA?days_ahead=7").await;
    assert_eq!((&country["cached"], &country["days_ahead"]), (&json!(true), &json!(7)), "by code or name: {country}");
    assert_eq!(forecast(&u, "country/USA").await["cached"], false, "30 days ahead was never asked for");
}

#[tokio::test]
async fn a_forecast_last_asked_for_8_days_ago_is_not_recomputed_and_its_request_is_deleted() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let old = text(&u.create_region("USA", "old").await, "region_id");
    let recent = text(&u.create_region("USA", "recent").await, "region_id");
    forecast(&u, &format!("region/{old}")).await;
    app.clock.advance(Duration::days(2));
    forecast(&u, &format!("region/{recent}")).await;
    app.clock.advance(Duration::days(6));

    let summary = recompute(&app).await;
    assert_eq!(
        summary,
        "1 forecasts recomputed, 0 forgotten (resource gone), 0 failed, 1 requests older than 7 days deleted"
    );
    let since_ever = app.clock.now() - Duration::days(365);
    let left: Vec<String> = requests_since(&app, since_ever).await.iter().map(|r| r.subject.id().to_owned()).collect();
    assert_eq!(left, std::slice::from_ref(&recent), "the 8-day-old request is gone");
    assert_eq!(forecast(&u, &format!("region/{recent}")).await["cached"], true, "asked for 6 days ago");
    assert_eq!(forecast(&u, &format!("region/{old}")).await["cached"], false, "asked for 8 days ago");
}

#[tokio::test]
async fn the_request_of_a_retired_region_is_forgotten_and_the_others_are_recomputed() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let kept = text(&u.create_region("USA", "kept").await, "region_id");
    let retired = text(&u.create_region("USA", "retired").await, "region_id");
    forecast(&u, &format!("region/{kept}")).await;
    forecast(&u, &format!("region/{retired}")).await;
    u.delete(&format!("/ipam/regions/{retired}?reason=closed")).await.assert_status(204);
    app.clock.advance(Duration::days(1));

    let summary = recompute(&app).await;
    assert!(summary.starts_with("1 forecasts recomputed, 1 forgotten (resource gone), 0 failed"), "{summary}");
    app.clock.advance(Duration::days(1));
    let summary = recompute(&app).await;
    assert!(summary.starts_with("1 forecasts recomputed, 0 forgotten"), "forgotten for good: {summary}");
    u.get(&format!("/ipam/statistics/forecast/region/{retired}")).await.assert_error(404, "not_found");
    assert_eq!(forecast(&u, &format!("region/{kept}")).await["cached"], true);
}

#[tokio::test]
async fn after_a_write_the_recomputed_forecast_is_no_longer_served() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = text(&u.create_region("USA", "east").await, "region_id");
    u.allocate_hosts(&region, "h", 4).await;
    let path = format!("region/{region}");
    forecast(&u, &path).await;
    app.clock.advance(Duration::days(1));
    recompute(&app).await;

    // Another user's write changes nothing of alice's.
    app.user("bob").create_region("USA", "bobs").await;
    assert_eq!(forecast(&u, &path).await["cached"], true, "the recomputed forecast is served");
    u.allocate_hosts(&region, "h", 3).await;
    let after = forecast(&u, &path).await;
    assert_eq!((&after["cached"], &after["allocated"]), (&json!(false), &json!(7)), "the data version moved: {after}");
}

#[tokio::test]
async fn a_request_is_recorded_at_most_once_an_hour_and_only_when_it_succeeds() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = text(&u.create_region("USA", "east").await, "region_id");
    let start = app.clock.now();
    let path = format!("region/{region}?days_ahead=5");
    forecast(&u, &path).await;
    app.clock.advance(Duration::minutes(30));
    forecast(&u, &path).await;
    forecast(&u, &format!("{path}&fresh=true")).await;
    let recorded = requests_since(&app, start).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!((recorded[0].days_ahead, recorded[0].last_requested_at), (5, start), "not again within the hour");
    assert_eq!((recorded[0].user_id.as_str(), recorded[0].subject.id()), ("alice", region.as_str()));

    app.clock.advance(Duration::minutes(31));
    forecast(&u, &path).await;
    let recorded = requests_since(&app, start).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].last_requested_at, start + Duration::minutes(61), "an hour later, recorded again");

    let bob = app.user("bob");
    bob.get(&format!("/ipam/statistics/forecast/{path}")).await.assert_error(404, "not_found");
    bob.get("/ipam/statistics/forecast/country/Atlantis").await.assert_error(404, "not_found");
    assert_eq!(requests_since(&app, start).await.len(), 1, "a refused request is not recorded");
}
