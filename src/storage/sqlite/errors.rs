//! Translation of SQLite errors into domain errors, in one place.

use serde_json::json;

use crate::error::{ConflictKind, IpamError};

/// The unique constraints the domain cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unique {
    /// `(user_id, x_octet, y_octet)` of a region.
    RegionAddress,
    /// `(user_id, country_code, name_key)` of a region.
    RegionName,
    /// `(user_id, x_octet, y_octet, z_octet)` of a host.
    HostAddress,
    /// `(user_id, region_id, hostname)` of a host.
    Hostname,
    /// `(schedule, tick_at)` of a cron tick claim.
    ScheduleTick,
    /// `(user_id, dedup_key)` of a notification: its cause was already notified.
    NotificationDedup,
}

/// Which domain unique constraint `e` violated, if any.
pub(super) fn unique_violation(e: &sqlx::Error) -> Option<Unique> {
    let db = e.as_database_error()?;
    if !matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation) {
        return None;
    }
    // SQLite names the columns: "UNIQUE constraint failed: ipam_hosts.user_id, ipam_hosts.region_id, …"
    let msg = db.message();
    if msg.contains("ipam_regions.name_key") {
        Some(Unique::RegionName)
    } else if msg.contains("ipam_regions.y_octet") {
        Some(Unique::RegionAddress)
    } else if msg.contains("ipam_hosts.hostname") {
        Some(Unique::Hostname)
    } else if msg.contains("ipam_hosts.z_octet") {
        Some(Unique::HostAddress)
    } else if msg.contains("ipam_schedule_runs.tick_at") {
        Some(Unique::ScheduleTick)
    } else if msg.contains("ipam_notifications.dedup_key") {
        Some(Unique::NotificationDedup)
    } else {
        None
    }
}

/// Any database failure that is not a domain outcome.
pub(super) fn db(e: sqlx::Error) -> IpamError {
    IpamError::Internal(anyhow::Error::new(e).context("SQLite query failed"))
}

/// Maps a failed write: name clashes become `duplicate_name`, everything else is internal.
pub(super) fn write(e: sqlx::Error) -> IpamError {
    match unique_violation(&e) {
        Some(Unique::RegionName) => IpamError::conflict(
            ConflictKind::DuplicateName,
            "a region with this name already exists in the country",
            json!({}),
        ),
        Some(Unique::Hostname) => IpamError::conflict(
            ConflictKind::DuplicateName,
            "a host with this hostname already exists in the region",
            json!({}),
        ),
        Some(Unique::RegionAddress | Unique::HostAddress) => IpamError::conflict(
            ConflictKind::Conflict,
            "the address was taken by a concurrent request; retry",
            json!({}),
        ),
        Some(Unique::ScheduleTick | Unique::NotificationDedup) | None => db(e),
    }
}
