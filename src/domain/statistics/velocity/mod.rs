//! Allocation velocity: how many regions and hosts a user allocated per hour of the last day or
//! per day of the last 7, 30 or 90, every bucket present (zero-filled), with totals and
//! averages per bucket.
//!
//! Rules: buckets are UTC hours or UTC days and end with the one holding `now` (which is
//! partial). `1d` is the 24 hours whose last one holds `now`; `7d`, `30d`, `90d` are that many
//! days, today the last. An allocation is an audited creation, so allocations released since
//! still count. Averages are totals over the number of buckets, 2 decimals.

use chrono::{DateTime, DurationRound, NaiveTime, TimeDelta, Utc};

/// The window a velocity covers (`time_range`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VelocityRange {
    /// `1d`: the last 24 hours, by hour.
    Day,
    /// `7d`: the last 7 days, by day.
    Week,
    /// `30d` (the default): the last 30 days, by day.
    #[default]
    Month,
    /// `90d`: the last 90 days, by day.
    Quarter,
}

/// The values `time_range` accepts, for messages.
pub const RANGES: &str = "1d, 7d, 30d, 90d (or day, week, month)";

impl VelocityRange {
    /// Parses `1d|7d|30d|90d`, or the original API's `day|week|month` (case-insensitive).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "1d" | "day" => Ok(Self::Day),
            "7d" | "week" => Ok(Self::Week),
            "30d" | "month" => Ok(Self::Month),
            "90d" => Ok(Self::Quarter),
            _ => Err(format!("must be one of {RANGES}")),
        }
    }

    /// The canonical name (`1d`, `7d`, `30d`, `90d`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "1d",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Quarter => "90d",
        }
    }

    /// The size of its buckets.
    pub fn granularity(self) -> Granularity {
        match self {
            Self::Day => Granularity::Hour,
            _ => Granularity::Day,
        }
    }

    /// How many buckets it has.
    pub fn buckets(self) -> u32 {
        match self {
            Self::Day => 24,
            Self::Week => 7,
            Self::Month => 30,
            Self::Quarter => 90,
        }
    }
}

/// The size of a velocity's buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// UTC hours.
    Hour,
    /// UTC days.
    Day,
}

impl Granularity {
    /// The wire name (`period_label`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    fn step(self) -> TimeDelta {
        match self {
            Self::Hour => TimeDelta::hours(1),
            Self::Day => TimeDelta::days(1),
        }
    }

    /// The first instant of the bucket holding `t`.
    pub fn bucket_start(self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            // Truncating to a whole hour cannot overflow for any representable instant.
            Self::Hour => t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t),
            Self::Day => t.date_naive().and_time(NaiveTime::MIN).and_utc(),
        }
    }
}

/// The buckets of a range at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VelocityWindow {
    /// The range.
    pub range: VelocityRange,
    /// Each bucket's first instant, oldest first; the last holds `now`.
    pub starts: Vec<DateTime<Utc>>,
    /// The moment the window ends (the request's time).
    pub now: DateTime<Utc>,
}

impl VelocityWindow {
    /// The buckets of `range` ending with the one that holds `now`.
    pub fn new(range: VelocityRange, now: DateTime<Utc>) -> Self {
        let g = range.granularity();
        let last = g.bucket_start(now);
        let starts = (0..range.buckets()).rev().map(|back| last - g.step() * back as i32).collect();
        Self { range, starts, now }
    }

    /// The first instant counted (inclusive).
    pub fn from(&self) -> DateTime<Utc> {
        self.starts.first().copied().unwrap_or(self.now)
    }

    /// The end of the last bucket (exclusive): nothing audited is later than `now`, so this
    /// counts the same as `now` would, and whole buckets make the stores' grouping exact.
    pub fn to(&self) -> DateTime<Utc> {
        self.starts.last().map_or(self.now, |s| *s + self.range.granularity().step())
    }
}

/// One bucket's allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VelocityPoint {
    /// The bucket's first instant (an hour, or a day at 00:00Z).
    pub period: DateTime<Utc>,
    /// Allocations in it.
    pub count: u64,
}

/// A user's allocation velocity.
#[derive(Debug, Clone, PartialEq)]
pub struct Velocity {
    /// The range.
    pub range: VelocityRange,
    /// The first instant counted.
    pub start_date: DateTime<Utc>,
    /// The request's time.
    pub end_date: DateTime<Utc>,
    /// Regions allocated in the window.
    pub total_regions_allocated: u64,
    /// Hosts allocated in the window.
    pub total_hosts_allocated: u64,
    /// Regions per bucket, 2 decimals.
    pub avg_regions_per_period: f64,
    /// Hosts per bucket, 2 decimals.
    pub avg_hosts_per_period: f64,
    /// Regions per bucket, every bucket, oldest first.
    pub region_velocity: Vec<VelocityPoint>,
    /// Hosts per bucket, every bucket, oldest first.
    pub host_velocity: Vec<VelocityPoint>,
}

/// Every bucket of `window` with the allocations of `history` (`(bucket start, count)`; any
/// order, entries outside the window ignored).
fn series(window: &VelocityWindow, history: &[(DateTime<Utc>, u64)]) -> Vec<VelocityPoint> {
    let mut points: Vec<VelocityPoint> = window.starts.iter().map(|s| VelocityPoint { period: *s, count: 0 }).collect();
    for (start, count) in history {
        if let Ok(i) = points.binary_search_by_key(start, |p| p.period) {
            points[i].count += count;
        }
    }
    points
}

fn average(total: u64, buckets: usize) -> f64 {
    if buckets == 0 {
        return 0.0;
    }
    // Counts and bucket counts here are far below 2^52, so the conversions are exact.
    ((total as f64 / buckets as f64) * 100.0).round() / 100.0
}

/// The velocity of `window` from the regions' and the hosts' allocations per bucket.
pub fn velocity(window: &VelocityWindow, regions: &[(DateTime<Utc>, u64)], hosts: &[(DateTime<Utc>, u64)]) -> Velocity {
    let region_velocity = series(window, regions);
    let host_velocity = series(window, hosts);
    let total_regions_allocated = region_velocity.iter().map(|p| p.count).sum();
    let total_hosts_allocated = host_velocity.iter().map(|p| p.count).sum();
    let n = window.starts.len();
    Velocity {
        range: window.range,
        start_date: window.from(),
        end_date: window.now,
        total_regions_allocated,
        total_hosts_allocated,
        avg_regions_per_period: average(total_regions_allocated, n),
        avg_hosts_per_period: average(total_hosts_allocated, n),
        region_velocity,
        host_velocity,
    }
}

#[cfg(test)]
mod tests;
