//! Capacity forecasts: a least-squares line through a resource's cumulative net allocations
//! (allocations − releases, per UTC day), and what it says about the resource's exhaustion.
//!
//! The method, as the README states it:
//! - The history covers the last [`FORECAST_PERIOD_DAYS`] UTC days, today included. The series
//!   starts on the first day with activity in that window (days before a resource was used say
//!   nothing about its growth) and runs to today, every day present (days without activity
//!   add zero). Each point is the running total of net allocations.
//! - A least-squares line is fitted through it: its slope is the `daily_allocation_rate`
//!   (rounded to 2 decimals); `r_squared` is its coefficient of determination (4 decimals).
//!   A series without variance (a perfectly flat history, or a single day) is fitted exactly
//!   by a flat line: R² = 1. Without any activity in the window there is nothing to fit: rate
//!   0, R² 0.
//! - Every derived figure uses the rounded rate, so the figures agree with each other.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::DailyActivity;
use crate::domain::RegionId;

mod requests;

pub use requests::{
    ForecastRequest, ForecastSubject, RECOMPUTE_WINDOW_DAYS, RECORD_INTERVAL_MINUTES, recompute_cutoff,
};

/// How many UTC days of history a forecast fits (today included).
pub const FORECAST_PERIOD_DAYS: u32 = 90;

/// The fitting method reported with each forecast.
pub const METHOD: &str = "least_squares";

/// The most days a forecast projects ahead (`days_ahead` is 1..=this).
pub const MAX_DAYS_AHEAD: u32 = 365;

/// `days_ahead` when the client gives none.
pub const DEFAULT_DAYS_AHEAD: u32 = 30;

/// Exhaustion closer than this many days is critical.
pub const CRITICAL_DAYS: u64 = 30;

/// Exhaustion closer than this many days (and not critical) is a warning.
pub const WARNING_DAYS: u64 = 90;

/// What a forecast is about, as the client named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForecastTarget {
    /// A country, by code or name (any case): its regions.
    Country(String),
    /// One of the caller's regions: its hosts.
    Region(RegionId),
}

/// The kind of resource forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastResource {
    /// A country: regions out of its region capacity.
    Country,
    /// A region: hosts out of 254.
    Region,
}

impl ForecastResource {
    /// What is counted, plural.
    fn unit(self) -> &'static str {
        match self {
            Self::Country => "regions",
            Self::Region => "hosts",
        }
    }

    /// The name of the resource in a sentence.
    fn noun(self) -> &'static str {
        match self {
            Self::Country => "the country",
            Self::Region => "the region",
        }
    }
}

/// How far a forecast can be trusted.
///
/// The rule (on the reported, rounded `r_squared`):
/// - `insufficient_data`: fewer than 3 days with activity (the figures are still given);
/// - `high`: at least 20 days with activity and R² ≥ 0.8;
/// - `medium`: at least 7 days with activity and R² ≥ 0.5;
/// - `low`: otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Fewer than 3 days with activity.
    InsufficientData,
    /// Few days or a poor fit.
    Low,
    /// At least 7 days and R² ≥ 0.5.
    Medium,
    /// At least 20 days and R² ≥ 0.8.
    High,
}

impl Confidence {
    /// The confidence of a fit over `data_points` days with activity and `r_squared`.
    pub fn of(data_points: u32, r_squared: f64) -> Self {
        match data_points {
            n if n < 3 => Self::InsufficientData,
            n if n >= 20 && r_squared >= 0.8 => Self::High,
            n if n >= 7 && r_squared >= 0.5 => Self::Medium,
            _ => Self::Low,
        }
    }
}

