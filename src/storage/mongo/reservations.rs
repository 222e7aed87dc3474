//! Reservations on MongoDB. A partial unique index (active reservations only) arbitrates
//! between racing reservations; between a reservation and an allocation of the same address
//! each side writes first and then looks for the other, undoing itself if it finds it — so at
//! most one of them can succeed.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{self, Bson, DateTime as BsonDateTime, Document, doc};
use serde::{Deserialize, Serialize};

use super::documents::{corrupt, date, time};
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors, find_all, find_page};
use crate::auth::Actor;
use crate::domain::{
    Conversion, Page, PageRequest, Reservation, ReservationId, ReservationKind, ReservationReason, ReservationStatus,
    UserId, Username,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{address_taken, not_cancellable};
use crate::storage::{ReservationFilter, ReservationStore};

/// A reservation document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ReservationDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    user_id: String,
    resource_type: String,
    x_octet: i32,
    y_octet: i32,
    z_octet: Option<i32>,
    reserved_address: String,
    reason: String,
    status: String,
    pub(super) expires_at: Option<BsonDateTime>,
    created_at: BsonDateTime,
    created_by: String,
    converted_at: Option<BsonDateTime>,
    converted_to: Option<String>,
    updated_at: BsonDateTime,
    metadata: Bson,
}

impl ReservationDoc {
    pub(super) fn new(r: &Reservation) -> Result<Self> {
        Ok(Self {
            id: r.id.to_string(),
            user_id: r.user_id.to_string(),
            resource_type: r.kind.as_str().to_owned(),
            x_octet: r.x.into(),
            y_octet: r.y.into(),
            z_octet: r.z.map(i32::from),
            reserved_address: r.address(),
            reason: r.reason.to_string(),
            status: r.status.as_str().to_owned(),
            expires_at: r.expires_at.map(date),
            created_at: date(r.created_at),
            created_by: r.created_by.to_string(),
            converted_at: r.converted_at.map(date),
            converted_to: r.converted_to.clone(),
            updated_at: date(r.created_at),
            metadata: bson::to_bson(&r.metadata).map_err(errors::bson)?,
        })
    }
}

impl TryFrom<ReservationDoc> for Reservation {
    type Error = IpamError;

    fn try_from(d: ReservationDoc) -> Result<Self> {
        let octet = |v: i32| u8::try_from(v).map_err(|_| corrupt("reservation octet"));
        Ok(Reservation {
            id: ReservationId::from_stored(d.id),
            user_id: UserId::from_stored(d.user_id),
            kind: ReservationKind::parse(&d.resource_type).map_err(corrupt)?,
            x: octet(d.x_octet)?,
            y: octet(d.y_octet)?,
            z: d.z_octet.map(octet).transpose()?,
            reason: ReservationReason::from_stored(d.reason),
            status: ReservationStatus::parse(&d.status).map_err(corrupt)?,
            expires_at: d.expires_at.map(time).transpose()?,
            created_at: time(d.created_at)?,
            created_by: Username::from_stored(d.created_by),
            converted_at: d.converted_at.map(time).transpose()?,
            converted_to: d.converted_to,
            metadata: d.metadata.into_relaxed_extjson(),
        })
    }
}

/// "Holds its address at `now`".
pub(super) fn blocking(now: DateTime<Utc>) -> Document {
    doc! { "status": "active", "$or": [ { "expires_at": Bson::Null }, { "expires_at": { "$gt": date(now) } } ] }
}

/// The status filter at `now`.
pub(super) fn status_filter(status: ReservationStatus, now: DateTime<Utc>) -> Document {
    match status {
        ReservationStatus::Active => blocking(now),
        ReservationStatus::Expired => doc! { "$or": [
            { "status": "expired" },
            { "status": "active", "expires_at": { "$lte": date(now) } },
        ]},
        ReservationStatus::Converted => doc! { "status": "converted" },
    }
}

fn merge(mut a: Document, b: Document) -> Document {
    a.extend(b);
    a
}

impl MongoStore {
    pub(super) fn reservations(&self) -> mongodb::Collection<ReservationDoc> {
        self.db.collection("ipam_reservations")
    }

