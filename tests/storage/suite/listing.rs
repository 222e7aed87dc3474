//! Region and host list filters, totals and ordering.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipam_core::auth::Actor;
use ipam_core::domain::{
    CountryCode, DeviceType, Host, HostDetails, HostPatch, HostStatus, NewRegion, OwnerLabel, RegionId, RegionPatch,
    RegionStatus, Tags,
};
use ipam_core::storage::{AllocateHosts, HostFilter, HostNames, Placement, RegionFilter, Store, TimeRange};
use serde_json::json;

use super::{
    at, country, host, hostname, hostnames, new_region, page, range, region, region_names, roomy, tag_filter, tags,
    text, try_region_with, user,
};

/// Countries by code.
fn codes(list: &[&str]) -> Option<Vec<CountryCode>> {
    Some(list.iter().map(|c| CountryCode::from_stored((*c).to_owned())).collect())
}

/// A creation-time window in seconds after `t0`.
fn created(from: Option<i64>, to: Option<i64>) -> TimeRange {
    TimeRange { from: from.map(at), to: to.map(at) }
}

/// Names of `user`'s regions matching `filter`, newest first; checks the total.
async fn regions_named(s: &dyn Store, actor: &Actor, filter: RegionFilter) -> Vec<String> {
    let p = s.list_regions(&actor.user_id, &filter, page(1, 100)).await.expect("list_regions");
    assert_eq!(p.total, p.items.len() as u64, "the total counts exactly the matches ({filter:?})");
    region_names(&p.items).into_iter().map(str::to_owned).collect()
}

/// Hostnames of `user`'s hosts matching `filter`, newest first; checks the total.
async fn hosts_named(s: &dyn Store, actor: &Actor, filter: HostFilter) -> Vec<String> {
    let p = s.list_hosts(&actor.user_id, &filter, page(1, 100)).await.expect("list_hosts");
    assert_eq!(p.total, p.items.len() as u64, "the total counts exactly the matches ({filter:?})");
    hostnames(&p.items).into_iter().map(str::to_owned).collect()
}

/// Allocates one host with a device type, an owner label and tags.
#[allow(clippy::too_many_arguments)]
async fn add_host(
    s: &dyn Store,
    actor: &Actor,
    region_id: &RegionId,
    name: &str,
    device_type: Option<DeviceType>,
    owner: Option<&str>,
    host_tags: Tags,
    now: DateTime<Utc>,
) -> Host {
    let name = hostname(name);
    let owner = owner.map(|o| OwnerLabel::parse(o).unwrap());
    let details = HostDetails { device_type, ..Default::default() };
    s.allocate_hosts(AllocateHosts {
        actor,
        region_id,
        names: HostNames::One(&name),
        details: &details,
        owner: owner.as_ref(),
        tags: &host_tags,
        placement: Placement::Lowest,
        quotas: roomy(),
        now,
    })
    .await
    .expect("allocate host")
    .remove(0)
}

