//! Backend-neutral query filters. The service builds them from validated input; each backend
//! translates them into its own query language.

use chrono::{DateTime, Utc};

use crate::domain::{
    AuditAction, AuditResource, CountryCode, DeviceType, Host, HostStatus, OctetRange, OwnerLabel, Region, RegionId,
    RegionStatus, ReservationKind, ReservationStatus, SearchText, TagFilter,
};

/// An inclusive time window on creation time (either end open).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// At or before.
    pub to: Option<DateTime<Utc>>,
}

/// Which regions to list.
#[derive(Debug, Clone, Default)]
pub struct RegionFilter {
    /// Only these countries (from `country` or `continent`).
    pub country_codes: Option<Vec<CountryCode>>,
    /// Only this status.
    pub status: Option<RegionStatus>,
    /// Owner label or owner id equal to this.
    pub owner: Option<OwnerLabel>,
    /// Name contains this (literal, case-insensitive).
    pub name_contains: Option<SearchText>,
    /// Every tag condition holds.
    pub tags: TagFilter,
    /// Creation time window.
    pub created: TimeRange,
    /// Block overlaps this range.
    pub within: Option<OctetRange>,
}

/// Which hosts to list.
#[derive(Debug, Clone, Default)]
pub struct HostFilter {
    /// Only in this region.
    pub region_id: Option<RegionId>,
    /// Only with X in one of these inclusive ranges (from `country` or `continent`).
    pub x_ranges: Option<Vec<(u8, u8)>>,
    /// Parent region's name contains this.
    pub region_name_contains: Option<SearchText>,
    /// Only this status.
    pub status: Option<HostStatus>,
    /// Hostname contains this.
    pub hostname_contains: Option<SearchText>,
    /// Only this device type.
    pub device_type: Option<DeviceType>,
    /// Owner label or owner id equal to this.
    pub owner: Option<OwnerLabel>,
    /// Every tag condition holds.
    pub tags: TagFilter,
    /// Creation time window.
    pub created: TimeRange,
    /// Address inside this range.
    pub within: Option<OctetRange>,
}

/// A search over both resource kinds; `None` leaves a kind out of the results.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Region conditions.
    pub regions: Option<RegionFilter>,
    /// Host conditions.
    pub hosts: Option<HostFilter>,
}

/// One search result.
#[derive(Debug, Clone)]
pub enum SearchHit {
    /// A region.
    Region(Region),
    /// A host.
    Host(Host),
}

/// Which audit events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only this resource kind.
    pub resource_type: Option<AuditResource>,
    /// Only this resource.
    pub resource_id: Option<String>,
    /// Address inside (host events) or block overlapping (region events) this range.
    pub within: Option<OctetRange>,
    /// Time window.
    pub time: TimeRange,
}

/// Which reservations to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReservationFilter {
    /// Only this (effective) status.
    pub status: Option<ReservationStatus>,
    /// Only this kind.
    pub kind: Option<ReservationKind>,
}
