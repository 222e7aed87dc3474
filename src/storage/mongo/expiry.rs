//! The expiry sweeps: reservations and shares whose expiry is past are marked so, one
//! conditional update each (a sweep racing another, or a user, changes each at most once), and
//! each change is audited by `system` — which also writes the `reservation.expired` outbox
//! event — in one unit of work (a transaction on a replica set).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, DateTime as BsonDateTime, Document, doc};
use mongodb::options::FindOptions;
use serde::de::DeserializeOwned;

use super::documents::date;
use super::notify_unit::MongoUnit;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors};
use crate::auth::Actor;
use crate::domain::notification::EXPIRY_NOTICE;
use crate::domain::{AuditAction, AuditEvent, Notification, NotificationCreated, Reservation, Share};
use crate::error::Result;
use crate::storage::ExpiryStore;
use crate::storage::notify::system_notice;

fn system() -> Actor {
    Actor::system()
}

/// Active reservations whose expiry is `now` or earlier (the same condition guards each update).
pub(super) fn overdue_reservations(now: DateTime<Utc>) -> Document {
    doc! { "status": "active", "expires_at": { "$ne": Bson::Null, "$lte": date(now) } }
}

/// Active reservations expiring in `(now, now + EXPIRY_NOTICE]`, after the `(expires_at, _id)`
/// cursor when there is one (in the order [`overdue`] reads them).
pub(super) fn expiring_reservations(now: DateTime<Utc>, after: Option<&(BsonDateTime, String)>) -> Document {
    let window = doc! { "status": "active", "expires_at": { "$gt": date(now), "$lte": date(now + EXPIRY_NOTICE) } };
    match after {
        None => window,
        Some((at, id)) => doc! { "$and": [
            window,
            { "$or": [ { "expires_at": { "$gt": at } }, { "expires_at": at, "_id": { "$gt": id } } ] },
        ] },
    }
}

/// Marks a reservation expired.
pub(super) fn expire_reservation(now: DateTime<Utc>) -> Document {
    doc! { "$set": { "status": "expired", "updated_at": date(now) } }
}

/// Active shares whose expiry is `now` or earlier.
pub(super) fn overdue_shares(now: DateTime<Utc>) -> Document {
    doc! { "is_active": true, "expires_at": { "$lte": date(now) } }
}

/// Deactivates a share.
pub(super) fn expire_share(now: DateTime<Utc>) -> Document {
    doc! { "$set": { "is_active": false, "updated_at": date(now) } }
}

fn with_id(id: &str, mut condition: Document) -> Document {
    condition.insert("_id", id);
    condition
}

/// Up to `limit` documents matching `filter`, soonest expiry first.
async fn overdue<T>(coll: &Collection<T>, filter: Document, limit: u32) -> Result<Vec<T>>
where
    T: DeserializeOwned + Send + Sync,
{
    let options = FindOptions::builder().sort(doc! { "expires_at": 1, "_id": 1 }).limit(i64::from(limit)).build();
    let cursor = coll.find(filter).with_options(options).await.map_err(errors::db)?;
    cursor.try_collect().await.map_err(errors::db)
}

impl MongoStore {
    /// Expires one overdue reservation and records it, inside `tx`; false when it was
    /// converted, cancelled or expired by someone else meanwhile.
    async fn expire_reservation_in(&self, tx: &mut Tx, r: &Reservation, now: DateTime<Utc>) -> Result<bool> {
        let filter = with_id(r.id.as_str(), overdue_reservations(now));
        let updated = run!(tx, self.reservations().update_one(filter, expire_reservation(now))).map_err(errors::db)?;
        if updated.modified_count != 1 {
            return Ok(false);
        }
        self.record_in(tx, &[r.expiry_event(now)]).await?;
        Ok(true)
    }

