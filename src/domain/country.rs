//! Countries: reference data mapping each country to a contiguous range of X octets.

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::error::IpamError;

/// Regions per X octet (Y = 0..=255).
pub const REGIONS_PER_X: u32 = 256;
/// The lowest allocatable host octet: `.0` names the region's network.
pub const FIRST_HOST_Z: u8 = 1;
/// The highest allocatable host octet: `.255` is the region's broadcast address.
pub const LAST_HOST_Z: u8 = 254;
/// The allocatable host octets of a region (Z = 1..=254).
pub const HOST_Z: RangeInclusive<u8> = FIRST_HOST_Z..=LAST_HOST_Z;
/// Hosts per region: one per octet of [`HOST_Z`].
pub const HOSTS_PER_REGION: u32 = LAST_HOST_Z as u32 - FIRST_HOST_Z as u32 + 1;

/// An ISO 3166-1 alpha-3 code (upper case), or `ZZZ` for the reserved block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CountryCode(String);

impl CountryCode {
    /// Builds a code from trusted reference data.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One country of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// ISO alpha-3 code.
    pub code: CountryCode,
    /// Display name.
    pub name: String,
    /// Continent.
    pub continent: String,
    /// First X octet (inclusive).
    pub x_start: u8,
    /// Last X octet (inclusive).
    pub x_end: u8,
    /// Reserved blocks are never allocated.
    pub is_reserved: bool,
}

impl Country {
    /// Number of X octets in the range.
    pub fn x_count(&self) -> u32 {
        u32::from(self.x_end) - u32::from(self.x_start) + 1
    }

    /// Number of /24 regions the country can hold (per user).
    pub fn region_capacity(&self) -> u32 {
        self.x_count() * REGIONS_PER_X
    }

    /// True when `x` lies in the country's range.
    pub fn contains_x(&self, x: u8) -> bool {
        (self.x_start..=self.x_end).contains(&x)
    }

    /// The range as `a-b`.
    pub fn x_range_text(&self) -> String {
        format!("{}-{}", self.x_start, self.x_end)
    }
}

/// The country table, loaded once at start-up.
#[derive(Debug, Clone)]
pub struct CountryCatalog {
    countries: Vec<Country>,
}

impl CountryCatalog {
    /// Builds the catalog, ordered by X range.
    pub fn new(mut countries: Vec<Country>) -> Self {
        countries.sort_by_key(|c| c.x_start);
        Self { countries }
    }

    /// The catalog of the built-in country table.
    pub fn seed() -> Self {
        Self::new(
            super::country_table::COUNTRY_TABLE
                .iter()
                .map(|s| Country {
                    code: CountryCode(s.code.to_owned()),
                    name: s.name.to_owned(),
                    continent: s.continent.to_owned(),
                    x_start: s.x_start,
                    x_end: s.x_end,
                    is_reserved: s.is_reserved,
                })
                .collect(),
        )
    }

    /// All countries, ordered by X range.
    pub fn all(&self) -> &[Country] {
        &self.countries
    }

    /// Finds a country by code or name, ignoring case.
    pub fn find(&self, key: &str) -> Option<&Country> {
        let key = key.trim();
        self.countries
            .iter()
            .find(|c| c.code.as_str().eq_ignore_ascii_case(key) || c.name.to_lowercase() == key.to_lowercase())
    }

    /// Like [`find`](Self::find), with a not-found error naming the input.
    pub fn resolve(&self, key: &str) -> Result<&Country, IpamError> {
        self.find(key).ok_or_else(|| IpamError::not_found("country", super::address::shorten(key.trim())))
    }

    /// The country by exact code (from storage).
    pub fn by_code(&self, code: &CountryCode) -> Option<&Country> {
        self.countries.iter().find(|c| &c.code == code)
    }

    /// The country whose range holds `x`.
    pub fn by_x(&self, x: u8) -> Option<&Country> {
        self.countries.iter().find(|c| c.contains_x(x))
    }

    /// Countries of a continent, matched ignoring case; `None` for an unknown continent.
    pub fn continent(&self, name: &str) -> Option<Vec<&Country>> {
        let name = name.trim().to_lowercase();
        let found: Vec<_> = self.countries.iter().filter(|c| c.continent.to_lowercase() == name).collect();
        (!found.is_empty()).then_some(found)
    }

    /// Distinct continent names, in X order.
    pub fn continents(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for c in &self.countries {
            if !names.contains(&c.continent.as_str()) {
                names.push(&c.continent);
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_resolve_by_code_or_name_ignoring_case() {
        let catalog = CountryCatalog::seed();
        assert_eq!(catalog.find("usa").unwrap().name, "United States");
        assert_eq!(catalog.find("united states").unwrap().code.as_str(), "USA");
        assert_eq!(catalog.find(" India ").unwrap().x_start, 0);
        assert!(catalog.find("Atlantis").is_none());
        assert!(matches!(catalog.resolve("Atlantis"), Err(IpamError::NotFound { .. })));
    }

    #[test]
    fn every_x_octet_has_exactly_one_country() {
        let catalog = CountryCatalog::seed();
        for x in 0..=255u8 {
            assert_eq!(catalog.all().iter().filter(|c| c.contains_x(x)).count(), 1, "x={x}");
        }
        assert_eq!(catalog.by_x(208).unwrap().code.as_str(), "ZZZ");
        assert!(catalog.by_x(208).unwrap().is_reserved);
    }

    #[test]
    fn a_region_holds_one_host_per_octet_between_network_and_broadcast() {
        assert_eq!(HOST_Z.count(), usize::try_from(HOSTS_PER_REGION).unwrap());
        assert_eq!(HOSTS_PER_REGION, 254);
        assert!(!HOST_Z.contains(&0) && !HOST_Z.contains(&255));
    }

    #[test]
    fn capacities_derive_from_the_range() {
        let catalog = CountryCatalog::seed();
        let india = catalog.find("IND").unwrap();
        assert_eq!(india.x_count(), 30);
        assert_eq!(india.region_capacity(), 7_680);
        assert_eq!(catalog.continent("europe").unwrap().len(), 4);
        assert!(catalog.continent("Atlantis").is_none());
        assert_eq!(catalog.continents().len(), 7);
    }
}
