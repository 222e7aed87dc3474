//! Reservations: creation, the addresses they hold back from allocation, conflicts, listing by
//! effective status, cancellation, conversion into a region or a host, and races.

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ipam_core::auth::Actor;
use ipam_core::domain::{
    AuditAction, AuditEvent, AuditResource, Country, Host, HostDetails, NewReservation, QuotaDefaults, Region,
    RegionId, RegionPatch, RegionStatus, Reservation, ReservationId, ReservationKind, ReservationReason,
    ReservationStatus, Tags,
};
use ipam_core::error::{ConflictKind, IpamError, Result};
use ipam_core::storage::{AllocateHosts, AllocateRegion, AuditFilter, HostNames, Placement, ReservationFilter, Store};
use serde_json::json;

use super::{
    at, audit_page, batch, country, expect_conflict, expect_not_found, expect_quota_exceeded, first_100, host,
    hostname, new_region, page, region, roomy, try_host, user, zs,
};

/// One day, in seconds (reservations expire in whole days).
const DAY: i64 = 86_400;

/// A reservation of the block `10.X.Y.0/24`.
fn block(x: u8, y: u8, days: Option<u32>) -> NewReservation {
    NewReservation {
        kind: ReservationKind::Region,
        x,
        y,
        z: None,
        reason: ReservationReason::parse("held for the next rollout").expect("reason"),
        expires_in_days: days,
    }
}

/// A reservation of the address `10.X.Y.Z`.
fn address(x: u8, y: u8, z: u8, days: Option<u32>) -> NewReservation {
    NewReservation {
        kind: ReservationKind::Host,
        x,
        y,
        z: Some(z),
        reason: ReservationReason::parse("held for the database").expect("reason"),
        expires_in_days: days,
    }
}

/// Builds the reservation the service would build at `now` and stores it.
async fn try_reserve(s: &dyn Store, actor: &Actor, new: &NewReservation, now: DateTime<Utc>) -> Result<Reservation> {
    let r = Reservation::new(&actor.user_id, &actor.username, new, now);
    s.create_reservation(actor, &r, now).await.map(|()| r)
}

/// Stores a reservation (must succeed).
async fn reserve(s: &dyn Store, actor: &Actor, new: &NewReservation, now: DateTime<Utc>) -> Reservation {
    try_reserve(s, actor, new, now).await.unwrap_or_else(|e| panic!("reserve: {e}"))
}

/// Converts a region reservation into a region named `name`.
async fn try_convert_region(
    s: &dyn Store,
    actor: &Actor,
    country: &Country,
    name: &str,
    id: &ReservationId,
    quotas: QuotaDefaults,
    now: DateTime<Utc>,
) -> Result<Region> {
    let region = new_region(name);
    s.allocate_region(AllocateRegion {
        actor,
        country,
        region: &region,
        placement: Placement::Reserved(id),
        quotas,
        now,
    })
    .await
}

/// Converts a host reservation into a host named `name` in `region_id`.
async fn try_convert_host(
    s: &dyn Store,
    actor: &Actor,
    region_id: &RegionId,
    name: &str,
    id: &ReservationId,
    now: DateTime<Utc>,
) -> Result<Vec<Host>> {
    let name = hostname(name);
    s.allocate_hosts(AllocateHosts {
        actor,
        region_id,
        names: HostNames::One(&name),
        details: &HostDetails::default(),
        owner: None,
        tags: &Tags::empty(),
        placement: Placement::Reserved(id),
        quotas: roomy(),
        now,
    })
    .await
}

/// The caller's reservation `id` as stored (must exist).
async fn stored(s: &dyn Store, actor: &Actor, id: &ReservationId) -> Reservation {
    s.reservation(&actor.user_id, id).await.expect("reservation").expect("the reservation exists")
}

/// Ids of the reservations matching `filter` at `now` (first 100), newest first, and the total.
async fn listed(
    s: &dyn Store,
    actor: &Actor,
    filter: ReservationFilter,
    now: DateTime<Utc>,
) -> (Vec<ReservationId>, u64) {
    let p = s.list_reservations(&actor.user_id, &filter, first_100(), now).await.expect("list_reservations");
    (p.items.into_iter().map(|r| r.id).collect(), p.total)
}

/// Ids of reservations, in the order given.
fn ids(list: &[&Reservation]) -> Vec<ReservationId> {
    list.iter().map(|r| r.id.clone()).collect()
}