    /// Blocks of X in `lo..=hi` held by active region reservations.
    pub(super) async fn blocked_blocks(
        &self,
        user: &UserId,
        lo: u8,
        hi: u8,
        now: DateTime<Utc>,
    ) -> Result<HashSet<(u8, u8)>> {
        let filter = merge(
            doc! { "user_id": user.as_str(), "resource_type": "region", "x_octet": { "$gte": i32::from(lo), "$lte": i32::from(hi) } },
            blocking(now),
        );
        let docs = find_all(&self.reservations(), filter, None).await?;
        Ok(docs
            .into_iter()
            .filter_map(|d| Some((u8::try_from(d.x_octet).ok()?, u8::try_from(d.y_octet).ok()?)))
            .collect())
    }

    /// Z octets of X.Y held by active host reservations.
    pub(super) async fn blocked_hosts(&self, user: &UserId, x: u8, y: u8, now: DateTime<Utc>) -> Result<HashSet<u8>> {
        let filter = merge(
            doc! { "user_id": user.as_str(), "resource_type": "host", "x_octet": i32::from(x), "y_octet": i32::from(y) },
            blocking(now),
        );
        let docs = find_all(&self.reservations(), filter, None).await?;
        Ok(docs.into_iter().filter_map(|d| d.z_octet.and_then(|z| u8::try_from(z).ok())).collect())
    }

    /// The caller's active reservation `id` of `kind`, which a conversion may consume.
    pub(super) async fn convertible(
        &self,
        user: &UserId,
        id: &ReservationId,
        kind: ReservationKind,
        now: DateTime<Utc>,
    ) -> Result<Reservation> {
        let found = self
            .reservations()
            .find_one(doc! { "_id": id.as_str(), "user_id": user.as_str() })
            .await
            .map_err(errors::db)?;
        let r = Reservation::try_from(found.ok_or_else(|| IpamError::not_found("reservation", id.as_str()))?)?;
        r.check_convertible(kind, now)?;
        Ok(r)
    }

    /// Marks a reservation converted into `to`; false when it stopped being active meanwhile.
    pub(super) async fn mark_converted(
        &self,
        actor: &Actor,
        r: &Reservation,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        atomically!(self, |tx| self.mark_converted_in(tx, actor, r, to, now).await)
    }

    async fn mark_converted_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        r: &Reservation,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let Conversion { reservation: converted, audit } = r.convert(to, actor, now);
        let set = doc! { "$set": {
            "status": converted.status.as_str(),
            "converted_at": converted.converted_at.map(date),
            "converted_to": converted.converted_to.as_deref(),
            "updated_at": date(now),
        }};
        let updated =
            run!(tx, self.reservations().update_one(merge(doc! { "_id": r.id.as_str() }, blocking(now)), set))
                .map_err(errors::db)?;
        if updated.modified_count != 1 {
            return Ok(false);
        }
        self.record_in(tx, &[audit]).await?;
        Ok(true)
    }

    /// Deletes a cancellable reservation and records it, inside `tx`; `None` when there was none.
    async fn cancel_reservation_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: &ReservationId,
        now: DateTime<Utc>,
    ) -> Result<Option<Reservation>> {
        let filter = doc! { "_id": id.as_str(), "user_id": actor.user_id.as_str(), "status": { "$ne": "converted" } };
        let deleted = run!(tx, self.reservations().find_one_and_delete(filter)).map_err(errors::db)?;
        let Some(deleted) = deleted else { return Ok(None) };
        let r = Reservation::try_from(deleted)?;
        self.record_in(tx, &[r.cancel_event(actor, now)]).await?;
        Ok(Some(r))
    }

    async fn address_allocated(&self, user: &UserId, r: &Reservation) -> Result<bool> {
        let found = match r.z {
            Some(z) => self
                .hosts()
                .count_documents(doc! { "user_id": user.as_str(), "x_octet": i32::from(r.x), "y_octet": i32::from(r.y), "z_octet": i32::from(z) })
                .await,
            None => {
                self.regions()
                    .count_documents(doc! { "user_id": user.as_str(), "x_octet": i32::from(r.x), "y_octet": i32::from(r.y) })
                    .await
            }
        };
        Ok(found.map_err(errors::db)? > 0)
    }
}

