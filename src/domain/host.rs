//! Hosts: single addresses `10.X.Y.Z` allocated inside a region.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::address::host_ip;
use super::audit::FieldChange;
use super::ids::{HostId, RegionId, UserId};
use super::status::{DeviceType, HostStatus};
use super::tag_change::TagChange;
use super::tags::Tags;
use super::text::{Application, CostCenter, Hostname, Notes, OsType, OwnerLabel, Purpose};

/// Optional descriptive fields of a host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostDetails {
    /// Kind of device.
    pub device_type: Option<DeviceType>,
    /// Operating system.
    pub os_type: Option<OsType>,
    /// Application.
    pub application: Option<Application>,
    /// Cost center.
    pub cost_center: Option<CostCenter>,
    /// Purpose.
    pub purpose: Option<Purpose>,
    /// Notes.
    pub notes: Option<Notes>,
}

/// A host as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Identifier.
    pub id: HostId,
    /// The namespace (owner account) it lives in.
    pub user_id: UserId,
    /// Parent region.
    pub region_id: RegionId,
    /// Second octet.
    pub x: u8,
    /// Third octet.
    pub y: u8,
    /// Fourth octet (1..=254).
    pub z: u8,
    /// Hostname, unique in its region.
    pub hostname: Hostname,
    /// Descriptive fields.
    pub details: HostDetails,
    /// Human owner label.
    pub owner: OwnerLabel,
    /// Account that created it.
    pub owner_id: UserId,
    /// Lifecycle label.
    pub status: HostStatus,
    /// Tags.
    pub tags: Tags,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// User id of the creator.
    pub created_by: UserId,
    /// User id of the last writer.
    pub updated_by: UserId,
}

impl Host {
    /// A new Active host of `actor` at Z in `region`.
    pub fn allocated(
        actor: &crate::auth::Actor,
        region: &super::region::Region,
        z: u8,
        hostname: Hostname,
        template: &HostTemplate<'_>,
        now: DateTime<Utc>,
    ) -> Self {
        let user = &actor.user_id;
        Self {
            id: HostId::generate(),
            user_id: user.clone(),
            region_id: region.id.clone(),
            x: region.x,
            y: region.y,
            z,
            hostname,
            details: template.details.clone(),
            owner: template.owner.clone(),
            owner_id: user.clone(),
            status: HostStatus::Active,
            tags: template.tags.clone(),
            created_at: now,
            updated_at: now,
            created_by: user.clone(),
            updated_by: user.clone(),
        }
    }

    /// `10.X.Y.Z`.
    pub fn ip_address(&self) -> String {
        host_ip(self.x, self.y, self.z)
    }

    /// Applies `patch`, returning what changed (empty when nothing did). A tag change is
    /// computed from the tags as they are now (see [`Region::apply`](super::region::Region::apply));
    /// it fails, changing nothing, when the tags would exceed their limit.
    pub fn apply(&mut self, patch: &HostPatch) -> Result<Vec<FieldChange>, crate::error::IpamError> {
        let tags = match &patch.tags {
            Some(change) => Some(change.apply_to(&self.tags).map_err(|e| crate::error::IpamError::invalid("tags", e))?),
            None => None,
        };
        let mut changes = Vec::new();
        macro_rules! set {
            ($field:literal, $target:expr, $value:expr) => {
                if let Some(new) = $value {
                    if new != &$target {
                        changes.push(FieldChange::new($field, json!($target), json!(new)));
                        $target = new.clone();
                    }
                }
            };
        }
        set!("hostname", self.hostname, &patch.hostname);
        set!("device_type", self.details.device_type, &patch.device_type);
        set!("os_type", self.details.os_type, &patch.os_type);
        set!("application", self.details.application, &patch.application);
        set!("cost_center", self.details.cost_center, &patch.cost_center);
        set!("purpose", self.details.purpose, &patch.purpose);
        set!("notes", self.details.notes, &patch.notes);
        set!("owner", self.owner, &patch.owner);
        set!("status", self.status, &patch.status);
        set!("tags", self.tags, &tags);
        Ok(changes)
    }

