//! Comments on regions and hosts.

use super::Ipam;
use crate::auth::Actor;
use crate::domain::{Comment, CommentId, CommentTarget, CommentText, Page, PageRequest};
use crate::error::{IpamError, Result};

impl Ipam {
    /// Adds a comment to one of the caller's regions or hosts.
    pub async fn add_comment(&self, actor: &Actor, target: CommentTarget, text: CommentText) -> Result<Comment> {
        let comment = Comment {
            id: CommentId::generate(),
            user_id: actor.user_id.clone(),
            target,
            text,
            author_id: actor.user_id.clone(),
            author: actor.username.clone(),
            created_at: self.now(),
        };
        self.store.add_comment(actor, &comment).await?;
        Ok(comment)
    }

    /// A page of comments, newest first.
    pub async fn comments(&self, actor: &Actor, target: &CommentTarget, page: PageRequest) -> Result<Page<Comment>> {
        self.store
            .comments(&actor.user_id, target, page)
            .await?
            .ok_or_else(|| IpamError::not_found(target.kind(), target.id()))
    }
}
