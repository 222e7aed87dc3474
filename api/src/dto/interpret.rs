//! Where an address sits: the interpret and bulk-lookup answers.

use ipam_core::domain::CountryCatalog;
use ipam_core::service::{BulkLookupItem, Interpretation};
use serde::Serialize;
use utoipa::ToSchema;

use super::{HostResponse, RegionResponse};

/// The root of the plan.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RootLevel {
    /// `10.0.0.0/8`.
    cidr: &'static str,
    /// Description.
    description: &'static str,
}

/// Continent level.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ContinentLevel {
    /// Continent name.
    name: String,
}

/// Country level.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CountryLevel {
    /// Country name.
    name: String,
    /// ISO alpha-3 code.
    code: String,
    /// X octets of the country, `a-b`.
    x_range: String,
    /// Reserved blocks are not allocatable.
    is_reserved: bool,
}

/// Every level of the hierarchy the address belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Hierarchy {
    /// The whole plan.
    global_root: RootLevel,
    /// Continent.
    continent: ContinentLevel,
    /// Country.
    country: CountryLevel,
    /// Your region at X.Y, if you hold one.
    region: Option<RegionResponse>,
    /// Your host at the address, if you hold one.
    host: Option<HostResponse>,
}

/// The answer for one address.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InterpretResponse {
    /// The address.
    ip_address: String,
    /// `not_allocated`, `region_allocated`, `fully_allocated` (bulk lookup also: `invalid`).
    status: String,
    /// One sentence for humans.
    message: String,
    /// Where it sits (absent for invalid input).
    hierarchy: Option<Hierarchy>,
    /// Why the input was refused (bulk lookup only).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl InterpretResponse {
    pub(crate) fn new(i: Interpretation, catalog: &CountryCatalog) -> Self {
        let c = i.country;
        Self {
            ip_address: i.address.to_string(),
            status: i.status.as_str().to_owned(),
            message: i.message,
            hierarchy: Some(Hierarchy {
                global_root: RootLevel { cidr: "10.0.0.0/8", description: "Global IPAM Root" },
                continent: ContinentLevel { name: c.continent.clone() },
                country: CountryLevel {
                    x_range: c.x_range_text(),
                    name: c.name,
                    code: c.code.to_string(),
                    is_reserved: c.is_reserved,
                },
                region: i.region.map(|r| RegionResponse::new(r, catalog)),
                host: i.host.map(|h| HostResponse::new(h, catalog)),
            }),
            error: None,
        }
    }

    pub(crate) fn from_lookup(item: BulkLookupItem, catalog: &CountryCatalog) -> Self {
        match item {
            BulkLookupItem::Found(i) => Self::new(*i, catalog),
            BulkLookupItem::Invalid { input, error } => Self {
                ip_address: crate::extract::shorten(&input),
                status: "invalid".into(),
                message: error.clone(),
                hierarchy: None,
                error: Some(error),
            },
        }
    }
}
