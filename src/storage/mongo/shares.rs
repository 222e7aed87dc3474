//! Shareable links.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{DateTime as BsonDateTime, Document, doc};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::documents::{corrupt, date, time};
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors, find_page};
use crate::auth::Actor;
use crate::domain::{
    AuditAction, AuditEvent, Description, Page, PageRequest, Share, ShareId, ShareKind, ShareToken, UserId, Username,
};
use crate::error::{IpamError, Result};
use crate::storage::ShareStore;

/// A share document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ShareDoc {
    #[serde(rename = "_id")]
    id: String,
    share_token: String,
    user_id: String,
    resource_type: String,
    resource_id: String,
    description: Option<String>,
    expires_at: BsonDateTime,
    view_count: i64,
    last_accessed: Option<BsonDateTime>,
    created_at: BsonDateTime,
    created_by: String,
    is_active: bool,
    updated_at: BsonDateTime,
}

impl ShareDoc {
    pub(super) fn new(s: &Share) -> Self {
        Self {
            id: s.id.to_string(),
            share_token: s.token.as_str().to_owned(),
            user_id: s.user_id.to_string(),
            resource_type: s.kind.as_str().to_owned(),
            resource_id: s.resource_id.clone(),
            description: s.description.as_ref().map(|d| d.to_string()),
            expires_at: date(s.expires_at),
            view_count: i64::try_from(s.view_count).unwrap_or(i64::MAX),
            last_accessed: s.last_accessed.map(date),
            created_at: date(s.created_at),
            created_by: s.created_by.to_string(),
            is_active: s.is_active,
            updated_at: date(s.created_at),
        }
    }
}

impl TryFrom<ShareDoc> for Share {
    type Error = IpamError;

    fn try_from(d: ShareDoc) -> Result<Self> {
        Ok(Share {
            id: ShareId::from_stored(d.id),
            token: ShareToken::from_stored(d.share_token),
            user_id: UserId::from_stored(d.user_id),
            kind: ShareKind::parse(&d.resource_type).map_err(corrupt)?,
            resource_id: d.resource_id,
            description: d.description.map(Description::from_stored),
            expires_at: time(d.expires_at)?,
            view_count: u64::try_from(d.view_count).map_err(|_| corrupt("view_count"))?,
            last_accessed: d.last_accessed.map(time).transpose()?,
            created_at: time(d.created_at)?,
            created_by: Username::from_stored(d.created_by),
            is_active: d.is_active,
        })
    }
}

/// Live at `now`: active and unexpired.
pub(super) fn live(now: DateTime<Utc>) -> Document {
    doc! { "is_active": true, "expires_at": { "$gt": date(now) } }
}

fn merge(mut a: Document, b: Document) -> Document {
    a.extend(b);
    a
}

impl MongoStore {
    pub(super) fn shares(&self) -> mongodb::Collection<ShareDoc> {
        self.db.collection("ipam_shares")
    }
}

impl MongoStore {
    /// The share and its audit record, inside `tx`.
    async fn create_share_in(&self, tx: &mut Tx, actor: &Actor, share: &Share) -> Result<()> {
        run!(tx, self.shares().insert_one(ShareDoc::new(share))).map_err(errors::db)?;
        self.record_in(tx, &[AuditEvent::share(AuditAction::Create, share, actor, share.created_at)]).await
    }

    /// Deactivates an active share and records it, inside `tx`; false when there was none.
    async fn revoke_share_in(&self, tx: &mut Tx, actor: &Actor, id: &ShareId, now: DateTime<Utc>) -> Result<bool> {
        let revoked = run!(
            tx,
            self.shares()
                .find_one_and_update(
                    doc! { "_id": id.as_str(), "user_id": actor.user_id.as_str(), "is_active": true },
                    doc! { "$set": { "is_active": false, "updated_at": date(now) } },
                )
                .return_document(ReturnDocument::After)
        )
        .map_err(errors::db)?;
        let Some(revoked) = revoked else { return Ok(false) };
        self.record_in(tx, &[AuditEvent::share(AuditAction::Revoke, &Share::try_from(revoked)?, actor, now)]).await?;
        Ok(true)
    }
}

#[async_trait]
impl ShareStore for MongoStore {
    async fn create_share(&self, actor: &Actor, share: &Share) -> Result<()> {
        atomically!(self, |tx| self.create_share_in(tx, actor, share).await)
    }

    async fn live_shares(&self, user: &UserId, page: PageRequest, now: DateTime<Utc>) -> Result<Page<Share>> {
        let filter = merge(doc! { "user_id": user.as_str() }, live(now));
        find_page(&self.shares(), filter, doc! { "created_at": -1, "_id": -1 }, page, Share::try_from).await
    }

    async fn revoke_share(&self, actor: &Actor, id: &ShareId, now: DateTime<Utc>) -> Result<bool> {
        atomically!(self, |tx| self.revoke_share_in(tx, actor, id, now).await)
    }

    async fn live_share(&self, token: &ShareToken, now: DateTime<Utc>) -> Result<Option<Share>> {
        let found = self
            .shares()
            .find_one(merge(doc! { "share_token": token.as_str() }, live(now)))
            .await
            .map_err(errors::db)?;
        found.map(Share::try_from).transpose()
    }

    async fn record_view(&self, id: &ShareId, now: DateTime<Utc>) -> Result<Option<Share>> {
        let found = self
            .shares()
            .find_one_and_update(
                merge(doc! { "_id": id.as_str() }, live(now)),
                doc! { "$inc": { "view_count": 1_i64 }, "$set": { "last_accessed": date(now) } },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(errors::db)?;
        found.map(Share::try_from).transpose()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mongodb::bson;

    use super::*;

    #[test]
    fn shares_round_trip_and_opening_requires_a_live_share() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let s = Share::new(
            &UserId::parse("u1").unwrap(),
            &Username::parse("alice").unwrap(),
            ShareKind::Region,
            "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            7,
            None,
            now,
        );
        let doc = bson::to_document(&ShareDoc::new(&s)).unwrap();
        assert_eq!(doc.get_str("share_token").unwrap(), s.token.as_str());
        let back: ShareDoc = bson::from_document(doc).unwrap();
        assert_eq!(Share::try_from(back).unwrap(), s);
        assert_eq!(live(now), doc! { "is_active": true, "expires_at": { "$gt": date(now) } });
    }
}
