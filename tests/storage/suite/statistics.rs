//! Statistics: the per-user data version moves with every audited change (and only the
//! changer's), and the dashboard's counts are exact — regions and hosts per country, the
//! maintained retired/released counters, the week's allocations, warnings, active reservations
//! and shares, unread notifications.

use std::sync::Arc;

use chrono::Duration;
use ipam_core::domain::statistics::{ActivityQuery, CountryUsage, DailyActivity};
use ipam_core::domain::{AuditResource, CountryCode, NewReservation, Reservation, ReservationKind, ReservationReason};
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