pub async fn region_list_filters_combine_with_real_totals(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (are, sgp, usa) = (country(s, "ARE").await, country(s, "SGP").await, country(s, "USA").await);
    let with = |name: &str, owner: Option<&str>, t: serde_json::Value| NewRegion {
        owner: owner.map(|o| OwnerLabel::parse(o).unwrap()),
        tags: tags(t),
        ..new_region(name)
    };
    try_region_with(s, &alice, &are, &with("web-prod", Some("team-a"), json!({"env": "prod"})), roomy(), at(0))
        .await
        .unwrap();
    try_region_with(s, &alice, &are, &with("web-stage", None, json!({"env": "stage"})), roomy(), at(1)).await.unwrap();
    region(s, &alice, &sgp, "api-prod", at(2)).await;
    let db =
        try_region_with(s, &alice, &sgp, &with("db-prod", None, json!({"env": "prod", "team": "db"})), roomy(), at(3))
            .await
            .unwrap();
    region(s, &alice, &usa, "edge", at(4)).await;
    let reserve = RegionPatch { status: Some(RegionStatus::Reserved), ..Default::default() };
    s.update_region(&alice, &db.id, &reserve, None, at(10)).await.unwrap();
    region(s, &bob, &are, "web-prod", at(0)).await;
    let q = async |filter: RegionFilter| regions_named(s, &alice, filter).await;

    assert_eq!(q(RegionFilter::default()).await, ["edge", "db-prod", "api-prod", "web-stage", "web-prod"]);
    assert_eq!(regions_named(s, &bob, RegionFilter::default()).await, ["web-prod"], "only the caller's regions");

    assert_eq!(
        q(RegionFilter { country_codes: codes(&["ARE"]), ..Default::default() }).await,
        ["web-stage", "web-prod"]
    );
    assert_eq!(q(RegionFilter { country_codes: codes(&["ARE", "SGP"]), ..Default::default() }).await.len(), 4);
    assert!(q(RegionFilter { country_codes: codes(&[]), ..Default::default() }).await.is_empty());
    assert_eq!(q(RegionFilter { status: Some(RegionStatus::Reserved), ..Default::default() }).await, ["db-prod"]);
    assert_eq!(q(RegionFilter { status: Some(RegionStatus::Active), ..Default::default() }).await.len(), 4);

    let owner = |o: &str| RegionFilter { owner: Some(OwnerLabel::parse(o).unwrap()), ..Default::default() };
    assert_eq!(q(owner("team-a")).await, ["web-prod"]);
    assert_eq!(q(owner("alice")).await, ["edge", "db-prod", "api-prod", "web-stage"], "the default owner label");
    assert_eq!(q(owner("u-alice")).await.len(), 5, "the owning account's id matches too");
    assert!(q(owner("team")).await.is_empty(), "owner is an exact match");

    let named = |t: &str| RegionFilter { name_contains: Some(text(t)), ..Default::default() };
    assert_eq!(q(named("PROD")).await, ["db-prod", "api-prod", "web-prod"], "case-insensitive");
    assert!(q(named("prod-web")).await.is_empty());

    let tagged = |pairs: &[(&str, &str)]| RegionFilter { tags: tag_filter(pairs), ..Default::default() };
    assert_eq!(q(tagged(&[("env", "prod")])).await, ["db-prod", "web-prod"]);
    assert_eq!(q(tagged(&[("env", "prod"), ("team", "db")])).await, ["db-prod"]);
    assert!(q(tagged(&[("env", "PROD")])).await.is_empty(), "tag values match exactly");
    assert!(q(tagged(&[("owner", "prod")])).await.is_empty());

    let when = |from, to| RegionFilter { created: created(from, to), ..Default::default() };
    assert_eq!(q(when(Some(1), Some(3))).await, ["db-prod", "api-prod", "web-stage"], "inclusive at both ends");
    assert_eq!(q(when(Some(4), None)).await, ["edge"]);
    assert_eq!(q(when(None, Some(0))).await, ["web-prod"]);

    let within = |raw: &str| RegionFilter { within: Some(range(raw)), ..Default::default() };
    assert_eq!(q(within("10.38.0.0/16")).await, ["db-prod", "api-prod"]);
    assert_eq!(q(within("10.30.1.0/24")).await, ["web-stage"]);
    assert_eq!(q(within("10.30.0.128/25")).await, ["web-prod"], "a region overlapping a smaller block matches");
    assert_eq!(q(within("10.153.0.9")).await, ["edge"]);
    assert_eq!(q(within("10.0.0.0/8")).await.len(), 5);
    assert!(q(within("10.31.0.0/16")).await.is_empty());

    let combined = RegionFilter {
        country_codes: codes(&["ARE", "SGP"]),
        tags: tag_filter(&[("env", "prod")]),
        ..Default::default()
    };
    assert_eq!(q(combined).await, ["db-prod", "web-prod"]);
    let combined =
        RegionFilter { status: Some(RegionStatus::Active), name_contains: Some(text("prod")), ..Default::default() };
    assert_eq!(q(combined).await, ["api-prod", "web-prod"]);
    let combined = RegionFilter {
        country_codes: codes(&["SGP"]),
        created: created(Some(3), None),
        within: Some(range("10.38.0.0/23")),
        ..Default::default()
    };
    assert_eq!(q(combined).await, ["db-prod"]);
}

pub async fn region_name_filter_matches_percent_and_underscore_literally(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    for (i, name) in ["web_prod", "webXprod", "web%stage", "Edge 100%", "plain"].into_iter().enumerate() {
        region(s, &alice, &are, name, at(i as i64)).await;
    }
    let q = async |t: &str| {
        regions_named(s, &alice, RegionFilter { name_contains: Some(text(t)), ..Default::default() }).await
    };

    assert_eq!(q("_").await, ["web_prod"], "'_' is not a single-character wildcard");
    assert_eq!(q("b_p").await, ["web_prod"]);
    assert_eq!(q("%").await, ["Edge 100%", "web%stage"], "'%' is not a wildcard");
    assert_eq!(q("b%s").await, ["web%stage"]);
    assert_eq!(q("100%").await, ["Edge 100%"]);
    assert_eq!(q("WEBX").await, ["webXprod"]);
    assert_eq!(q("web").await, ["web%stage", "webXprod", "web_prod"]);
    assert!(q("*").await.is_empty());
    assert!(q("w.b").await.is_empty());
}

