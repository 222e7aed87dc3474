//! The audit event object.

use chrono::{DateTime, Utc};
use ipam_core::domain::{AuditEvent, FieldChange};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One changed field.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FieldChangeResponse {
    /// Field name.
    field: String,
    /// Value before.
    #[schema(value_type = Object)]
    old_value: Value,
    /// Value after.
    #[schema(value_type = Object)]
    new_value: Value,
}

/// One audit record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEventResponse {
    /// Identifier.
    audit_id: String,
    /// Same as `audit_id`.
    #[serde(rename = "_id")]
    legacy_id: String,
    /// Namespace the resource lives in.
    user_id: String,
    /// Who did it.
    actor_id: String,
    /// Their username at the time.
    actor_username: String,
    /// `create`, `update`, `retire`, `release`, `comment` or `quota_update`.
    action_type: String,
    /// `region`, `host` or `quota`.
    resource_type: String,
    /// The resource's id.
    resource_id: String,
    /// Host address (host events).
    ip_address: Option<String>,
    /// Region block (region and host events).
    cidr: Option<String>,
    /// The resource before an update, or at creation / deletion.
    #[schema(value_type = Object)]
    snapshot: Value,
    /// Field diffs.
    changes: Vec<FieldChangeResponse>,
    /// Why.
    reason: Option<String>,
    /// Context (country, names, octets, status, owner).
    #[schema(value_type = Object)]
    metadata: Value,
    /// When.
    timestamp: DateTime<Utc>,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(e: AuditEvent) -> Self {
        Self {
            audit_id: e.id.to_string(),
            legacy_id: e.id.to_string(),
            user_id: e.user_id.to_string(),
            actor_id: e.actor_id.to_string(),
            actor_username: e.actor_username.to_string(),
            action_type: e.action.as_str().to_owned(),
            resource_type: e.resource_type.as_str().to_owned(),
            resource_id: e.resource_id,
            ip_address: e.ip_address,
            cidr: e.cidr,
            snapshot: e.snapshot,
            changes: e
                .changes
                .into_iter()
                .map(|FieldChange { field, old_value, new_value }| FieldChangeResponse { field, old_value, new_value })
                .collect(),
            reason: e.reason,
            metadata: e.metadata,
            timestamp: e.timestamp,
        }
    }
}
