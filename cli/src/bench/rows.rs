//! One user's rows for `ipam bench seed`, built from the plan with the domain's own types
//! (`Region`, `Host`, `AuditEvent::region/host`), so the rows, snapshots and audit trail look
//! exactly like the service's. Text the INSERTs bind (times, JSON) is rendered here too, on the
//! thread that builds the next user while the previous one is being written.

use anyhow::Context;
use chrono::{DateTime, Utc};
use ipam_core::auth::{Actor, Permission, Permissions};
use ipam_core::domain::{
    AuditAction, AuditEvent, CountryCatalog, CountryCode, Description, Host, HostDetails, HostId, HostStatus, Hostname,
    OwnerLabel, Region, RegionId, RegionName, RegionStatus, Tags, UserId, Username,
};

use super::plan::{Allocation, RegionPlan, UserPlan, timeline};

/// Everything written for one user.
pub(crate) struct UserRows {
    /// The plan the rows come from (the derived state is written from it).
    pub(crate) plan: UserPlan,
    /// The user.
    pub(crate) user: UserId,
    /// Regions in plan order, as created (no hosts yet), with their creation time as stored.
    pub(crate) regions: Vec<(Region, String)>,
    /// Hosts in allocation order, with their creation time as stored.
    pub(crate) hosts: Vec<(Host, String)>,
    /// One `create` record per region and host, oldest first.
    pub(crate) audit: Vec<AuditRow>,
}

/// An audit record with its stored text.
pub(crate) struct AuditRow {
    /// The record.
    pub(crate) event: AuditEvent,
    /// `snapshot` as stored.
    pub(crate) snapshot: String,
    /// `metadata` as stored.
    pub(crate) metadata: String,
    /// `timestamp` as stored.
    pub(crate) timestamp: String,
}

impl UserRows {
    /// The rows of `plan`'s user, allocations dated back from `now`.
    pub(crate) fn build(plan: UserPlan, catalog: &CountryCatalog, now: DateTime<Utc>) -> anyhow::Result<Self> {
        let user = UserId::from_stored(plan.user_id());
        let actor = Actor {
            user_id: user.clone(),
            username: Username::from_stored(plan.user_id()),
            permissions: Permissions::of(&[Permission::Admin]),
        };
        let mut regions: Vec<(Region, String)> = Vec::with_capacity(plan.regions.len());
        let mut hosts = Vec::with_capacity(usize::try_from(plan.hosts()).unwrap_or(0));
        let mut audit = Vec::with_capacity(plan.regions.len() + hosts.capacity());
        for (at, allocation) in timeline(&plan, now) {
            let event = match allocation {
                Allocation::Region(i) => {
                    let r = region(&actor, &plan.regions[i], catalog, i, at)?;
                    let event = AuditEvent::region(AuditAction::Create, &r, &actor, None, vec![], at);
                    regions.push((r, ts(at)));
                    event
                }
                Allocation::Host(i, z) => {
                    // A region is created before its hosts, and regions are created in the
                    // plan's order, so the plan's i-th region is already built at `regions[i]`.
                    let (r, _) = regions.get(i).context("a host's region is created before it")?;
                    let h = host(&actor, r, z, at)?;
                    let event = AuditEvent::host(AuditAction::Create, &h, &actor, None, vec![], at);
                    hosts.push((h, ts(at)));
                    event
                }
            };
            audit.push(AuditRow {
                snapshot: event.snapshot.to_string(),
                metadata: event.metadata.to_string(),
                timestamp: ts(at),
                event,
            });
        }
        Ok(Self { plan, user, regions, hosts, audit })
    }
}

/// Stored time: fixed-width RFC 3339 UTC with microseconds, so text order is time order (the
/// format the schema documents in `0001_core_ipam.up.sql`).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The `i`-th region of a user, as the service would have created it (no hosts yet).
fn region(
    actor: &Actor,
    r: &RegionPlan,
    catalog: &CountryCatalog,
    i: usize,
    at: DateTime<Utc>,
) -> anyhow::Result<Region> {
    let country = catalog.find(&r.country).context("planned country is in the catalog")?;
    let name = format!("{}-{:05}", country.code.as_str().to_lowercase(), i + 1);
    Ok(Region {
        id: RegionId::generate(),
        user_id: actor.user_id.clone(),
        owner_id: actor.user_id.clone(),
        owner: OwnerLabel::from_stored(actor.username.to_string()),
        country_code: CountryCode::from_stored(country.code.to_string()),
        x: r.x,
        y: r.y,
        name: RegionName::parse(&name).map_err(|e| anyhow::anyhow!("region name {name}: {e}"))?,
        description: Description::from_stored(String::new()),
        status: RegionStatus::Active,
        tags: Tags::default(),
        allocated_hosts: 0,
        created_at: at,
        updated_at: at,
        created_by: actor.user_id.clone(),
        updated_by: actor.user_id.clone(),
    })
}

/// Host Z of `region`, as the service would have created it.
fn host(actor: &Actor, region: &Region, z: u8, at: DateTime<Utc>) -> anyhow::Result<Host> {
    let name = format!("host-{z:03}");
    Ok(Host {
        id: HostId::generate(),
        user_id: actor.user_id.clone(),
        region_id: region.id.clone(),
        x: region.x,
        y: region.y,
        z,
        hostname: Hostname::parse(&name).map_err(|e| anyhow::anyhow!("hostname {name}: {e}"))?,
        details: HostDetails::default(),
        owner: OwnerLabel::from_stored(actor.username.to_string()),
        owner_id: actor.user_id.clone(),
        status: HostStatus::Active,
        tags: Tags::default(),
        created_at: at,
        updated_at: at,
        created_by: actor.user_id.clone(),
        updated_by: actor.user_id.clone(),
    })
}