/// The reservation events of `action` about reservation `id`.
async fn reservation_events(s: &dyn Store, actor: &Actor, action: AuditAction, id: &ReservationId) -> Vec<AuditEvent> {
    let filter = AuditFilter {
        action: Some(action),
        resource_type: Some(AuditResource::Reservation),
        resource_id: Some(id.to_string()),
        ..Default::default()
    };
    audit_page(s, &actor.user_id, &filter).await.items
}

/// How many events of `action` the caller's namespace holds.
async fn count_events(s: &dyn Store, actor: &Actor, action: AuditAction) -> u64 {
    audit_page(s, &actor.user_id, &AuditFilter { action: Some(action), ..Default::default() }).await.total
}

/// Asserts a conflict whose message names `address`.
fn expect_conflict_naming<T: Debug>(result: Result<T>, address: &str) {
    let (message, _) = expect_conflict(result, ConflictKind::Conflict);
    assert!(message.contains(address), "the message names {address}: {message}");
}

/// Asserts a validation error about `field`.
fn expect_invalid<T: Debug>(result: Result<T>, field: &str) {
    match result {
        Err(IpamError::Validation(errors)) => {
            assert!(errors.iter().any(|(f, _)| f == field), "a problem with {field}: {errors}");
        }
        other => panic!("expected a validation error about {field}, got {other:?}"),
    }
}

/// Asserts the reservation is still usable: stored active, never converted.
async fn assert_still_active(s: &dyn Store, actor: &Actor, id: &ReservationId, now: DateTime<Utc>) {
    let r = stored(s, actor, id).await;
    assert_eq!((r.status, r.status_at(now)), (ReservationStatus::Active, ReservationStatus::Active));
    assert_eq!((r.converted_at, r.converted_to), (None, None), "not converted");
}

pub async fn a_reservation_is_stored_active_reads_back_exactly_and_is_audited(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");

    let addr = reserve(s, &alice, &address(30, 0, 7, Some(7)), at(1)).await;
    let blk = reserve(s, &alice, &block(30, 5, None), at(2)).await;

    assert_eq!((addr.status, addr.expires_at), (ReservationStatus::Active, Some(at(1) + Duration::days(7))));
    assert_eq!((blk.status, blk.expires_at, blk.z), (ReservationStatus::Active, None, None));
    assert_eq!(s.reservation(&alice.user_id, &addr.id).await.unwrap(), Some(addr.clone()), "reads back exactly");
    assert_eq!(s.reservation(&alice.user_id, &blk.id).await.unwrap(), Some(blk.clone()), "reads back exactly");
    let all = s.list_reservations(&alice.user_id, &ReservationFilter::default(), first_100(), at(3)).await.unwrap();
    assert_eq!(all.items, [blk.clone(), addr.clone()], "listed exactly, newest first");
    assert_eq!(all.total, 2);

    let events = reservation_events(s, &alice, AuditAction::Reserve, &addr.id).await;
    assert_eq!(events.len(), 1, "one reserve event");
    let e = &events[0];
    assert_eq!(e.resource_type, AuditResource::Reservation);
    assert_eq!((&e.actor_id, e.actor_username.as_str()), (&alice.user_id, "alice"));
    assert_eq!(e.snapshot, addr.snapshot(at(1)));
    assert_eq!(e.reason.as_deref(), Some("held for the database"));
    assert_eq!((e.ip_address.as_deref(), e.cidr.as_deref()), (Some("10.30.0.7"), Some("10.30.0.0/24")));
    assert_eq!((e.x, e.y, e.z), (Some(30), Some(0), Some(7)));
    assert_eq!(e.timestamp, at(1));
    let block_events = reservation_events(s, &alice, AuditAction::Reserve, &blk.id).await;
    assert_eq!(block_events.len(), 1, "one reserve event for the block");
    assert_eq!(block_events[0].snapshot, blk.snapshot(at(2)));
    assert_eq!((block_events[0].ip_address.as_deref(), block_events[0].cidr.as_deref()), (None, Some("10.30.5.0/24")));
}

