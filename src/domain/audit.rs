//! Audit events: an immutable record of every mutation (who, what, which address, the state
//! before or at the change, field diffs, why, when).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::host::Host;
use super::ids::{AuditId, UserId, Username};
use super::region::Region;
use crate::auth::Actor;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A region or host was allocated.
    Create,
    /// Fields were changed.
    Update,
    /// A region was retired (deleted, freeing the block), or a host with it.
    Retire,
    /// A host was released (deleted, freeing the address).
    Release,
    /// A comment was added.
    Comment,
    /// An administrator changed a quota.
    QuotaUpdate,
    /// An address was reserved.
    Reserve,
    /// A reservation was cancelled (deleted).
    Cancel,
    /// A reservation became an allocation.
    Convert,
    /// A share link was revoked.
    Revoke,
    /// A reservation or share link passed its expiry (recorded by the expiry jobs).
    Expire,
}

impl AuditAction {
    /// Every action.
    pub const ALL: &'static [AuditAction] = &[
        Self::Create,
        Self::Update,
        Self::Retire,
        Self::Release,
        Self::Comment,
        Self::QuotaUpdate,
        Self::Reserve,
        Self::Cancel,
        Self::Convert,
        Self::Revoke,
        Self::Expire,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Retire => "retire",
            Self::Release => "release",
            Self::Comment => "comment",
            Self::QuotaUpdate => "quota_update",
            Self::Reserve => "reserve",
            Self::Cancel => "cancel",
            Self::Convert => "convert",
            Self::Revoke => "revoke",
            Self::Expire => "expire",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL.iter().copied().find(|a| a.as_str().eq_ignore_ascii_case(raw.trim())).ok_or_else(|| {
            format!("must be one of: {}", Self::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "))
        })
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of resource an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditResource {
    /// A region.
    Region,
    /// A host.
    Host,
    /// A user's quota.
    Quota,
    /// A reservation.
    Reservation,
    /// A share link.
    Share,
}

impl AuditResource {
    /// Every kind.
    pub const ALL: &'static [AuditResource] = &[Self::Region, Self::Host, Self::Quota, Self::Reservation, Self::Share];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Host => "host",
            Self::Quota => "quota",
            Self::Reservation => "reservation",
            Self::Share => "share",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| "must be one of: region, host, quota, reservation, share".to_owned())
    }
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name as on the wire.
    pub field: String,
    /// Value before.
    pub old_value: Value,
    /// Value after.
    pub new_value: Value,
}

impl FieldChange {
    /// A change of `field` from `old_value` to `new_value`.
    pub fn new(field: &str, old_value: Value, new_value: Value) -> Self {
        Self { field: field.to_owned(), old_value, new_value }
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Identifier.
    pub id: AuditId,
    /// The namespace the resource lives in.
    pub user_id: UserId,
    /// Who did it.
    pub actor_id: UserId,
    /// Their username at the time.
    pub actor_username: Username,
    /// What happened.
    pub action: AuditAction,
    /// Kind of resource.
    pub resource_type: AuditResource,
    /// Its id (for quotas: the user id).
    pub resource_id: String,
    /// Host address, for host events.
    pub ip_address: Option<String>,
    /// Region block, for region and host events.
    pub cidr: Option<String>,
    /// X octet, when the event is about an address.
    pub x: Option<u8>,
    /// Y octet, when the event is about an address.
    pub y: Option<u8>,
    /// Z octet, for host events.
    pub z: Option<u8>,
    /// The resource before an update, or at creation / deletion.
    pub snapshot: Value,
    /// Field diffs (updates).
    pub changes: Vec<FieldChange>,
    /// Why (required for retire / release).
    pub reason: Option<String>,
    /// Denormalised context for filtering and export.
    pub metadata: Value,
    /// When.
    pub timestamp: DateTime<Utc>,
}

impl AuditEvent {
    /// An event about a region. `snapshot` is the region's state the event refers to.
    pub fn region(
        action: AuditAction,
        region: &Region,
        actor: &Actor,
        reason: Option<String>,
        changes: Vec<FieldChange>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: AuditId::generate(),
            user_id: region.user_id.clone(),
            actor_id: actor.user_id.clone(),
            actor_username: actor.username.clone(),
            action,
            resource_type: AuditResource::Region,
            resource_id: region.id.to_string(),
            ip_address: None,
            cidr: Some(region.cidr()),
            x: Some(region.x),
            y: Some(region.y),
            z: None,
            snapshot: region.snapshot(),
            changes,
            reason,
            metadata: json!({
                "country_code": region.country_code,
                "region_name": region.name,
                "x_octet": region.x,
                "y_octet": region.y,
                "status": region.status,
                "owner": region.owner,
            }),
            timestamp: at,
        }
    }

