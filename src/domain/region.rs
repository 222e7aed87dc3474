//! Regions: `10.X.Y.0/24` blocks allocated to a user inside a country.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::address::region_cidr;
use super::audit::FieldChange;
use super::country::{CountryCode, HOSTS_PER_REGION};
use super::ids::{RegionId, UserId};
use super::status::RegionStatus;
use super::tag_change::TagChange;
use super::tags::Tags;
use super::text::{Description, OwnerLabel, RegionName};
use crate::error::IpamError;

/// A region as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Identifier.
    pub id: RegionId,
    /// The namespace (owner account) it lives in.
    pub user_id: UserId,
    /// Account that created it.
    pub owner_id: UserId,
    /// Human owner label.
    pub owner: OwnerLabel,
    /// Country the block belongs to.
    pub country_code: CountryCode,
    /// Second octet.
    pub x: u8,
    /// Third octet.
    pub y: u8,
    /// Name, unique per user and country (ignoring case).
    pub name: RegionName,
    /// Free text.
    pub description: Description,
    /// Lifecycle label.
    pub status: RegionStatus,
    /// Tags.
    pub tags: Tags,
    /// Hosts currently allocated in it.
    pub allocated_hosts: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// User id of the creator.
    pub created_by: UserId,
    /// User id of the last writer.
    pub updated_by: UserId,
}

impl Region {
    /// A new Active region of `actor` at `10.X.Y.0/24` (the owner label defaults to the
    /// actor's username).
    pub fn allocated(
        actor: &crate::auth::Actor,
        country: &CountryCode,
        new: &NewRegion,
        (x, y): (u8, u8),
        now: DateTime<Utc>,
    ) -> Self {
        let user = &actor.user_id;
        Self {
            id: RegionId::generate(),
            user_id: user.clone(),
            owner_id: user.clone(),
            owner: super::allocation::owner_or_caller(new.owner.as_ref(), actor),
            country_code: country.clone(),
            x,
            y,
            name: new.name.clone(),
            description: new.description.clone(),
            status: RegionStatus::Active,
            tags: new.tags.clone(),
            allocated_hosts: 0,
            created_at: now,
            updated_at: now,
            created_by: user.clone(),
            updated_by: user.clone(),
        }
    }

    /// `10.X.Y.0/24`.
    pub fn cidr(&self) -> String {
        region_cidr(self.x, self.y)
    }

    /// Host utilisation in percent (2 decimals).
    pub fn utilization_percent(&self) -> f64 {
        percent(u64::from(self.allocated_hosts), u64::from(HOSTS_PER_REGION))
    }

    /// Applies `patch`, returning what changed (empty when nothing did). A tag change is
    /// computed from the tags as they are now, so call it on the region read inside the unit
    /// of work that writes the result; it fails (changing nothing) when the tags would exceed
    /// their limit.
    pub fn apply(&mut self, patch: &RegionPatch) -> Result<Vec<FieldChange>, IpamError> {
        let tags = match &patch.tags {
            Some(change) => Some(change.apply_to(&self.tags).map_err(|e| IpamError::invalid("tags", e))?),
            None => None,
        };
        let mut changes = Vec::new();
        if let Some(name) = &patch.name
            && name != &self.name
        {
            changes.push(FieldChange::new("region_name", json!(self.name), json!(name)));
            self.name = name.clone();
        }
        if let Some(description) = &patch.description
            && description != &self.description
        {
            changes.push(FieldChange::new("description", json!(self.description), json!(description)));
            self.description = description.clone();
        }
        if let Some(owner) = &patch.owner
            && owner != &self.owner
        {
            changes.push(FieldChange::new("owner", json!(self.owner), json!(owner)));
            self.owner = owner.clone();
        }
        if let Some(status) = patch.status
            && status != self.status
        {
            changes.push(FieldChange::new("status", json!(self.status), json!(status)));
            self.status = status;
        }
        if let Some(tags) = tags
            && tags != self.tags
        {
            changes.push(FieldChange::new("tags", tags_json(&self.tags), tags_json(&tags)));
            self.tags = tags;
        }
        Ok(changes)
    }

    /// The public fields, as kept in audit snapshots.
    pub fn snapshot(&self) -> Value {
        json!({
            "region_id": self.id,
            "country_code": self.country_code,
            "x_octet": self.x,
            "y_octet": self.y,
            "cidr": self.cidr(),
            "region_name": self.name,
            "description": self.description,
            "owner": self.owner,
            "owner_id": self.owner_id,
            "status": self.status,
            "tags": tags_json(&self.tags),
            "allocated_hosts": self.allocated_hosts,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

fn tags_json(tags: &Tags) -> Value {
    tags.to_json()
}

/// `part / whole` in percent, rounded to 2 decimals; 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // Counts here are far below 2^52, so the conversions are exact.
    let p = part as f64 * 100.0 / whole as f64;
    (p * 100.0).round() / 100.0
}

/// What a client supplies to allocate a region (the address is chosen by the allocator).
#[derive(Debug, Clone)]
pub struct NewRegion {
    /// Name.
    pub name: RegionName,
    /// Description.
    pub description: Description,
    /// Owner label; defaults to the caller's username.
    pub owner: Option<OwnerLabel>,
    /// Tags.
    pub tags: Tags,
}

/// A partial update; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct RegionPatch {
    /// New name.
    pub name: Option<RegionName>,
    /// New description.
    pub description: Option<Description>,
    /// New owner label.
    pub owner: Option<OwnerLabel>,
    /// New status.
    pub status: Option<RegionStatus>,
    /// New tags: replaced, or some added or removed (see [`TagChange`]).
    pub tags: Option<TagChange>,
}

impl RegionPatch {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.owner.is_none()
            && self.status.is_none()
            && self.tags.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Region {
        let now = Utc::now();
        let user = UserId::parse("u1").unwrap();
        Region {
            id: RegionId::generate(),
            user_id: user.clone(),
            owner_id: user.clone(),
            owner: OwnerLabel::parse("alice").unwrap(),
            country_code: CountryCode::from_stored("USA".into()),
            x: 153,
            y: 0,
            name: RegionName::parse("us-east").unwrap(),
            description: Description::empty(),
            status: RegionStatus::Active,
            tags: Tags::empty(),
            allocated_hosts: 127,
            created_at: now,
            updated_at: now,
            created_by: user.clone(),
            updated_by: user,
        }
    }

    #[test]
    fn apply_reports_only_real_changes() {
        let mut r = sample();
        let same = RegionPatch { name: Some(r.name.clone()), ..Default::default() };
        assert!(r.apply(&same).unwrap().is_empty());
        let patch = RegionPatch {
            name: Some(RegionName::parse("us-west").unwrap()),
            status: Some(RegionStatus::Reserved),
            ..Default::default()
        };
        let changes = r.apply(&patch).unwrap();
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["region_name", "status"]);
        assert_eq!(changes[0].old_value, json!("us-east"));
        assert_eq!(r.name.as_str(), "us-west");
    }

    #[test]
    fn utilisation_is_rounded_to_two_decimals() {
        assert_eq!(sample().utilization_percent(), 50.0);
        assert_eq!(percent(1, 3), 33.33);
        assert_eq!(percent(0, 0), 0.0);
    }

    #[test]
    fn snapshots_carry_the_cidr() {
        assert_eq!(sample().snapshot()["cidr"], json!("10.153.0.0/24"));
    }
}
