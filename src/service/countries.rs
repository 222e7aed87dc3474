//! Countries and their per-user utilisation.

use std::collections::BTreeMap;

use super::Ipam;
use crate::auth::Actor;
use crate::domain::country::REGIONS_PER_X;
use crate::domain::region::percent;
use crate::domain::{Country, CountryCode};
use crate::error::{IpamError, Result};

/// Regions held in one X octet.
#[derive(Debug, Clone, PartialEq)]
pub struct XUsage {
    /// The X octet.
    pub x: u8,
    /// Regions allocated.
    pub allocated: u32,
}

/// A user's use of a country.
#[derive(Debug, Clone)]
pub struct CountryUtilization {
    /// The country.
    pub country: Country,
    /// Regions the country can hold.
    pub capacity: u32,
    /// Regions the user holds there.
    pub allocated: u32,
    /// Per X octet (only X with regions).
    pub by_x: Vec<XUsage>,
}

impl CountryUtilization {
    /// Regions still free.
    pub fn available(&self) -> u32 {
        self.capacity.saturating_sub(self.allocated)
    }

    /// Percent used (2 decimals).
    pub fn percent(&self) -> f64 {
        percent(self.allocated.into(), self.capacity.into())
    }

    /// Percent of one X octet used.
    pub fn x_percent(u: &XUsage) -> f64 {
        percent(u.allocated.into(), REGIONS_PER_X.into())
    }
}

impl Ipam {
    /// Countries, optionally of one continent (unknown continent: 422).
    pub fn countries(&self, continent: Option<&str>) -> Result<Vec<&Country>> {
        match continent {
            None => Ok(self.catalog.all().iter().collect()),
            Some(name) => self.catalog.continent(name).ok_or_else(|| unknown_continent(self, name)),
        }
    }

    /// One country by code or name (404 when unknown).
    pub fn country(&self, key: &str) -> Result<&Country> {
        self.catalog.resolve(key)
    }

    /// How many regions the caller holds in each country (countries with none are absent).
    pub async fn regions_per_country(&self, actor: &Actor) -> Result<BTreeMap<CountryCode, u32>> {
        let mut usage = BTreeMap::new();
        for (x, n) in self.store.regions_per_x(&actor.user_id, 0, 255).await? {
            if let Some(c) = self.catalog.by_x(x) {
                *usage.entry(c.code.clone()).or_insert(0) += n;
            }
        }
        Ok(usage)
    }

    /// The caller's use of a country.
    pub async fn country_utilization(&self, actor: &Actor, key: &str) -> Result<CountryUtilization> {
        let country = self.catalog.resolve(key)?.clone();
        let counts = self.store.regions_per_x(&actor.user_id, country.x_start, country.x_end).await?;
        let by_x: Vec<XUsage> = counts.into_iter().map(|(x, allocated)| XUsage { x, allocated }).collect();
        let allocated = by_x.iter().map(|u| u.allocated).sum();
        Ok(CountryUtilization { capacity: country.region_capacity(), country, allocated, by_x })
    }
}

pub(super) fn unknown_continent(ipam: &Ipam, name: &str) -> IpamError {
    IpamError::invalid(
        "continent",
        format!(
            "unknown continent '{}'; one of: {}",
            crate::domain::address::shorten(name.trim()),
            ipam.catalog.continents().join(", ")
        ),
    )
}
