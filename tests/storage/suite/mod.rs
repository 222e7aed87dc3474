//! The conformance suite: one async function per behaviour, each given a fresh, empty store.
//!
//! Everything here goes through the `Store` traits only, so the same functions judge every
//! backend. Times are fixed instants (whole microseconds, the precision every backend keeps), so
//! timestamps read back can be compared exactly.

mod audit;
mod bulk_jobs;
mod comments;
mod countries;
mod events;
mod forecast_requests;
mod hosts;
mod invariants;
mod listing;
mod notification_rules;
mod notifications;
mod notify;
mod platform;
mod preferences;
mod queue_binding;
mod quotas;
mod regions;
mod repair;
mod reservations;
mod search;
mod shares;
mod statistics;
mod webhook_state;

pub use audit::*;
pub use bulk_jobs::*;
pub use comments::*;
pub use countries::*;
pub use events::*;
pub use forecast_requests::*;
pub use hosts::*;
pub use invariants::*;
pub use listing::*;
pub use notification_rules::*;
pub use notifications::*;
pub use notify::*;
pub use platform::*;
pub use preferences::*;
pub use queue_binding::*;
pub use quotas::*;
pub use regions::*;
pub use repair::*;
pub use reservations::*;
pub use search::*;
pub use shares::*;
pub use statistics::*;
pub use webhook_state::*;

use std::fmt::Debug;

use chrono::{DateTime, Duration, Utc};
use ipam_core::auth::{Actor, Permission, Permissions};
use ipam_core::clock::to_millis;
use ipam_core::domain::{
    AuditEvent, Country, Description, Host, HostDetails, HostId, Hostname, HostnamePrefix, NewRegion, OctetRange, Page,
    PageRequest, QuotaDefaults, Reason, Region, RegionId, RegionName, SearchText, TagFilter, Tags, UserId, Username,
};
use ipam_core::error::{ConflictKind, IpamError, Result};
use ipam_core::storage::{
    AllocateHosts, AllocateRegion, AuditFilter, HostFilter, HostNames, Placement, RegionFilter, ReleaseOutcome,
    RetiredRegion, Store,
};
use serde_json::{Map, Value};

/// The instant every test starts at (sub-millisecond digits are cut off, as the service does).
pub fn t0() -> DateTime<Utc> {
    let raw = DateTime::parse_from_rfc3339("2026-03-14T09:26:53.589793238Z").expect("valid instant");
    to_millis(raw.with_timezone(&Utc))
}

/// `t0` plus `secs` seconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

/// A user with read/allocate/update/release; user id `u-{name}`, username `{name}`.
pub fn user(name: &str) -> Actor {
    Actor {
        user_id: UserId::parse(&format!("u-{name}")).expect("user id"),
        username: Username::parse(name).expect("username"),
        permissions: Permissions::of(&[
            Permission::Read,
            Permission::Allocate,
            Permission::Update,
            Permission::Release,
        ]),
    }
}

/// An administrator.
pub fn admin(name: &str) -> Actor {
    Actor { permissions: Permissions::of(&[Permission::Admin]), ..user(name) }
}

/// The seeded country with this code.
pub async fn country(store: &dyn Store, code: &str) -> Country {
    store
        .countries()
        .await
        .expect("countries")
        .into_iter()
        .find(|c| c.code.as_str() == code)
        .unwrap_or_else(|| panic!("country {code} is seeded"))
}

/// Quota limits large enough never to matter.
pub fn roomy() -> QuotaDefaults {
    QuotaDefaults { regions: 10_000, hosts: 100_000 }
}

/// A region request with only a name.
pub fn new_region(name: &str) -> NewRegion {
    NewRegion {
        name: RegionName::parse(name).expect("region name"),
        description: Description::empty(),
        owner: None,
        tags: Tags::empty(),
    }
}

/// Tags from a JSON object.
pub fn tags(raw: Value) -> Tags {
    Tags::parse(&raw).expect("tags")
}

/// Allocates a region with explicit fields and limits.
pub async fn try_region_with(
    store: &dyn Store,
    actor: &Actor,
    country: &Country,
    region: &NewRegion,
    quotas: QuotaDefaults,
    now: DateTime<Utc>,
) -> Result<Region> {
    store.allocate_region(AllocateRegion { actor, country, region, placement: Placement::Lowest, quotas, now }).await
}

