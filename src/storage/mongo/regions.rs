//! Regions: allocation by claiming the lowest free block of a country's bitmaps, reads,
//! optimistic updates and retirement.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{Bson, doc};

use super::documents::{RegionDoc, SlotsDoc, date};
use super::filters::region_filter;
use super::quotas::Counter;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors, find_all, find_page};
use crate::auth::Actor;
use crate::domain::slots::first_free_block;
use crate::domain::{
    AuditAction, AuditEvent, Country, DomainEvent, Host, Page, PageRequest, Reason, Region, RegionId, RegionPatch,
    ReservationKind, SlotMap, UserId,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{already_allocated, contention, country_full, duplicate_region_name, region_has_hosts};
use crate::storage::{AllocateRegion, Placement, RegionFilter, RegionStore, RetiredRegion};

/// How often one allocation re-reads the bitmaps after losing a race before giving up (each
/// loss means another request got a block, so this bounds the contention it tolerates).
pub(super) const MAX_ATTEMPTS: usize = 1_000;

/// How many scheduler turns a retirement gives allocations that claimed a Z before the
/// "retiring" flag to insert their hosts, before it lists the hosts it deletes. Why only
/// turns, and not a timeout: this is a courtesy that lets the in-process common case end
/// clean; correctness does not rest on it, because an allocation whose host lands after the
/// listing finds the region retiring or gone and takes its host back itself (see the settle
/// step of `hosts/placement.rs`).
const LANDING_YIELDS: usize = 100;

const ADDRESS_INDEX: &str = "user_xy_unique_idx";
const NAME_INDEX: &str = "user_country_region_unique_idx";

impl MongoStore {
    async fn region_slots(&self, user: &UserId, lo: u8, hi: u8) -> Result<BTreeMap<u8, SlotMap>> {
        let filter = doc! { "user_id": user.as_str(), "x_octet": { "$gte": i32::from(lo), "$lte": i32::from(hi) } };
        let docs: Vec<SlotsDoc> = find_all(&self.slots(), filter, None).await?;
        Ok(docs
            .into_iter()
            .filter_map(|d| u8::try_from(d.x_octet).ok().map(|x| (x, SlotMap::from_words(d.y_slots))))
            .collect())
    }

    pub(super) async fn region_doc(&self, user: &UserId, id: &RegionId) -> Result<Option<RegionDoc>> {
        self.regions().find_one(doc! { "_id": id.as_str(), "user_id": user.as_str() }).await.map_err(errors::db)
    }

    async fn place_region(&self, req: &AllocateRegion<'_>) -> Result<Region> {
        let (actor, c) = (req.actor, req.country);
        let user = &actor.user_id;
        let reservation = match req.placement {
            Placement::Lowest => None,
            Placement::Reserved(id) => Some(self.convertible(user, id, ReservationKind::Region, req.now).await?),
        };
        let key = req.region.name.key();
        let taken = doc! { "user_id": user.as_str(), "country_code": c.code.as_str(), "name_key": &key };
        if self.regions().find_one(taken).await.map_err(errors::db)?.is_some() {
            return Err(duplicate_region_name(req.region.name.as_str(), &c.name));
        }
        for _ in 0..MAX_ATTEMPTS {
            let (x, y) = match &reservation {
                Some(r) => (r.x, r.y),
                None => {
                    let used = self.region_slots(user, c.x_start, c.x_end).await?;
                    let blocked = self.blocked_blocks(user, c.x_start, c.x_end, req.now).await?;
                    first_free_block(c.x_start, c.x_end, &used, |x, y| blocked.contains(&(x, y)))
                        .ok_or_else(|| country_full(c, &used))?
                }
            };
            let Some(used_in_x) = self.claim_block(user, x, y).await? else {
                match &reservation {
                    Some(r) => return Err(already_allocated(&r.address())),
                    None => continue, // another request claimed it first: re-read
                }
            };
            let region = Region::allocated(actor, &c.code, req.region, (x, y), req.now);
            match self.regions().insert_one(RegionDoc::new(&region)).await {
                Ok(_) => {}
                // The bitmap missed an existing region (derived data): the bit now tells the truth.
                Err(e) if errors::duplicate_index(&e).as_deref() == Some(ADDRESS_INDEX) => {
                    tracing::warn!(x, y, "region bitmap was stale; repaired");
                    if let Some(r) = &reservation {
                        return Err(already_allocated(&r.address()));
                    }
                    continue;
                }
                Err(e) => {
                    if let Err(undo) = self.release_block(user, x, y).await {
                        tracing::error!(error = %undo, x, y, "could not release a claimed block");
                    }
                    return Err(match errors::duplicate_index(&e).as_deref() {
                        Some(NAME_INDEX) => duplicate_region_name(req.region.name.as_str(), &c.name),
                        _ => errors::db(e),
                    });
                }
            }
            // Settle the race with reservations: a conversion consumes its reservation, and an
            // ordinary allocation backs off from a reservation that appeared meanwhile.
            let settled = match &reservation {
                Some(r) => self.mark_converted(actor, r, region.id.as_str(), req.now).await,
                None => self.blocked_blocks(user, x, x, req.now).await.map(|b| !b.contains(&(x, y))),
            };
            let keep = match settled {
                Ok(keep) => keep,
                Err(e) => {
                    self.undo_region(&region).await;
                    return Err(e);
                }
            };
            if !keep {
                self.undo_region(&region).await;
                match &reservation {
                    Some(r) => {
                        return Err(self
                            .convertible(user, &r.id, ReservationKind::Region, req.now)
                            .await
                            .err()
                            .unwrap_or_else(contention));
                    }
                    None => continue,
                }
            }
            // The region stands from here on: a failure to write the audit trail is logged, not
            // turned into an error that would give back quota for a region that exists.
            let created = AuditEvent::region(AuditAction::Create, &region, actor, None, vec![], req.now);
            if let Err(e) = self.record(&[created]).await {
                tracing::error!(error = %e, "allocated a region, but could not write its audit event");
            }
            self.publish_crossing(self.country_crossing(user, c, x, used_in_x, req.now).await).await;
            return Ok(region);
        }
        Err(contention())
    }

    /// Takes back a region this request inserted (best effort: logs and goes on, so a failure
    /// never leaves the claimed block behind as well).
    async fn undo_region(&self, region: &Region) {
        if let Err(e) = self.regions().delete_one(doc! { "_id": region.id.as_str() }).await {
            tracing::error!(error = %e, region = %region.id, "could not delete the region of a failed allocation");
        }
        if let Err(e) = self.release_block(&region.user_id, region.x, region.y).await {
            tracing::error!(error = %e, region = %region.id, "could not release the block of a failed allocation");
        }
    }

    /// The capacity event of a region allocation in country `c`, whose claim left `used_in_x`
    /// blocks of `x` in use: the count of `x` is the claim's own, the other X of the country are
    /// read now (a few small documents). A failure to read is logged, and raises no event.
    async fn country_crossing(
        &self,
        user: &UserId,
        c: &Country,
        x: u8,
        used_in_x: u32,
        now: DateTime<Utc>,
    ) -> Option<DomainEvent> {
        let others: u32 = match self.region_slots(user, c.x_start, c.x_end).await {
            Ok(slots) => slots.iter().filter(|(other, _)| **other != x).map(|(_, m)| m.count()).sum(),
            Err(e) => {
                tracing::error!(error = %e, country = %c.code, "could not count the country's regions");
                return None;
            }
        };
        DomainEvent::country_capacity(user, c, [used_in_x.saturating_add(others)], now)
    }

    async fn hosts_of(&self, user: &UserId, region: &RegionId) -> Result<Vec<Host>> {
        let filter = doc! { "user_id": user.as_str(), "region_id": region.as_str() };
        let docs = find_all(&self.hosts(), filter, Some(doc! { "z_octet": 1 })).await?;
        docs.into_iter().map(Host::try_from).collect()
    }
}

#[async_trait]
impl RegionStore for MongoStore {
    async fn allocate_region(&self, req: AllocateRegion<'_>) -> Result<Region> {
        let user = &req.actor.user_id;
        self.take_quota(user, Counter::Regions, 1, req.quotas, req.now).await?;
        let placed = self.place_region(&req).await;
        if placed.is_err() {
            self.adjust_quota(user, Counter::Regions, -1, req.now).await?;
        }
        placed
    }

    async fn next_free_region(&self, user: &UserId, c: &Country, now: DateTime<Utc>) -> Result<Option<(u8, u8)>> {
        let used = self.region_slots(user, c.x_start, c.x_end).await?;
        let blocked = self.blocked_blocks(user, c.x_start, c.x_end, now).await?;
        Ok(first_free_block(c.x_start, c.x_end, &used, |x, y| blocked.contains(&(x, y))))
    }

    async fn region(&self, user: &UserId, id: &RegionId) -> Result<Option<Region>> {
        self.region_doc(user, id).await?.map(Region::try_from).transpose()
    }

    async fn region_at(&self, user: &UserId, x: u8, y: u8) -> Result<Option<Region>> {
        let filter = doc! { "user_id": user.as_str(), "x_octet": i32::from(x), "y_octet": i32::from(y) };
        self.regions().find_one(filter).await.map_err(errors::db)?.map(Region::try_from).transpose()
    }

    async fn list_regions(&self, user: &UserId, filter: &RegionFilter, page: PageRequest) -> Result<Page<Region>> {
        let sort = doc! { "created_at": -1, "_id": -1 };
        find_page(&self.regions(), region_filter(user, filter), sort, page, Region::try_from).await
    }

    async fn update_region(
        &self,
        actor: &Actor,
        id: &RegionId,
        patch: &RegionPatch,
        reason: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Result<Region> {
        for _ in 0..MAX_ATTEMPTS {
            let updated = atomically!(self, |tx| self.update_region_in(tx, actor, id, patch, reason, now).await)?;
            if let Some(region) = updated {
                return Ok(region);
            }
        }
        Err(contention())
    }

    async fn retire_region(
        &self,
        actor: &Actor,
        id: &RegionId,
        cascade: bool,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<RetiredRegion> {
        let user = &actor.user_id;
        // Flag it first: host claims require the flag to be absent, so nothing new lands in it.
        let flagged = self
            .regions()
            .find_one_and_update(
                doc! { "_id": id.as_str(), "user_id": user.as_str(), "retiring": { "$ne": true } },
                doc! { "$set": { "retiring": true } },
            )
            .await
            .map_err(errors::db)?
            .ok_or_else(|| IpamError::not_found("region", id.as_str()))?;
        let outcome = self.finish_retirement(actor, id, cascade, reason, now, flagged).await;
        if outcome.is_err() {
            // Whatever failed, do not leave the region stuck in "retiring" (it would refuse
            // hosts and a second retirement): clear the flag if the region is still there.
            let cleared =
                self.regions().update_one(doc! { "_id": id.as_str() }, doc! { "$unset": { "retiring": "" } }).await;
            if let Err(e) = cleared {
                tracing::error!(error = %e, region = %id, "could not clear the retiring flag");
            }
        }
        outcome
    }
}

impl MongoStore {
    async fn finish_retirement(
        &self,
        actor: &Actor,
        id: &RegionId,
        cascade: bool,
        reason: &Reason,
        now: DateTime<Utc>,
        flagged: RegionDoc,
    ) -> Result<RetiredRegion> {
        let user = &actor.user_id;
        let claimed = flagged.allocated_hosts;
        let region = Region::try_from(flagged)?;
        // Allocations that claimed a Z before the flag may still be inserting their host.
        let mut hosts = self.hosts_of(user, id).await?;
        for _ in 0..LANDING_YIELDS {
            if i32::try_from(hosts.len()).unwrap_or(i32::MAX) >= claimed {
                break;
            }
            tokio::task::yield_now().await;
            hosts = self.hosts_of(user, id).await?;
        }
        if !hosts.is_empty() && !cascade {
            return Err(region_has_hosts(&region, hosts.len()));
        }
        atomically!(self, |tx| self.delete_retired_in(tx, actor, &region, &hosts, reason, now).await)?;
        Ok(RetiredRegion { region, hosts })
    }

    /// Deletes a retiring region, its hosts and their comments, gives back its block and
    /// quota, and records the retirement, inside `tx`.
    async fn delete_retired_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        region: &Region,
        hosts: &[Host],
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let user = &actor.user_id;
        let id = &region.id;
        let mut ids: Vec<Bson> = hosts.iter().map(|h| Bson::String(h.id.to_string())).collect();
        ids.push(Bson::String(id.to_string()));
        let comments = doc! { "user_id": user.as_str(), "resource_id": { "$in": ids } };
        run!(tx, self.comments().delete_many(comments)).map_err(errors::db)?;
        // Quota goes back for the hosts this call actually deleted: a host released (or an
        // allocation undone) concurrently gave its own unit back already.
        let in_region = doc! { "user_id": user.as_str(), "region_id": id.as_str() };
        let deleted = run!(tx, self.hosts().delete_many(in_region)).map_err(errors::db)?.deleted_count;
        run!(tx, self.regions().delete_one(doc! { "_id": id.as_str(), "user_id": user.as_str() }))
            .map_err(errors::db)?;
        self.release_block_in(tx, user, region.x, region.y).await?;
        self.adjust_quota_in(tx, user, Counter::Regions, -1, now).await?;
        self.adjust_quota_in(tx, user, Counter::Hosts, -i32::try_from(deleted).unwrap_or(i32::MAX), now).await?;
        self.record_in(tx, &AuditEvent::retirement(region, hosts, actor, reason, now)).await
    }

    /// Applies a patch to the version of the region it reads, and records it, inside `tx`.
    /// `None`: another writer changed the region in between (read it again).
    async fn update_region_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: &RegionId,
        patch: &RegionPatch,
        reason: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Result<Option<Region>> {
        let user = &actor.user_id;
        let found = run!(tx, self.regions().find_one(doc! { "_id": id.as_str(), "user_id": user.as_str() }));
        let current = found.map_err(errors::db)?.ok_or_else(|| IpamError::not_found("region", id.as_str()))?;
        let seen =
            (current.updated_at, current.region_name.clone(), current.description.clone(), current.owner.clone());
        let seen_status = current.status.clone();
        let mut region = Region::try_from(current)?;
        let before = region.clone();
        let changes = region.apply(patch)?;
        if changes.is_empty() {
            return Ok(Some(region));
        }
        region.updated_at = now;
        region.updated_by = user.clone();
        // Optimistic: only apply if nobody changed the region since it was read.
        let filter = doc! {
            "_id": id.as_str(), "user_id": user.as_str(), "updated_at": seen.0, "region_name": seen.1,
            "description": seen.2, "owner": seen.3, "status": seen_status,
        };
        let set = doc! { "$set": {
            "region_name": region.name.as_str(), "name_key": region.name.key(), "description": region.description.as_str(),
            "owner": region.owner.as_str(), "status": region.status.as_str(),
            "tags": mongodb::bson::to_bson(region.tags.as_map()).map_err(errors::bson)?,
            "updated_at": date(now), "updated_by": user.as_str(),
        }};
        match run!(tx, self.regions().update_one(filter, set)) {
            Ok(r) if r.matched_count == 1 => {
                let reason = reason.map(|r| r.to_string());
                let event = AuditEvent::region(AuditAction::Update, &before, actor, reason, changes, now);
                self.record_in(tx, &[event]).await?;
                Ok(Some(region))
            }
            Ok(_) => Ok(None),
            Err(e) if errors::duplicate_index(&e).as_deref() == Some(NAME_INDEX) => {
                Err(duplicate_region_name(region.name.as_str(), region.country_code.as_str()))
            }
            Err(e) => Err(errors::db(e)),
        }
    }
}
