//! Allocation trends: a validated date range ([`TrendRange`]) and the pure bucketing of a daily
//! history into every day, ISO week or calendar month of it, zero-filled, with a summary.
//!
//! Rules: dates are UTC days and both ends of a range are inclusive. A bucket is labelled with
//! its natural first day (the day itself, the Monday of its ISO week, the 1st of its month) even
//! when the range starts later; the first and last buckets then count only the days inside the
//! range. Releases include retirements; net growth is allocations minus releases.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::DailyActivity;
use crate::domain::audit::AuditResource;
use crate::domain::country::CountryCode;

/// Days in the default range: the 30 days ending today, today included.
pub const DEFAULT_DAYS: u64 = 30;

/// The longest range, in days, that `day` grouping accepts.
pub const MAX_DAILY_DAYS: i64 = 366;

/// The longest range, in years, that `week` and `month` grouping accept: the end must be earlier
/// than the start plus this many years.
pub const MAX_GROUPED_YEARS: u32 = 10;

/// How days are grouped into buckets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One bucket per UTC day.
    #[default]
    Day,
    /// One bucket per ISO week (Monday to Sunday).
    Week,
    /// One bucket per calendar month.
    Month,
}

impl GroupBy {
    /// Parses `day`, `week` or `month` (case-insensitive).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            _ => Err("must be one of day, week, month".into()),
        }
    }

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The natural first day of the bucket holding `day`.
    pub fn bucket_start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the bucket after the one starting on `start` (`None` past the calendar).
    fn next(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            Self::Day => start.checked_add_days(Days::new(1)),
            Self::Week => start.checked_add_days(Days::new(7)),
            Self::Month => start.checked_add_months(Months::new(1)),
        }
    }
}

/// A validated range of UTC days, both ends inclusive, and its grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendRange {
    group_by: GroupBy,
    start: NaiveDate,
    end: NaiveDate,
}

impl TrendRange {
    /// The range from `start` to `end`; a missing end is `today`, a missing start the
    /// [`DEFAULT_DAYS`] ending at the end. Refused (with the parameter to blame): an end before
    /// the start, more than [`MAX_DAILY_DAYS`] days by day, [`MAX_GROUPED_YEARS`] or more by
    /// week or month.
    pub fn new(
        group_by: GroupBy,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, (&'static str, String)> {
        let end_field = if end.is_some() { "end_date" } else { "start_date" };
        let end = end.unwrap_or(today);
        let start = match start {
            Some(s) => s,
            None => end
                .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
                .ok_or(("end_date", "is too early for the default range".to_owned()))?,
        };
        if end < start {
            let problem = if end_field == "end_date" {
                "must not be earlier than start_date"
            } else {
                "must not be later than today when end_date is omitted"
            };
            return Err((end_field, problem.into()));
        }
        // Both ends are calendar days, so the day after the end exists up to the year 262143.
        end.checked_add_days(Days::new(1)).ok_or(("end_date", "is too late".to_owned()))?;
        match group_by {
            GroupBy::Day if (end - start).num_days() >= MAX_DAILY_DAYS => Err((
                end_field,
                format!("is too far from start_date: group_by=day covers at most {MAX_DAILY_DAYS} days"),
            )),
            GroupBy::Week | GroupBy::Month
                if start.checked_add_months(Months::new(12 * MAX_GROUPED_YEARS)).is_none_or(|limit| end >= limit) =>
            {
                Err((
                    end_field,
                    format!(
                        "is too far from start_date: group_by={} covers less than {MAX_GROUPED_YEARS} years",
                        group_by.as_str()
                    ),
                ))
            }
            _ => Ok(Self { group_by, start, end }),
        }
    }

    /// The grouping.
    pub fn group_by(&self) -> GroupBy {
        self.group_by
    }

    /// The first day.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The last day (inclusive).
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// Days in the range, both ends included.
    pub fn days(&self) -> u64 {
        (self.end - self.start).num_days().unsigned_abs() + 1
    }

    /// The first instant of the range (the start at 00:00Z, inclusive).
    pub fn from(&self) -> DateTime<Utc> {
        self.start.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The instant after the range (the day after the end at 00:00Z, exclusive).
    pub fn to(&self) -> DateTime<Utc> {
        let after = self.end.checked_add_days(Days::new(1)).unwrap_or(self.end);
        after.and_time(chrono::NaiveTime::MIN).and_utc()
    }
}

/// What a trend covers (`Ipam::trends`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendsQuery {
    /// The days and their grouping.
    pub range: TrendRange,
    /// Regions or hosts only; `None`: both.
    pub resource: Option<AuditResource>,
    /// Only this country, as each parameter that gave it (errors name it) with its code or
    /// name; several must name the same country. Empty: every country.
    pub country: Vec<(&'static str, String)>,
}

/// One bucket of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendPoint {
    /// The bucket's natural first day (may precede the range for the first bucket).
    pub period_start: NaiveDate,
    /// Allocations in the bucket's days inside the range.
    pub allocations: u64,
    /// Releases and retirements in those days.
    pub releases: u64,
    /// Allocations minus releases.
    pub net_growth: i64,
}

/// The totals of a trend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendSummary {
    /// Allocations over the range.
    pub total_allocations: u64,
    /// Releases and retirements over the range.
    pub total_releases: u64,
    /// Allocations minus releases.
    pub net_growth: i64,
    /// Allocations per day of the range, 2 decimals.
    pub average_daily_rate: f64,
    /// The range's first day.
    pub period_start: NaiveDate,
    /// The range's last day (inclusive).
    pub period_end: NaiveDate,
}

