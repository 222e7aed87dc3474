//! `GET /ipam/statistics/trends`: exact buckets over a history written day by day across a
//! month boundary and an ISO week boundary (zero-filled days, Monday weeks, calendar months),
//! releases and retirements together, the resource and country filters, isolation, the default
//! range and validation.

use chrono::{DateTime, Utc};
use ipam_tests::json::{keys, sorted, text};
use ipam_tests::{Caller, TestApp, spawn_app};
use serde_json::{Value, json};

/// Releases the hosts.
async fn release(u: &Caller<'_>, hosts: &[String]) {
    u.post("/ipam/hosts/bulk-release", json!({"host_ids": hosts, "reason": "decommissioned"})).await.assert_status(200);
}

/// Sets the service clock to 09:00Z on `day` (`YYYY-MM-DD`).
fn on(app: &TestApp, day: &str) {
    let at: DateTime<Utc> = format!("{day}T09:00:00Z").parse().expect("a day");
    app.clock.set(at);
}

/// Writes alice's history (2028-01-31 is a Monday; 2028-01-30 a Sunday), and bob's on the Monday;
/// leaves the clock on Wednesday 2028-02-02.
///
/// | day        | allocations            | releases                 |
/// |------------|------------------------|--------------------------|
/// | Sat 01-29  | USA region + 3 hosts   |                          |
/// | Sun 01-30  |                        |                          |
/// | Mon 01-31  | 2 USA hosts            | 1 USA host               |
/// | Tue 02-01  | IND region + 5 hosts, CAN region | CAN region retired |
/// | Wed 02-02  |                        | 2 IND hosts              |
async fn history(app: &TestApp) -> Caller<'_> {
    let u = app.user("alice");
    on(app, "2028-01-29");
    let usa = text(&u.create_region("USA", "east").await, "region_id");
    let first = u.allocate_hosts(&usa, "h", 3).await;
    on(app, "2028-01-31");
    u.allocate_hosts(&usa, "h", 2).await;
    release(&u, &first[..1]).await;
    let bob = app.user("bob");
    let theirs = text(&bob.create_region("IND", "pune").await, "region_id");
    bob.allocate_hosts(&theirs, "h", 4).await;
    on(app, "2028-02-01");
    let ind = text(&u.create_region("IND", "mumbai").await, "region_id");
    let in_india = u.allocate_hosts(&ind, "h", 5).await;
    let can = text(&u.create_region("CAN", "toronto").await, "region_id");
    u.delete(&format!("/ipam/regions/{can}?reason=closed")).await.assert_status(204);
    on(app, "2028-02-02");
    release(&u, &in_india[..2]).await;
    u
}

async fn trends(u: &Caller<'_>, query: &str) -> Value {
    u.get(&format!("/ipam/statistics/trends{query}")).await.assert_status(200).clone()
}

/// `(period_start, allocations, releases, net_growth)` of each bucket.
fn series(t: &Value) -> Vec<(String, i64, i64, i64)> {
    let points = t["time_series"].as_array().unwrap_or_else(|| panic!("no time_series in {t}"));
    let n = |p: &Value, k: &str| p[k].as_i64().unwrap_or_else(|| panic!("`{k}` in {p}"));
    points
        .iter()
        .map(|p| (text(p, "period_start"), n(p, "allocations"), n(p, "releases"), n(p, "net_growth")))
        .collect()
}

/// `(total_allocations, total_releases, net_growth)` of the summary.
fn totals(t: &Value) -> (Value, Value, Value) {
    let s = &t["summary"];
    (s["total_allocations"].clone(), s["total_releases"].clone(), s["net_growth"].clone())
}

const RANGE: &str = "start_date=2028-01-29&end_date=2028-02-02";

fn b(day: &str, allocations: i64, releases: i64) -> (String, i64, i64, i64) {
    (day.to_owned(), allocations, releases, allocations - releases)
}

