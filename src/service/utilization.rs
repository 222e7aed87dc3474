//! The continent figures and the utilisation rankings (`domain::statistics::utilization`),
//! served from the result cache under the dashboard TTL, keyed like the dashboard by the user
//! and their data version (so a change is never followed by a stale figure).
//!
//! Both read only maintained counts: the user's regions per X octet (one grouped read of the
//! slot counters, as the country catalog does) and, for the ranking, the top regions by their
//! host counts (one sorted, limited read). Hosts are never read.

use std::collections::BTreeMap;

use super::{Fetched, Ipam};
use crate::auth::Actor;
use crate::domain::address::shorten;
use crate::domain::statistics::utilization::{ContinentStats, TopUtilized, continent_key};
use crate::domain::{Country, CountryCode};
use crate::error::{IpamError, Result};

impl Ipam {
    /// The caller's use of a continent's countries: from the cache unless `fresh`. The name
    /// matches ignoring case, with `_` or `-` for spaces; an unknown continent is a 404 whose
    /// message lists the known ones.
    pub async fn continent_statistics(
        &self,
        actor: &Actor,
        name: &str,
        fresh: bool,
    ) -> Result<Fetched<ContinentStats>> {
        let key = continent_key(name);
        let countries = self.catalog.continent(&key).ok_or_else(|| {
            let known = self.catalog.continents().join(", ");
            IpamError::not_found_with_hint("continent", shorten(name.trim()), format!("known continents: {known}"))
        })?;
        let user = &actor.user_id;
        let version = self.store.data_version(user).await?;
        let canonical = countries.first().map(|c| c.continent.to_lowercase()).unwrap_or_default();
        let cache_key = format!("continent:{user}:{canonical}:v{version}");
        if let Some(value) = self.cached::<ContinentStats>("continent", &cache_key, fresh).await {
            return Ok(Fetched { value, cached: true });
        }
        let held = self.held_regions(actor, &countries).await?;
        let value = ContinentStats::new(&countries, &held, self.now());
        self.remember(&cache_key, &value, self.cache_ttls.dashboard).await;
        Ok(Fetched { value, cached: false })
    }

    /// The caller's `limit` most utilised regions and countries: from the cache unless `fresh`.
    pub async fn top_utilized(&self, actor: &Actor, limit: u32, fresh: bool) -> Result<Fetched<TopUtilized>> {
        let user = &actor.user_id;
        let version = self.store.data_version(user).await?;
        let cache_key = format!("top_utilized:{user}:l{limit}:v{version}");
        if let Some(value) = self.cached::<TopUtilized>("top_utilized", &cache_key, fresh).await {
            return Ok(Fetched { value, cached: true });
        }
        let regions = self.store.most_utilized_regions(user, limit).await?;
        let held = self.regions_per_country(actor).await?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let value = TopUtilized::new(&regions, &held, &self.catalog, limit, self.now());
        self.remember(&cache_key, &value, self.cache_ttls.dashboard).await;
        Ok(Fetched { value, cached: false })
    }

    /// The caller's regions per country of `countries`, in one grouped read over their X span.
    async fn held_regions(&self, actor: &Actor, countries: &[&Country]) -> Result<BTreeMap<CountryCode, u32>> {
        let lo = countries.iter().map(|c| c.x_start).min().unwrap_or(0);
        let hi = countries.iter().map(|c| c.x_end).max().unwrap_or(0);
        let mut held = BTreeMap::new();
        for (x, n) in self.store.regions_per_x(&actor.user_id, lo, hi).await? {
            // The span may cover another continent's countries between these: not counted.
            if let Some(c) = countries.iter().find(|c| c.contains_x(x)) {
                *held.entry(c.code.clone()).or_insert(0) += n;
            }
        }
        Ok(held)
    }
}
