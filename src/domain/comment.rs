//! Comments on regions and hosts (append-only, newest first).

use chrono::{DateTime, Utc};

use super::ids::{CommentId, HostId, RegionId, UserId, Username};
use super::text::CommentText;

/// What a comment is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentTarget {
    /// A region.
    Region(RegionId),
    /// A host.
    Host(HostId),
}

impl CommentTarget {
    /// `region` or `host`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Region(_) => "region",
            Self::Host(_) => "host",
        }
    }

    /// The target's id as text.
    pub fn id(&self) -> &str {
        match self {
            Self::Region(id) => id.as_str(),
            Self::Host(id) => id.as_str(),
        }
    }
}

/// A stored comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// Identifier.
    pub id: CommentId,
    /// Namespace.
    pub user_id: UserId,
    /// What it is attached to.
    pub target: CommentTarget,
    /// The text.
    pub text: CommentText,
    /// Author's user id.
    pub author_id: UserId,
    /// Author's username at the time.
    pub author: Username,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}