    /// Expires one overdue share and records it, inside `tx`; false when it was revoked or
    /// expired by someone else meanwhile.
    async fn expire_share_in(&self, tx: &mut Tx, actor: &Actor, s: &Share, now: DateTime<Utc>) -> Result<bool> {
        let filter = with_id(s.id.as_str(), overdue_shares(now));
        let updated = run!(tx, self.shares().update_one(filter, expire_share(now))).map_err(errors::db)?;
        if updated.modified_count != 1 {
            return Ok(false);
        }
        let mut lapsed = s.clone();
        lapsed.is_active = false;
        self.record_in(tx, &[AuditEvent::share(AuditAction::Expire, &lapsed, actor, now)]).await?;
        Ok(true)
    }
}

#[async_trait]
impl ExpiryStore for MongoStore {
    async fn expire_reservations(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        if limit == 0 {
            return Ok(0); // a limit of 0 means "no limit" to the server
        }
        let mut expired = 0;
        for doc in overdue(&self.reservations(), overdue_reservations(now), limit).await? {
            let r = Reservation::try_from(doc)?;
            if atomically!(self, |tx| self.expire_reservation_in(tx, &r, now).await)? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    async fn expire_shares(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        if limit == 0 {
            return Ok(0);
        }
        let actor = system();
        let mut expired = 0;
        for doc in overdue(&self.shares(), overdue_shares(now), limit).await? {
            let s = Share::try_from(doc)?;
            if atomically!(self, |tx| self.expire_share_in(tx, &actor, &s, now).await)? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    async fn announce_expiring_reservations(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<NotificationCreated>> {
        let mut created = Vec::new();
        if limit == 0 {
            return Ok(created);
        }
        let mut after: Option<(BsonDateTime, String)> = None;
        loop {
            let batch = overdue(&self.reservations(), expiring_reservations(now, after.as_ref()), limit).await?;
            for doc in &batch {
                let r = Reservation::try_from(doc.clone())?;
                // One notice each; the dedup key makes a reservation announced by an earlier
                // run (or a concurrent one) a no-op.
                if let Some(n) = Notification::reservation_expiring(&r, now) {
                    let sent = atomically!(self, |tx| system_notice(&mut MongoUnit::new(self, tx), &n, now).await)?;
                    created.extend(sent);
                }
            }
            match batch.last() {
                Some(last) if batch.len() == limit as usize => {
                    after = last.expires_at.map(|at| (at, last.id.clone()));
                    if after.is_none() {
                        return Ok(created);
                    }
                }
                _ => return Ok(created),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::Permission;
    use crate::domain::{UserId, Username};
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{
        DomainEvent, EventType, NewReservation, ReservationKind, ReservationReason, ReservationStatus,
    };

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    #[test]
    fn each_update_is_guarded_by_the_condition_that_selected_it() {
        assert_eq!(
            with_id("R1", overdue_reservations(now())),
            doc! { "status": "active", "expires_at": { "$ne": Bson::Null, "$lte": date(now()) }, "_id": "R1" }
        );
        assert_eq!(expire_reservation(now()), doc! { "$set": { "status": "expired", "updated_at": date(now()) } });
        assert_eq!(
            with_id("S1", overdue_shares(now())),
            doc! { "is_active": true, "expires_at": { "$lte": date(now()) }, "_id": "S1" }
        );
        assert_eq!(expire_share(now()), doc! { "$set": { "is_active": false, "updated_at": date(now()) } });
    }

    #[test]
    fn an_expiry_is_audited_by_system_and_raises_reservation_expired() {
        let new = NewReservation {
            kind: ReservationKind::Host,
            x: 5,
            y: 23,
            z: Some(100),
            reason: ReservationReason::parse("db cluster").unwrap(),
            expires_in_days: Some(1),
        };
        let created = now() - chrono::Duration::days(2);
        let mut r = Reservation::new(&UserId::parse("u1").unwrap(), &Username::parse("alice").unwrap(), &new, created);
        r.status = ReservationStatus::Expired;
        let actor = system();
        assert!(actor.can(Permission::Admin));
        let audit = r.expiry_event(now());
        assert_eq!((audit.actor_id.as_str(), audit.actor_username.as_str()), ("system", "system"));
        let event = DomainEvent::from_audit(&audit).unwrap();
        assert_eq!(event.event_type, EventType::ReservationExpired);
        assert_eq!(event.data["status"], "expired");
        assert_eq!(event.user_id.as_str(), "u1");
    }
}