pub async fn a_region_reservation_keeps_its_block_from_allocation_until_it_expires(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    reserve(s, &alice, &block(30, 0, Some(1)), at(0)).await;
    reserve(s, &alice, &block(30, 2, None), at(0)).await;

    assert_eq!(s.next_free_region(&alice.user_id, &are, at(1)).await.unwrap(), Some((30, 1)));
    let first = region(s, &alice, &are, "first", at(1)).await;
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(2)).await.unwrap(), Some((30, 3)));
    let second = region(s, &alice, &are, "second", at(2)).await;

    assert_eq!((first.x, first.y), (30, 1), "the reserved 10.30.0.0/24 is skipped");
    assert_eq!((second.x, second.y), (30, 3), "the reserved 10.30.2.0/24 is skipped");
    let later = at(DAY + 1);
    assert_eq!(s.next_free_region(&alice.user_id, &are, later).await.unwrap(), Some((30, 0)), "expired: free again");
    let third = region(s, &alice, &are, "third", later).await;
    let fourth = region(s, &alice, &are, "fourth", later).await;
    assert_eq!((third.x, third.y), (30, 0), "the expired reservation no longer holds its block");
    assert_eq!((fourth.x, fourth.y), (30, 4), "a reservation without expiry still holds its block");
}

pub async fn a_host_reservation_keeps_its_address_from_single_and_batch_allocation_until_it_expires(
    store: Arc<dyn Store>,
) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    reserve(s, &alice, &address(30, 0, 1, Some(1)), at(0)).await;
    reserve(s, &alice, &address(30, 0, 3, None), at(0)).await;

    let single = host(s, &alice, &r.id, "single", at(1)).await;
    let several = batch(s, &alice, &r.id, "web", 3, at(2)).await;

    assert_eq!(single.z, 2, "the reserved 10.30.0.1 is skipped");
    assert_eq!(zs(&several), [4, 5, 6], "the reserved 10.30.0.3 is skipped by a batch");
    let later = at(DAY + 1);
    let again = host(s, &alice, &r.id, "again", later).await;
    let more = batch(s, &alice, &r.id, "more", 2, later).await;
    assert_eq!(again.z, 1, "the expired reservation no longer holds its address");
    assert_eq!(zs(&more), [7, 8], "a reservation without expiry still holds its address");
}

pub async fn next_free_host_skips_addresses_held_by_host_reservations_until_they_expire(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    host(s, &alice, &r.id, "first", at(0)).await;
    reserve(s, &alice, &address(30, 0, 2, Some(1)), at(0)).await;
    reserve(s, &alice, &address(30, 0, 3, None), at(0)).await;
    let (user_id, region_id) = (&alice.user_id, &r.id);
    let next_at = |now| async move { s.next_free_host(user_id, region_id, now).await.unwrap().map(|(_, z)| z) };

    let while_reserved = next_at(at(1)).await;
    let taken = host(s, &alice, &r.id, "second", at(1)).await;
    let after_expiry = next_at(at(DAY + 1)).await;

    assert_eq!(while_reserved, Some(Some(4)), "10.30.0.2 and 10.30.0.3 are held");
    assert_eq!(taken.z, 4, "the prediction matches the allocation");
    assert_eq!(after_expiry, Some(Some(2)), "the expired reservation no longer holds 10.30.0.2");
    assert_eq!(host(s, &alice, &r.id, "third", at(DAY + 1)).await.z, 2);
}

pub async fn a_reservation_of_an_allocated_block_or_address_is_a_conflict_naming_it(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    host(s, &alice, &r.id, "web", at(0)).await;

    expect_conflict_naming(try_reserve(s, &alice, &block(30, 0, None), at(1)).await, "10.30.0.0/24");
    expect_conflict_naming(try_reserve(s, &alice, &address(30, 0, 1, None), at(1)).await, "10.30.0.1");

    assert_eq!(listed(s, &alice, ReservationFilter::default(), at(2)).await, (vec![], 0), "nothing stored");
    assert_eq!(count_events(s, &alice, AuditAction::Reserve).await, 0, "nothing audited");
    reserve(s, &alice, &address(30, 0, 2, None), at(3)).await;
}

pub async fn a_second_active_reservation_of_one_host_address_is_a_conflict(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let first = reserve(s, &alice, &address(30, 0, 9, Some(1)), at(0)).await;

    let again = try_reserve(s, &alice, &address(30, 0, 9, None), at(DAY - 1)).await;

    expect_conflict_naming(again, "10.30.0.9");
    assert_eq!(listed(s, &alice, ReservationFilter::default(), at(DAY - 1)).await, (vec![first.id.clone()], 1));
    assert_eq!(count_events(s, &alice, AuditAction::Reserve).await, 1);
    reserve(s, &alice, &address(30, 0, 10, None), at(DAY - 1)).await;
}