pub async fn host_list_filters_combine_with_real_totals(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (are, sgp) = (country(s, "ARE").await, country(s, "SGP").await);
    let alpha = region(s, &alice, &are, "alpha", at(0)).await;
    let beta = region(s, &alice, &sgp, "Beta", at(0)).await;
    let none = Tags::empty();
    add_host(s, &alice, &alpha.id, "web-001", Some(DeviceType::Vm), None, tags(json!({"role": "web"})), at(1)).await;
    add_host(s, &alice, &alpha.id, "web-002", Some(DeviceType::Container), None, none.clone(), at(2)).await;
    add_host(
        s,
        &alice,
        &alpha.id,
        "db-001",
        Some(DeviceType::Physical),
        Some("dba"),
        tags(json!({"role": "db"})),
        at(3),
    )
    .await;
    add_host(s, &alice, &beta.id, "web-003", Some(DeviceType::Vm), None, none.clone(), at(4)).await;
    let cache = add_host(s, &alice, &beta.id, "cache-1", None, None, none, at(5)).await;
    let reserve = HostPatch { status: Some(HostStatus::Reserved), ..Default::default() };
    s.update_host(&alice, &cache.id, &reserve, None, at(10)).await.unwrap();
    let bobs = region(s, &bob, &are, "alpha", at(0)).await;
    host(s, &bob, &bobs.id, "web-001", at(1)).await;
    let q = async |filter: HostFilter| hosts_named(s, &alice, filter).await;
    let in_alpha = ["db-001", "web-002", "web-001"];
    let in_beta = ["cache-1", "web-003"];

    assert_eq!(q(HostFilter::default()).await, ["cache-1", "web-003", "db-001", "web-002", "web-001"]);
    assert_eq!(hosts_named(s, &bob, HostFilter::default()).await, ["web-001"], "only the caller's hosts");

    assert_eq!(q(HostFilter { region_id: Some(alpha.id.clone()), ..Default::default() }).await, in_alpha);
    assert!(q(HostFilter { region_id: Some(bobs.id.clone()), ..Default::default() }).await.is_empty());

    let xs = |ranges: &[(u8, u8)]| HostFilter { x_ranges: Some(ranges.to_vec()), ..Default::default() };
    assert_eq!(q(xs(&[(30, 37)])).await, in_alpha);
    assert_eq!(q(xs(&[(38, 45)])).await, in_beta);
    assert_eq!(q(xs(&[(0, 29), (38, 45)])).await, in_beta);
    assert_eq!(q(xs(&[(30, 30), (38, 38)])).await.len(), 5);
    assert!(q(xs(&[(31, 37)])).await.is_empty());
    assert!(q(xs(&[])).await.is_empty(), "no ranges match nothing");

    let region_named = |t: &str| HostFilter { region_name_contains: Some(text(t)), ..Default::default() };
    assert_eq!(q(region_named("alph")).await, in_alpha);
    assert_eq!(q(region_named("BETA")).await, in_beta);
    assert!(q(region_named("gamma")).await.is_empty());

    assert_eq!(q(HostFilter { status: Some(HostStatus::Reserved), ..Default::default() }).await, ["cache-1"]);
    assert_eq!(q(HostFilter { status: Some(HostStatus::Active), ..Default::default() }).await.len(), 4);

    let named = |t: &str| HostFilter { hostname_contains: Some(text(t)), ..Default::default() };
    assert_eq!(q(named("web")).await, ["web-003", "web-002", "web-001"]);
    assert_eq!(q(named("WEB-00")).await, ["web-003", "web-002", "web-001"]);
    assert_eq!(q(named("-00")).await, ["web-003", "db-001", "web-002", "web-001"]);

    let device = |d: DeviceType| HostFilter { device_type: Some(d), ..Default::default() };
    assert_eq!(q(device(DeviceType::Vm)).await, ["web-003", "web-001"]);
    assert_eq!(q(device(DeviceType::Physical)).await, ["db-001"]);
    assert!(q(device(DeviceType::Storage)).await.is_empty());

    let owner = |o: &str| HostFilter { owner: Some(OwnerLabel::parse(o).unwrap()), ..Default::default() };
    assert_eq!(q(owner("dba")).await, ["db-001"]);
    assert_eq!(q(owner("alice")).await, ["cache-1", "web-003", "web-002", "web-001"]);
    assert_eq!(q(owner("u-alice")).await.len(), 5, "the owning account's id matches too");

    let tagged = |pairs: &[(&str, &str)]| HostFilter { tags: tag_filter(pairs), ..Default::default() };
    assert_eq!(q(tagged(&[("role", "web")])).await, ["web-001"]);
    assert_eq!(q(tagged(&[("role", "db")])).await, ["db-001"]);
    assert!(q(tagged(&[("role", "web"), ("role", "db")])).await.is_empty(), "every condition must hold");

    let when = |from, to| HostFilter { created: created(from, to), ..Default::default() };
    assert_eq!(q(when(Some(2), Some(4))).await, ["web-003", "db-001", "web-002"]);
    assert_eq!(q(when(Some(5), None)).await, ["cache-1"], "an update does not change the creation time");

    let within = |raw: &str| HostFilter { within: Some(range(raw)), ..Default::default() };
    assert_eq!(q(within("10.30.0.0/24")).await, in_alpha);
    assert_eq!(q(within("10.30.0.2/31")).await, ["db-001", "web-002"]);
    assert_eq!(q(within("10.38.0.1")).await, ["web-003"]);
    assert!(q(within("10.30.0.4/30")).await.is_empty());
    assert!(q(within("10.30.1.0/24")).await.is_empty());

    let combined =
        HostFilter { region_id: Some(alpha.id.clone()), device_type: Some(DeviceType::Vm), ..Default::default() };
    assert_eq!(q(combined).await, ["web-001"]);
    let combined =
        HostFilter { x_ranges: Some(vec![(38, 45)]), status: Some(HostStatus::Active), ..Default::default() };
    assert_eq!(q(combined).await, ["web-003"]);
    let combined = HostFilter {
        hostname_contains: Some(text("web")),
        created: created(Some(2), None),
        within: Some(range("10.30.0.0/16")),
        ..Default::default()
    };
    assert_eq!(q(combined).await, ["web-002"]);
}

