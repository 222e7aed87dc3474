//! Host use cases.

use std::collections::HashSet;

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

/// The ids without repeats, each where it was first mentioned (a host is released once, and
/// its outcome is reported where the client first asked for it).
fn distinct_in_order(ids: &[HostId]) -> Vec<HostId> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().filter(|id| seen.insert(*id)).cloned().collect()
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

    /// Releases up to 100 hosts; one outcome per distinct id, in the order of first mention.
    pub async fn bulk_release(&self, actor: &Actor, ids: &[HostId], reason: &Reason) -> Result<Vec<ReleaseOutcome>> {
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(IpamError::invalid("host_ids", format!("must hold 1 to {MAX_BULK} ids")));
        }
        self.store.release_hosts(actor, &distinct_in_order(ids), reason, self.now()).await
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::auth::{Permission, Permissions};
    use crate::clock::ManualClock;
    use crate::domain::{
        AuditAction, Description, Hostname, NewRegion, QuotaDefaults, RegionName, UserId, Username, WebhookUrl,
    };
    use crate::service::{TargetPolicy, WebhookRules};
    use crate::storage::AuditFilter;
    use crate::storage::sqlite::SqliteStore;

    /// These tests create no webhook.
    struct NoTargets;

    #[async_trait::async_trait]
    impl TargetPolicy for NoTargets {
        async fn check(&self, _: &WebhookUrl) -> std::result::Result<(), String> {
            Err("no webhook target in these tests".into())
        }
    }

    fn user(name: &str) -> Actor {
        Actor {
            user_id: UserId::parse(&format!("u-{name}")).unwrap(),
            username: Username::parse(name).unwrap(),
            permissions: Permissions::of(&[Permission::Allocate, Permission::Release]),
        }
    }

    #[test]
    fn repeated_ids_are_dropped_keeping_the_first_mention() {
        let (a, b, c) = (HostId::generate(), HostId::generate(), HostId::generate());
        let ids = [b.clone(), a.clone(), b.clone(), c.clone(), a.clone()];
        assert_eq!(distinct_in_order(&ids), [b, a, c]);
        assert!(distinct_in_order(&[]).is_empty());
    }

    #[test]
    fn a_batch_names_as_many_hosts_as_its_count_and_a_single_name_one() {
        let name = Hostname::parse("web-1").unwrap();
        let prefix = HostnamePrefix::parse("web").unwrap();
        assert_eq!(HostNames::One(&name).count(), 1);
        assert_eq!(HostNames::Batch { prefix: &prefix, count: 7 }.count(), 7);
    }

    /// The service over a fresh SQLite store, at a fixed instant.
    async fn service() -> (Ipam, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("ipam.db").display());
        let store = SqliteStore::connect(&url, 2).await.unwrap();
        store.prepare().await.unwrap();
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 14, 9, 26, 53).unwrap()));
        let quotas = QuotaDefaults { regions: 10, hosts: 100 };
        let webhooks = WebhookRules { targets: Arc::new(NoTargets), max_per_user: 0 };
        (Ipam::new(Arc::new(store), clock, quotas, webhooks).await.unwrap(), dir)
    }

    /// Moved here from the storage conformance case
    /// `release_reports_one_outcome_per_distinct_id_in_request_order`: since the service removes
    /// repeated ids, the stores only ever see distinct ones.
    #[tokio::test]
    async fn bulk_release_reports_one_outcome_per_distinct_id_in_request_order() {
        let (ipam, _dir) = service().await;
        let (alice, bob) = (user("alice"), user("bob"));
        let region = |name: &str| NewRegion {
            name: RegionName::parse(name).unwrap(),
            description: Description::empty(),
            owner: None,
            tags: Tags::empty(),
        };
        let r = ipam.allocate_region(&alice, "ARE", region("dc")).await.unwrap();
        let batch = BatchRequest {
            region_id: r.id.clone(),
            count: 3,
            prefix: HostnamePrefix::parse("web").unwrap(),
            details: HostDetails::default(),
            owner: None,
            tags: Tags::empty(),
        };
        let hosts = ipam.allocate_batch(&alice, &batch).await.unwrap();
        let bobs_region = ipam.allocate_region(&bob, "ARE", region("dc")).await.unwrap();
        let bobs_host = ipam
            .allocate_batch(&bob, &BatchRequest { region_id: bobs_region.id.clone(), count: 1, ..batch.clone() })
            .await
            .unwrap()
            .remove(0);
        let unknown = HostId::generate();
        let ids =
            [hosts[1].id.clone(), unknown.clone(), hosts[1].id.clone(), hosts[0].id.clone(), bobs_host.id.clone()];
        let why = Reason::parse("end of project").unwrap();

        let result = ipam.bulk_release(&alice, &ids, &why).await.unwrap();

        let outcomes: Vec<(bool, HostId)> = result
            .iter()
            .map(|o| match o {
                ReleaseOutcome::Released(h) => (true, h.id.clone()),
                ReleaseOutcome::NotFound(id) => (false, id.clone()),
            })
            .collect();
        assert_eq!(
            outcomes,
            [(true, hosts[1].id.clone()), (false, unknown), (true, hosts[0].id.clone()), (false, bobs_host.id.clone())]
        );
        let ReleaseOutcome::Released(as_it_was) = &result[0] else { unreachable!() };
        assert_eq!(as_it_was.as_ref(), &hosts[1], "the released host as it was");
        let store = ipam.store();
        assert_eq!(store.host(&alice.user_id, &hosts[2].id).await.unwrap().as_ref(), Some(&hosts[2]));
        assert_eq!(store.host(&bob.user_id, &bobs_host.id).await.unwrap(), Some(bobs_host), "bob's host is untouched");
        assert_eq!(store.quota(&alice.user_id).await.unwrap().host_count, 1);
        assert_eq!(store.quota(&bob.user_id).await.unwrap().host_count, 1);
        assert_eq!(store.region(&alice.user_id, &r.id).await.unwrap().unwrap().allocated_hosts, 1);
        let releases = AuditFilter { action: Some(AuditAction::Release), ..Default::default() };
        let events = store.audit_events(&alice.user_id, &releases, PageRequest::default()).await.unwrap();
        assert_eq!(events.total, 2, "one event per released host, none for duplicates or misses");
    }
}