/// What a forecast starts from: the history and the present state of the resource.
#[derive(Debug, Clone)]
pub struct ForecastInput<'a> {
    /// The kind of resource.
    pub resource: ForecastResource,
    /// Its canonical id (country code or region id).
    pub resource_id: String,
    /// Daily activity, oldest first (days outside the window are ignored).
    pub history: &'a [DailyActivity],
    /// Allocated now (hosts of a region, regions of a country).
    pub allocated: u64,
    /// Capacity (254 hosts, or the country's region capacity).
    pub capacity: u64,
    /// How many days ahead `projected_utilization` looks.
    pub days_ahead: u32,
}

/// A capacity forecast (serialised as is into the result cache).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Country or region.
    pub resource_type: ForecastResource,
    /// Country code or region id.
    pub resource_id: String,
    /// Always [`METHOD`].
    pub method: String,
    /// Always [`FORECAST_PERIOD_DAYS`].
    pub forecast_period_days: u32,
    /// Days ahead of the projection.
    pub days_ahead: u32,
    /// Days with any activity in the window.
    pub data_points: u32,
    /// Slope of the fitted line: net allocations per day (2 decimals).
    pub daily_allocation_rate: f64,
    /// Coefficient of determination of the fit, 0..=1 (4 decimals).
    pub r_squared: f64,
    /// How far the forecast can be trusted.
    pub confidence_level: Confidence,
    /// Capacity of the resource.
    pub capacity: u64,
    /// Allocated now.
    pub allocated: u64,
    /// Capacity − allocated.
    pub remaining: u64,
    /// Allocated of capacity, percent (2 decimals).
    pub current_utilization: f64,
    /// Utilisation `days_ahead` days from now on the fitted rate, percent, 0..=100 (2 decimals).
    pub projected_utilization: f64,
    /// Whole days until nothing remains (0 when full); `None` when not growing.
    pub days_until_exhaustion: Option<u64>,
    /// Today plus `days_until_exhaustion` (a UTC date, `YYYY-MM-DD`).
    pub estimated_exhaustion_date: Option<NaiveDate>,
    /// What to do, in a sentence.
    pub recommendation: String,
    /// When the forecast was computed.
    pub generated_at: DateTime<Utc>,
}

/// The first day of the window ending on `today` (inclusive).
pub fn window_start(today: NaiveDate) -> NaiveDate {
    today - Days::new(u64::from(FORECAST_PERIOD_DAYS - 1))
}

/// Cumulative net allocations per day, from the first active day of the window to `today`;
/// empty without activity in the window.
pub fn cumulative_series(history: &[DailyActivity], today: NaiveDate) -> Vec<f64> {
    let start = window_start(today);
    let active: Vec<&DailyActivity> = history.iter().filter(|d| d.day >= start && d.day <= today).collect();
    let Some(first) = active.iter().map(|d| d.day).min() else { return Vec::new() };
    let mut series = Vec::new();
    let mut total = 0i64;
    let mut day = first;
    while day <= today {
        for d in active.iter().filter(|d| d.day == day) {
            total += d.allocations as i64 - d.releases as i64;
        }
        series.push(total as f64);
        day = day + Days::new(1);
    }
    series
}