pub async fn a_second_active_reservation_of_one_region_block_is_a_conflict(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let first = reserve(s, &alice, &block(30, 4, Some(1)), at(0)).await;

    let again = try_reserve(s, &alice, &block(30, 4, None), at(DAY - 1)).await;

    expect_conflict_naming(again, "10.30.4.0/24");
    assert_eq!(listed(s, &alice, ReservationFilter::default(), at(DAY - 1)).await, (vec![first.id.clone()], 1));
    assert_eq!(count_events(s, &alice, AuditAction::Reserve).await, 1);
    reserve(s, &alice, &block(30, 5, None), at(DAY - 1)).await;
}

pub async fn an_expired_reservation_does_not_hold_its_address_against_a_new_one(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let old_address = reserve(s, &alice, &address(30, 0, 9, Some(1)), at(0)).await;
    let old_block = reserve(s, &alice, &block(30, 4, Some(1)), at(0)).await;
    let later = at(DAY);

    let new_address = try_reserve(s, &alice, &address(30, 0, 9, None), later).await.expect("the address is free");
    let new_block = try_reserve(s, &alice, &block(30, 4, None), later).await.expect("the block is free");

    for old in [&old_address, &old_block] {
        let r = stored(s, &alice, &old.id).await;
        assert_eq!((r.status, r.status_at(later)), (ReservationStatus::Expired, ReservationStatus::Expired));
    }
    for new in [&new_address, &new_block] {
        assert_eq!(stored(s, &alice, &new.id).await.status_at(later), ReservationStatus::Active);
    }
    let expired = ReservationFilter { status: Some(ReservationStatus::Expired), ..Default::default() };
    let (expired_ids, total) = listed(s, &alice, expired, later).await;
    assert_eq!(total, 2);
    assert!(expired_ids.contains(&old_address.id) && expired_ids.contains(&old_block.id), "{expired_ids:?}");
    let active = ReservationFilter { status: Some(ReservationStatus::Active), ..Default::default() };
    let (active_ids, total) = listed(s, &alice, active, later).await;
    assert_eq!(total, 2);
    assert!(active_ids.contains(&new_address.id) && active_ids.contains(&new_block.id), "{active_ids:?}");
}

pub async fn a_host_reservation_may_nest_inside_a_region_reservation(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let outer = reserve(s, &alice, &block(30, 0, None), at(0)).await;

    let inner = try_reserve(s, &alice, &address(30, 0, 5, None), at(1)).await;

    let inner = inner.expect("nesting is allowed");
    assert_eq!(stored(s, &alice, &outer.id).await.status, ReservationStatus::Active);
    assert_eq!(stored(s, &alice, &inner.id).await.status, ReservationStatus::Active);
    assert_eq!(listed(s, &alice, ReservationFilter::default(), at(2)).await, (vec![inner.id, outer.id], 2));
}

pub async fn reservations_live_in_each_users_namespace(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob, carol) = (user("alice"), user("bob"), user("carol"));
    let are = country(s, "ARE").await;
    let alices_block = reserve(s, &alice, &block(30, 0, None), at(0)).await;
    let alices_address = reserve(s, &alice, &address(30, 0, 1, None), at(1)).await;

    let bobs_block = try_reserve(s, &bob, &block(30, 0, None), at(2)).await.expect("bob's namespace is his own");
    let bobs_address = try_reserve(s, &bob, &address(30, 0, 1, None), at(3)).await.expect("bob's namespace is his own");
    let carols_region = region(s, &carol, &are, "dc", at(4)).await;
    let carols_host = host(s, &carol, &carols_region.id, "web", at(4)).await;

    assert_eq!((carols_region.x, carols_region.y), (30, 0), "other users' reservations hold nothing for carol");
    assert_eq!(carols_host.z, 1);
    assert_eq!(s.reservation(&bob.user_id, &alices_block.id).await.unwrap(), None, "alice's reservation is hidden");
    assert_eq!(listed(s, &bob, ReservationFilter::default(), at(5)).await, (vec![bobs_address.id, bobs_block.id], 2));
    assert_eq!(
        listed(s, &alice, ReservationFilter::default(), at(5)).await,
        (vec![alices_address.id, alices_block.id], 2)
    );
    assert_eq!(listed(s, &carol, ReservationFilter::default(), at(5)).await, (vec![], 0));
}

