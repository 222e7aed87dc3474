//! The capacity forecast use case: the history of a country's regions or of one region's
//! hosts from the audit trail, the present state from the store, and the fit
//! (`domain::statistics::forecast`), served from the result cache.
//!
//! The cache key holds the user, the resource (canonical: country code or region id),
//! `days_ahead`, the UTC day (a forecast runs to today, so a new day is a new forecast even
//! within the 24-hour TTL) and the user's data version (a change is never followed by a stale
//! forecast).

use chrono::{DateTime, Days, NaiveTime, Utc};

use super::{Fetched, Ipam};
use crate::auth::Actor;
use crate::domain::audit::AuditResource;
use crate::domain::country::HOSTS_PER_REGION;
use crate::domain::statistics::ActivityQuery;
use crate::domain::statistics::forecast::{
    Forecast, ForecastInput, ForecastResource, ForecastSubject, ForecastTarget, forecast, window_start,
};
use crate::domain::{Country, PageRequest, UserId};
use crate::error::{IpamError, Result};
use crate::storage::RegionFilter;

/// The resource a forecast is computed for, once resolved.
enum Resolved<'a> {
    Country(&'a Country),
    /// A region's block, its creation (hosts of an earlier region on the same block are not
    /// its history) and its hosts allocated now.
    Region {
        x: u8,
        y: u8,
        created_at: DateTime<Utc>,
        allocated_hosts: u32,
    },
}

impl Ipam {
    /// The capacity forecast of one of the caller's regions or of a country, projecting
    /// `days_ahead` days: from the cache unless `fresh`, computed otherwise (and then cached
    /// for the forecast TTL). An unknown country or a region that is not the caller's is 404.
    /// The request is recorded (at most once an hour) so the daily recomputation keeps it warm.
    pub async fn forecast(
        &self,
        actor: &Actor,
        target: &ForecastTarget,
        days_ahead: u32,
        fresh: bool,
    ) -> Result<Fetched<Forecast>> {
        let subject = match target {
            ForecastTarget::Country(key) => ForecastSubject::Country(self.catalog.resolve(key)?.code.clone()),
            ForecastTarget::Region(id) => ForecastSubject::Region(id.clone()),
        };
        let fetched = self.forecast_of(&actor.user_id, &subject, days_ahead, fresh).await?;
        self.note_forecast_request(&actor.user_id, &subject, days_ahead).await;
        Ok(fetched)
    }

    /// The forecast of `user`'s `subject` computed anew as of now and cached under today's key
    /// (what a client asking for it today reads), without recording a request. `NotFound` when
    /// the country is unknown or the region is not (or no longer) the user's.
    pub async fn recompute_forecast(
        &self,
        user: &UserId,
        subject: &ForecastSubject,
        days_ahead: u32,
    ) -> Result<Forecast> {
        Ok(self.forecast_of(user, subject, days_ahead, true).await?.value)
    }

    /// The one forecast code path: resolves the subject in `user`'s namespace, then serves the
    /// cached forecast (unless `fresh`) or computes and caches it.
    async fn forecast_of(
        &self,
        user: &UserId,
        subject: &ForecastSubject,
        days_ahead: u32,
        fresh: bool,
    ) -> Result<Fetched<Forecast>> {
        let now = self.now();
        let (resolved, resource, resource_id) = match subject {
            ForecastSubject::Country(code) => {
                let c = self.catalog.by_code(code).ok_or_else(|| IpamError::not_found("country", code.as_str()))?;
                (Resolved::Country(c), ForecastResource::Country, c.code.to_string())
            }
            ForecastSubject::Region(id) => {
                let r =
                    self.store.region(user, id).await?.ok_or_else(|| IpamError::not_found("region", id.as_str()))?;
                let resolved =
                    Resolved::Region { x: r.x, y: r.y, created_at: r.created_at, allocated_hosts: r.allocated_hosts };
                (resolved, ForecastResource::Region, r.id.as_str().to_owned())
            }
        };
        let version = self.store.data_version(user).await?;
        let today = now.date_naive();
        let kind = match resource {
            ForecastResource::Country => "country",
            ForecastResource::Region => "region",
        };
        let key = format!("forecast:{user}:{kind}:{resource_id}:d{days_ahead}:{today}:v{version}");
        if let Some(value) = self.cached::<Forecast>("forecast", &key, fresh).await {
            return Ok(Fetched { value, cached: true });
        }
        let from = window_start(today).and_time(NaiveTime::MIN).and_utc();
        let to = (today + Days::new(1)).and_time(NaiveTime::MIN).and_utc();
        let (query, allocated, capacity) = match resolved {
            Resolved::Country(c) => {
                let query = ActivityQuery {
                    resource: Some(AuditResource::Region),
                    x: Some((c.x_start, c.x_end)),
                    y: None,
                    from,
                    to,
                };
                let filter = RegionFilter { country_codes: Some(vec![c.code.clone()]), ..RegionFilter::default() };
                let page = PageRequest::new(Some(1), Some(1))
                    .map_err(|(field, problem)| IpamError::invalid(field, problem))?;
                let held = self.store.list_regions(user, &filter, page).await?.total;
                (query, held, u64::from(c.region_capacity()))
            }
            Resolved::Region { x, y, created_at, allocated_hosts } => {
                let from = from.max(created_at);
                let query =
                    ActivityQuery { resource: Some(AuditResource::Host), x: Some((x, x)), y: Some(y), from, to };
                (query, u64::from(allocated_hosts), u64::from(HOSTS_PER_REGION))
            }
        };
        let history = self.store.daily_activity(user, &query).await?;
        let input = ForecastInput { resource, resource_id, history: &history, allocated, capacity, days_ahead };
        let value = forecast(&input, now);
        self.remember(&key, &value, self.cache_ttls.forecast).await;
        Ok(Fetched { value, cached: false })
    }
}
