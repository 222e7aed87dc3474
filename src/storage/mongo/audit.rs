//! The audit trail (and, through it, the event outbox).

use async_trait::async_trait;
use mongodb::bson::doc;

use super::docs::AuditDoc;
use super::filters::audit_filter;
use super::{MongoStore, errors, find_page};
use crate::domain::{AuditEvent, AuditId, DomainEvent, Page, PageRequest, UserId};
use crate::error::Result;
use crate::storage::{AuditFilter, AuditStore};

impl MongoStore {
    /// Appends events, and the domain events they stand for to the outbox.
    ///
    /// Standalone MongoDB has no multi-document transactions, so the outbox cannot be written
    /// atomically with the change and its audit trail; writing it right after the audit records
    /// is the closest equivalent (a crash in between loses the event, never invents one).
    pub(super) async fn record(&self, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let docs = events.iter().map(AuditDoc::new).collect::<Result<Vec<_>>>()?;
        self.audit().insert_many(docs).await.map_err(errors::db)?;
        let domain: Vec<DomainEvent> = events.iter().filter_map(DomainEvent::from_audit).collect();
        self.publish(&domain).await
    }
}

#[async_trait]
impl AuditStore for MongoStore {
    async fn audit_events(&self, user: &UserId, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEvent>> {
        let sort = doc! { "timestamp": -1, "_id": -1 };
        find_page(&self.audit(), audit_filter(user, filter), sort, page, AuditEvent::try_from).await
    }

    async fn audit_event(&self, user: &UserId, id: &AuditId) -> Result<Option<AuditEvent>> {
        let found =
            self.audit().find_one(doc! { "_id": id.as_str(), "user_id": user.as_str() }).await.map_err(errors::db)?;
        found.map(AuditEvent::try_from).transpose()
    }
}