#[tokio::test]
async fn daily_buckets_list_every_day_with_zeros_and_count_releases_and_retirements_together() {
    let app = spawn_app().await;
    let u = history(&app).await;
    let t = trends(&u, &format!("?{RANGE}")).await;
    assert_eq!(
        keys(&t),
        sorted(&["group_by", "start_date", "end_date", "resource_type", "country_code", "time_series", "summary"])
    );
    assert_eq!(
        (&t["group_by"], &t["start_date"], &t["end_date"], &t["resource_type"], &t["country_code"]),
        (&json!("day"), &json!("2028-01-29"), &json!("2028-02-02"), &Value::Null, &Value::Null),
        "{t}"
    );
    let expected = [
        b("2028-01-29", 4, 0),
        b("2028-01-30", 0, 0),
        b("2028-01-31", 2, 1),
        b("2028-02-01", 7, 1),
        b("2028-02-02", 0, 2),
    ];
    assert_eq!(series(&t), expected, "Sunday had no activity; bob's Monday is not alice's");
    assert_eq!(totals(&t), (json!(13), json!(4), json!(9)), "{t}");
    assert_eq!(t["summary"]["average_daily_rate"], 2.6, "13 allocations over 5 days");
    assert_eq!(
        (&t["summary"]["period_start"], &t["summary"]["period_end"]),
        (&json!("2028-01-29"), &json!("2028-02-02"))
    );
}

#[tokio::test]
async fn weekly_buckets_start_on_mondays_and_monthly_buckets_split_at_the_month() {
    let app = spawn_app().await;
    let u = history(&app).await;
    let weeks = trends(&u, &format!("?group_by=week&{RANGE}")).await;
    assert_eq!(weeks["group_by"], "week");
    assert_eq!(
        series(&weeks),
        [b("2028-01-24", 4, 0), b("2028-01-31", 9, 4)],
        "Saturday and Sunday in the week of Monday the 24th (labelled before the range starts); Monday on"
    );
    let months = trends(&u, &format!("?group_by=MONTH&{RANGE}")).await;
    assert_eq!(months["group_by"], "month");
    assert_eq!(series(&months), [b("2028-01-01", 6, 1), b("2028-02-01", 7, 3)], "January's 29th–31st, then February");
    for t in [&weeks, &months] {
        assert_eq!(totals(t), (json!(13), json!(4), json!(9)), "the same totals whatever the grouping: {t}");
    }
    // A month without activity is still listed.
    let quarter = trends(&u, "?group_by=month&start_date=2027-12-15&end_date=2028-03-01").await;
    assert_eq!(
        series(&quarter),
        [b("2027-12-01", 0, 0), b("2028-01-01", 6, 1), b("2028-02-01", 7, 3), b("2028-03-01", 0, 0)]
    );
    assert_eq!(quarter["summary"]["average_daily_rate"], 0.17, "13 over 78 days");
}

#[tokio::test]
async fn resource_type_and_country_filters_count_only_what_they_name() {
    let app = spawn_app().await;
    let u = history(&app).await;
    let hosts = trends(&u, &format!("?resource_type=host&{RANGE}")).await;
    assert_eq!(hosts["resource_type"], "host");
    assert_eq!(totals(&hosts), (json!(10), json!(3), json!(7)), "no regions, not the CAN retirement: {hosts}");
    let regions = trends(&u, &format!("?resource_type=region&{RANGE}")).await;
    assert_eq!(totals(&regions), (json!(3), json!(1), json!(2)), "{regions}");

    for query in ["country=IND", "country=india", "country_code=IND", "country=India&country_code=ind"] {
        let t = trends(&u, &format!("?{query}&{RANGE}")).await;
        assert_eq!(t["country_code"], "IND", "{query}");
        assert_eq!(totals(&t), (json!(6), json!(2), json!(4)), "{query}: only alice's Indian region and hosts: {t}");
        assert_eq!(
            t["time_series"][3],
            json!({"period_start": "2028-02-01", "allocations": 6, "releases": 0, "net_growth": 6})
        );
    }
    let canada = trends(&u, &format!("?country=Canada&resource_type=region&{RANGE}")).await;
    assert_eq!(totals(&canada), (json!(1), json!(1), json!(0)), "created and retired the same day: {canada}");
    let usa_hosts = trends(&u, &format!("?country_code=usa&resource_type=host&group_by=week&{RANGE}")).await;
    assert_eq!(series(&usa_hosts), [b("2028-01-24", 3, 0), b("2028-01-31", 2, 1)]);
}