/// The least-squares slope of `ys` over x = 0, 1, … and its R² (unrounded). A single point
/// or a series without variance gives slope 0 (or the exact slope) and R² 1; no points give
/// (0, 0).
pub fn least_squares(ys: &[f64]) -> (f64, f64) {
    let n = ys.len() as f64;
    if ys.is_empty() {
        return (0.0, 0.0);
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let (dx, dy) = (i as f64 - mean_x, y - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    // A flat series is explained completely by a flat line.
    let r_squared = if syy <= f64::EPSILON * n { 1.0 } else { (sxy * sxy / (sxx * syy)).clamp(0.0, 1.0) };
    (slope, r_squared)
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    // `+ 0.0` turns -0.0 into 0.0.
    (value * scale).round() / scale + 0.0
}

/// The forecast of `input` on `now`'s UTC day.
pub fn forecast(input: &ForecastInput<'_>, now: DateTime<Utc>) -> Forecast {
    let today = now.date_naive();
    let start = window_start(today);
    let data_points = input
        .history
        .iter()
        .filter(|d| d.day >= start && d.day <= today && (d.allocations > 0 || d.releases > 0))
        .map(|d| d.day)
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u32;
    let (slope, r2) = least_squares(&cumulative_series(input.history, today));
    let rate = round_to(slope, 2);
    let r_squared = round_to(r2, 4);
    let remaining = input.capacity.saturating_sub(input.allocated);
    let share = |allocated: f64| {
        if input.capacity == 0 {
            0.0
        } else {
            round_to((allocated * 100.0 / input.capacity as f64).clamp(0.0, 100.0), 2)
        }
    };
    // In hundredths, so that the days follow from the reported rate without float noise.
    let rate_cents = (rate * 100.0).round() as i64;
    let days_until_exhaustion = if remaining == 0 {
        Some(0)
    } else if rate_cents > 0 {
        Some((remaining * 100).div_ceil(rate_cents as u64))
    } else {
        None
    };
    let estimated_exhaustion_date = days_until_exhaustion.and_then(|d| today.checked_add_days(Days::new(d)));
    let projected = input.allocated as f64 + rate * f64::from(input.days_ahead);
    let confidence_level = Confidence::of(data_points, r_squared);
    let recommendation =
        recommend(input, rate, remaining, days_until_exhaustion, estimated_exhaustion_date, data_points);
    Forecast {
        resource_type: input.resource,
        resource_id: input.resource_id.clone(),
        method: METHOD.to_owned(),
        forecast_period_days: FORECAST_PERIOD_DAYS,
        days_ahead: input.days_ahead,
        data_points,
        daily_allocation_rate: rate,
        r_squared,
        confidence_level,
        capacity: input.capacity,
        allocated: input.allocated,
        remaining,
        current_utilization: share(input.allocated as f64),
        projected_utilization: share(projected),
        days_until_exhaustion,
        estimated_exhaustion_date,
        recommendation,
        generated_at: now,
    }
}

/// The sentence: exhausted, critical (< 30 days), warning (< 90 days), healthy, flat or
/// shrinking; with a caveat when there is too little data.
fn recommend(
    input: &ForecastInput<'_>,
    rate: f64,
    remaining: u64,
    days: Option<u64>,
    date: Option<NaiveDate>,
    data_points: u32,
) -> String {
    let (unit, noun) = (input.resource.unit(), input.resource.noun());
    let mut text = match (remaining, days, date) {
        (0, ..) => format!(
            "Critical: {noun} is full ({} of {} {unit} allocated); release {unit} or allocate elsewhere.",
            input.allocated, input.capacity
        ),
        (_, Some(d), Some(date)) if d < CRITICAL_DAYS => format!(
            "Critical: at {rate:.2} {unit} per day, {noun} runs out in {d} days (on {date}); add capacity or release {unit} now."
        ),
        (_, Some(d), Some(date)) if d < WARNING_DAYS => format!(
            "Warning: at {rate:.2} {unit} per day, {noun} runs out in {d} days (on {date}); plan more capacity."
        ),
        (_, Some(d), Some(date)) => format!(
            "Healthy: at {rate:.2} {unit} per day, {noun} lasts {d} more days (until {date}); no action needed."
        ),
        _ if rate < 0.0 => format!(
            "Healthy: releases outpace allocations ({rate:.2} {unit} per day); {noun} is not projected to run out."
        ),
        _ if data_points == 0 => {
            format!("Healthy: no activity in the last {FORECAST_PERIOD_DAYS} days; {noun} is not projected to run out.")
        }
        _ => format!(
            "Healthy: no net growth in the last {FORECAST_PERIOD_DAYS} days; {noun} is not projected to run out."
        ),
    };
    if Confidence::of(data_points, 1.0) == Confidence::InsufficientData {
        text.push_str(&format!(" Only {data_points} day(s) with activity: treat this as indicative."));
    }
    text
}

#[cfg(test)]
mod tests;
