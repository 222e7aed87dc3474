//! Statistics: the per-user data version moves with every audited change (and only the
//! changer's), and the dashboard's counts are exact — regions and hosts per country, the
//! maintained retired/released counters, the week's allocations, warnings, active reservations
//! and shares, unread notifications; the allocation history per day and per hour; the regions'
//! utilisation ranking.

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};
use ipam_core::domain::address::region_cidr;
use ipam_core::domain::statistics::{ActivityQuery, CountryUsage, DailyActivity, HourlyActivity};
use ipam_core::domain::{
    AuditResource, CountryCode, HostId, NewReservation, Region, Reservation, ReservationKind, ReservationReason,
};
use ipam_core::storage::Store;

use super::{at, batch, country, region, release, retire, user};

fn usage(code: &str, regions: u64, hosts: u64) -> CountryUsage {
    CountryUsage { country_code: CountryCode::from_stored(code.into()), regions, hosts }
}

pub async fn every_audited_change_moves_its_users_data_version_and_no_one_elses(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let usa = country(s, "USA").await;
    assert_eq!(s.data_version(&alice.user_id).await.unwrap(), 0, "nothing changed yet");
    let r = region(s, &alice, &usa, "east", at(1)).await;
    let after_region = s.data_version(&alice.user_id).await.unwrap();
    let hosts = batch(s, &alice, &r.id, "web", 3, at(2)).await;
    let after_hosts = s.data_version(&alice.user_id).await.unwrap();
    release(s, &alice, &[hosts[0].id.clone()], at(3)).await;
    let after_release = s.data_version(&alice.user_id).await.unwrap();
    assert!(0 < after_region && after_region < after_hosts && after_hosts < after_release, "{after_release}");
    assert_eq!(s.data_version(&bob.user_id).await.unwrap(), 0, "bob changed nothing");
    let unchanged = s.data_version(&alice.user_id).await.unwrap();
    assert_eq!(unchanged, after_release, "reads change nothing");
}

pub async fn dashboard_counts_are_exact_per_country_and_per_counter(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (usa, ind, bra) = (country(s, "USA").await, country(s, "IND").await, country(s, "BRA").await);
    let now = at(30 * 86_400);
    let old = now - Duration::days(10);
    let east = region(s, &alice, &usa, "east", old).await;
    let west = region(s, &alice, &usa, "west", now).await;
    region(s, &alice, &ind, "mumbai", now).await;
    let rio = region(s, &alice, &bra, "rio", now).await;
    batch(s, &alice, &east.id, "a", 204, old).await;
    let in_west = batch(s, &alice, &west.id, "b", 10, now).await;
    region(s, &bob, &usa, "bobs", now).await;
    release(s, &alice, &[in_west[0].id.clone(), in_west[1].id.clone()], now).await;
    retire(s, &alice, &rio.id, true, now).await.expect("retire");
    let reservation = NewReservation {
        kind: ReservationKind::Region,
        x: 40,
        y: 9,
        z: None,
        reason: ReservationReason::parse("lab").unwrap(),
        expires_in_days: Some(1),
    };
    let r = Reservation::new(&alice.user_id, &alice.username, &reservation, now);
    s.create_reservation(&alice, &r, now).await.expect("reserve");

    let mut c = s.dashboard_counts(&alice.user_id, now).await.expect("dashboard_counts");
    c.countries.sort_by(|a, b| a.country_code.cmp(&b.country_code));
    assert_eq!(c.countries, [usage("IND", 1, 0), usage("USA", 2, 212)], "the retired region is gone");
    assert_eq!((c.retired_regions, c.released_hosts), (1, 2));
    assert_eq!(c.recent_allocations, 3 + 10, "this week: west, mumbai, rio and west's 10 hosts");
    assert_eq!(c.capacity_warnings, 1, "east at 204 of 254");
    assert_eq!((c.active_reservations, c.active_shares, c.unread_notifications), (1, 0, 0));
    let later = s.dashboard_counts(&alice.user_id, now + Duration::days(2)).await.unwrap();
    assert_eq!(later.active_reservations, 0, "expired by then, swept or not");
    let for_bob = s.dashboard_counts(&bob.user_id, now).await.unwrap();
    assert_eq!((for_bob.countries, for_bob.retired_regions), (vec![usage("USA", 1, 0)], 0));
}

pub async fn daily_activity_counts_allocations_and_releases_per_utc_day_within_a_scope(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (usa, ind) = (country(s, "USA").await, country(s, "IND").await);
    let day = |n: i64| at(n * 86_400 + 3_600);
    let east = region(s, &alice, &usa, "east", day(1)).await;
    let hosts = batch(s, &alice, &east.id, "a", 3, day(1)).await;
    batch(s, &alice, &east.id, "b", 2, day(3)).await;
    release(s, &alice, &[hosts[0].id.clone()], day(3)).await;
    let mumbai = region(s, &alice, &ind, "mumbai", day(2)).await;
    batch(s, &alice, &mumbai.id, "c", 4, day(2)).await;
    region(s, &bob, &usa, "bobs", day(1)).await;

    let q = |resource, x, y, from: i64, to: i64| ActivityQuery {
        resource,
        x,
        y,
        from: at(from * 86_400),
        to: at(to * 86_400),
    };
    let d = |n: i64, allocations: u64, releases: u64| DailyActivity {
        day: at(n * 86_400).date_naive(),
        allocations,
        releases,
    };
    let region_hosts = q(Some(AuditResource::Host), Some((east.x, east.x)), Some(east.y), 0, 10);
    assert_eq!(s.daily_activity(&alice.user_id, &region_hosts).await.unwrap(), [d(1, 3, 0), d(3, 2, 1)]);
    let usa_regions = q(Some(AuditResource::Region), Some((usa.x_start, usa.x_end)), None, 0, 10);
    assert_eq!(s.daily_activity(&alice.user_id, &usa_regions).await.unwrap(), [d(1, 1, 0)], "bob's is not alice's");
    let everything = q(None, None, None, 0, 10);
    assert_eq!(
        s.daily_activity(&alice.user_id, &everything).await.unwrap(),
        [d(1, 4, 0), d(2, 5, 0), d(3, 2, 1)],
        "regions and hosts, every country"
    );
    let window = q(None, None, None, 2, 3);
    assert_eq!(s.daily_activity(&alice.user_id, &window).await.unwrap(), [d(2, 5, 0)], "from inclusive, to exclusive");
    assert!(s.daily_activity(&user("carol").user_id, &everything).await.unwrap().is_empty());
}

