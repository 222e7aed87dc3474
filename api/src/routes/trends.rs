//! `GET /ipam/statistics/trends`: the caller's allocations and releases per day, ISO week or
//! calendar month over a range of UTC days, every bucket listed (zero-filled), with totals.
//! Computed on every request (not cached); standard rate class.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use ipam_core::domain::audit::AuditResource;
use ipam_core::domain::statistics::trends::{GroupBy, TrendPoint, TrendRange, TrendSummary, Trends, TrendsQuery};
use ipam_core::error::FieldErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Read};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppQuery, parse_time};
use crate::state::AppState;

/// The trends route (standard class).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(trends))
}

/// What the trend covers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrendsParams {
    /// `day` (default), `week` (ISO weeks, Monday first) or `month` (calendar months).
    group_by: Option<String>,
    /// First UTC day, inclusive: a date (`2026-01-31`) or RFC 3339 (its UTC day counts).
    /// Default: 29 days before the end (30 days in all).
    start_date: Option<String>,
    /// Last UTC day, inclusive, like `start_date`. Default: today. At most 366 days after the
    /// start by day, less than 10 years by week or month.
    end_date: Option<String>,
    /// `region` or `host` (default: both).
    resource_type: Option<String>,
    /// Only this country: code or name, case-insensitive (an unknown country is a 422).
    country: Option<String>,
    /// Alias of `country`; both may be given only if they name the same country.
    country_code: Option<String>,
}

impl TrendsParams {
    /// The query, every problem reported at once; `today` fills the default range.
    fn parse(self, today: NaiveDate) -> ApiResult<TrendsQuery> {
        let mut e = FieldErrors::new();
        let group_by = match &self.group_by {
            Some(g) => e.check("group_by", GroupBy::parse(g)),
            None => Some(GroupBy::Day),
        };
        let date = |e: &mut FieldErrors, field: &str, raw: &Option<String>| match raw {
            Some(s) => e.check(field, parse_time(s, false).map(|t| t.date_naive())).map(Some),
            None => Some(None),
        };
        let start = date(&mut e, "start_date", &self.start_date);
        let end = date(&mut e, "end_date", &self.end_date);
        let resource = match self.resource_type.as_deref().map(|r| r.trim().to_ascii_lowercase()) {
            None => None,
            Some(r) if r == "region" => Some(AuditResource::Region),
            Some(r) if r == "host" => Some(AuditResource::Host),
            Some(_) => {
                e.add("resource_type", "must be region or host");
                None
            }
        };
        let country = country(&mut e, self.country, self.country_code);
        let range = match (group_by, start, end) {
            (Some(g), Some(s), Some(end)) => match TrendRange::new(g, s, end, today) {
                Ok(r) => Some(r),
                Err((field, problem)) => {
                    e.add(field, problem);
                    None
                }
            },
            _ => None,
        };
        match range {
            Some(range) if e.is_empty() => Ok(TrendsQuery { range, resource, country }),
            _ => Err(ApiError::fields(e)),
        }
    }
}

/// The country keys given, `country` first (the service checks they name one country).
fn country(e: &mut FieldErrors, country: Option<String>, code: Option<String>) -> Vec<(&'static str, String)> {
    let mut keys = Vec::new();
    for (field, raw) in [("country", country), ("country_code", code)] {
        match raw {
            Some(raw) if raw.trim().is_empty() => e.add(field, "must not be empty"),
            Some(raw) => keys.push((field, raw.trim().to_owned())),
            None => {}
        }
    }
    keys
}

/// One bucket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrendPointResponse {
    /// The bucket's natural first day (the day, the Monday of its ISO week, the 1st of its
    /// month), even when the range starts later: edge buckets count only days in the range.
    period_start: NaiveDate,
    /// Regions and hosts allocated.
    allocations: u64,
    /// Regions and hosts released or retired.
    releases: u64,
    /// Allocations minus releases.
    net_growth: i64,
}

impl From<TrendPoint> for TrendPointResponse {
    fn from(p: TrendPoint) -> Self {
        Self {
            period_start: p.period_start,
            allocations: p.allocations,
            releases: p.releases,
            net_growth: p.net_growth,
        }
    }
}

/// The totals over the range.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrendSummaryResponse {
    /// Allocations.
    total_allocations: u64,
    /// Releases and retirements.
    total_releases: u64,
    /// Allocations minus releases.
    net_growth: i64,
    /// Allocations per day of the range (both ends included), 2 decimals.
    average_daily_rate: f64,
    /// The range's first day.
    period_start: NaiveDate,
    /// The range's last day (inclusive).
    period_end: NaiveDate,
}

impl From<TrendSummary> for TrendSummaryResponse {
    fn from(s: TrendSummary) -> Self {
        Self {
            total_allocations: s.total_allocations,
            total_releases: s.total_releases,
            net_growth: s.net_growth,
            average_daily_rate: s.average_daily_rate,
            period_start: s.period_start,
            period_end: s.period_end,
        }
    }
}

/// Your allocation trend.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrendsResponse {
    /// `day`, `week` or `month`.
    group_by: &'static str,
    /// First day, inclusive.
    start_date: NaiveDate,
    /// Last day, inclusive.
    end_date: NaiveDate,
    /// `region`, `host`, or null for both.
    resource_type: Option<&'static str>,
    /// The country counted, or null for all.
    country_code: Option<String>,
    /// Every bucket of the range, oldest first.
    time_series: Vec<TrendPointResponse>,
    /// Totals.
    summary: TrendSummaryResponse,
}

impl From<Trends> for TrendsResponse {
    fn from(t: Trends) -> Self {
        Self {
            group_by: t.range.group_by().as_str(),
            start_date: t.range.start(),
            end_date: t.range.end(),
            resource_type: t.resource.map(AuditResource::as_str),
            country_code: t.country_code.map(|c| c.to_string()),
            time_series: t.time_series.into_iter().map(Into::into).collect(),
            summary: t.summary.into(),
        }
    }
}

/// Your allocations and releases (retirements included) of regions and hosts per day, ISO week
/// or month, from the audit trail; every bucket of the range is listed, empty ones as zeros.
#[utoipa::path(get, path = "/ipam/statistics/trends", tag = "statistics", params(TrendsParams),
    responses((status = 200, body = TrendsResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn trends(
    State(s): State<AppState>,
    Auth(actor, ..): Auth<Read>,
    AppQuery(q): AppQuery<TrendsParams>,
) -> ApiResult<Json<TrendsResponse>> {
    let query = q.parse(s.ipam.now().date_naive())?;
    Ok(Json(s.ipam.trends(&actor, &query).await?.into()))
}