pub async fn reservation_lists_filter_by_status_at_now_and_kind_newest_first_with_real_totals(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let replaced = reserve(s, &alice, &block(30, 10, Some(1)), at(1)).await;
    let overdue = reserve(s, &alice, &address(30, 20, 5, Some(1)), at(2)).await;
    let converted = reserve(s, &alice, &block(30, 11, None), at(3)).await;
    try_convert_region(s, &alice, &are, "converted", &converted.id, roomy(), at(4)).await.expect("convert");
    let renewed = reserve(s, &alice, &block(30, 10, None), at(DAY + 10)).await;
    let lasting = reserve(s, &alice, &address(30, 20, 6, None), at(DAY + 11)).await;
    let short = reserve(s, &alice, &address(30, 20, 7, Some(2)), at(DAY + 12)).await;
    let now = at(DAY + 20);
    let by = |status: Option<ReservationStatus>, kind: Option<ReservationKind>| ReservationFilter { status, kind };
    use ReservationKind::{Host as H, Region as R};
    use ReservationStatus::{Active, Converted, Expired};

    let everything = listed(s, &alice, by(None, None), now).await;
    let active = listed(s, &alice, by(Some(Active), None), now).await;
    let expired = listed(s, &alice, by(Some(Expired), None), now).await;
    let converted_only = listed(s, &alice, by(Some(Converted), None), now).await;

    assert_eq!(everything, (ids(&[&short, &lasting, &renewed, &converted, &overdue, &replaced]), 6));
    assert_eq!(active, (ids(&[&short, &lasting, &renewed]), 3));
    assert_eq!(expired, (ids(&[&overdue, &replaced]), 2), "stored-expired and overdue-but-stored-active alike");
    assert_eq!(converted_only, (ids(&[&converted]), 1));
    assert_eq!(stored(s, &alice, &overdue.id).await.status, Active, "overdue, yet never rewritten");
    assert_eq!(listed(s, &alice, by(None, Some(H)), now).await, (ids(&[&short, &lasting, &overdue]), 3));
    assert_eq!(listed(s, &alice, by(None, Some(R)), now).await, (ids(&[&renewed, &converted, &replaced]), 3));
    assert_eq!(listed(s, &alice, by(Some(Active), Some(R)), now).await, (ids(&[&renewed]), 1));
    assert_eq!(listed(s, &alice, by(Some(Expired), Some(H)), now).await, (ids(&[&overdue]), 1));
    assert_eq!(listed(s, &alice, by(Some(Converted), Some(H)), now).await, (vec![], 0));

    let mut walked = Vec::new();
    for n in 1..=4 {
        let p = s.list_reservations(&alice.user_id, &by(None, None), page(n, 2), now).await.unwrap();
        assert_eq!(p.total, 6, "page {n} reports the real total");
        assert_eq!(p.items.len(), if n <= 3 { 2 } else { 0 }, "page {n}");
        walked.extend(p.items.into_iter().map(|r| r.id));
    }
    assert_eq!(walked, everything.0, "pages walk the same order without gaps or repeats");

    let after_short = at(DAY + 12 + 2 * DAY);
    assert_eq!(listed(s, &alice, by(Some(Active), None), after_short).await, (ids(&[&lasting, &renewed]), 2));
    assert_eq!(
        listed(s, &alice, by(Some(Expired), None), after_short).await,
        (ids(&[&short, &overdue, &replaced]), 3),
        "the status is judged at the requested instant"
    );
}