    /// An event about a host. `snapshot` is the host's state the event refers to.
    pub fn host(
        action: AuditAction,
        host: &Host,
        actor: &Actor,
        reason: Option<String>,
        changes: Vec<FieldChange>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: AuditId::generate(),
            user_id: host.user_id.clone(),
            actor_id: actor.user_id.clone(),
            actor_username: actor.username.clone(),
            action,
            resource_type: AuditResource::Host,
            resource_id: host.id.to_string(),
            ip_address: Some(host.ip_address()),
            cidr: Some(super::address::region_cidr(host.x, host.y)),
            x: Some(host.x),
            y: Some(host.y),
            z: Some(host.z),
            snapshot: host.snapshot(),
            changes,
            reason,
            metadata: json!({
                "region_id": host.region_id,
                "hostname": host.hostname,
                "x_octet": host.x,
                "y_octet": host.y,
                "z_octet": host.z,
                "status": host.status,
                "owner": host.owner,
            }),
            timestamp: at,
        }
    }

    /// The events of a region retirement, in the order they happen: one `Retire` per host
    /// released by the cascade, then the region's own `Retire` whose snapshot lists those hosts.
    pub fn retirement(
        region: &Region,
        hosts: &[Host],
        actor: &Actor,
        reason: &impl fmt::Display,
        at: DateTime<Utc>,
    ) -> Vec<Self> {
        let cascade_reason = format!("Cascade retirement from region {}: {reason}", region.cidr());
        let mut events: Vec<Self> = hosts
            .iter()
            .map(|h| Self::host(AuditAction::Retire, h, actor, Some(cascade_reason.clone()), vec![], at))
            .collect();
        let mut event = Self::region(AuditAction::Retire, region, actor, Some(reason.to_string()), vec![], at);
        event.snapshot["child_hosts"] = json!(
            hosts
                .iter()
                .map(|h| json!({ "host_id": h.id, "hostname": h.hostname, "ip_address": h.ip_address() }))
                .collect::<Vec<_>>()
        );
        events.push(event);
        events
    }

    /// An event about a reservation.
    pub fn reservation(
        action: AuditAction,
        r: &super::reservation::Reservation,
        actor: &Actor,
        reason: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        let is_host = r.z.is_some();
        Self {
            id: AuditId::generate(),
            user_id: r.user_id.clone(),
            actor_id: actor.user_id.clone(),
            actor_username: actor.username.clone(),
            action,
            resource_type: AuditResource::Reservation,
            resource_id: r.id.to_string(),
            ip_address: is_host.then(|| r.address()),
            cidr: Some(super::address::region_cidr(r.x, r.y)),
            x: Some(r.x),
            y: Some(r.y),
            z: r.z,
            snapshot: r.snapshot(at),
            changes: vec![],
            reason,
            metadata: json!({ "resource_type": r.kind.as_str(), "reserved_address": r.address() }),
            timestamp: at,
        }
    }

    /// An event about a share link (the secret token is never copied into the trail).
    pub fn share(action: AuditAction, share: &super::share::Share, actor: &Actor, at: DateTime<Utc>) -> Self {
        Self {
            id: AuditId::generate(),
            user_id: share.user_id.clone(),
            actor_id: actor.user_id.clone(),
            actor_username: actor.username.clone(),
            action,
            resource_type: AuditResource::Share,
            resource_id: share.id.to_string(),
            ip_address: None,
            cidr: None,
            x: None,
            y: None,
            z: None,
            snapshot: json!({
                "share_id": share.id,
                "resource_type": share.kind.as_str(),
                "resource_id": share.resource_id,
                "description": share.description,
                "expires_at": share.expires_at,
                "created_at": share.created_at,
                "is_active": share.is_active,
            }),
            changes: vec![],
            reason: None,
            metadata: json!({ "resource_type": share.kind.as_str(), "resource_id": share.resource_id }),
            timestamp: at,
        }
    }

    /// An administrator's change of `user`'s quota.
    pub fn quota(user: &UserId, actor: &Actor, before: Value, changes: Vec<FieldChange>, at: DateTime<Utc>) -> Self {
        Self {
            id: AuditId::generate(),
            user_id: user.clone(),
            actor_id: actor.user_id.clone(),
            actor_username: actor.username.clone(),
            action: AuditAction::QuotaUpdate,
            resource_type: AuditResource::Quota,
            resource_id: user.to_string(),
            ip_address: None,
            cidr: None,
            x: None,
            y: None,
            z: None,
            snapshot: before,
            changes,
            reason: None,
            metadata: json!({}),
            timestamp: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_resources_parse_from_wire_names() {
        assert_eq!(AuditAction::parse("RETIRE"), Ok(AuditAction::Retire));
        assert_eq!(AuditAction::parse("quota_update"), Ok(AuditAction::QuotaUpdate));
        assert!(AuditAction::parse("delete").unwrap_err().contains("create, update"));
        assert_eq!(AuditResource::parse("host"), Ok(AuditResource::Host));
        assert!(AuditResource::parse("country").is_err());
    }
}
