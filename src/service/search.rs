//! Search across regions and hosts, served from the result cache when the caller asks for it.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::{Fetched, Ipam};
use crate::auth::Actor;
use crate::domain::{DeviceType, OctetRange, OwnerLabel, Page, PageRequest, SearchText, TagFilter};
use crate::error::Result;
use crate::storage::{HostFilter, RegionFilter, SearchFilter, SearchHit, TimeRange};

/// Which kinds a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    /// Regions only.
    Region,
    /// Hosts only.
    Host,
}

/// A search as the client asked it. A condition that only hosts have (hostname, device type)
/// leaves regions out, and vice versa.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Restrict to one kind.
    pub kind: Option<SearchKind>,
    /// Address or block the results lie in.
    pub within: Option<OctetRange>,
    /// Hostname contains (hosts only).
    pub hostname: Option<SearchText>,
    /// Region name contains (regions, and hosts by their region).
    pub region_name: Option<SearchText>,
    /// Country code or name.
    pub country: Option<String>,
    /// Continent.
    pub continent: Option<String>,
    /// `Active` or `Reserved`.
    pub status: Option<crate::domain::RegionStatus>,
    /// Device type (hosts only).
    pub device_type: Option<DeviceType>,
    /// Owner label or owner id.
    pub owner: Option<OwnerLabel>,
    /// Tag conditions.
    pub tags: TagFilter,
    /// Creation window.
    pub created: TimeRange,
}

impl Ipam {
    /// [`Ipam::search`] rendered by `render` (the API's response), from the cache unless `fresh`,
    /// and otherwise cached for the search TTL. The key holds the user, their data version (a
    /// change is never followed by a stale result) and a digest of the parsed query and page (so a
    /// long query never makes a long key).
    pub async fn cached_search<T, F>(
        &self,
        actor: &Actor,
        q: &SearchQuery,
        page: PageRequest,
        fresh: bool,
        render: F,
    ) -> Result<Fetched<T>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(Page<SearchHit>) -> T,
    {
        let version = self.store.data_version(&actor.user_id).await?;
        let digest = hex::encode(Sha256::digest(format!("{q:?}|{page:?}")));
        let key = format!("search:{}:v{version}:{digest}", actor.user_id);
        if let Some(value) = self.cached::<T>("search", &key, fresh).await {
            return Ok(Fetched { value, cached: true });
        }
        let value = render(self.search(actor, q, page).await?);
        self.remember(&key, &value, self.cache_ttls.search).await;
        Ok(Fetched { value, cached: false })
    }

    /// Searches the caller's regions and hosts, newest first.
    pub async fn search(&self, actor: &Actor, q: &SearchQuery, page: PageRequest) -> Result<Page<SearchHit>> {
        let countries = self.countries_matching(q.country.as_deref(), q.continent.as_deref())?;
        let host_only = q.hostname.is_some() || q.device_type.is_some();
        let want_regions = !host_only && q.kind != Some(SearchKind::Host);
        let want_hosts = q.kind != Some(SearchKind::Region);
        let regions = want_regions.then(|| RegionFilter {
            country_codes: countries.as_ref().map(|cs| cs.iter().map(|c| c.code.clone()).collect()),
            status: q.status,
            owner: q.owner.clone(),
            name_contains: q.region_name.clone(),
            tags: q.tags.clone(),
            created: q.created,
            within: q.within,
        });
        let hosts = want_hosts.then(|| HostFilter {
            region_id: None,
            x_ranges: countries.as_ref().map(|cs| cs.iter().map(|c| (c.x_start, c.x_end)).collect()),
            region_name_contains: q.region_name.clone(),
            status: q.status.map(|s| match s {
                crate::domain::RegionStatus::Active => crate::domain::HostStatus::Active,
                crate::domain::RegionStatus::Reserved => crate::domain::HostStatus::Reserved,
            }),
            hostname_contains: q.hostname.clone(),
            device_type: q.device_type,
            owner: q.owner.clone(),
            tags: q.tags.clone(),
            created: q.created,
            within: q.within,
        });
        self.store.search(&actor.user_id, &SearchFilter { regions, hosts }, page).await
    }
}