pub async fn cancelling_a_reservation_deletes_it_frees_its_address_and_is_audited(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let dc = region(s, &alice, &are, "dc", at(0)).await;
    let blk = reserve(s, &alice, &block(30, 1, None), at(1)).await;
    let addr = reserve(s, &alice, &address(30, 0, 1, None), at(1)).await;

    let cancelled_block = s.cancel_reservation(&alice, &blk.id, at(2)).await.expect("cancel the block");
    let cancelled_address = s.cancel_reservation(&alice, &addr.id, at(3)).await.expect("cancel the address");

    assert_eq!(cancelled_block, blk, "returns the reservation as it was");
    assert_eq!(cancelled_address, addr);
    assert_eq!(s.reservation(&alice.user_id, &blk.id).await.unwrap(), None);
    assert_eq!(s.reservation(&alice.user_id, &addr.id).await.unwrap(), None);
    assert_eq!(listed(s, &alice, ReservationFilter::default(), at(4)).await, (vec![], 0));
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(4)).await.unwrap(), Some((30, 1)));
    assert_eq!((region(s, &alice, &are, "next", at(4)).await.y, host(s, &alice, &dc.id, "web", at(4)).await.z), (1, 1));
    let events = reservation_events(s, &alice, AuditAction::Cancel, &blk.id).await;
    assert_eq!(events.len(), 1, "one cancel event");
    assert_eq!((events[0].resource_type, events[0].timestamp), (AuditResource::Reservation, at(2)));
    assert_eq!(events[0].snapshot, blk.snapshot(at(2)));
    assert_eq!(reservation_events(s, &alice, AuditAction::Cancel, &addr.id).await.len(), 1);
    expect_not_found(s.cancel_reservation(&alice, &blk.id, at(5)).await);
}

pub async fn unknown_or_other_users_reservations_cannot_be_cancelled(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let r = reserve(s, &alice, &block(30, 0, None), at(0)).await;

    expect_not_found(s.cancel_reservation(&bob, &r.id, at(1)).await);
    expect_not_found(s.cancel_reservation(&alice, &ReservationId::generate(), at(1)).await);

    assert_eq!(stored(s, &alice, &r.id).await, r, "alice's reservation is untouched");
    assert_eq!(count_events(s, &alice, AuditAction::Cancel).await, 0);
    assert_eq!(count_events(s, &bob, AuditAction::Cancel).await, 0);
}

pub async fn converting_a_region_reservation_allocates_exactly_its_block_and_consumes_it(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = reserve(s, &alice, &block(30, 7, Some(30)), at(0)).await;

    let converted = try_convert_region(s, &alice, &are, "converted", &r.id, roomy(), at(1)).await.expect("convert");

    assert_eq!((converted.x, converted.y, converted.name.as_str()), (30, 7, "converted"));
    assert_eq!(s.region_at(&alice.user_id, 30, 7).await.unwrap(), Some(converted.clone()));
    let after = stored(s, &alice, &r.id).await;
    assert_eq!(after.status, ReservationStatus::Converted);
    assert_eq!(after.converted_at, Some(at(1)));
    assert_eq!(after.converted_to.as_deref(), Some(converted.id.as_str()));
    assert_eq!(s.quota(&alice.user_id).await.unwrap().region_count, 1, "a conversion counts against the quota");
    let creates = AuditFilter {
        action: Some(AuditAction::Create),
        resource_type: Some(AuditResource::Region),
        resource_id: Some(converted.id.to_string()),
        ..Default::default()
    };
    assert_eq!(audit_page(s, &alice.user_id, &creates).await.total, 1, "the region's creation is audited");
    let events = reservation_events(s, &alice, AuditAction::Convert, &r.id).await;
    assert_eq!(events.len(), 1, "one convert event");
    assert_eq!(events[0].timestamp, at(1));
    assert_eq!(events[0].snapshot["status"], json!("converted"));
    assert_eq!(events[0].snapshot["converted_to"], json!(converted.id.as_str()));

    let twice = try_convert_region(s, &alice, &are, "twice", &r.id, roomy(), at(2)).await;
    expect_conflict(twice, ConflictKind::Conflict);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().region_count, 1, "nothing more allocated");
    assert_eq!(region(s, &alice, &are, "lowest", at(3)).await.y, 0);
}

pub async fn expired_host_and_unknown_reservations_do_not_become_regions(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let expiring = reserve(s, &alice, &block(30, 7, Some(1)), at(0)).await;
    let for_a_host = reserve(s, &alice, &address(30, 8, 1, None), at(0)).await;

    let expired = try_convert_region(s, &alice, &are, "late", &expiring.id, roomy(), at(DAY)).await;
    let wrong_kind = try_convert_region(s, &alice, &are, "wrong", &for_a_host.id, roomy(), at(1)).await;
    let unknown = try_convert_region(s, &alice, &are, "unknown", &ReservationId::generate(), roomy(), at(1)).await;

    expect_conflict(expired, ConflictKind::Conflict);
    expect_invalid(wrong_kind, "resource_type");
    expect_not_found(unknown);
    assert_eq!(s.region_at(&alice.user_id, 30, 7).await.unwrap(), None);
    assert_eq!(s.region_at(&alice.user_id, 30, 8).await.unwrap(), None);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().region_count, 0);
    assert_still_active(s, &alice, &for_a_host.id, at(1)).await;
    assert_eq!(count_events(s, &alice, AuditAction::Convert).await, 0);
}

