//! The least-squares capacity forecast.

use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 31, 15, 0, 0).unwrap()
}

/// Activity `days_ago` days before `now()`.
fn day(days_ago: u64, allocations: u64, releases: u64) -> DailyActivity {
    DailyActivity { day: now().date_naive() - Days::new(days_ago), allocations, releases }
}

fn region(history: &[DailyActivity], allocated: u64) -> Forecast {
    let input = ForecastInput {
        resource: ForecastResource::Region,
        resource_id: "r".into(),
        history,
        allocated,
        capacity: 254,
        days_ahead: 30,
    };
    forecast(&input, now())
}

#[test]
fn a_linear_history_gives_its_slope_a_perfect_fit_and_the_exhaustion_day() {
    let history: Vec<_> = (0..10).rev().map(|ago| day(ago, 10, 0)).collect();
    let f = region(&history, 100);
    assert_eq!((f.daily_allocation_rate, f.r_squared, f.data_points), (10.0, 1.0, 10));
    assert_eq!((f.remaining, f.days_until_exhaustion), (154, Some(16)), "154 / 10 = 15.4, rounded up");
    assert_eq!(f.estimated_exhaustion_date, NaiveDate::from_ymd_opt(2026, 4, 16));
    assert_eq!((f.current_utilization, f.projected_utilization), (39.37, 100.0), "100 + 300 is capped");
    assert_eq!(f.confidence_level, Confidence::Medium);
    assert!(f.recommendation.starts_with("Critical") && f.recommendation.contains("16 days"), "{}", f.recommendation);
    assert_eq!((f.method.as_str(), f.forecast_period_days, f.generated_at), (METHOD, 90, now()));
}

#[test]
fn the_series_starts_at_the_first_activity_and_runs_to_today() {
    assert_eq!(cumulative_series(&[day(3, 5, 0), day(1, 2, 4)], now().date_naive()), [5.0, 5.0, 3.0, 3.0]);
    assert!(cumulative_series(&[], now().date_naive()).is_empty());
    // Activity older than 90 days (or in the future) is outside the window.
    let old = [day(90, 50, 0), day(89, 1, 0), DailyActivity { day: now().date_naive() + Days::new(1), ..day(0, 9, 0) }];
    assert_eq!(cumulative_series(&old, now().date_naive()).len(), 90);
    assert_eq!(region(&old, 0).data_points, 1);
}

#[test]
fn least_squares_fits_noisy_data_and_defines_flat_series() {
    let (slope, r2) = least_squares(&[1.0, 3.0, 2.0, 4.0]);
    assert!((slope - 0.8).abs() < 1e-12 && (r2 - 0.64).abs() < 1e-12, "{slope} {r2}");
    assert_eq!(least_squares(&[7.0, 7.0, 7.0]), (0.0, 1.0), "a flat series is fitted exactly");
    assert_eq!(least_squares(&[7.0]), (0.0, 1.0));
    assert_eq!(least_squares(&[]), (0.0, 0.0), "nothing to fit");
}

#[test]
fn a_shrinking_history_never_runs_out_and_says_why() {
    let f = region(&[day(4, 100, 0), day(3, 0, 10), day(2, 0, 10), day(1, 0, 10), day(0, 0, 10)], 60);
    assert_eq!(f.daily_allocation_rate, -10.0);
    assert_eq!((f.days_until_exhaustion, f.estimated_exhaustion_date), (None, None));
    assert_eq!(f.projected_utilization, 0.0, "60 − 300 stops at 0");
    assert!(f.recommendation.contains("releases outpace allocations"), "{}", f.recommendation);
}

#[test]
fn a_flat_history_projects_the_present_and_a_full_resource_is_exhausted() {
    let flat = region(&[day(5, 20, 0), day(2, 3, 3)], 20);
    assert_eq!((flat.daily_allocation_rate, flat.r_squared, flat.data_points), (0.0, 1.0, 2));
    assert_eq!((flat.days_until_exhaustion, flat.projected_utilization), (None, 7.87));
    assert!(flat.recommendation.contains("no net growth"), "{}", flat.recommendation);
    assert_eq!(flat.confidence_level, Confidence::InsufficientData);

    let full = region(&[day(0, 254, 0)], 254);
    assert_eq!((full.remaining, full.days_until_exhaustion), (0, Some(0)));
    assert_eq!(full.estimated_exhaustion_date, Some(now().date_naive()));
    assert!(full.recommendation.contains("is full"), "{}", full.recommendation);

    let idle = region(&[], 0);
    assert_eq!((idle.daily_allocation_rate, idle.r_squared, idle.data_points), (0.0, 0.0, 0));
    assert!(idle.recommendation.contains("no activity"), "{}", idle.recommendation);
}

#[test]
fn days_follow_from_the_reported_rate_and_set_the_severity() {
    // 1 host every third day: rate 0.33 (not 1/3), 254 − 4 = 250 left: ceil(250 / 0.33) = 758.
    let history: Vec<_> = (0..30).rev().filter(|ago| ago % 3 == 0).map(|ago| day(ago, 1, 0)).collect();
    let slow = region(&history, 4);
    assert_eq!(slow.daily_allocation_rate, 0.33);
    assert_eq!(slow.days_until_exhaustion, Some(758));
    assert!(slow.recommendation.starts_with("Healthy"), "{}", slow.recommendation);
    let warning = region(&[day(1, 2, 0), day(0, 2, 0)], 100);
    assert_eq!(warning.days_until_exhaustion, Some(77), "154 / 2");
    assert!(warning.recommendation.starts_with("Warning"), "{}", warning.recommendation);
}

#[test]
fn confidence_follows_the_documented_rule() {
    assert_eq!(Confidence::of(2, 1.0), Confidence::InsufficientData);
    assert_eq!(Confidence::of(3, 1.0), Confidence::Low);
    assert_eq!(Confidence::of(7, 0.5), Confidence::Medium);
    assert_eq!(Confidence::of(19, 0.99), Confidence::Medium);
    assert_eq!(Confidence::of(20, 0.8), Confidence::High);
    assert_eq!(Confidence::of(20, 0.79), Confidence::Medium);
    assert_eq!(Confidence::of(30, 0.49), Confidence::Low);
    assert_eq!(serde_json::to_value(Confidence::InsufficientData).unwrap(), "insufficient_data");
}