/// Allocates a region named `name` under `quotas`.
pub async fn try_region(
    store: &dyn Store,
    actor: &Actor,
    country: &Country,
    name: &str,
    quotas: QuotaDefaults,
    now: DateTime<Utc>,
) -> Result<Region> {
    try_region_with(store, actor, country, &new_region(name), quotas, now).await
}

/// Allocates a region named `name` (must succeed).
pub async fn region(store: &dyn Store, actor: &Actor, country: &Country, name: &str, now: DateTime<Utc>) -> Region {
    try_region(store, actor, country, name, roomy(), now)
        .await
        .unwrap_or_else(|e| panic!("allocate region {name}: {e}"))
}

/// A hostname.
pub fn hostname(raw: &str) -> Hostname {
    Hostname::parse(raw).expect("hostname")
}

/// Allocates hosts with explicit details, owner and tags.
#[allow(clippy::too_many_arguments)]
pub async fn try_hosts_with(
    store: &dyn Store,
    actor: &Actor,
    region_id: &RegionId,
    names: HostNames<'_>,
    details: &HostDetails,
    tags: &Tags,
    quotas: QuotaDefaults,
    now: DateTime<Utc>,
) -> Result<Vec<Host>> {
    store
        .allocate_hosts(AllocateHosts {
            actor,
            region_id,
            names,
            details,
            owner: None,
            tags,
            placement: Placement::Lowest,
            quotas,
            now,
        })
        .await
}

/// Allocates one host named `name` under `quotas`.
pub async fn try_host(
    store: &dyn Store,
    actor: &Actor,
    region_id: &RegionId,
    name: &str,
    quotas: QuotaDefaults,
    now: DateTime<Utc>,
) -> Result<Host> {
    let name = hostname(name);
    let details = HostDetails::default();
    let mut hosts =
        try_hosts_with(store, actor, region_id, HostNames::One(&name), &details, &Tags::empty(), quotas, now).await?;
    assert_eq!(hosts.len(), 1, "a single allocation returns one host");
    Ok(hosts.remove(0))
}

/// Allocates one host named `name` (must succeed).
pub async fn host(store: &dyn Store, actor: &Actor, region_id: &RegionId, name: &str, now: DateTime<Utc>) -> Host {
    try_host(store, actor, region_id, name, roomy(), now).await.unwrap_or_else(|e| panic!("allocate host {name}: {e}"))
}

/// Allocates `count` hosts named `{prefix}-NNN` under `quotas`.
pub async fn try_batch(
    store: &dyn Store,
    actor: &Actor,
    region_id: &RegionId,
    prefix: &str,
    count: u32,
    quotas: QuotaDefaults,
    now: DateTime<Utc>,
) -> Result<Vec<Host>> {
    let prefix = HostnamePrefix::parse(prefix).expect("prefix");
    let names = HostNames::Batch { prefix: &prefix, count };
    try_hosts_with(store, actor, region_id, names, &HostDetails::default(), &Tags::empty(), quotas, now).await
}

/// Allocates `count` hosts named `{prefix}-NNN` (must succeed).
pub async fn batch(
    store: &dyn Store,
    actor: &Actor,
    region_id: &RegionId,
    prefix: &str,
    count: u32,
    now: DateTime<Utc>,
) -> Vec<Host> {
    try_batch(store, actor, region_id, prefix, count, roomy(), now)
        .await
        .unwrap_or_else(|e| panic!("allocate {count} x {prefix}: {e}"))
}

/// A reason for retiring or releasing.
pub fn reason(raw: &str) -> Reason {
    Reason::parse(raw).expect("reason")
}

/// Releases hosts (the call itself must succeed).
pub async fn release(store: &dyn Store, actor: &Actor, ids: &[HostId], now: DateTime<Utc>) -> Vec<ReleaseOutcome> {
    store.release_hosts(actor, ids, &reason("no longer needed"), now).await.expect("release_hosts")
}

