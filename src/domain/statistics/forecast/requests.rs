//! The forecasts clients asked for, as the daily recomputation sees them: which forecast (a
//! user's country or region, canonical, and `days_ahead`), when it was last asked for, and the
//! two rules that bound the work: a request is recorded at most once per
//! [`RECORD_INTERVAL_MINUTES`], and only requests of the last [`RECOMPUTE_WINDOW_DAYS`] days
//! are recomputed (older ones are deleted).

use chrono::{DateTime, Duration, Utc};

use super::ForecastResource;
use crate::domain::{CountryCode, ForecastRequestId, RegionId, UserId};

/// A request is recomputed by the daily job for this many days after it was last made.
pub const RECOMPUTE_WINDOW_DAYS: i64 = 7;

/// A request is recorded again at most this often (minutes) per (user, forecast): asking every
/// second for the same forecast writes once an hour, and a request seen within the last hour
/// is still well inside the 7-day window.
pub const RECORD_INTERVAL_MINUTES: i64 = 60;

/// The oldest `last_requested_at` the recomputation at `now` still warms; requests last made
/// before it are deleted.
pub fn recompute_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(RECOMPUTE_WINDOW_DAYS)
}

/// What a forecast is about, canonical: a country by code (whatever name the client used) or a
/// region by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForecastSubject {
    /// A country's regions.
    Country(CountryCode),
    /// One region's hosts.
    Region(RegionId),
}

impl ForecastSubject {
    /// Rebuilds a subject read back from storage: `None` for an unknown resource type.
    pub fn from_stored(resource_type: &str, resource_id: String) -> Option<Self> {
        match resource_type {
            "country" => Some(Self::Country(CountryCode::from_stored(resource_id))),
            "region" => Some(Self::Region(RegionId::from_stored(resource_id))),
            _ => None,
        }
    }

    /// Country or region.
    pub fn resource(&self) -> ForecastResource {
        match self {
            Self::Country(_) => ForecastResource::Country,
            Self::Region(_) => ForecastResource::Region,
        }
    }

    /// `country` or `region` (stored, and part of cache keys).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Country(_) => "country",
            Self::Region(_) => "region",
        }
    }

    /// The country code or the region id.
    pub fn id(&self) -> &str {
        match self {
            Self::Country(code) => code.as_str(),
            Self::Region(id) => id.as_str(),
        }
    }
}

/// One recorded forecast request: one per (user, subject, `days_ahead`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastRequest {
    /// The record's id (kept when the same request is recorded again).
    pub id: ForecastRequestId,
    /// Whose forecast (and whose namespace it is computed in).
    pub user_id: UserId,
    /// What it is about.
    pub subject: ForecastSubject,
    /// Days ahead of its projection (1..=365).
    pub days_ahead: u32,
    /// When it was last asked for (recorded at most once per [`RECORD_INTERVAL_MINUTES`]).
    pub last_requested_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_window_is_seven_days_back() {
        let now = Utc.with_ymd_and_hms(2026, 3, 8, 0, 15, 0).unwrap();
        assert_eq!(recompute_cutoff(now), Utc.with_ymd_and_hms(2026, 3, 1, 0, 15, 0).unwrap());
    }

    #[test]
    fn subjects_round_trip_through_storage_and_unknown_kinds_are_refused() {
        for subject in [
            ForecastSubject::Country(CountryCode::from_stored("USA".into())),
            ForecastSubject::Region(RegionId::from_stored("01ARZ3NDEKTSV4RRFFQ69G5FAV".into())),
        ] {
            let back = ForecastSubject::from_stored(subject.kind(), subject.id().to_owned());
            assert_eq!(back.as_ref(), Some(&subject));
        }
        assert_eq!(ForecastSubject::from_stored("host", "x".into()), None);
        assert_eq!(
            ForecastSubject::Country(CountryCode::from_stored("USA".into())).resource(),
            ForecastResource::Country
        );
    }
}
