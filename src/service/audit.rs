//! Reading the audit trail.

use super::Ipam;
use crate::auth::Actor;
use crate::domain::{AuditEvent, AuditId, AuditResource, Page, PageRequest};
use crate::error::{IpamError, Result};
use crate::storage::AuditFilter;

impl Ipam {
    /// A page of the caller's audit events, newest first.
    pub async fn audit_events(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>> {
        self.store.audit_events(&actor.user_id, filter, page).await
    }

    /// One event.
    pub async fn audit_event(&self, actor: &Actor, id: &AuditId) -> Result<AuditEvent> {
        self.store
            .audit_event(&actor.user_id, id)
            .await?
            .ok_or_else(|| IpamError::not_found("audit event", id.as_str()))
    }

    /// The history of one region or host, including after it was retired. A resource the caller
    /// never had (or another user's) has no history and is reported as not found.
    pub async fn resource_history(
        &self,
        actor: &Actor,
        kind: AuditResource,
        id: &str,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let filter =
            AuditFilter { resource_type: Some(kind), resource_id: Some(id.to_owned()), ..AuditFilter::default() };
        let events = self.store.audit_events(&actor.user_id, &filter, page).await?;
        if events.total == 0 {
            return Err(IpamError::not_found(kind.as_str(), id));
        }
        Ok(events)
    }
}
