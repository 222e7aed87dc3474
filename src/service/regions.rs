//! Region use cases.

use serde_json::json;

use super::Ipam;
use crate::auth::Actor;
use crate::domain::address::shorten;
use crate::domain::country::HOSTS_PER_REGION;
use crate::domain::{
    Country, NewRegion, OwnerLabel, Page, PageRequest, Reason, Region, RegionId, RegionPatch, RegionStatus, SearchText,
    TagFilter,
};
use crate::error::{ConflictKind, IpamError, Result};
use crate::storage::{AllocateRegion, Placement, RegionFilter, RetiredRegion, TimeRange};

/// Filters of the region list, as the client gave them (countries not yet resolved).
#[derive(Debug, Clone, Default)]
pub struct RegionQuery {
    /// Country code or name.
    pub country: Option<String>,
    /// Continent name.
    pub continent: Option<String>,
    /// Status.
    pub status: Option<RegionStatus>,
    /// Owner label or owner id.
    pub owner: Option<OwnerLabel>,
    /// Name contains.
    pub name_contains: Option<SearchText>,
    /// Tag conditions.
    pub tags: TagFilter,
    /// Creation window.
    pub created: TimeRange,
}

/// Host utilisation of a region.
#[derive(Debug, Clone)]
pub struct RegionUtilization {
    /// The region.
    pub region: Region,
    /// Hosts the region can hold.
    pub capacity: u32,
}

/// What the next region allocation in a country would get.
#[derive(Debug, Clone)]
pub struct NextRegion {
    /// The country.
    pub country: Country,
    /// The block, when one is free.
    pub block: Option<(u8, u8)>,
}

/// What the next host allocation in a region would get.
#[derive(Debug, Clone)]
pub struct NextHost {
    /// The region.
    pub region: Region,
    /// The Z octet, when one is free.
    pub z: Option<u8>,
}

impl Ipam {
    /// Resolves `country` / `continent` filter values into the matching countries.
    pub(super) fn countries_matching(
        &self,
        country: Option<&str>,
        continent: Option<&str>,
    ) -> Result<Option<Vec<&Country>>> {
        let mut selected: Option<Vec<&Country>> = None;
        if let Some(key) = country {
            let c = self
                .catalog
                .find(key)
                .ok_or_else(|| IpamError::invalid("country", format!("unknown country '{}'", shorten(key.trim()))))?;
            selected = Some(vec![c]);
        }
        if let Some(name) = continent {
            let of_continent =
                self.catalog.continent(name).ok_or_else(|| super::countries::unknown_continent(self, name))?;
            selected = Some(match selected {
                Some(s) => s.into_iter().filter(|c| of_continent.contains(c)).collect(),
                None => of_continent,
            });
        }
        Ok(selected)
    }

    pub(super) fn region_filter(&self, q: &RegionQuery) -> Result<RegionFilter> {
        let countries = self.countries_matching(q.country.as_deref(), q.continent.as_deref())?;
        Ok(RegionFilter {
            country_codes: countries.map(|cs| cs.into_iter().map(|c| c.code.clone()).collect()),
            status: q.status,
            owner: q.owner.clone(),
            name_contains: q.name_contains.clone(),
            tags: q.tags.clone(),
            created: q.created,
            within: None,
        })
    }

    /// Allocates the lowest free `/24` of a country to the caller.
    pub async fn allocate_region(&self, actor: &Actor, country: &str, region: NewRegion) -> Result<Region> {
        let country = self
            .catalog
            .find(country)
            .ok_or_else(|| IpamError::invalid("country", format!("unknown country '{}'", shorten(country.trim()))))?;
        if country.is_reserved {
            return Err(IpamError::conflict(
                ConflictKind::CountryReserved,
                format!(
                    "{} (10.{}.0.0 – 10.{}.255.255) is reserved for future use and cannot be allocated",
                    country.name, country.x_start, country.x_end
                ),
                json!({ "country": country.name, "country_code": country.code }),
            ));
        }
        let req = AllocateRegion {
            actor,
            country,
            region: &region,
            placement: Placement::Lowest,
            quotas: self.quotas,
            now: self.now(),
        };
        self.store.allocate_region(req).await
    }

    /// One of the caller's regions.
    pub async fn region(&self, actor: &Actor, id: &RegionId) -> Result<Region> {
        self.store.region(&actor.user_id, id).await?.ok_or_else(|| IpamError::not_found("region", id.as_str()))
    }

    /// A page of the caller's regions, newest first.
    pub async fn regions(&self, actor: &Actor, q: &RegionQuery, page: PageRequest) -> Result<Page<Region>> {
        let filter = self.region_filter(q)?;
        self.store.list_regions(&actor.user_id, &filter, page).await
    }

    /// Changes a region's fields.
    pub async fn update_region(
        &self,
        actor: &Actor,
        id: &RegionId,
        patch: &RegionPatch,
        reason: Option<&Reason>,
    ) -> Result<Region> {
        if patch.is_empty() {
            return Err(IpamError::invalid(
                "body",
                "give at least one of: region_name, description, owner, status, tags",
            ));
        }
        self.store.update_region(actor, id, patch, reason, self.now()).await
    }

    /// Retires (hard-deletes) a region, with `cascade` also its hosts.
    pub async fn retire_region(
        &self,
        actor: &Actor,
        id: &RegionId,
        reason: &Reason,
        cascade: bool,
    ) -> Result<RetiredRegion> {
        self.store.retire_region(actor, id, cascade, reason, self.now()).await
    }

    /// Host utilisation of one region.
    pub async fn region_utilization(&self, actor: &Actor, id: &RegionId) -> Result<RegionUtilization> {
        Ok(RegionUtilization { region: self.region(actor, id).await?, capacity: HOSTS_PER_REGION })
    }

    /// The block the next allocation in a country would get (nothing is reserved).
    pub async fn preview_next_region(&self, actor: &Actor, country: &str) -> Result<NextRegion> {
        let country = self.catalog.resolve(country)?.clone();
        let block = if country.is_reserved {
            None
        } else {
            self.store.next_free_region(&actor.user_id, &country, self.now()).await?
        };
        Ok(NextRegion { country, block })
    }
}
