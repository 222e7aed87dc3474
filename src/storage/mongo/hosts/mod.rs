//! Hosts: allocation (the placement saga is in [`placement`], its claims guard in
//! [`claims`]), reads, optimistic updates and
//! release.

mod claims;
mod placement;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{Bson, Document, doc};

use self::placement::PlaceOutcome;
use super::documents::HostDoc;
use super::filters::{host_filter, literal_regex};
use super::quotas::Counter;
use super::regions::MAX_ATTEMPTS;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors, find_all, find_page};
use crate::auth::Actor;
use crate::domain::allocation::lowest_free_host;
use crate::domain::{
    AuditAction, AuditEvent, Host, HostId, HostPatch, Hostname, HostnamePrefix, Page, PageRequest, Reason, Region,
    RegionId, SearchText, TenAddress, UserId,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{contention, duplicate_hostname_on_rename};
use crate::storage::{AllocateHosts, HostFilter, HostStore, ReleaseOutcome};

const HOSTNAME_INDEX: &str = "user_region_hostname_unique_idx";

/// How many placement attempts one allocation makes before answering "try again" (409).
/// Why so few suffice: an attempt is retried only after a race that the retry itself resolves
/// (a concurrent batch took the same names, which are now recomputed after them; the bitmap
/// was stale, and is now repaired; a reservation appeared on a claimed address, which is now
/// skipped), so only a burst of such races can exhaust them; the bound keeps a pathological
/// loop from holding the request and its quota forever.
const PLACEMENT_ATTEMPTS: usize = 16;

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
        prefix.batch_after(docs.iter().map(|h| h.hostname.as_str()), count)
    }
}

#[async_trait]
impl HostStore for MongoStore {
    async fn allocate_hosts(&self, req: AllocateHosts<'_>) -> Result<Vec<Host>> {
        let user = &req.actor.user_id;
        let count = req.names.count();
        self.take_quota(user, Counter::Hosts, count, req.quotas, req.now).await?;
        let mut outcome = PlaceOutcome::Retry;
        for _ in 0..PLACEMENT_ATTEMPTS {
            outcome = self.place_hosts(&req, count).await;
            if !matches!(outcome, PlaceOutcome::Retry) {
                break;
            }
        }
        let (error, quota_accounted) = match outcome {
            PlaceOutcome::Placed(hosts) => return Ok(hosts),
            PlaceOutcome::Retry => (contention(), 0),
            PlaceOutcome::Failed { error, quota_accounted } => (error, quota_accounted),
        };
        let back = count.saturating_sub(quota_accounted);
        self.adjust_quota(user, Counter::Hosts, -i32::try_from(back).unwrap_or(i32::MAX), req.now).await?;
        Err(error)
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
                let z = lowest_free_host(&d.slots(), |z| blocked.contains(&z));
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
        let changes = host.apply(patch)?;
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
        let mut outcomes = Vec::new();
        let mut events = Vec::new();
        for id in ids {
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
