//! The bucketing of allocation history into trends.

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn act(day: &str, allocations: u64, releases: u64) -> DailyActivity {
    DailyActivity { day: d(day), allocations, releases }
}

fn range(g: GroupBy, start: &str, end: &str) -> TrendRange {
    TrendRange::new(g, Some(d(start)), Some(d(end)), d("2027-06-01")).unwrap()
}

fn series(points: &[TrendPoint]) -> Vec<(String, u64, u64, i64)> {
    points.iter().map(|p| (p.period_start.to_string(), p.allocations, p.releases, p.net_growth)).collect()
}

#[test]
fn every_day_is_a_bucket_and_days_without_activity_are_zeros() {
    let history = [act("2027-01-30", 3, 1), act("2027-02-01", 2, 4)];
    let (points, summary) = bucket(&range(GroupBy::Day, "2027-01-30", "2027-02-02"), &history);
    assert_eq!(
        series(&points),
        [
            ("2027-01-30".into(), 3, 1, 2),
            ("2027-01-31".into(), 0, 0, 0),
            ("2027-02-01".into(), 2, 4, -2),
            ("2027-02-02".into(), 0, 0, 0)
        ]
    );
    assert_eq!((summary.total_allocations, summary.total_releases, summary.net_growth), (5, 5, 0));
    assert_eq!(summary.average_daily_rate, 1.25, "5 allocations over 4 days");
    assert_eq!((summary.period_start, summary.period_end), (d("2027-01-30"), d("2027-02-02")));
}

#[test]
fn weeks_start_on_mondays_and_partial_edges_count_only_days_in_range() {
    // 2027-01-31 is a Sunday; 2027-02-01 a Monday.
    let history = [act("2027-01-24", 9, 9), act("2027-01-30", 1, 0), act("2027-01-31", 2, 1), act("2027-02-01", 4, 0)];
    let (points, summary) = bucket(&range(GroupBy::Week, "2027-01-30", "2027-02-02"), &history);
    assert_eq!(series(&points), [("2027-01-25".into(), 3, 1, 2), ("2027-02-01".into(), 4, 0, 4)]);
    assert_eq!(summary.total_allocations, 7, "the day before the range is not counted");
    assert_eq!(summary.average_daily_rate, 1.75);
}

#[test]
fn months_split_at_the_month_boundary_and_empty_months_are_listed() {
    let history = [act("2027-01-30", 1, 0), act("2027-01-31", 1, 1), act("2027-03-02", 5, 2)];
    let (points, summary) = bucket(&range(GroupBy::Month, "2027-01-15", "2027-03-10"), &history);
    assert_eq!(
        series(&points),
        [("2027-01-01".into(), 2, 1, 1), ("2027-02-01".into(), 0, 0, 0), ("2027-03-01".into(), 5, 2, 3)]
    );
    assert_eq!(summary.average_daily_rate, 0.13, "7 allocations over 55 days is 0.127");
}

#[test]
fn an_empty_history_is_all_zeros() {
    let (points, summary) = bucket(&range(GroupBy::Day, "2027-02-27", "2027-03-01"), &[]);
    assert_eq!(points.len(), 3, "2027 is not a leap year: Feb 27, 28, Mar 1");
    assert!(points.iter().all(|p| p.allocations == 0 && p.releases == 0 && p.net_growth == 0));
    assert_eq!((summary.total_allocations, summary.average_daily_rate), (0, 0.0));
}

#[test]
fn the_default_range_is_the_30_days_ending_today() {
    let r = TrendRange::new(GroupBy::Day, None, None, d("2027-03-10")).unwrap();
    assert_eq!((r.start(), r.end(), r.days()), (d("2027-02-09"), d("2027-03-10"), 30));
    assert_eq!(r.from().to_rfc3339(), "2027-02-09T00:00:00+00:00");
    assert_eq!(r.to().to_rfc3339(), "2027-03-11T00:00:00+00:00", "the day after the end, exclusive");
    let r = TrendRange::new(GroupBy::Day, None, Some(d("2027-01-30")), d("2027-03-10")).unwrap();
    assert_eq!(r.start(), d("2027-01-01"), "30 days ending at the given end");
    let r = TrendRange::new(GroupBy::Day, Some(d("2027-03-01")), None, d("2027-03-10")).unwrap();
    assert_eq!(r.end(), d("2027-03-10"), "a missing end is today");
}

#[test]
fn ranges_that_are_backwards_or_too_long_name_the_parameter() {
    let today = d("2027-03-10");
    let err = |g, s: &str, e: Option<&str>| TrendRange::new(g, Some(d(s)), e.map(d), today).unwrap_err().0;
    assert_eq!(err(GroupBy::Day, "2027-03-02", Some("2027-03-01")), "end_date");
    assert_eq!(err(GroupBy::Day, "2027-03-11", None), "start_date", "a start after today without an end");
    assert_eq!(err(GroupBy::Day, "2026-01-01", Some("2027-01-02")), "end_date", "367 days");
    assert!(TrendRange::new(GroupBy::Day, Some(d("2026-01-02")), Some(d("2027-01-02")), today).is_ok(), "366 days");
    assert_eq!(err(GroupBy::Week, "2020-01-01", Some("2030-01-01")), "end_date", "10 years");
    assert!(TrendRange::new(GroupBy::Month, Some(d("2020-01-01")), Some(d("2029-12-31")), today).is_ok());
    assert!(TrendRange::new(GroupBy::Week, Some(d("2027-03-10")), Some(d("2027-03-10")), today).is_ok(), "one day");
}

#[test]
fn group_by_parses_its_three_names_only() {
    assert_eq!(GroupBy::parse(" Week ").unwrap(), GroupBy::Week);
    assert_eq!(GroupBy::parse("month").unwrap().as_str(), "month");
    assert!(GroupBy::parse("year").is_err());
    assert_eq!(GroupBy::Week.bucket_start(d("2027-01-31")), d("2027-01-25"), "a Sunday belongs to the Monday before");
    assert_eq!(GroupBy::Week.bucket_start(d("2027-02-01")), d("2027-02-01"));
}