    /// The public fields, as kept in audit snapshots.
    pub fn snapshot(&self) -> Value {
        json!({
            "host_id": self.id,
            "region_id": self.region_id,
            "x_octet": self.x,
            "y_octet": self.y,
            "z_octet": self.z,
            "ip_address": self.ip_address(),
            "hostname": self.hostname,
            "device_type": self.details.device_type,
            "os_type": self.details.os_type,
            "application": self.details.application,
            "cost_center": self.details.cost_center,
            "purpose": self.details.purpose,
            "notes": self.details.notes,
            "owner": self.owner,
            "owner_id": self.owner_id,
            "status": self.status,
            "tags": self.tags.to_json(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// The fields every host of one allocation shares.
#[derive(Debug, Clone, Copy)]
pub struct HostTemplate<'a> {
    /// Descriptive fields.
    pub details: &'a HostDetails,
    /// Owner label.
    pub owner: &'a OwnerLabel,
    /// Tags.
    pub tags: &'a Tags,
}

/// What a client supplies to allocate a host (the address is chosen by the allocator).
#[derive(Debug, Clone)]
pub struct NewHost {
    /// Hostname.
    pub hostname: Hostname,
    /// Descriptive fields.
    pub details: HostDetails,
    /// Owner label; defaults to the caller's username.
    pub owner: Option<OwnerLabel>,
    /// Tags.
    pub tags: Tags,
}

/// A partial update. The outer `Option` is "given or not"; for clearable fields the inner
/// `None` clears the value.
#[derive(Debug, Clone, Default)]
pub struct HostPatch {
    /// New hostname.
    pub hostname: Option<Hostname>,
    /// New device type (or cleared).
    pub device_type: Option<Option<DeviceType>>,
    /// New OS (or cleared).
    pub os_type: Option<Option<OsType>>,
    /// New application (or cleared).
    pub application: Option<Option<Application>>,
    /// New cost center (or cleared).
    pub cost_center: Option<Option<CostCenter>>,
    /// New purpose (or cleared).
    pub purpose: Option<Option<Purpose>>,
    /// New notes (or cleared).
    pub notes: Option<Option<Notes>>,
    /// New owner label.
    pub owner: Option<OwnerLabel>,
    /// New status.
    pub status: Option<HostStatus>,
    /// New tags: replaced, or some added or removed (see [`TagChange`]).
    pub tags: Option<TagChange>,
}

impl HostPatch {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.hostname.is_none()
            && self.device_type.is_none()
            && self.os_type.is_none()
            && self.application.is_none()
            && self.cost_center.is_none()
            && self.purpose.is_none()
            && self.notes.is_none()
            && self.owner.is_none()
            && self.status.is_none()
            && self.tags.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Host {
        let now = Utc::now();
        let user = UserId::parse("u1").unwrap();
        Host {
            id: HostId::generate(),
            user_id: user.clone(),
            region_id: RegionId::generate(),
            x: 5,
            y: 23,
            z: 7,
            hostname: Hostname::parse("web-001").unwrap(),
            details: HostDetails { notes: Some(Notes::parse("old").unwrap()), ..Default::default() },
            owner: OwnerLabel::parse("alice").unwrap(),
            owner_id: user.clone(),
            status: HostStatus::Active,
            tags: Tags::empty(),
            created_at: now,
            updated_at: now,
            created_by: user.clone(),
            updated_by: user,
        }
    }

    #[test]
    fn clearing_a_field_is_a_change_to_null() {
        let mut h = sample();
        let changes = h.apply(&HostPatch { notes: Some(None), ..Default::default() }).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].old_value, json!("old"));
        assert_eq!(changes[0].new_value, Value::Null);
        assert_eq!(h.details.notes, None);
        assert!(h.apply(&HostPatch { notes: Some(None), ..Default::default() }).unwrap().is_empty());
    }

    #[test]
    fn the_ip_address_is_built_from_the_octets() {
        assert_eq!(sample().ip_address(), "10.5.23.7");
        assert_eq!(sample().snapshot()["ip_address"], json!("10.5.23.7"));
    }
}
