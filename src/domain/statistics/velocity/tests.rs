//! Velocity windows and buckets.

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn ranges_parse_their_own_names_and_the_originals_and_refuse_the_rest() {
    let cases = [
        ("1d", VelocityRange::Day),
        ("DAY", VelocityRange::Day),
        ("7d", VelocityRange::Week),
        ("week", VelocityRange::Week),
        (" 30D ", VelocityRange::Month),
        ("month", VelocityRange::Month),
        ("90d", VelocityRange::Quarter),
    ];
    for (raw, expected) in cases {
        assert_eq!(VelocityRange::parse(raw), Ok(expected), "{raw:?}");
    }
    for bad in ["", "2d", "quarter", "30", "year"] {
        assert!(VelocityRange::parse(bad).unwrap_err().contains("1d, 7d, 30d, 90d"), "{bad:?}");
    }
    assert_eq!(VelocityRange::default().as_str(), "30d");
}

#[test]
fn one_day_is_24_hours_ending_with_the_current_one() {
    let w = VelocityWindow::new(VelocityRange::Day, t("2028-03-01T10:42:17Z"));
    assert_eq!(w.starts.len(), 24);
    assert_eq!((w.from(), w.to()), (t("2028-02-29T11:00:00Z"), t("2028-03-01T11:00:00Z")), "a leap day");
    assert_eq!(w.starts[23], t("2028-03-01T10:00:00Z"));
}

#[test]
fn longer_ranges_are_whole_utc_days_ending_today() {
    let w = VelocityWindow::new(VelocityRange::Week, t("2028-03-01T10:42:17Z"));
    assert_eq!(w.starts.len(), 7);
    assert_eq!((w.from(), w.to()), (t("2028-02-24T00:00:00Z"), t("2028-03-02T00:00:00Z")));
    assert_eq!(VelocityWindow::new(VelocityRange::Quarter, t("2028-03-01T00:00:00Z")).starts.len(), 90);
}

#[test]
fn every_bucket_is_listed_and_averages_are_per_bucket() {
    let now = t("2028-03-01T10:42:17Z");
    let w = VelocityWindow::new(VelocityRange::Week, now);
    let regions = [(t("2028-02-24T00:00:00Z"), 2), (t("2028-03-01T00:00:00Z"), 1), (t("2028-02-01T00:00:00Z"), 9)];
    let hosts = [(t("2028-02-27T00:00:00Z"), 10)];
    let v = velocity(&w, &regions, &hosts);
    let counts = |s: &[VelocityPoint]| s.iter().map(|p| p.count).collect::<Vec<_>>();
    assert_eq!(counts(&v.region_velocity), [2, 0, 0, 0, 0, 0, 1], "a day outside the window is ignored");
    assert_eq!(counts(&v.host_velocity), [0, 0, 0, 10, 0, 0, 0]);
    assert_eq!((v.total_regions_allocated, v.total_hosts_allocated), (3, 10));
    assert_eq!((v.avg_regions_per_period, v.avg_hosts_per_period), (0.43, 1.43), "3 / 7 and 10 / 7");
    assert_eq!((v.start_date, v.end_date), (t("2028-02-24T00:00:00Z"), now));
    assert_eq!(v.region_velocity[6].period, t("2028-03-01T00:00:00Z"));
}
