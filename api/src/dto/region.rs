//! The region object.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ipam_core::domain::country::HOSTS_PER_REGION;
use ipam_core::domain::{CountryCatalog, Region};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A region: one `10.X.Y.0/24` block.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct RegionResponse {
    /// Identifier.
    region_id: String,
    /// Same as `region_id` (for clients of the original API).
    #[serde(rename = "_id")]
    legacy_id: String,
    /// Namespace (owner account).
    user_id: String,
    /// Country name.
    country: String,
    /// ISO 3166-1 alpha-3 code.
    country_code: String,
    /// Continent.
    continent: String,
    /// Second octet.
    x_octet: u8,
    /// Third octet.
    y_octet: u8,
    /// `10.X.Y.0/24`.
    cidr: String,
    /// Name (unique per country, ignoring case).
    region_name: String,
    /// Description.
    description: String,
    /// Owner label.
    owner: String,
    /// Account that created it.
    owner_id: String,
    /// `Active` or `Reserved`.
    status: String,
    /// Tags.
    tags: BTreeMap<String, String>,
    /// Hosts allocated in it.
    allocated_hosts: u32,
    /// Hosts it can hold (254).
    total_capacity: u32,
    /// `allocated_hosts / 254` in percent.
    utilization_percentage: f64,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Last change.
    updated_at: DateTime<Utc>,
    /// Creator's user id.
    created_by: String,
    /// Last writer's user id.
    updated_by: String,
}

impl RegionResponse {
    pub(crate) fn new(r: Region, catalog: &CountryCatalog) -> Self {
        let country = catalog.by_code(&r.country_code);
        Self {
            region_id: r.id.to_string(),
            legacy_id: r.id.to_string(),
            user_id: r.user_id.to_string(),
            country: country.map(|c| c.name.clone()).unwrap_or_default(),
            country_code: r.country_code.to_string(),
            continent: country.map(|c| c.continent.clone()).unwrap_or_default(),
            x_octet: r.x,
            y_octet: r.y,
            cidr: r.cidr(),
            utilization_percentage: r.utilization_percent(),
            region_name: r.name.to_string(),
            description: r.description.to_string(),
            owner: r.owner.to_string(),
            owner_id: r.owner_id.to_string(),
            status: r.status.to_string(),
            tags: r.tags.as_map().clone(),
            allocated_hosts: r.allocated_hosts,
            total_capacity: HOSTS_PER_REGION,
            created_at: r.created_at,
            updated_at: r.updated_at,
            created_by: r.created_by.to_string(),
            updated_by: r.updated_by.to_string(),
        }
    }
}
