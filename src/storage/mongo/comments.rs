//! Comments on regions and hosts.

use async_trait::async_trait;
use mongodb::bson::doc;
use serde_json::{Value, json};

use super::documents::CommentDoc;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors, find_page};
use crate::auth::Actor;
use crate::domain::{AuditAction, AuditEvent, Comment, CommentTarget, FieldChange, Page, PageRequest, UserId};
use crate::error::{IpamError, Result};
use crate::storage::{CommentStore, HostStore, RegionStore};

impl MongoStore {
    /// The comment and its audit record (and outbox event), inside `tx`.
    async fn add_comment_in(&self, tx: &mut Tx, c: &Comment, event: &AuditEvent) -> Result<()> {
        run!(tx, self.comments().insert_one(CommentDoc::new(c))).map_err(errors::db)?;
        self.record_in(tx, std::slice::from_ref(event)).await
    }
}

#[async_trait]
impl CommentStore for MongoStore {
    async fn add_comment(&self, actor: &Actor, c: &Comment) -> Result<()> {
        let user = &actor.user_id;
        let change = vec![FieldChange::new("comment", Value::Null, json!(c.text))];
        let event = match &c.target {
            CommentTarget::Region(id) => {
                let region = self.region(user, id).await?.ok_or_else(|| IpamError::not_found("region", id.as_str()))?;
                AuditEvent::region(AuditAction::Comment, &region, actor, None, change, c.created_at)
            }
            CommentTarget::Host(id) => {
                let host = self.host(user, id).await?.ok_or_else(|| IpamError::not_found("host", id.as_str()))?;
                AuditEvent::host(AuditAction::Comment, &host, actor, None, change, c.created_at)
            }
        };
        atomically!(self, |tx| self.add_comment_in(tx, c, &event).await)
    }

    async fn comments(
        &self,
        user: &UserId,
        target: &CommentTarget,
        page: PageRequest,
    ) -> Result<Option<Page<Comment>>> {
        let exists = match target {
            CommentTarget::Region(id) => self.region(user, id).await?.is_some(),
            CommentTarget::Host(id) => self.host(user, id).await?.is_some(),
        };
        if !exists {
            return Ok(None);
        }
        let filter = doc! { "user_id": user.as_str(), "resource_id": target.id() };
        let page =
            find_page(&self.comments(), filter, doc! { "created_at": -1, "_id": -1 }, page, Comment::try_from).await?;
        Ok(Some(page))
    }
}
