//! Host use cases.

use super::Ipam;
use super::interpret::Interpretation;
use super::regions::NextHost;
use crate::auth::Actor;
use crate::domain::{
    DeviceType, Host, HostDetails, HostId, HostPatch, HostStatus, HostnamePrefix, NewHost, OwnerLabel, Page,
    PageRequest, Reason, RegionId, SearchText, TagFilter, Tags, TenAddress,
};
use crate::error::{IpamError, Result};
use crate::storage::{AllocateHosts, HostFilter, HostNames, Placement, ReleaseOutcome, TimeRange};

/// Largest batch allocation and bulk release.
pub(crate) const MAX_BULK: usize = 100;

/// Filters of the host list.
#[derive(Debug, Clone, Default)]
pub struct HostQuery {
    /// Only in this region.
    pub region_id: Option<RegionId>,
    /// Status.
    pub status: Option<HostStatus>,
    /// Hostname contains.
    pub hostname_contains: Option<SearchText>,
    /// Device type.
    pub device_type: Option<DeviceType>,
    /// Owner label or owner id.
    pub owner: Option<OwnerLabel>,
    /// Tag conditions.
    pub tags: TagFilter,
    /// Creation window.
    pub created: TimeRange,
}

/// A batch allocation.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// Parent region.
    pub region_id: RegionId,
    /// How many hosts (1..=100).
    pub count: u32,
    /// Names are `{prefix}-{NNN}`.
    pub prefix: HostnamePrefix,
    /// Descriptive fields for every host.
    pub details: HostDetails,
    /// Owner label.
    pub owner: Option<OwnerLabel>,
    /// Tags for every host.
    pub tags: Tags,
}

/// One answer of a bulk lookup.
#[derive(Debug, Clone)]
pub enum BulkLookupItem {
    /// The address parsed; where it sits.
    Found(Box<Interpretation>),
    /// The input was not an address inside 10.0.0.0/8.
    Invalid {
        /// What the client sent.
        input: String,
        /// Why it was refused.
        error: String,
    },
}

impl Ipam {
    /// Allocates the lowest free address of a region.
    pub async fn allocate_host(&self, actor: &Actor, region_id: &RegionId, host: NewHost) -> Result<Host> {
        let req = AllocateHosts {
            actor,
            region_id,
            names: HostNames::One(&host.hostname),
            details: &host.details,
            owner: host.owner.as_ref(),
            tags: &host.tags,
            placement: Placement::Lowest,
            quotas: self.quotas,
            now: self.now(),
        };
        let mut hosts = self.store.allocate_hosts(req).await?;
        hosts.pop().ok_or_else(|| IpamError::internal("allocation returned no host"))
    }

    /// Allocates `count` hosts at once (all or nothing).
    pub async fn allocate_batch(&self, actor: &Actor, batch: &BatchRequest) -> Result<Vec<Host>> {
        if batch.count == 0 || batch.count as usize > MAX_BULK {
            return Err(IpamError::invalid("count", format!("must be between 1 and {MAX_BULK}")));
        }
        let req = AllocateHosts {
            actor,
            region_id: &batch.region_id,
            names: HostNames::Batch { prefix: &batch.prefix, count: batch.count },
            details: &batch.details,
            owner: batch.owner.as_ref(),
            tags: &batch.tags,
            placement: Placement::Lowest,
            quotas: self.quotas,
            now: self.now(),
        };
        self.store.allocate_hosts(req).await
    }

    /// One of the caller's hosts.
    pub async fn host(&self, actor: &Actor, id: &HostId) -> Result<Host> {
        self.store.host(&actor.user_id, id).await?.ok_or_else(|| IpamError::not_found("host", id.as_str()))
    }

    /// The caller's host at an address.
    pub async fn host_by_ip(&self, actor: &Actor, address: TenAddress) -> Result<Host> {
        self.store
            .hosts_at(&actor.user_id, &[address])
            .await?
            .pop()
            .ok_or_else(|| IpamError::not_found("host", address.to_string()))
    }

    /// A page of the caller's hosts, newest first.
    pub async fn hosts(&self, actor: &Actor, q: &HostQuery, page: PageRequest) -> Result<Page<Host>> {
        let filter = HostFilter {
            region_id: q.region_id.clone(),
            status: q.status,
            hostname_contains: q.hostname_contains.clone(),
            device_type: q.device_type,
            owner: q.owner.clone(),
            tags: q.tags.clone(),
            created: q.created,
            ..HostFilter::default()
        };
        self.store.list_hosts(&actor.user_id, &filter, page).await
    }

    /// Changes a host's fields.
    pub async fn update_host(
        &self,
        actor: &Actor,
        id: &HostId,
        patch: &HostPatch,
        reason: Option<&Reason>,
    ) -> Result<Host> {
        if patch.is_empty() {
            return Err(IpamError::invalid(
                "body",
                "give at least one of: hostname, device_type, os_type, application, cost_center, purpose, notes, \
                 owner, status, tags",
            ));
        }
        self.store.update_host(actor, id, patch, reason, self.now()).await
    }

    /// Releases (hard-deletes) one host, freeing its address.
    pub async fn release_host(&self, actor: &Actor, id: &HostId, reason: &Reason) -> Result<Host> {
        match self.store.release_hosts(actor, std::slice::from_ref(id), reason, self.now()).await?.pop() {
            Some(ReleaseOutcome::Released(host)) => Ok(*host),
            _ => Err(IpamError::not_found("host", id.as_str())),
        }
    }

    /// Releases up to 100 hosts; one outcome per distinct id.
    pub async fn bulk_release(&self, actor: &Actor, ids: &[HostId], reason: &Reason) -> Result<Vec<ReleaseOutcome>> {
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(IpamError::invalid("host_ids", format!("must hold 1 to {MAX_BULK} ids")));
        }
        self.store.release_hosts(actor, ids, reason, self.now()).await
    }

    /// The address the next allocation in a region would get (nothing is reserved); none when
    /// the region is full or not Active.
    pub async fn preview_next_host(&self, actor: &Actor, region_id: &RegionId) -> Result<NextHost> {
        let (region, z) = self
            .store
            .next_free_host(&actor.user_id, region_id, self.now())
            .await?
            .ok_or_else(|| IpamError::not_found("region", region_id.as_str()))?;
        let z = z.filter(|_| region.status == crate::domain::RegionStatus::Active);
        Ok(NextHost { region, z })
    }
}