/// A user's allocation trend over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Trends {
    /// The range and its grouping.
    pub range: TrendRange,
    /// Regions or hosts only; `None`: both.
    pub resource: Option<AuditResource>,
    /// The country counted; `None`: all.
    pub country_code: Option<CountryCode>,
    /// Every bucket of the range, oldest first.
    pub time_series: Vec<TrendPoint>,
    /// The totals.
    pub summary: TrendSummary,
}

fn net(allocations: u64, releases: u64) -> i64 {
    i64::try_from(allocations).unwrap_or(i64::MAX).saturating_sub(i64::try_from(releases).unwrap_or(i64::MAX))
}

/// Every bucket of `range`, zero-filled, and the totals, from a daily history (days outside the
/// range are ignored; their order does not matter).
pub fn bucket(range: &TrendRange, history: &[DailyActivity]) -> (Vec<TrendPoint>, TrendSummary) {
    let group_by = range.group_by;
    let mut points = Vec::new();
    let mut start = Some(group_by.bucket_start(range.start));
    while let Some(s) = start.filter(|s| *s <= range.end) {
        points.push(TrendPoint { period_start: s, allocations: 0, releases: 0, net_growth: 0 });
        start = group_by.next(s);
    }
    for day in history.iter().filter(|d| (range.start..=range.end).contains(&d.day)) {
        let key = group_by.bucket_start(day.day);
        if let Ok(i) = points.binary_search_by_key(&key, |p| p.period_start) {
            points[i].allocations += day.allocations;
            points[i].releases += day.releases;
        }
    }
    for p in &mut points {
        p.net_growth = net(p.allocations, p.releases);
    }
    let total_allocations: u64 = points.iter().map(|p| p.allocations).sum();
    let total_releases: u64 = points.iter().map(|p| p.releases).sum();
    // Counts and day counts here are far below 2^52, so the conversions are exact.
    let rate = total_allocations as f64 / range.days() as f64;
    let summary = TrendSummary {
        total_allocations,
        total_releases,
        net_growth: net(total_allocations, total_releases),
        average_daily_rate: (rate * 100.0).round() / 100.0,
        period_start: range.start,
        period_end: range.end,
    };
    (points, summary)
}

#[cfg(test)]
mod tests;