pub async fn hourly_activity_counts_allocations_and_releases_per_utc_hour_within_a_scope(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let usa = country(s, "USA").await;
    // t0 is 09:26:53.589Z: each instant below lies 26 minutes into its hour.
    let hour = |n: i64| at(n * 3_600);
    let east = region(s, &alice, &usa, "east", hour(0)).await;
    let hosts = batch(s, &alice, &east.id, "a", 3, hour(0)).await;
    batch(s, &alice, &east.id, "b", 2, hour(2)).await;
    release(s, &alice, &[hosts[0].id.clone()], hour(2)).await;
    region(s, &bob, &usa, "bobs", hour(0)).await;

    let first = at(0).duration_trunc(TimeDelta::hours(1)).expect("a whole hour");
    let h = |n: i64, allocations: u64, releases: u64| HourlyActivity {
        hour: first + TimeDelta::hours(n),
        allocations,
        releases,
    };
    let q = |resource, from: DateTime<Utc>, to: DateTime<Utc>| ActivityQuery { resource, x: None, y: None, from, to };
    let everything = q(None, hour(-1), hour(5));
    assert_eq!(
        s.hourly_activity(&alice.user_id, &everything).await.unwrap(),
        [h(0, 4, 0), h(2, 2, 1)],
        "the region and its hosts in the first hour; bob's region is not alice's"
    );
    let hosts_only = q(Some(AuditResource::Host), hour(-1), hour(5));
    assert_eq!(s.hourly_activity(&alice.user_id, &hosts_only).await.unwrap(), [h(0, 3, 0), h(2, 2, 1)]);
    let window = q(None, hour(2), hour(3));
    assert_eq!(s.hourly_activity(&alice.user_id, &window).await.unwrap(), [h(2, 2, 1)], "from inclusive");
    let before = q(None, hour(1), hour(2));
    assert!(s.hourly_activity(&alice.user_id, &before).await.unwrap().is_empty(), "to exclusive");
    assert!(s.hourly_activity(&user("carol").user_id, &everything).await.unwrap().is_empty());
}

pub async fn the_most_utilized_regions_rank_by_host_count_then_address_up_to_a_limit(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (usa, ind, can) = (country(s, "USA").await, country(s, "IND").await, country(s, "CAN").await);
    let east = region(s, &alice, &usa, "east", at(1)).await;
    let west = region(s, &alice, &usa, "west", at(2)).await;
    let mumbai = region(s, &alice, &ind, "mumbai", at(3)).await;
    region(s, &alice, &can, "toronto", at(4)).await;
    batch(s, &alice, &east.id, "a", 5, at(5)).await;
    batch(s, &alice, &west.id, "b", 5, at(6)).await;
    let in_mumbai = batch(s, &alice, &mumbai.id, "c", 7, at(7)).await;
    let theirs = region(s, &bob, &usa, "bobs", at(8)).await;
    batch(s, &bob, &theirs.id, "d", 20, at(9)).await;

    let ranked = |regions: Vec<Region>| -> Vec<(String, String, u32)> {
        regions.into_iter().map(|r| (r.name.as_str().to_owned(), region_cidr(r.x, r.y), r.allocated_hosts)).collect()
    };
    let r = |name: &str, cidr: &str, hosts: u32| (name.to_owned(), cidr.to_owned(), hosts);
    assert_eq!(
        ranked(s.most_utilized_regions(&alice.user_id, 10).await.unwrap()),
        [
            r("mumbai", "10.0.0.0/24", 7),
            r("east", "10.153.0.0/24", 5),
            r("west", "10.153.1.0/24", 5),
            r("toronto", "10.138.0.0/24", 0)
        ],
        "most hosts first, ties in address order; bob's region is not alice's"
    );
    assert_eq!(
        ranked(s.most_utilized_regions(&alice.user_id, 2).await.unwrap()),
        [r("mumbai", "10.0.0.0/24", 7), r("east", "10.153.0.0/24", 5)]
    );
    let gone: Vec<HostId> = in_mumbai[..3].iter().map(|h| h.id.clone()).collect();
    release(s, &alice, &gone, at(10)).await;
    assert_eq!(
        ranked(s.most_utilized_regions(&alice.user_id, 3).await.unwrap()),
        [r("east", "10.153.0.0/24", 5), r("west", "10.153.1.0/24", 5), r("mumbai", "10.0.0.0/24", 4)],
        "the maintained count moves with releases"
    );
    assert!(s.most_utilized_regions(&user("carol").user_id, 10).await.unwrap().is_empty());
}
