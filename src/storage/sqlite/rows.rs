//! Row types and the conversions between stored text and domain values.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::{
    Application, AuditAction, AuditEvent, AuditId, AuditResource, Comment, CommentId, CommentTarget, CommentText,
    CostCenter, CountryCode, Description, DeviceType, FieldChange, Host, HostDetails, HostId, HostStatus, Hostname,
    Notes, OsType, OwnerLabel, Purpose, QuotaUsage, Region, RegionId, RegionName, RegionStatus, SlotMap, Tags, UserId,
    Username,
};
use crate::error::IpamError;

/// Timestamps are fixed-width RFC 3339 text (microseconds, `Z`), so text order is time order.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(super) fn parse_ts(s: &str) -> Result<DateTime<Utc>, IpamError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| corrupt(format!("timestamp '{s}': {e}")))
}

pub(super) fn corrupt(what: impl std::fmt::Display) -> IpamError {
    IpamError::internal(format!("corrupt row in the database: {what}"))
}

fn octet(v: i64, what: &str) -> Result<u8, IpamError> {
    u8::try_from(v).map_err(|_| corrupt(format!("{what} = {v}")))
}

fn count(v: i64, what: &str) -> Result<u32, IpamError> {
    u32::try_from(v).map_err(|_| corrupt(format!("{what} = {v}")))
}

fn tags(raw: &str) -> Result<Tags, IpamError> {
    let map: BTreeMap<String, String> = serde_json::from_str(raw).map_err(|e| corrupt(format!("tags: {e}")))?;
    Ok(Tags::from_stored(map))
}

pub(super) fn tags_text(t: &Tags) -> String {
    serde_json::to_string(t.as_map()).unwrap_or_else(|_| "{}".into())
}

pub(super) fn slots(raw: &[u8]) -> Result<SlotMap, IpamError> {
    SlotMap::from_bytes(raw).ok_or_else(|| corrupt("slot map is not 32 bytes"))
}

/// Column list of [`RegionRow`], in order.
macro_rules! region_columns {
    () => {
        "region_id, user_id, owner_id, owner, country_code, x_octet, y_octet, region_name, description, \
         status, tags, allocated_hosts, created_at, updated_at, created_by, updated_by"
    };
}
pub(super) use region_columns;

#[derive(sqlx::FromRow)]
pub(super) struct RegionRow {
    region_id: String,
    user_id: String,
    owner_id: String,
    owner: String,
    country_code: String,
    x_octet: i64,
    y_octet: i64,
    region_name: String,
    description: String,
    status: String,
    tags: String,
    allocated_hosts: i64,
    created_at: String,
    updated_at: String,
    created_by: String,
    updated_by: String,
}

impl TryFrom<RegionRow> for Region {
    type Error = IpamError;

    fn try_from(r: RegionRow) -> Result<Self, IpamError> {
        Ok(Region {
            id: RegionId::from_stored(r.region_id),
            user_id: UserId::from_stored(r.user_id),
            owner_id: UserId::from_stored(r.owner_id),
            owner: OwnerLabel::from_stored(r.owner),
            country_code: CountryCode::from_stored(r.country_code),
            x: octet(r.x_octet, "x_octet")?,
            y: octet(r.y_octet, "y_octet")?,
            name: RegionName::from_stored(r.region_name),
            description: Description::from_stored(r.description),
            status: RegionStatus::from_text(&r.status).ok_or_else(|| corrupt(format!("status {}", r.status)))?,
            tags: tags(&r.tags)?,
            allocated_hosts: count(r.allocated_hosts, "allocated_hosts")?,
            created_at: parse_ts(&r.created_at)?,
            updated_at: parse_ts(&r.updated_at)?,
            created_by: UserId::from_stored(r.created_by),
            updated_by: UserId::from_stored(r.updated_by),
        })
    }
}

/// Column list of [`HostRow`], in order.
macro_rules! host_columns {
    () => {
        "host_id, user_id, region_id, x_octet, y_octet, z_octet, hostname, device_type, os_type, application, \
         cost_center, purpose, notes, owner, owner_id, status, tags, created_at, updated_at, created_by, updated_by"
    };
}
pub(super) use host_columns;

#[derive(sqlx::FromRow)]
pub(super) struct HostRow {
    host_id: String,
    user_id: String,
    region_id: String,
    x_octet: i64,
    y_octet: i64,
    z_octet: i64,
    hostname: String,
    device_type: Option<String>,
    os_type: Option<String>,
    application: Option<String>,
    cost_center: Option<String>,
    purpose: Option<String>,
    notes: Option<String>,
    owner: String,
    owner_id: String,
    status: String,
    tags: String,
    created_at: String,
    updated_at: String,
    created_by: String,
    updated_by: String,
}

impl TryFrom<HostRow> for Host {
    type Error = IpamError;