pub async fn a_refused_region_conversion_leaves_the_reservation_active(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    region(s, &alice, &are, "taken", at(0)).await;
    let r = reserve(s, &alice, &block(30, 9, None), at(0)).await;
    let one_region = QuotaDefaults { regions: 1, hosts: 100 };

    let over_quota = try_convert_region(s, &alice, &are, "other", &r.id, one_region, at(1)).await;
    let duplicate = try_convert_region(s, &alice, &are, "TAKEN", &r.id, roomy(), at(2)).await;

    expect_quota_exceeded(over_quota, "regions", 1, 1, 1);
    expect_conflict(duplicate, ConflictKind::DuplicateName);
    assert_still_active(s, &alice, &r.id, at(3)).await;
    assert_eq!(s.region_at(&alice.user_id, 30, 9).await.unwrap(), None);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().region_count, 1);
    assert_eq!(count_events(s, &alice, AuditAction::Convert).await, 0);
    let later = try_convert_region(s, &alice, &are, "other", &r.id, roomy(), at(4)).await.expect("still convertible");
    assert_eq!((later.x, later.y), (30, 9));
}

pub async fn converting_a_host_reservation_allocates_exactly_its_address_and_consumes_it(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let dc = region(s, &alice, &are, "dc", at(0)).await;
    let r = reserve(s, &alice, &address(30, 0, 42, None), at(0)).await;

    let mut hosts = try_convert_host(s, &alice, &dc.id, "db", &r.id, at(1)).await.expect("convert");

    assert_eq!(hosts.len(), 1);
    let db = hosts.remove(0);
    assert_eq!((db.ip_address(), db.hostname.as_str(), &db.region_id), ("10.30.0.42".to_owned(), "db", &dc.id));
    let after = stored(s, &alice, &r.id).await;
    assert_eq!(after.status, ReservationStatus::Converted);
    assert_eq!(after.converted_at, Some(at(1)));
    assert_eq!(after.converted_to.as_deref(), Some(db.id.as_str()));
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 1, "a conversion counts against the quota");
    assert_eq!(s.region(&alice.user_id, &dc.id).await.unwrap().unwrap().allocated_hosts, 1);
    let creates = AuditFilter {
        action: Some(AuditAction::Create),
        resource_type: Some(AuditResource::Host),
        resource_id: Some(db.id.to_string()),
        ..Default::default()
    };
    assert_eq!(audit_page(s, &alice.user_id, &creates).await.total, 1, "the host's creation is audited");
    let events = reservation_events(s, &alice, AuditAction::Convert, &r.id).await;
    assert_eq!(events.len(), 1, "one convert event");
    assert_eq!(events[0].snapshot["converted_to"], json!(db.id.as_str()));

    expect_conflict(try_convert_host(s, &alice, &dc.id, "db2", &r.id, at(2)).await, ConflictKind::Conflict);
    assert_eq!(host(s, &alice, &dc.id, "web", at(3)).await.z, 1, "ordinary allocation starts at the bottom");
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 2);
}

pub async fn a_host_reservation_converts_only_into_an_active_region_at_its_block(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let home = region(s, &alice, &are, "home", at(0)).await;
    let elsewhere = region(s, &alice, &are, "elsewhere", at(0)).await;
    let r = reserve(s, &alice, &address(30, 0, 42, None), at(0)).await;
    let blk = reserve(s, &alice, &block(30, 5, None), at(0)).await;
    let set_status = |status| RegionPatch { status: Some(status), ..Default::default() };

    let wrong_block = try_convert_host(s, &alice, &elsewhere.id, "db", &r.id, at(1)).await;
    let wrong_kind = try_convert_host(s, &alice, &home.id, "db", &blk.id, at(1)).await;
    s.update_region(&alice, &home.id, &set_status(RegionStatus::Reserved), None, at(2)).await.expect("reserve");
    let not_active = try_convert_host(s, &alice, &home.id, "db", &r.id, at(3)).await;

    expect_invalid(wrong_block, "region_id");
    expect_invalid(wrong_kind, "resource_type");
    expect_conflict(not_active, ConflictKind::Conflict);
    assert_still_active(s, &alice, &r.id, at(4)).await;
    assert_still_active(s, &alice, &blk.id, at(4)).await;
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 0, "no host was allocated");
    s.update_region(&alice, &home.id, &set_status(RegionStatus::Active), None, at(5)).await.expect("activate");
    let hosts = try_convert_host(s, &alice, &home.id, "db", &r.id, at(6)).await.expect("convertible once active");
    assert_eq!(zs(&hosts), [42]);
}

