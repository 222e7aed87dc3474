//! Search across regions and hosts.

use std::sync::Arc;

use ipam_core::auth::Actor;
use ipam_core::domain::{CountryCode, PageRequest};
use ipam_core::storage::{HostFilter, RegionFilter, SearchFilter, SearchHit, Store, TimeRange};

use super::{at, country, host, page, range, region, text, user};

/// `region:<name>` / `host:<hostname>` per hit, and the reported total.
async fn hits(s: &dyn Store, actor: &Actor, filter: &SearchFilter, request: PageRequest) -> (Vec<String>, u64) {
    let p = s.search(&actor.user_id, filter, request).await.expect("search");
    let names = p
        .items
        .iter()
        .map(|hit| match hit {
            SearchHit::Region(r) => format!("region:{}", r.name),
            SearchHit::Host(h) => format!("host:{}", h.hostname),
        })
        .collect();
    (names, p.total)
}

fn both() -> SearchFilter {
    SearchFilter { regions: Some(RegionFilter::default()), hosts: Some(HostFilter::default()) }
}

pub async fn search_returns_both_kinds_newest_first_with_real_totals(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let r1 = region(s, &alice, &are, "r1", at(0)).await;
    host(s, &alice, &r1.id, "h1", at(1)).await;
    let r2 = region(s, &alice, &are, "r2", at(2)).await;
    host(s, &alice, &r2.id, "h2", at(3)).await;
    host(s, &alice, &r1.id, "h3", at(4)).await;
    region(s, &bob, &are, "bobs", at(5)).await;

    let everything = hits(s, &alice, &both(), page(1, 50)).await;
    let middle = hits(s, &alice, &both(), page(2, 2)).await;
    let last = hits(s, &alice, &both(), page(3, 2)).await;
    let beyond = hits(s, &alice, &both(), page(4, 2)).await;

    assert_eq!(
        everything,
        (vec!["host:h3", "host:h2", "region:r2", "host:h1", "region:r1"].into_iter().map(String::from).collect(), 5)
    );
    assert_eq!(middle, (vec!["region:r2".to_owned(), "host:h1".to_owned()], 5));
    assert_eq!(last, (vec!["region:r1".to_owned()], 5));
    assert_eq!(beyond, (vec![], 5));

    let regions_only = SearchFilter { regions: Some(RegionFilter::default()), hosts: None };
    assert_eq!(hits(s, &alice, &regions_only, page(1, 50)).await, (vec!["region:r2".into(), "region:r1".into()], 2));
    let hosts_only = SearchFilter { regions: None, hosts: Some(HostFilter::default()) };
    assert_eq!(hits(s, &alice, &hosts_only, page(1, 50)).await.1, 3);
    assert_eq!(hits(s, &alice, &SearchFilter::default(), page(1, 50)).await, (vec![], 0), "no kind, no results");
    assert_eq!(hits(s, &bob, &both(), page(1, 50)).await, (vec!["region:bobs".into()], 1), "only the caller's");
}

pub async fn search_applies_each_kinds_filter_to_that_kind_only(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let (are, sgp) = (country(s, "ARE").await, country(s, "SGP").await);
    let east = region(s, &alice, &are, "web-east", at(0)).await;
    let db = region(s, &alice, &sgp, "db-east", at(1)).await;
    host(s, &alice, &east.id, "web-1", at(2)).await;
    host(s, &alice, &east.id, "api-1", at(3)).await;
    host(s, &alice, &db.id, "web-2", at(4)).await;
    let q = async |regions: RegionFilter, hosts: HostFilter| {
        hits(s, &alice, &SearchFilter { regions: Some(regions), hosts: Some(hosts) }, page(1, 50)).await
    };
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    let by_name = q(
        RegionFilter { name_contains: Some(text("web")), ..Default::default() },
        HostFilter { hostname_contains: Some(text("web")), ..Default::default() },
    )
    .await;
    assert_eq!(by_name, (strings(&["host:web-2", "host:web-1", "region:web-east"]), 3));

    let by_country = q(
        RegionFilter { country_codes: Some(vec![CountryCode::from_stored("ARE".into())]), ..Default::default() },
        HostFilter { x_ranges: Some(vec![(are.x_start, are.x_end)]), ..Default::default() },
    )
    .await;
    assert_eq!(by_country, (strings(&["host:api-1", "host:web-1", "region:web-east"]), 3));

    let by_address = q(
        RegionFilter { within: Some(range("10.30.0.1")), ..Default::default() },
        HostFilter { within: Some(range("10.30.0.1")), ..Default::default() },
    )
    .await;
    assert_eq!(by_address, (strings(&["host:web-1", "region:web-east"]), 2));

    let since = TimeRange { from: Some(at(1)), to: Some(at(3)) };
    let by_time =
        q(RegionFilter { created: since, ..Default::default() }, HostFilter { created: since, ..Default::default() })
            .await;
    assert_eq!(by_time, (strings(&["host:api-1", "host:web-1", "region:db-east"]), 3));

    let literal = q(
        RegionFilter { name_contains: Some(text("_")), ..Default::default() },
        HostFilter { hostname_contains: Some(text("%")), ..Default::default() },
    )
    .await;
    assert_eq!(literal, (vec![], 0), "search text is matched literally");

    let paged = SearchFilter {
        regions: Some(RegionFilter { name_contains: Some(text("east")), ..Default::default() }),
        hosts: Some(HostFilter { region_name_contains: Some(text("db")), ..Default::default() }),
    };
    assert_eq!(hits(s, &alice, &paged, page(1, 2)).await, (strings(&["host:web-2", "region:db-east"]), 3));
    assert_eq!(hits(s, &alice, &paged, page(2, 2)).await, (strings(&["region:web-east"]), 3));
}