#[async_trait]
impl ReservationStore for MongoStore {
    async fn create_reservation(&self, actor: &Actor, r: &Reservation, now: DateTime<Utc>) -> Result<()> {
        let user = &actor.user_id;
        if self.address_allocated(user, r).await? {
            return Err(address_taken("allocated", r));
        }
        let address = doc! {
            "user_id": user.as_str(), "resource_type": r.kind.as_str(), "x_octet": i32::from(r.x), "y_octet": i32::from(r.y),
            "z_octet": r.z.map(i32::from),
        };
        // An overdue reservation of the same address no longer holds it: record that first.
        self.reservations()
            .update_many(
                merge(address, doc! { "status": "active", "expires_at": { "$ne": Bson::Null, "$lte": date(now) } }),
                doc! { "$set": { "status": "expired", "updated_at": date(now) } },
            )
            .await
            .map_err(errors::db)?;
        match self.reservations().insert_one(ReservationDoc::new(r)?).await {
            Ok(_) => {}
            Err(e) if errors::duplicate_index(&e).is_some() => return Err(address_taken("reserved", r)),
            Err(e) => return Err(errors::db(e)),
        }
        // An allocation may have landed between the check and the insert: look again. (This
        // write-then-look protocol deliberately runs outside a transaction: under snapshot
        // isolation neither side would see the other's write, and both could succeed.)
        if self.address_allocated(user, r).await? {
            self.reservations().delete_one(doc! { "_id": r.id.as_str() }).await.map_err(errors::db)?;
            return Err(address_taken("allocated", r));
        }
        self.record(&[r.reserve_event(actor, now)]).await
    }

    async fn reservation(&self, user: &UserId, id: &ReservationId) -> Result<Option<Reservation>> {
        let found = self
            .reservations()
            .find_one(doc! { "_id": id.as_str(), "user_id": user.as_str() })
            .await
            .map_err(errors::db)?;
        found.map(Reservation::try_from).transpose()
    }

    async fn list_reservations(
        &self,
        user: &UserId,
        f: &ReservationFilter,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page<Reservation>> {
        let mut filter = doc! { "user_id": user.as_str() };
        if let Some(kind) = f.kind {
            filter.insert("resource_type", kind.as_str());
        }
        if let Some(status) = f.status {
            filter = doc! { "$and": [filter, status_filter(status, now)] };
        }
        find_page(&self.reservations(), filter, doc! { "created_at": -1, "_id": -1 }, page, Reservation::try_from).await
    }

    async fn cancel_reservation(&self, actor: &Actor, id: &ReservationId, now: DateTime<Utc>) -> Result<Reservation> {
        let cancelled = atomically!(self, |tx| self.cancel_reservation_in(tx, actor, id, now).await)?;
        match cancelled {
            Some(r) => Ok(r),
            None => Err(match self.reservation(&actor.user_id, id).await? {
                Some(r) => not_cancellable(&r),
                None => IpamError::not_found("reservation", id.as_str()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::NewReservation;

    #[test]
    fn reservations_round_trip_through_bson() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let new = NewReservation {
            kind: ReservationKind::Host,
            x: 5,
            y: 23,
            z: Some(100),
            reason: ReservationReason::parse("db cluster").unwrap(),
            expires_in_days: Some(7),
        };
        let r = Reservation::new(&UserId::parse("u1").unwrap(), &Username::parse("alice").unwrap(), &new, now);
        let doc = bson::to_document(&ReservationDoc::new(&r).unwrap()).unwrap();
        assert_eq!(doc.get_str("reserved_address").unwrap(), "10.5.23.100");
        assert_eq!(doc.get_str("status").unwrap(), "active");
        let back: ReservationDoc = bson::from_document(doc).unwrap();
        assert_eq!(Reservation::try_from(back).unwrap(), r);
    }

    #[test]
    fn status_filters_evaluate_expiry_at_read_time() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        assert_eq!(
            status_filter(ReservationStatus::Active, now),
            doc! { "status": "active", "$or": [{ "expires_at": Bson::Null }, { "expires_at": { "$gt": date(now) } }] }
        );
        assert_eq!(
            status_filter(ReservationStatus::Expired, now),
            doc! { "$or": [{ "status": "expired" }, { "status": "active", "expires_at": { "$lte": date(now) } }] }
        );
    }
}