pub async fn host_name_filters_match_percent_and_underscore_literally(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let underscore = region(s, &alice, &are, "net_a", at(0)).await;
    let letter = region(s, &alice, &are, "netXa", at(0)).await;
    let percent = region(s, &alice, &are, "full 100%", at(0)).await;
    host(s, &alice, &underscore.id, "web-1", at(1)).await;
    host(s, &alice, &letter.id, "web-2", at(2)).await;
    host(s, &alice, &percent.id, "web-3", at(3)).await;
    let by_host = async |t: &str| {
        hosts_named(s, &alice, HostFilter { hostname_contains: Some(text(t)), ..Default::default() }).await
    };
    let by_region = async |t: &str| {
        hosts_named(s, &alice, HostFilter { region_name_contains: Some(text(t)), ..Default::default() }).await
    };

    assert!(by_host("_").await.is_empty(), "'_' is not a single-character wildcard");
    assert!(by_host("web_").await.is_empty());
    assert!(by_host("%").await.is_empty(), "'%' is not a wildcard");
    assert!(by_host("w%1").await.is_empty());
    assert_eq!(by_host("b-1").await, ["web-1"]);

    assert_eq!(by_region("_").await, ["web-1"]);
    assert_eq!(by_region("t_a").await, ["web-1"]);
    assert_eq!(by_region("%").await, ["web-3"]);
    assert_eq!(by_region("netx").await, ["web-2"]);
}

pub async fn lists_are_ordered_newest_first_across_pages(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    // Allocation order (and therefore address order) differs from creation-time order.
    let mut regions = Vec::new();
    for t in [3, 0, 4, 1, 2] {
        regions.push(region(s, &alice, &are, &format!("t{t}"), at(t)).await);
    }
    for t in [2, 0, 1] {
        host(s, &alice, &regions[0].id, &format!("h{t}"), at(t)).await;
    }

    let mut walked = Vec::new();
    for (n, expected) in [(1, 2), (2, 2), (3, 1), (4, 0)] {
        let p = s.list_regions(&alice.user_id, &RegionFilter::default(), page(n, 2)).await.unwrap();
        assert_eq!((p.items.len(), p.total), (expected, 5), "page {n}");
        walked.extend(p.items);
    }
    assert_eq!(region_names(&walked), ["t4", "t3", "t2", "t1", "t0"]);

    let first = s.list_hosts(&alice.user_id, &HostFilter::default(), page(1, 2)).await.unwrap();
    let second = s.list_hosts(&alice.user_id, &HostFilter::default(), page(2, 2)).await.unwrap();
    assert_eq!((first.total, second.total), (3, 3));
    assert_eq!(hostnames(&first.items), ["h2", "h1"]);
    assert_eq!(hostnames(&second.items), ["h0"]);
    assert_eq!(first.items[0].z, 1, "the oldest address can be the newest host");
}
