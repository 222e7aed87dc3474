//! Placing hosts: the saga behind one allocation attempt.
//!
//! An allocation cannot run in a transaction (it must see a reservation made concurrently in
//! another collection, see `tx.rs` on write skew), so it goes step by step, each one a method:
//! **plan** (read the region, the reservation being converted, the addresses to skip) →
//! **name** the hosts → **claim** the lowest free Z bits of the region document → **insert**
//! the hosts → **settle** the races (a retirement that began meanwhile, a reservation that
//! appeared on a claimed address, the reservation a conversion consumes) → **record** the
//! audit trail and the capacity event. From the first claim until it settles, what the attempt
//! holds is kept by a [`HostClaims`] guard, which either rolls all of it back or keeps it.

use std::collections::HashSet;

use mongodb::bson::doc;

use super::super::MongoStore;
use super::super::documents::{HostDoc, RegionDoc};
use super::super::errors;
use super::super::regions::MAX_ATTEMPTS;
use super::HOSTNAME_INDEX;
use super::claims::HostClaims;
use crate::domain::allocation::{
    blocked_for_conversion, lowest_free_host, lowest_free_hosts, owner_or_caller, reservation_in_region,
    reserved_address_taken,
};
use crate::domain::{
    AuditAction, AuditEvent, DomainEvent, Host, HostTemplate, Hostname, Region, RegionId, RegionStatus, Reservation,
    ReservationKind,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{already_allocated, contention, duplicate_hostname, region_full, region_not_active};
use crate::storage::{AllocateHosts, HostNames, Placement};

/// How one placement attempt ended.
#[derive(Debug)]
pub(super) enum PlaceOutcome {
    /// The hosts stand, audited.
    Placed(Vec<Host>),
    /// Everything was undone and the attempt may be made again: batch names clashed with a
    /// concurrent batch, the bitmap was stale (now repaired), or a reservation appeared on a
    /// claimed address.
    Retry,
    /// Failed for good, everything undone. `quota_accounted` of the request's quota units were
    /// already given back by another request (a retirement that deleted our hosts); the caller
    /// gives back the rest.
    Failed {
        /// What the client is told.
        error: IpamError,
        /// Quota units someone else already gave back.
        quota_accounted: u32,
    },
}

impl From<IpamError> for PlaceOutcome {
    fn from(error: IpamError) -> Self {
        Self::Failed { error, quota_accounted: 0 }
    }
}

/// Why a region cannot take hosts right now, if it cannot.
fn unusable(doc: Option<&RegionDoc>, id: &RegionId) -> Result<Option<IpamError>> {
    match doc {
        None => Ok(Some(IpamError::not_found("region", id.as_str()))),
        Some(d) if d.retiring => Ok(Some(IpamError::not_found("region", id.as_str()))),
        Some(d) if d.status != RegionStatus::Active.as_str() => {
            Ok(Some(region_not_active(&Region::try_from(d.clone())?)))
        }
        Some(_) => Ok(None),
    }
}

/// What one attempt works from.
struct Plan<'p, 'a> {
    req: &'p AllocateHosts<'a>,
    /// Hosts asked for.
    count: u32,
    region: Region,
    /// The region document as last read: its bitmap says which addresses look free.
    doc: RegionDoc,
    /// The reservation a conversion consumes.
    reservation: Option<Reservation>,
    /// Free addresses the attempt must skip (reservations; for a conversion, all but its own).
    blocked: HashSet<u8>,
}

impl Plan<'_, '_> {
    /// The hosts to insert: the names, in order, at the claimed addresses.
    fn hosts(&self, names: Vec<Hostname>, zs: &[u8]) -> Vec<Host> {
        let req = self.req;
        let owner = owner_or_caller(req.owner, req.actor);
        let template = HostTemplate { details: req.details, owner: &owner, tags: req.tags };
        names
            .into_iter()
            .zip(zs)
            .map(|(name, z)| Host::allocated(req.actor, &self.region, *z, name, &template, req.now))
            .collect()
    }
}

impl MongoStore {
    /// One placement attempt (see the module documentation).
    pub(super) async fn place_hosts(&self, req: &AllocateHosts<'_>, count: u32) -> PlaceOutcome {
        match self.try_place_hosts(req, count).await {
            Ok(hosts) => PlaceOutcome::Placed(hosts),
            Err(outcome) => outcome,
        }
    }

    async fn try_place_hosts(
        &self,
        req: &AllocateHosts<'_>,
        count: u32,
    ) -> std::result::Result<Vec<Host>, PlaceOutcome> {
        let mut plan = self.plan_hosts(req, count).await?;
        let names = self.name_hosts(&plan).await?;
        let claims = self.claim_addresses(&mut plan, names.len()).await?;
        let hosts = plan.hosts(names, claims.zs());
        let claims = self.insert_hosts(&plan, claims, &hosts).await?;
        let claims = self.settle_hosts(&plan, claims, &hosts).await?;
        self.record_hosts(&plan, claims.keep(), &hosts).await;
        Ok(hosts)
    }

    /// Reads the region and the reservation being converted, and refuses what cannot fit.
    async fn plan_hosts<'p, 'a>(&self, req: &'p AllocateHosts<'a>, count: u32) -> Result<Plan<'p, 'a>> {
        let user = &req.actor.user_id;
        let id = req.region_id;
        let doc = self.region_doc(user, id).await?;
        if let Some(e) = unusable(doc.as_ref(), id)? {
            return Err(e);
        }
        let Some(doc) = doc else { return Err(IpamError::not_found("region", id.as_str())) };
        let region = Region::try_from(doc.clone())?;
        let reservation = match req.placement {
            Placement::Lowest => None,
            Placement::Reserved(rid) => {
                let r = self.convertible(user, rid, ReservationKind::Host, req.now).await?;
                reservation_in_region(&r, &region)?;
                Some(r)
            }
        };
        // Addresses held by active reservations are not free; a conversion may take only its own.
        let blocked = match &reservation {
            None => self.blocked_hosts(user, region.x, region.y, req.now).await?,
            Some(r) => blocked_for_conversion(r.z),
        };
        if let Some(r) = &reservation
            && reserved_address_taken(&doc.slots(), r)
        {
            return Err(already_allocated(&r.address()));
        }
        let wanted = usize::try_from(count).unwrap_or(usize::MAX);
        let free = lowest_free_hosts(&doc.slots(), wanted, |z| blocked.contains(&z)).len();
        if free < wanted {
            return Err(region_full(&region, free, count));
        }
        Ok(Plan { req, count, region, doc, reservation, blocked })
    }

    /// The hostnames: the one asked for (if free in the region), or the batch's next numbers.
    async fn name_hosts(&self, plan: &Plan<'_, '_>) -> Result<Vec<Hostname>> {
        let user = &plan.req.actor.user_id;
        let id = plan.req.region_id;
        match plan.req.names {
            HostNames::One(name) => {
                let taken = doc! { "user_id": user.as_str(), "region_id": id.as_str(), "hostname": name.as_str() };
                if self.hosts().find_one(taken).await.map_err(errors::db)?.is_some() {
                    return Err(duplicate_hostname(name, &plan.region));
                }
                Ok(vec![name.clone()])
            }
            HostNames::Batch { prefix, count } => self.batch_names(user, id, prefix, count).await,
        }
    }

    /// Claims one free address per name, lowest first; on a failure frees what it claimed.
    async fn claim_addresses(&self, plan: &mut Plan<'_, '_>, n: usize) -> Result<HostClaims<'_>> {
        let mut claims = HostClaims::new(self, &plan.region);
        for _ in 0..n {
            if let Err(e) = self.claim_address(plan, &mut claims).await {
                claims.rollback().await;
                return Err(e);
            }
        }
        Ok(claims)
    }

    /// Claims the lowest address that looks free, re-reading the region after each lost race.
    async fn claim_address(&self, plan: &mut Plan<'_, '_>, claims: &mut HostClaims<'_>) -> Result<()> {
        let user = &plan.req.actor.user_id;
        let id = plan.req.region_id;
        let mut attempts = 0;
        loop {
            let next = lowest_free_host(&plan.doc.slots(), |z| claims.holds(z) || plan.blocked.contains(&z));
            let Some(z) = next else { return Err(region_full(&plan.region, claims.zs().len(), plan.count)) };
            if let Some(count) = self.claim_host(user, id, z).await? {
                claims.push(z, count);
                return Ok(());
            }
            // Another request took it, or the region changed: read it again.
            attempts += 1;
            let fresh = self.region_doc(user, id).await?;
            if let Some(e) = unusable(fresh.as_ref(), id)? {
                return Err(e);
            }
            if attempts >= MAX_ATTEMPTS {
                return Err(contention());
            }
            if let Some(fresh) = fresh {
                plan.doc = fresh;
            }
        }
    }

    /// Inserts the hosts in one ordered write; on a failure rolls back and says whether to
    /// try again.
    async fn insert_hosts<'s>(
        &'s self,
        plan: &Plan<'_, '_>,
        mut claims: HostClaims<'s>,
        hosts: &[Host],
    ) -> std::result::Result<HostClaims<'s>, PlaceOutcome> {
        claims.track(hosts);
        let Err(e) = self.hosts().insert_many(hosts.iter().map(HostDoc::new)).ordered(true).await else {
            return Ok(claims);
        };
        match errors::duplicate_index(&e).as_deref() {
            // Two batches with one prefix computed the same names: recompute and retry.
            Some(HOSTNAME_INDEX) if matches!(plan.req.names, HostNames::Batch { .. }) => {
                claims.rollback().await;
                Err(PlaceOutcome::Retry)
            }
            Some(HOSTNAME_INDEX) => {
                claims.rollback().await;
                Err(match hosts.first() {
                    Some(h) => duplicate_hostname(&h.hostname, &plan.region),
                    None => contention(),
                }
                .into())
            }
            // The bitmap missed existing hosts: keep their bits, try again on the next addresses.
            Some(_) => {
                claims.rollback_stale().await;
                Err(PlaceOutcome::Retry)
            }
            None => {
                claims.rollback().await;
                Err(errors::db(e).into())
            }
        }
    }

    /// Settles the races the inserted hosts may have lost: a retirement of the region, and
    /// reservations of their addresses.
    async fn settle_hosts<'s>(
        &'s self,
        plan: &Plan<'_, '_>,
        claims: HostClaims<'s>,
        hosts: &[Host],
    ) -> std::result::Result<HostClaims<'s>, PlaceOutcome> {
        let req = plan.req;
        let (user, id) = (&req.actor.user_id, req.region_id);
        // A retirement that started after our claims may have listed the region's hosts before
        // ours landed: if so, take ours back out rather than leave them orphaned. Hosts the
        // retirement already deleted were given back by it.
        match self.regions().find_one(doc! { "_id": id.as_str(), "retiring": { "$ne": true } }).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let ours = claims.rollback().await;
                let error = IpamError::not_found("region", id.as_str());
                return Err(PlaceOutcome::Failed { error, quota_accounted: plan.count.saturating_sub(ours) });
            }
            Err(e) => {
                claims.rollback().await;
                return Err(errors::db(e).into());
            }
        }
        // A conversion consumes its reservation; an ordinary allocation backs off from any
        // reservation that appeared on its addresses meanwhile.
        let settled = match (&plan.reservation, hosts.first()) {
            (Some(r), Some(h)) => self.mark_converted(req.actor, r, h.id.as_str(), req.now).await,
            _ => self
                .blocked_hosts(user, plan.region.x, plan.region.y, req.now)
                .await
                .map(|now_blocked| !claims.zs().iter().any(|z| now_blocked.contains(z))),
        };
        match settled {
            Ok(true) => Ok(claims),
            Ok(false) => {
                claims.rollback().await;
                match &plan.reservation {
                    Some(r) => {
                        let why = self.convertible(user, &r.id, ReservationKind::Host, req.now).await.err();
                        Err(why.unwrap_or_else(contention).into())
                    }
                    None => Err(PlaceOutcome::Retry),
                }
            }
            Err(e) => {
                claims.rollback().await;
                Err(e.into())
            }
        }
    }

    /// Writes the audit trail and the capacity event of hosts that stand. They stand whatever
    /// happens here: a failure is logged, not turned into an error that would give back quota
    /// for hosts that exist.
    async fn record_hosts(&self, plan: &Plan<'_, '_>, counts: Vec<u32>, hosts: &[Host]) {
        let (actor, now) = (plan.req.actor, plan.req.now);
        let events: Vec<AuditEvent> =
            hosts.iter().map(|h| AuditEvent::host(AuditAction::Create, h, actor, None, vec![], now)).collect();
        if let Err(e) = self.record(&events).await {
            tracing::error!(error = %e, "allocated hosts, but could not write their audit events");
        }
        self.publish_crossing(DomainEvent::region_capacity(&plan.region, counts, now)).await;
    }
}
