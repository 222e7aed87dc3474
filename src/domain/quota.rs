//! Per-user quotas: how many regions and hosts a user may hold.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::audit::FieldChange;
use super::ids::UserId;
use crate::error::IpamError;

/// Largest settable region quota: a user's whole 10/8 holds 65,536 regions.
pub const MAX_REGION_QUOTA: u32 = 65_536;
/// Largest settable host quota: 65,536 regions × 254 hosts.
pub const MAX_HOST_QUOTA: u32 = 16_646_144;
/// Usage at or above this percentage is flagged as a warning.
pub const WARNING_PERCENT: f64 = 80.0;

/// The limits that apply to users without an override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaDefaults {
    /// Regions per user.
    pub regions: u32,
    /// Hosts per user.
    pub hosts: u32,
}

impl Default for QuotaDefaults {
    fn default() -> Self {
        Self { regions: 1_000, hosts: 10_000 }
    }
}

/// A user's usage and overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaUsage {
    /// The user.
    pub user_id: UserId,
    /// Override of the region limit (`None`: the default applies).
    pub region_quota: Option<u32>,
    /// Override of the host limit (`None`: the default applies).
    pub host_quota: Option<u32>,
    /// Regions held.
    pub region_count: u32,
    /// Hosts held.
    pub host_count: u32,
    /// Last change of counts or limits (`None` for a user who never allocated).
    pub last_updated: Option<DateTime<Utc>>,
}

impl QuotaUsage {
    /// Usage of a user who holds nothing.
    pub fn empty(user_id: UserId) -> Self {
        Self { user_id, region_quota: None, host_quota: None, region_count: 0, host_count: 0, last_updated: None }
    }

    /// The region limit in force.
    pub fn region_limit(&self, defaults: QuotaDefaults) -> u32 {
        self.region_quota.unwrap_or(defaults.regions)
    }

    /// The host limit in force.
    pub fn host_limit(&self, defaults: QuotaDefaults) -> u32 {
        self.host_quota.unwrap_or(defaults.hosts)
    }

    /// Refuses `requested` more regions beyond the limit.
    pub fn check_regions(&self, requested: u32, defaults: QuotaDefaults) -> Result<(), IpamError> {
        check("regions", self.region_count, requested, self.region_limit(defaults))
    }

    /// Refuses `requested` more hosts beyond the limit.
    pub fn check_hosts(&self, requested: u32, defaults: QuotaDefaults) -> Result<(), IpamError> {
        check("hosts", self.host_count, requested, self.host_limit(defaults))
    }

    /// Applies an administrator's change, returning what changed.
    pub fn apply(&mut self, patch: &QuotaPatch) -> Vec<FieldChange> {
        let mut changes = Vec::new();
        if let Some(q) = patch.region_quota
            && q != self.region_quota
        {
            changes.push(FieldChange::new("region_quota", json!(self.region_quota), json!(q)));
            self.region_quota = q;
        }
        if let Some(q) = patch.host_quota
            && q != self.host_quota
        {
            changes.push(FieldChange::new("host_quota", json!(self.host_quota), json!(q)));
            self.host_quota = q;
        }
        changes
    }

    /// The stored fields, for audit snapshots.
    pub fn snapshot(&self) -> Value {
        json!({
            "user_id": self.user_id,
            "region_quota": self.region_quota,
            "host_quota": self.host_quota,
            "region_count": self.region_count,
            "host_count": self.host_count,
        })
    }
}

fn check(quota: &'static str, current: u32, requested: u32, limit: u32) -> Result<(), IpamError> {
    if u64::from(current) + u64::from(requested) > u64::from(limit) {
        Err(IpamError::QuotaExceeded {
            quota,
            limit: limit.into(),
            current: current.into(),
            requested: requested.into(),
        })
    } else {
        Ok(())
    }
}

/// An administrator's change: `Some(None)` resets a limit to the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaPatch {
    /// New region limit.
    pub region_quota: Option<Option<u32>>,
    /// New host limit.
    pub host_quota: Option<Option<u32>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_unit_of_quota_can_be_used() {
        let mut u = QuotaUsage::empty(UserId::parse("u1").unwrap());
        u.region_count = 999;
        let d = QuotaDefaults::default();
        assert!(u.check_regions(1, d).is_ok());
        assert!(matches!(u.check_regions(2, d), Err(IpamError::QuotaExceeded { limit: 1000, current: 999, .. })));
    }

    #[test]
    fn overrides_win_over_defaults_and_can_be_reset() {
        let mut u = QuotaUsage::empty(UserId::parse("u1").unwrap());
        let d = QuotaDefaults::default();
        let changes = u.apply(&QuotaPatch { host_quota: Some(Some(5)), ..Default::default() });
        assert_eq!(changes.len(), 1);
        assert_eq!(u.host_limit(d), 5);
        u.apply(&QuotaPatch { host_quota: Some(None), ..Default::default() });
        assert_eq!(u.host_limit(d), 10_000);
    }
}
