//! The audit trail.

use async_trait::async_trait;
use mongodb::bson::doc;

use super::docs::AuditDoc;
use super::filters::audit_filter;
use super::{MongoStore, errors, find_page};
use crate::domain::{AuditEvent, AuditId, Page, PageRequest, UserId};
use crate::error::Result;
use crate::storage::{AuditFilter, AuditStore};

impl MongoStore {
    /// Appends events.
    pub(super) async fn record(&self, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let docs = events.iter().map(AuditDoc::new).collect::<Result<Vec<_>>>()?;
        self.audit().insert_many(docs).await.map_err(errors::db)?;
        Ok(())
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
