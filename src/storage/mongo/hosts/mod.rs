//! Hosts: allocation by claiming the lowest free Z bits of the region document, reads,
//! optimistic updates and release.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{Bson, Document, doc};

use super::documents::{HostDoc, RegionDoc};
use super::filters::{host_filter, literal_regex};
use super::quotas::Counter;
use super::regions::MAX_ATTEMPTS;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, capacity, errors, find_all, find_page};
use crate::auth::Actor;
use crate::domain::{
    AuditAction, AuditEvent, Host, HostId, HostPatch, HostTemplate, Hostname, HostnamePrefix, OwnerLabel, Page,
    PageRequest, Reason, Region, RegionId, RegionStatus, ReservationKind, SearchText, TenAddress, UserId,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{
    already_allocated, contention, duplicate_hostname, duplicate_hostname_on_rename, region_full, region_not_active,
};
use crate::storage::{AllocateHosts, HostFilter, HostNames, HostStore, Placement, ReleaseOutcome};

const HOSTNAME_INDEX: &str = "user_region_hostname_unique_idx";

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

impl MongoStore {
    async fn host_doc(&self, user: &UserId, id: &HostId) -> Result<Option<HostDoc>> {
        self.hosts().find_one(doc! { "_id": id.as_str(), "user_id": user.as_str() }).await.map_err(errors::db)
    }

    async fn batch_names(
        &self,
        user: &UserId,
        region: &RegionId,
        prefix: &HostnamePrefix,
        count: u32,
    ) -> Result<Vec<Hostname>> {
        let stem = SearchText::parse(&format!("{prefix}-")).map_err(IpamError::internal)?;
        let mut pattern = literal_regex(&stem);
        if let Some(Bson::String(p)) = pattern.get_mut("$regex") {
            p.insert(0, '^');
        }
        let filter = doc! { "user_id": user.as_str(), "region_id": region.as_str(), "hostname": pattern };
        let docs = find_all(&self.hosts(), filter, None).await?;
        let highest = docs.iter().filter_map(|h| prefix.sequence_of(&h.hostname)).max().unwrap_or(0);
        (1..=count)
            .map(|i| prefix.hostname(highest.saturating_add(i)).map_err(|e| IpamError::invalid("hostname_prefix", e)))
            .collect()
    }

    /// Frees claimed Z bits. Compensation goes on past a failure (and logs it), so one error
    /// never leaves the other claims behind.
    async fn release_claims(&self, user: &UserId, region: &RegionId, zs: &[u8]) {
        for z in zs {
            if let Err(e) = self.release_host_slot(user, region, *z).await {
                tracing::error!(error = %e, region = %region, z, "could not release a claimed host address");
            }
        }
    }

    /// Deletes hosts this request inserted; returns how many were still there to delete.
    async fn undo_hosts(&self, ids: &[Bson]) -> u32 {
        match self.hosts().delete_many(doc! { "_id": { "$in": ids.to_vec() } }).await {
            Ok(r) => u32::try_from(r.deleted_count).unwrap_or(u32::MAX),
            Err(e) => {
                tracing::error!(error = %e, "could not delete hosts of a failed allocation");
                0
            }
        }
    }

    /// Places the hosts. `Ok(None)`: everything was undone and the caller tries again (a
    /// reservation appeared on a chosen address, or batch names clashed with a concurrent
    /// batch). `Err((e, n))`: failed; `n` quota units are already accounted for by another
    /// request (a retirement that deleted our hosts gave them back), the rest must be returned.
    async fn place_hosts(
        &self,
        req: &AllocateHosts<'_>,
        count: u32,
    ) -> std::result::Result<Option<Vec<Host>>, (IpamError, u32)> {
        let fail = |e: IpamError| (e, 0);
        let actor = req.actor;
        let user = &actor.user_id;
        let id = req.region_id;
        let doc = self.region_doc(user, id).await.map_err(fail)?;
        if let Some(e) = unusable(doc.as_ref(), id).map_err(fail)? {
            return Err(fail(e));
        }
        let Some(mut doc) = doc else { return Err(fail(IpamError::not_found("region", id.as_str()))) };
        let region = Region::try_from(doc.clone()).map_err(fail)?;
        let reservation = match req.placement {
            Placement::Lowest => None,
            Placement::Reserved(rid) => {
                let r = self.convertible(user, rid, ReservationKind::Host, req.now).await.map_err(fail)?;
                if (r.x, r.y) != (region.x, region.y) {
                    return Err(fail(IpamError::invalid(
                        "region_id",
                        format!("reservation {} is not in region {}", r.id, region.cidr()),
                    )));
                }
                Some(r)
            }
        };
        self.place_in(req, count, &mut doc, &region, reservation.as_ref()).await
    }

    async fn place_in(
        &self,
        req: &AllocateHosts<'_>,
        count: u32,
        doc: &mut RegionDoc,
        region: &Region,
        reservation: Option<&crate::domain::Reservation>,
    ) -> std::result::Result<Option<Vec<Host>>, (IpamError, u32)> {
        let fail = |e: IpamError| (e, 0);
        let actor = req.actor;
        let user = &actor.user_id;
        let id = req.region_id;
        // Addresses held by active reservations are not free; a conversion may take only its own.
        let blocked: HashSet<u8> = match reservation {
            None => self.blocked_hosts(user, region.x, region.y, req.now).await.map_err(fail)?,
            Some(r) => (1..=254u8).filter(|z| Some(*z) != r.z).collect(),
        };
        let wanted = usize::try_from(count).unwrap_or(usize::MAX);
        if let Some(r) = reservation
            && r.z.is_some_and(|z| doc.slots().is_set(z))
        {
            return Err(fail(already_allocated(&r.address())));
        }
        let free = doc.slots().lowest_free_n(1, 254, wanted, |z| blocked.contains(&z)).len();
        if free < wanted {
            return Err(fail(region_full(region, free, count)));
        }
        let names = match req.names {
            HostNames::One(name) => {
                let taken = doc! { "user_id": user.as_str(), "region_id": id.as_str(), "hostname": name.as_str() };
                if self.hosts().find_one(taken).await.map_err(|e| fail(errors::db(e)))?.is_some() {
                    return Err(fail(duplicate_hostname(name, region)));
                }
                vec![name.clone()]
            }
            HostNames::Batch { prefix, count } => self.batch_names(user, id, prefix, count).await.map_err(fail)?,
        };
        let mut claimed: Vec<u8> = Vec::with_capacity(names.len());
        // The region's host count right after each claim (for the capacity event).
        let mut counts: Vec<u32> = Vec::with_capacity(names.len());
        for _ in &names {
            let mut attempts = 0;
            loop {
                let Some(z) = doc.slots().lowest_free(1, 254, |z| claimed.contains(&z) || blocked.contains(&z)) else {
                    self.release_claims(user, id, &claimed).await;
                    return Err(fail(region_full(region, claimed.len(), count)));
                };
                match self.claim_host(user, id, z).await {
                    Ok(Some(count)) => {
                        claimed.push(z);
                        counts.push(count);
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.release_claims(user, id, &claimed).await;
                        return Err(fail(e));
                    }
                }
                attempts += 1;
                let fresh = match self.region_doc(user, id).await {
                    Ok(f) => f,
                    Err(e) => {
                        self.release_claims(user, id, &claimed).await;
                        return Err(fail(e));
                    }
                };
                let stop = match unusable(fresh.as_ref(), id) {
                    Ok(stop) => stop.or_else(|| (attempts >= MAX_ATTEMPTS).then(contention)),
                    Err(e) => Some(e),
                };
                if let Some(e) = stop {
                    self.release_claims(user, id, &claimed).await;
                    return Err(fail(e));
                }
                if let Some(fresh) = fresh {
                    *doc = fresh;
                }
            }
        }
        let owner = req.owner.cloned().unwrap_or_else(|| OwnerLabel::from_stored(actor.username.to_string()));
        let template = HostTemplate { details: req.details, owner: &owner, tags: req.tags };
        let hosts: Vec<Host> = names
            .into_iter()
            .zip(&claimed)
            .map(|(hostname, z)| Host::allocated(actor, region, *z, hostname, &template, req.now))
            .collect();
        let ids: Vec<Bson> = hosts.iter().map(|h| Bson::String(h.id.to_string())).collect();
        if let Err(e) = self.hosts().insert_many(hosts.iter().map(HostDoc::new)).ordered(true).await {
            self.undo_hosts(&ids).await;
            return match errors::duplicate_index(&e).as_deref() {
                // Two batches with one prefix computed the same names: recompute and retry.
                Some(HOSTNAME_INDEX) if matches!(req.names, HostNames::Batch { .. }) => {
                    self.release_claims(user, id, &claimed).await;
                    Ok(None)
                }
                Some(HOSTNAME_INDEX) => {
                    self.release_claims(user, id, &claimed).await;
                    let name = hosts.first().map(|h| h.hostname.clone());
                    Err(fail(match name {
                        Some(n) => duplicate_hostname(&n, region),
                        None => contention(),
                    }))
                }
                // The bitmap missed existing hosts (derived data): keep their bits, free the
                // others, and try again on the next addresses.
                Some(_) => {
                    let taken: HashSet<u8> = match self
                        .hosts_at(
                            user,
                            &claimed.iter().map(|z| TenAddress { x: region.x, y: region.y, z: *z }).collect::<Vec<_>>(),
                        )
                        .await
                    {
                        Ok(found) => found.iter().map(|h| h.z).collect(),
                        Err(_) => HashSet::new(),
                    };
                    tracing::warn!(region = %id, ?taken, "host bitmap was stale; repaired");
                    let free: Vec<u8> = claimed.iter().copied().filter(|z| !taken.contains(z)).collect();
                    self.release_claims(user, id, &free).await;
                    Ok(None)
                }
                None => {
                    self.release_claims(user, id, &claimed).await;
                    Err(fail(errors::db(e)))
                }
            };
        }
        // A retirement that started after our claims may have listed the region's hosts before
        // ours landed: if so, take ours back out rather than leave them orphaned. Hosts the
        // retirement already deleted were given back by it.
        let still = self.regions().find_one(doc! { "_id": id.as_str(), "retiring": { "$ne": true } }).await;
        let still = match still {
            Ok(s) => s,
            Err(e) => {
                self.undo_hosts(&ids).await;
                self.release_claims(user, id, &claimed).await;
                return Err(fail(errors::db(e)));
            }
        };
        if still.is_none() {
            let ours = self.undo_hosts(&ids).await;
            self.release_claims(user, id, &claimed).await;
            return Err((IpamError::not_found("region", id.as_str()), count.saturating_sub(ours)));
        }
        // Settle the race with reservations: a conversion consumes its reservation; an ordinary
        // allocation backs off from any reservation that appeared on its addresses meanwhile.
        let settled = match (reservation, hosts.first()) {
            (Some(r), Some(h)) => self.mark_converted(actor, r, h.id.as_str(), req.now).await,
            _ => self
                .blocked_hosts(user, region.x, region.y, req.now)
                .await
                .map(|now_blocked| !claimed.iter().any(|z| now_blocked.contains(z))),
        };
        match settled {
            Ok(true) => {}
            Ok(false) => {
                self.undo_hosts(&ids).await;
                self.release_claims(user, id, &claimed).await;
                return match reservation {
                    Some(r) => Err(fail(
                        self.convertible(user, &r.id, ReservationKind::Host, req.now)
                            .await
                            .err()
                            .unwrap_or_else(contention),
                    )),
                    None => Ok(None),
                };
            }
            Err(e) => {
                self.undo_hosts(&ids).await;
                self.release_claims(user, id, &claimed).await;
                return Err(fail(e));
            }
        }
        // The hosts stand from here on: a failure to write the audit trail is logged, not
        // turned into an error that would give back quota for hosts that exist.
        let events: Vec<AuditEvent> =
            hosts.iter().map(|h| AuditEvent::host(AuditAction::Create, h, actor, None, vec![], req.now)).collect();
        if let Err(e) = self.record(&events).await {
            tracing::error!(error = %e, "allocated hosts, but could not write their audit events");
        }
        let resource = capacity::region_resource(region);
        self.publish_crossing(capacity::crossing(user, &resource, &counts, capacity::HOSTS_PER_REGION, req.now)).await;
        Ok(Some(hosts))
    }
}

#[async_trait]
impl HostStore for MongoStore {
    async fn allocate_hosts(&self, req: AllocateHosts<'_>) -> Result<Vec<Host>> {
        let user = &req.actor.user_id;
        let count = match req.names {
            HostNames::One(_) => 1,
            HostNames::Batch { count, .. } => count,
        };
        self.take_quota(user, Counter::Hosts, count, req.quotas, req.now).await?;
        let mut outcome = Err((contention(), 0));
        for _ in 0..16 {
            outcome = self.place_hosts(&req, count).await;
            if !matches!(outcome, Ok(None)) {
                break;
            }
        }
        match outcome {
            Ok(Some(hosts)) => Ok(hosts),
            Ok(None) => {
                self.adjust_quota(user, Counter::Hosts, -i32::try_from(count).unwrap_or(i32::MAX), req.now).await?;
                Err(contention())
            }
            Err((e, accounted)) => {
                let back = count.saturating_sub(accounted);
                self.adjust_quota(user, Counter::Hosts, -i32::try_from(back).unwrap_or(i32::MAX), req.now).await?;
                Err(e)
            }
        }
    }

    async fn next_free_host(
        &self,
        user: &UserId,
        region: &RegionId,
        now: DateTime<Utc>,
    ) -> Result<Option<(Region, Option<u8>)>> {
        match self.region_doc(user, region).await? {
            Some(d) => {
                let r = Region::try_from(d.clone())?;
                let blocked = self.blocked_hosts(user, r.x, r.y, now).await?;
                let z = d.slots().lowest_free(1, 254, |z| blocked.contains(&z));
                Ok(Some((r, z)))
            }
            None => Ok(None),
        }
    }

    async fn host(&self, user: &UserId, id: &HostId) -> Result<Option<Host>> {
        self.host_doc(user, id).await?.map(Host::try_from).transpose()
    }

    async fn hosts_at(&self, user: &UserId, addresses: &[TenAddress]) -> Result<Vec<Host>> {
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let any: Vec<Document> = addresses
            .iter()
            .map(|a| doc! { "x_octet": i32::from(a.x), "y_octet": i32::from(a.y), "z_octet": i32::from(a.z) })
            .collect();
        let docs = find_all(&self.hosts(), doc! { "user_id": user.as_str(), "$or": any }, None).await?;
        docs.into_iter().map(Host::try_from).collect()
    }

    async fn list_hosts(&self, user: &UserId, filter: &HostFilter, page: PageRequest) -> Result<Page<Host>> {
        let region_ids = self.regions_named(user, filter).await?;
        let sort = doc! { "created_at": -1, "_id": -1 };
        find_page(&self.hosts(), host_filter(user, filter, region_ids), sort, page, Host::try_from).await
    }

    async fn update_host(
        &self,
        actor: &Actor,
        id: &HostId,
        patch: &HostPatch,
        reason: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Result<Host> {
        for _ in 0..MAX_ATTEMPTS {
            let updated = atomically!(self, |tx| self.update_host_in(tx, actor, id, patch, reason, now).await)?;
            if let Some(host) = updated {
                return Ok(host);
            }
        }
        Err(contention())
    }

    async fn release_hosts(
        &self,
        actor: &Actor,
        ids: &[HostId],
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReleaseOutcome>> {
        atomically!(self, |tx| self.release_hosts_in(tx, actor, ids, reason, now).await)
    }
}

impl MongoStore {
    /// Applies a patch to the version of the host it reads, and records it, inside `tx`.
    /// `None`: another writer changed the host in between (read it again).
    async fn update_host_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: &HostId,
        patch: &HostPatch,
        reason: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Result<Option<Host>> {
        let user = &actor.user_id;
        let found = run!(tx, self.hosts().find_one(doc! { "_id": id.as_str(), "user_id": user.as_str() }));
        let current = found.map_err(errors::db)?.ok_or_else(|| IpamError::not_found("host", id.as_str()))?;
        let seen = HostDoc::new(&Host::try_from(current.clone())?);
        let mut host = Host::try_from(current)?;
        let before = host.clone();
        let changes = host.apply(patch);
        if changes.is_empty() {
            return Ok(Some(host));
        }
        host.updated_at = now;
        host.updated_by = user.clone();
        // Optimistic: replace only the version that was read.
        let filter = super::documents::to_document(&seen)?;
        match run!(tx, self.hosts().replace_one(filter, HostDoc::new(&host))) {
            Ok(r) if r.matched_count == 1 => {
                let reason = reason.map(|r| r.to_string());
                let event = AuditEvent::host(AuditAction::Update, &before, actor, reason, changes, now);
                self.record_in(tx, &[event]).await?;
                Ok(Some(host))
            }
            Ok(_) => Ok(None),
            Err(e) if errors::duplicate_index(&e).as_deref() == Some(HOSTNAME_INDEX) => {
                Err(duplicate_hostname_on_rename(&host))
            }
            Err(e) => Err(errors::db(e)),
        }
    }

    /// Deletes the hosts (with their comments), frees their addresses and quota, and records
    /// the releases, inside `tx`.
    async fn release_hosts_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        ids: &[HostId],
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReleaseOutcome>> {
        let user = &actor.user_id;
        let mut seen = HashSet::new();
        let mut outcomes = Vec::new();
        let mut events = Vec::new();
        for id in ids {
            if !seen.insert(id.clone()) {
                continue;
            }
            let filter = doc! { "_id": id.as_str(), "user_id": user.as_str() };
            let deleted = run!(tx, self.hosts().find_one_and_delete(filter)).map_err(errors::db)?;
            let Some(deleted) = deleted else {
                outcomes.push(ReleaseOutcome::NotFound(id.clone()));
                continue;
            };
            let host = Host::try_from(deleted)?;
            let comments = doc! { "user_id": user.as_str(), "resource_id": id.as_str() };
            run!(tx, self.comments().delete_many(comments)).map_err(errors::db)?;
            self.release_host_slot_in(tx, user, &host.region_id, host.z).await?;
            events.push(AuditEvent::host(AuditAction::Release, &host, actor, Some(reason.to_string()), vec![], now));
            outcomes.push(ReleaseOutcome::Released(Box::new(host)));
        }
        // One quota update for the whole batch: fewer writes to the user's hottest document.
        let released = i32::try_from(events.len()).unwrap_or(i32::MAX);
        self.adjust_quota_in(tx, user, Counter::Hosts, -released, now).await?;
        self.record_in(tx, &events).await?;
        Ok(outcomes)
    }

    /// Ids of the regions whose name matches the host filter's region-name condition.
    pub(super) async fn regions_named(&self, user: &UserId, f: &HostFilter) -> Result<Option<Vec<String>>> {
        let Some(needle) = &f.region_name_contains else { return Ok(None) };
        let filter = doc! { "user_id": user.as_str(), "name_key": literal_regex(needle) };
        let docs = find_all(&self.regions(), filter, None).await?;
        Ok(Some(docs.into_iter().map(|d| d.id).collect()))
    }
}