    fn try_from(r: HostRow) -> Result<Self, IpamError> {
        let device_type = match r.device_type {
            Some(d) => Some(DeviceType::from_text(&d).ok_or_else(|| corrupt(format!("device_type {d}")))?),
            None => None,
        };
        Ok(Host {
            id: HostId::from_stored(r.host_id),
            user_id: UserId::from_stored(r.user_id),
            region_id: RegionId::from_stored(r.region_id),
            x: octet(r.x_octet, "x_octet")?,
            y: octet(r.y_octet, "y_octet")?,
            z: octet(r.z_octet, "z_octet")?,
            hostname: Hostname::from_stored(r.hostname),
            details: HostDetails {
                device_type,
                os_type: r.os_type.map(OsType::from_stored),
                application: r.application.map(Application::from_stored),
                cost_center: r.cost_center.map(CostCenter::from_stored),
                purpose: r.purpose.map(Purpose::from_stored),
                notes: r.notes.map(Notes::from_stored),
            },
            owner: OwnerLabel::from_stored(r.owner),
            owner_id: UserId::from_stored(r.owner_id),
            status: HostStatus::from_text(&r.status).ok_or_else(|| corrupt(format!("status {}", r.status)))?,
            tags: tags(&r.tags)?,
            created_at: parse_ts(&r.created_at)?,
            updated_at: parse_ts(&r.updated_at)?,
            created_by: UserId::from_stored(r.created_by),
            updated_by: UserId::from_stored(r.updated_by),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    audit_id: String,
    user_id: String,
    actor_id: String,
    actor_username: String,
    action_type: String,
    resource_type: String,
    resource_id: String,
    ip_address: Option<String>,
    cidr: Option<String>,
    x_octet: Option<i64>,
    y_octet: Option<i64>,
    z_octet: Option<i64>,
    snapshot: String,
    changes: String,
    reason: Option<String>,
    metadata: String,
    timestamp: String,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = IpamError;

    fn try_from(r: AuditRow) -> Result<Self, IpamError> {
        let json = |s: &str, what: &str| -> Result<Value, IpamError> {
            serde_json::from_str(s).map_err(|e| corrupt(format!("{what}: {e}")))
        };
        let changes: Vec<FieldChange> =
            serde_json::from_str(&r.changes).map_err(|e| corrupt(format!("changes: {e}")))?;
        let opt_octet = |v: Option<i64>, what: &str| v.map(|v| octet(v, what)).transpose();
        Ok(AuditEvent {
            id: AuditId::from_stored(r.audit_id),
            user_id: UserId::from_stored(r.user_id),
            actor_id: UserId::from_stored(r.actor_id),
            actor_username: Username::from_stored(r.actor_username),
            action: AuditAction::parse(&r.action_type).map_err(corrupt)?,
            resource_type: AuditResource::parse(&r.resource_type).map_err(corrupt)?,
            resource_id: r.resource_id,
            ip_address: r.ip_address,
            cidr: r.cidr,
            x: opt_octet(r.x_octet, "x_octet")?,
            y: opt_octet(r.y_octet, "y_octet")?,
            z: opt_octet(r.z_octet, "z_octet")?,
            snapshot: json(&r.snapshot, "snapshot")?,
            changes,
            reason: r.reason,
            metadata: json(&r.metadata, "metadata")?,
            timestamp: parse_ts(&r.timestamp)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CommentRow {
    comment_id: String,
    user_id: String,
    resource_type: String,
    resource_id: String,
    text: String,
    author_id: String,
    author_username: String,
    created_at: String,
}

impl TryFrom<CommentRow> for Comment {
    type Error = IpamError;

    fn try_from(r: CommentRow) -> Result<Self, IpamError> {
        let target = match r.resource_type.as_str() {
            "region" => CommentTarget::Region(RegionId::from_stored(r.resource_id)),
            "host" => CommentTarget::Host(HostId::from_stored(r.resource_id)),
            other => return Err(corrupt(format!("comment resource_type {other}"))),
        };
        Ok(Comment {
            id: CommentId::from_stored(r.comment_id),
            user_id: UserId::from_stored(r.user_id),
            target,
            text: CommentText::from_stored(r.text),
            author_id: UserId::from_stored(r.author_id),
            author: Username::from_stored(r.author_username),
            created_at: parse_ts(&r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct QuotaRow {
    user_id: String,
    region_quota: Option<i64>,
    host_quota: Option<i64>,
    region_count: i64,
    host_count: i64,
    last_updated: String,
}

impl TryFrom<QuotaRow> for QuotaUsage {
    type Error = IpamError;

    fn try_from(r: QuotaRow) -> Result<Self, IpamError> {
        Ok(QuotaUsage {
            user_id: UserId::from_stored(r.user_id),
            region_quota: r.region_quota.map(|q| count(q, "region_quota")).transpose()?,
            host_quota: r.host_quota.map(|q| count(q, "host_quota")).transpose()?,
            region_count: count(r.region_count, "region_count")?,
            host_count: count(r.host_count, "host_count")?,
            last_updated: Some(parse_ts(&r.last_updated)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_sort_as_text() {
        let a = crate::clock::to_millis(Utc::now());
        assert_eq!(parse_ts(&ts(a)).unwrap(), a);
        let b = a + chrono::Duration::milliseconds(1);
        assert!(ts(a) < ts(b));
        assert_eq!(ts(a).len(), 27);
    }
}