#[tokio::test]
async fn another_users_activity_is_never_counted_and_a_new_user_sees_zeros() {
    let app = spawn_app().await;
    history(&app).await;
    let bob = trends(&app.user("bob"), &format!("?{RANGE}")).await;
    assert_eq!(totals(&bob), (json!(5), json!(0), json!(5)), "bob's region and 4 hosts only: {bob}");
    assert_eq!(series(&bob)[2], b("2028-01-31", 5, 0));
    let carol = trends(&app.user("carol"), &format!("?group_by=week&{RANGE}")).await;
    assert_eq!(series(&carol), [b("2028-01-24", 0, 0), b("2028-01-31", 0, 0)]);
    assert_eq!(carol["summary"]["average_daily_rate"], 0.0);
}

#[tokio::test]
async fn the_default_range_is_the_30_days_ending_today_inclusive() {
    let app = spawn_app().await;
    let u = history(&app).await;
    let t = trends(&u, "").await;
    assert_eq!(
        (&t["group_by"], &t["start_date"], &t["end_date"]),
        (&json!("day"), &json!("2028-01-04"), &json!("2028-02-02"))
    );
    let s = series(&t);
    assert_eq!(s.len(), 30, "30 daily buckets, today included: {t}");
    assert_eq!((s[0].0.as_str(), s[29].clone()), ("2028-01-04", b("2028-02-02", 0, 2)));
    assert_eq!(totals(&t), (json!(13), json!(4), json!(9)));
    assert_eq!(t["summary"]["average_daily_rate"], 0.43, "13 over 30 days");
    // RFC 3339 bounds count their UTC day; a missing start is 30 days before the end.
    let t = trends(&u, "?end_date=2028-01-31T23:30:00-02:00").await;
    assert_eq!((&t["start_date"], &t["end_date"]), (&json!("2028-01-03"), &json!("2028-02-01")), "{t}");
    assert_eq!(totals(&t), (json!(13), json!(2), json!(11)));
}

/// The 422's details for `query`.
async fn problems(u: &Caller<'_>, query: &str) -> Value {
    let e = u.get(&format!("/ipam/statistics/trends?{query}")).await.assert_error(422, "validation_error").clone();
    e["details"].clone()
}

#[tokio::test]
async fn bad_parameters_are_each_named_in_one_422() {
    let app = spawn_app().await;
    on(&app, "2028-02-02");
    let u = app.user("alice");
    let d = problems(&u, "group_by=year&start_date=yesterday&end_date=2028-13-01&resource_type=quota").await;
    assert_eq!(keys(&d), sorted(&["group_by", "start_date", "end_date", "resource_type"]), "{d}");
    assert!(d["group_by"].as_str().unwrap().contains("day, week, month"), "{d}");
    assert!(d["resource_type"].as_str().unwrap().contains("region or host"), "{d}");

    let d = problems(&u, "start_date=2028-01-10&end_date=2028-01-09").await;
    assert!(d["end_date"].as_str().unwrap().contains("earlier than start_date"), "{d}");
    let d = problems(&u, "start_date=2028-02-03").await;
    assert!(d["start_date"].as_str().unwrap().contains("today"), "a start after today without an end: {d}");
    let d = problems(&u, "start_date=2027-01-01&end_date=2028-01-02").await;
    assert!(d["end_date"].as_str().unwrap().contains("366 days"), "367 days by day: {d}");
    trends(&u, "?start_date=2027-01-01&end_date=2028-01-01").await;
    let d = problems(&u, "group_by=week&start_date=2018-01-01&end_date=2028-01-01").await;
    assert!(d["end_date"].as_str().unwrap().contains("10 years"), "{d}");
    let nine_years = trends(&u, "?group_by=month&start_date=2019-01-01&end_date=2028-02-02").await;
    assert_eq!(series(&nine_years).len(), 110, "every month from January 2019 to February 2028");

    let d = problems(&u, "country=USA&country_code=IND").await;
    assert!(d["country_code"].as_str().unwrap().contains("same country"), "{d}");
    trends(&u, "?country=United%20States&country_code=USA").await;
    assert!(problems(&u, "country=Atlantis").await["country"].as_str().unwrap().contains("unknown country"));
    assert!(problems(&u, "country_code=XX").await["country_code"].as_str().unwrap().contains("unknown country"));
    assert!(problems(&u, "country=%20").await["country"].as_str().unwrap().contains("empty"));

    let d = problems(&u, "days=7").await;
    assert!(d["query"].as_str().unwrap().contains("days"), "an unknown parameter is named: {d}");
    app.anonymous().get("/ipam/statistics/trends").await.assert_error(401, "unauthorized");
}
