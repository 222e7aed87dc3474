//! Utilisation rankings over a user's namespace: a continent's capacity in regions, country by
//! country ([`ContinentStats`]), and the user's most utilised regions and countries
//! ([`TopUtilized`]). Pure figures from counts the stores maintain (regions per X octet, each
//! region's host count); the result cache stores them as they are.
//!
//! Rules: a country's capacity is its X octets × 256 regions and its `allocated` the user's
//! regions in it; a region's capacity is 254 hosts. Percentages have 2 decimals. Rankings are
//! by utilisation, highest first; ties go to the larger count, then to the lower address (a
//! region's CIDR in numeric order, a country's X range), so the order is stable.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::address::region_cidr;
use crate::domain::country::{Country, CountryCatalog, CountryCode, HOSTS_PER_REGION};
use crate::domain::ids::RegionId;
use crate::domain::region::{Region, percent};

/// `limit` of the rankings when the client gives none.
pub const DEFAULT_TOP_LIMIT: u32 = 10;

/// The largest `limit` of the rankings.
pub const MAX_TOP_LIMIT: u32 = 100;

/// A continent name as clients write it, made comparable with the catalog's: `_` and `-` read
/// as spaces and runs of spaces as one (`north_america`, `North-America`, `north  america`
/// all name "North America"; case is ignored by the catalog).
pub fn continent_key(raw: &str) -> String {
    raw.replace(['_', '-'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One country's capacity in regions and the user's share of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryCapacity {
    /// Name.
    pub country: String,
    /// Code.
    pub country_code: CountryCode,
    /// Regions the country can hold (X octets × 256).
    pub total_capacity: u64,
    /// Regions the user holds in it.
    pub allocated: u64,
    /// Capacity − allocated.
    pub available: u64,
    /// Allocated / capacity × 100, 2 decimals.
    pub utilization_percent: f64,
}

impl CountryCapacity {
    fn new(c: &Country, allocated: u64) -> Self {
        let total_capacity = u64::from(c.region_capacity());
        Self {
            country: c.name.clone(),
            country_code: c.code.clone(),
            total_capacity,
            allocated,
            available: total_capacity.saturating_sub(allocated),
            utilization_percent: percent(allocated, total_capacity),
        }
    }
}

/// A continent's capacity in regions and the user's share of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContinentStats {
    /// The continent, as the catalog names it.
    pub continent: String,
    /// Regions its countries can hold.
    pub total_capacity: u64,
    /// Regions the user holds in them.
    pub allocated: u64,
    /// Capacity − allocated.
    pub available: u64,
    /// Allocated / capacity × 100, 2 decimals.
    pub utilization_percent: f64,
    /// Countries of the continent.
    pub country_count: u64,
    /// Every country of the continent, in X order.
    pub country_breakdown: Vec<CountryCapacity>,
    /// When the figures were computed.
    pub timestamp: DateTime<Utc>,
}

impl ContinentStats {
    /// The figures of `countries` (one continent's, in X order), given the user's regions per
    /// country (`held`; countries without regions may be absent).
    pub fn new(countries: &[&Country], held: &BTreeMap<CountryCode, u32>, now: DateTime<Utc>) -> Self {
        let country_breakdown: Vec<CountryCapacity> = countries
            .iter()
            .map(|c| CountryCapacity::new(c, held.get(&c.code).copied().map_or(0, u64::from)))
            .collect();
        let total_capacity = country_breakdown.iter().map(|c| c.total_capacity).sum();
        let allocated = country_breakdown.iter().map(|c| c.allocated).sum();
        Self {
            continent: countries.first().map(|c| c.continent.clone()).unwrap_or_default(),
            total_capacity,
            allocated,
            available: u64::saturating_sub(total_capacity, allocated),
            utilization_percent: percent(allocated, total_capacity),
            country_count: countries.len() as u64,
            country_breakdown,
            timestamp: now,
        }
    }
}

/// One of the user's most utilised regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtilizedRegion {
    /// Id.
    pub region_id: RegionId,
    /// Name.
    pub region_name: String,
    /// Country name.
    pub country: String,
    /// Country code.
    pub country_code: CountryCode,
    /// `10.X.Y.0/24`.
    pub cidr: String,
    /// Hosts allocated in it.
    pub allocated: u64,
    /// Hosts it can hold (254).
    pub capacity: u64,
    /// Allocated / capacity × 100, 2 decimals.
    pub utilization_percent: f64,
}

/// One of the user's most utilised countries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtilizedCountry {
    /// Name.
    pub country: String,
    /// Code.
    pub country_code: CountryCode,
    /// Continent.
    pub continent: String,
    /// Regions the user holds in it.
    pub allocated: u64,
    /// Regions it can hold.
    pub capacity: u64,
    /// Allocated / capacity × 100, 2 decimals.
    pub utilization_percent: f64,
}

/// The user's most utilised regions and countries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopUtilized {
    /// Up to `limit` of the user's regions, most hosts first, ties by CIDR.
    pub top_regions: Vec<UtilizedRegion>,
    /// Up to `limit` countries where the user holds regions, by utilisation, ties by region
    /// count, then X range.
    pub top_countries: Vec<UtilizedCountry>,
    /// When the figures were computed.
    pub timestamp: DateTime<Utc>,
}

impl TopUtilized {
    /// The rankings: `regions` as the store ranked them (most hosts first, then by address; at
    /// most `limit`), and the countries of `held` (regions per country) ranked here.
    pub fn new(
        regions: &[Region],
        held: &BTreeMap<CountryCode, u32>,
        catalog: &CountryCatalog,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Self {
        let capacity = u64::from(HOSTS_PER_REGION);
        let top_regions = regions
            .iter()
            .take(limit)
            .map(|r| UtilizedRegion {
                region_id: r.id.clone(),
                region_name: r.name.as_str().to_owned(),
                country: catalog
                    .by_code(&r.country_code)
                    .map_or_else(|| r.country_code.to_string(), |c| c.name.clone()),
                country_code: r.country_code.clone(),
                cidr: region_cidr(r.x, r.y),
                allocated: u64::from(r.allocated_hosts),
                capacity,
                utilization_percent: percent(u64::from(r.allocated_hosts), capacity),
            })
            .collect();
        let mut countries: Vec<(&Country, u64)> = catalog
            .all()
            .iter()
            .filter_map(|c| held.get(&c.code).filter(|n| **n > 0).map(|n| (c, u64::from(*n))))
            .collect();
        // Compare exact fractions (a/A vs b/B as a·B vs b·A), not rounded percentages.
        countries.sort_by(|(a, an), (b, bn)| {
            let (ac, bc) = (u64::from(a.region_capacity()), u64::from(b.region_capacity()));
            (bn * ac).cmp(&(an * bc)).then(bn.cmp(an)).then(a.x_start.cmp(&b.x_start))
        });
        let top_countries = countries
            .into_iter()
            .take(limit)
            .map(|(c, allocated)| {
                let capacity = u64::from(c.region_capacity());
                UtilizedCountry {
                    country: c.name.clone(),
                    country_code: c.code.clone(),
                    continent: c.continent.clone(),
                    allocated,
                    capacity,
                    utilization_percent: percent(allocated, capacity),
                }
            })
            .collect();
        Self { top_regions, top_countries, timestamp: now }
    }
}

#[cfg(test)]
mod tests;
