//! The host object.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ipam_core::domain::{CountryCatalog, Host};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A host: one `10.X.Y.Z` address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct HostResponse {
    /// Identifier.
    host_id: String,
    /// Same as `host_id` (for clients of the original API).
    #[serde(rename = "_id")]
    legacy_id: String,
    /// Namespace (owner account).
    user_id: String,
    /// Parent region.
    region_id: String,
    /// Second octet.
    x_octet: u8,
    /// Third octet.
    y_octet: u8,
    /// Fourth octet (1–254).
    z_octet: u8,
    /// `10.X.Y.Z`.
    ip_address: String,
    /// The parent block, `10.X.Y.0/24`.
    cidr: String,
    /// Country code of the address.
    country_code: String,
    /// Country name of the address.
    country: String,
    /// Continent of the address.
    continent: String,
    /// Hostname (unique in the region).
    hostname: String,
    /// `VM`, `Container`, `Physical`, `Network`, `Storage` or `Other`.
    device_type: Option<String>,
    /// Operating system.
    os_type: Option<String>,
    /// Application.
    application: Option<String>,
    /// Cost center.
    cost_center: Option<String>,
    /// Purpose.
    purpose: Option<String>,
    /// Notes.
    notes: Option<String>,
    /// Owner label.
    owner: String,
    /// Account that created it.
    owner_id: String,
    /// `Active` or `Reserved`.
    status: String,
    /// Tags.
    tags: BTreeMap<String, String>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Last change.
    updated_at: DateTime<Utc>,
    /// Creator's user id.
    created_by: String,
    /// Last writer's user id.
    updated_by: String,
}

impl HostResponse {
    pub(crate) fn new(h: Host, catalog: &CountryCatalog) -> Self {
        let country = catalog.by_x(h.x);
        let text = |v: Option<&str>| v.map(str::to_owned);
        Self {
            host_id: h.id.to_string(),
            legacy_id: h.id.to_string(),
            user_id: h.user_id.to_string(),
            region_id: h.region_id.to_string(),
            x_octet: h.x,
            y_octet: h.y,
            z_octet: h.z,
            ip_address: h.ip_address(),
            cidr: ipam_core::domain::address::region_cidr(h.x, h.y),
            country_code: country.map(|c| c.code.to_string()).unwrap_or_default(),
            country: country.map(|c| c.name.clone()).unwrap_or_default(),
            continent: country.map(|c| c.continent.clone()).unwrap_or_default(),
            hostname: h.hostname.to_string(),
            device_type: h.details.device_type.map(|d| d.as_str().to_owned()),
            os_type: text(h.details.os_type.as_ref().map(|v| v.as_str())),
            application: text(h.details.application.as_ref().map(|v| v.as_str())),
            cost_center: text(h.details.cost_center.as_ref().map(|v| v.as_str())),
            purpose: text(h.details.purpose.as_ref().map(|v| v.as_str())),
            notes: text(h.details.notes.as_ref().map(|v| v.as_str())),
            owner: h.owner.to_string(),
            owner_id: h.owner_id.to_string(),
            status: h.status.to_string(),
            tags: h.tags.as_map().clone(),
            created_at: h.created_at,
            updated_at: h.updated_at,
            created_by: h.created_by.to_string(),
            updated_by: h.updated_by.to_string(),
        }
    }
}