pub async fn racing_reservations_of_one_host_address_leave_exactly_one(store: Arc<dyn Store>) {
    let alice = user("alice");
    let new = address(30, 0, 9, None);
    let (actor, new) = (&alice, &new);

    let outcomes = futures::future::join_all((0..20).map(|_| {
        let s = Arc::clone(&store);
        async move { try_reserve(&*s, actor, new, at(1)).await }
    }))
    .await;

    let winners: Vec<ReservationId> = outcomes.iter().filter_map(|o| o.as_ref().ok()).map(|r| r.id.clone()).collect();
    assert_eq!(winners.len(), 1, "exactly one reservation wins");
    for loser in outcomes.into_iter().filter(Result::is_err) {
        expect_conflict_naming(loser, "10.30.0.9");
    }
    assert_eq!(listed(&*store, &alice, ReservationFilter::default(), at(2)).await, (winners, 1));
    assert_eq!(count_events(&*store, &alice, AuditAction::Reserve).await, 1, "only the winner is audited");
}

pub async fn racing_reservations_of_one_region_block_leave_exactly_one(store: Arc<dyn Store>) {
    let alice = user("alice");
    let new = block(30, 3, None);
    let (actor, new) = (&alice, &new);

    let outcomes = futures::future::join_all((0..20).map(|_| {
        let s = Arc::clone(&store);
        async move { try_reserve(&*s, actor, new, at(1)).await }
    }))
    .await;

    let winners: Vec<ReservationId> = outcomes.iter().filter_map(|o| o.as_ref().ok()).map(|r| r.id.clone()).collect();
    assert_eq!(winners.len(), 1, "exactly one reservation wins");
    for loser in outcomes.into_iter().filter(Result::is_err) {
        expect_conflict_naming(loser, "10.30.3.0/24");
    }
    assert_eq!(listed(&*store, &alice, ReservationFilter::default(), at(2)).await, (winners, 1));
}

pub async fn a_host_reservation_racing_an_allocation_of_that_address_never_lets_both_take_it(store: Arc<dyn Store>) {
    let alice = user("alice");
    let are = country(&*store, "ARE").await;

    for round in 0..10u8 {
        let dc = region(&*store, &alice, &are, &format!("dc-{round}"), at(0)).await;
        let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));

        let (reserved, allocated) =
            tokio::join!(async { try_reserve(&*s1, &alice, &address(dc.x, dc.y, 1, None), at(1)).await }, async {
                try_host(&*s2, &alice, &dc.id, "web", roomy(), at(1)).await
            },);

        let web = allocated.unwrap_or_else(|e| panic!("round {round}: the allocation always finds room: {e}"));
        match reserved {
            Ok(r) => {
                assert_ne!(web.z, 1, "round {round}: the host must not take the reserved address");
                assert_eq!(stored(&*store, &alice, &r.id).await.status, ReservationStatus::Active, "round {round}");
            }
            Err(e) => {
                // Both may back off on a backend that settles the race by write-then-check
                // (MongoDB); what must never happen is both holding the address.
                expect_conflict_naming(Err::<(), _>(e), &format!("10.30.{}.1", dc.y));
                let all = store
                    .list_reservations(
                        &alice.user_id,
                        &ReservationFilter::default(),
                        ipam_core::domain::PageRequest::default(),
                        at(2),
                    )
                    .await
                    .expect("list");
                let held = all.items.iter().filter(|r| (r.x, r.y, r.z) == (dc.x, dc.y, Some(1))).count();
                assert_eq!(held, 0, "round {round}: a refused reservation is not stored");
            }
        }
    }
}