/// Retires a region.
pub async fn retire(
    store: &dyn Store,
    actor: &Actor,
    id: &RegionId,
    cascade: bool,
    now: DateTime<Utc>,
) -> Result<RetiredRegion> {
    store.retire_region(actor, id, cascade, &reason("decommissioned"), now).await
}

/// A page request.
pub fn page(page: u32, size: u32) -> PageRequest {
    PageRequest::new(Some(page), Some(size)).expect("page request")
}

/// The largest first page.
pub fn first_100() -> PageRequest {
    page(1, 100)
}

/// Search text.
pub fn text(raw: &str) -> SearchText {
    SearchText::parse(raw).expect("search text")
}

/// An address or CIDR block as octet ranges.
pub fn range(raw: &str) -> OctetRange {
    OctetRange::parse(raw).expect("address or block")
}

/// Tag conditions from `(key, value)` pairs.
pub fn tag_filter(pairs: &[(&str, &str)]) -> TagFilter {
    let mut f = TagFilter::default();
    for (k, v) in pairs {
        f.push(k, v).expect("tag condition");
    }
    f
}

/// Every region of `user` matching `filter`, walking all pages; checks each page's total.
pub async fn all_regions(store: &dyn Store, user: &UserId, filter: &RegionFilter) -> Vec<Region> {
    let mut out = Vec::new();
    for n in 1.. {
        let p = store.list_regions(user, filter, page(n, 100)).await.expect("list_regions");
        let done = p.items.len() < 100;
        out.extend(p.items);
        assert!(out.len() as u64 <= p.total, "page {n} goes past the reported total {}", p.total);
        if done {
            assert_eq!(out.len() as u64, p.total, "the total counts every listed region");
            break;
        }
    }
    out
}

/// Every host of `user` matching `filter`, walking all pages; checks each page's total.
pub async fn all_hosts(store: &dyn Store, user: &UserId, filter: &HostFilter) -> Vec<Host> {
    let mut out = Vec::new();
    for n in 1.. {
        let p = store.list_hosts(user, filter, page(n, 100)).await.expect("list_hosts");
        let done = p.items.len() < 100;
        out.extend(p.items);
        assert!(out.len() as u64 <= p.total, "page {n} goes past the reported total {}", p.total);
        if done {
            assert_eq!(out.len() as u64, p.total, "the total counts every listed host");
            break;
        }
    }
    out
}

/// The first 100 audit events of `user` matching `filter`.
pub async fn audit_page(store: &dyn Store, user: &UserId, filter: &AuditFilter) -> Page<AuditEvent> {
    store.audit_events(user, filter, first_100()).await.expect("audit_events")
}

/// Names of regions, in the order given.
pub fn region_names(regions: &[Region]) -> Vec<&str> {
    regions.iter().map(|r| r.name.as_str()).collect()
}

/// Hostnames, in the order given.
pub fn hostnames(hosts: &[Host]) -> Vec<&str> {
    hosts.iter().map(|h| h.hostname.as_str()).collect()
}

/// Z octets, in the order given.
pub fn zs(hosts: &[Host]) -> Vec<u8> {
    hosts.iter().map(|h| h.z).collect()
}

/// Asserts a conflict of `kind` and returns its message and details.
pub fn expect_conflict<T: Debug>(result: Result<T>, kind: ConflictKind) -> (String, Map<String, Value>) {
    match result {
        Err(IpamError::Conflict { kind: got, message, details }) => {
            assert_eq!(got, kind, "conflict kind (message: {message})");
            (message, details)
        }
        other => panic!("expected a {} conflict, got {other:?}", kind.code()),
    }
}

/// Asserts `QuotaExceeded` with exactly these numbers.
pub fn expect_quota_exceeded<T: Debug>(result: Result<T>, quota: &str, limit: u64, current: u64, requested: u64) {
    match result {
        Err(IpamError::QuotaExceeded { quota: q, limit: l, current: c, requested: r }) => {
            assert_eq!((q, l, c, r), (quota, limit, current, requested), "quota, limit, current, requested");
        }
        other => panic!("expected {quota} quota exceeded, got {other:?}"),
    }
}

/// Asserts `NotFound`.
pub fn expect_not_found<T: Debug>(result: Result<T>) {
    assert!(matches!(result, Err(IpamError::NotFound { .. })), "expected not found, got {result:?}");
}
