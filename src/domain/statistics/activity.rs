//! Allocation history: what the audit trail says was allocated and released, per UTC day (or
//! hour, for the allocation velocity of the last day). The forecast fits a line through it, the
//! trends and the velocity bucket it; the stores only count.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::audit::AuditResource;

/// Which allocations a history covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityQuery {
    /// Regions or hosts; `None`: both.
    pub resource: Option<AuditResource>,
    /// Only addresses whose X octet is in this range (a country's blocks).
    pub x: Option<(u8, u8)>,
    /// Only addresses with this Y octet (with `x`, one region's block).
    pub y: Option<u8>,
    /// From this instant (inclusive).
    pub from: DateTime<Utc>,
    /// To this instant (exclusive).
    pub to: DateTime<Utc>,
}

/// One UTC day of a history (days without activity are not listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyActivity {
    /// The day.
    pub day: NaiveDate,
    /// Creations (allocations) that day.
    pub allocations: u64,
    /// Releases and retirements that day.
    pub releases: u64,
}

/// One UTC hour of a history (hours without activity are not listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourlyActivity {
    /// The hour's first instant (`HH:00:00Z`).
    pub hour: DateTime<Utc>,
    /// Creations (allocations) that hour.
    pub allocations: u64,
    /// Releases and retirements that hour.
    pub releases: u64,
}
