//! The audit trail (and, through it, the event outbox).

use async_trait::async_trait;
use mongodb::bson::doc;

use super::documents::AuditDoc;
use super::filters::audit_filter;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors, find_page};
use crate::domain::statistics::StatsDelta;
use crate::domain::{AuditEvent, AuditId, DomainEvent, Page, PageRequest, UserId};
use crate::error::Result;
use crate::storage::{AuditFilter, AuditStore};

impl MongoStore {
    /// Appends events, and the domain events they stand for to the outbox, as one unit of work.
    pub(super) async fn record(&self, events: &[AuditEvent]) -> Result<()> {
        atomically!(self, |tx| self.record_in(tx, events).await)
    }

    /// Appends events, and the domain events they stand for to the outbox, inside `tx`.
    ///
    /// In a transaction they commit together with the change they describe. A standalone
    /// server has none, so the outbox is written right after the audit records (a crash in
    /// between loses the event, never invents one).
    pub(super) async fn record_in(&self, tx: &mut Tx, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let docs = events.iter().map(AuditDoc::new).collect::<Result<Vec<_>>>()?;
        run!(tx, self.audit().insert_many(docs)).map_err(errors::db)?;
        let domain: Vec<DomainEvent> = events.iter().filter_map(DomainEvent::from_audit).collect();
        self.publish_in(tx, &domain).await?;
        let at = events.iter().map(|e| e.timestamp).max().unwrap_or_else(chrono::Utc::now);
        self.add_stats_in(tx, &StatsDelta::of(events), at).await
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
