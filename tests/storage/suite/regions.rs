//! Region allocation, namespaces, names, quotas, updates and retirement.

use std::sync::Arc;

use ipam_core::domain::{
    AuditAction, AuditResource, Country, CountryCode, Description, FieldChange, NewRegion, OwnerLabel, QuotaDefaults,
    RegionId, RegionName, RegionPatch, RegionStatus, TagChange, Tags,
};
use ipam_core::error::ConflictKind;
use ipam_core::storage::{AuditFilter, HostFilter, RegionFilter, Store};
use serde_json::json;

use super::{
    all_regions, at, audit_page, batch, country, expect_conflict, expect_not_found, expect_quota_exceeded, host,
    new_region, reason, region, retire, roomy, tags, try_region, try_region_with, user, zs,
};

pub async fn regions_are_allocated_from_the_first_x_of_the_country_with_the_lowest_free_y(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let request = NewRegion {
        name: RegionName::parse("Dubai Core").unwrap(),
        description: Description::parse("first block").unwrap(),
        owner: None,
        tags: tags(json!({"env": "prod", "cost-center": "cc-1"})),
    };

    let first = try_region_with(s, &alice, &are, &request, roomy(), at(0)).await.expect("first region");
    let second = region(s, &alice, &are, "Dubai Edge", at(1)).await;

    assert_eq!((first.x, first.y, first.cidr()), (30, 0, "10.30.0.0/24".to_owned()));
    assert_eq!((second.x, second.y), (30, 1));
    assert_eq!(first.user_id, alice.user_id);
    assert_eq!(first.owner_id, alice.user_id);
    assert_eq!(first.owner.as_str(), "alice", "the owner label defaults to the caller's username");
    assert_eq!(first.country_code.as_str(), "ARE");
    assert_eq!(first.name.as_str(), "Dubai Core");
    assert_eq!(first.description.as_str(), "first block");
    assert_eq!(first.status, RegionStatus::Active);
    assert_eq!(first.tags, request.tags);
    assert_eq!(first.allocated_hosts, 0);
    assert_eq!((first.created_at, first.updated_at), (at(0), at(0)));
    assert_eq!((&first.created_by, &first.updated_by), (&alice.user_id, &alice.user_id));
    assert_eq!(s.region(&alice.user_id, &first.id).await.unwrap(), Some(first.clone()), "reads back exactly");
    assert_eq!(s.region_at(&alice.user_id, 30, 1).await.unwrap(), Some(second));
    assert_eq!(s.region_at(&alice.user_id, 30, 2).await.unwrap(), None);

    let owned = NewRegion { owner: Some(OwnerLabel::parse("team-net").unwrap()), ..new_region("Dubai Lab") };
    let third = try_region_with(s, &alice, &are, &owned, roomy(), at(2)).await.unwrap();
    assert_eq!(third.owner.as_str(), "team-net");
    assert_eq!(third.owner_id, alice.user_id, "the owner label does not change the owning account");

    let created =
        audit_page(s, &alice.user_id, &AuditFilter { action: Some(AuditAction::Create), ..Default::default() }).await;
    assert_eq!(created.total, 3, "every allocation is audited");
    let event = created.items.iter().find(|e| e.resource_id == first.id.as_str()).expect("create event");
    assert_eq!(event.resource_type, AuditResource::Region);
    assert_eq!(event.snapshot, first.snapshot());
    assert_eq!(event.timestamp, at(0));
}

pub async fn allocation_moves_to_the_next_x_once_256_regions_fill_one(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;

    for y in 0..=255u8 {
        let r = region(s, &alice, &are, &format!("r-{y}"), at(i64::from(y))).await;
        assert_eq!((r.x, r.y), (30, y));
    }
    let crossing = region(s, &alice, &are, "r-256", at(256)).await;

    assert_eq!((crossing.x, crossing.y), (31, 0));
    assert_eq!(s.regions_per_x(&alice.user_id, are.x_start, are.x_end).await.unwrap(), [(30, 256), (31, 1)]);
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(257)).await.unwrap(), Some((31, 1)));
    let listed = s.list_regions(&alice.user_id, &RegionFilter::default(), super::page(1, 10)).await.unwrap();
    assert_eq!(listed.total, 257);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().region_count, 257);
}

pub async fn retired_blocks_are_handed_out_again_before_new_ones(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let mut regions = Vec::new();
    for i in 0..6 {
        regions.push(region(s, &alice, &are, &format!("r-{i}"), at(i)).await);
    }

    retire(s, &alice, &regions[4].id, false, at(10)).await.expect("retire y=4");
    retire(s, &alice, &regions[1].id, false, at(11)).await.expect("retire y=1");
    let refill_low = region(s, &alice, &are, "again-1", at(12)).await;
    let refill_high = region(s, &alice, &are, "again-2", at(13)).await;
    let fresh = region(s, &alice, &are, "again-3", at(14)).await;

    assert_eq!((refill_low.x, refill_low.y), (30, 1), "the lowest gap first");
    assert_eq!((refill_high.x, refill_high.y), (30, 4));
    assert_eq!((fresh.x, fresh.y), (30, 6));
    assert_eq!(s.region_at(&alice.user_id, 30, 1).await.unwrap().map(|r| r.id), Some(refill_low.id));
}

pub async fn every_user_allocates_in_an_independent_namespace(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;

    let a1 = region(s, &alice, &are, "shared", at(0)).await;
    let b1 = region(s, &bob, &are, "shared", at(1)).await;
    let a2 = region(s, &alice, &are, "second", at(2)).await;

    assert_eq!((a1.x, a1.y), (30, 0));
    assert_eq!((b1.x, b1.y), (30, 0), "same block, different namespace");
    assert_eq!((a2.x, a2.y), (30, 1), "bob's block does not occupy alice's space");
    assert_eq!(s.region(&bob.user_id, &a1.id).await.unwrap(), None);
    assert_eq!(s.region_at(&bob.user_id, 30, 1).await.unwrap(), None);
    assert_eq!(s.region_at(&bob.user_id, 30, 0).await.unwrap().map(|r| r.id), Some(b1.id.clone()));
    assert_eq!(all_regions(s, &alice.user_id, &RegionFilter::default()).await.len(), 2);
    assert_eq!(all_regions(s, &bob.user_id, &RegionFilter::default()).await.len(), 1);

    expect_not_found(retire(s, &bob, &a1.id, false, at(3)).await);
    let patch = RegionPatch { description: Some(Description::parse("mine now").unwrap()), ..Default::default() };
    expect_not_found(s.update_region(&bob, &a1.id, &patch, None, at(3)).await);
    assert_eq!(s.region(&alice.user_id, &a1.id).await.unwrap(), Some(a1), "untouched by bob");

    retire(s, &bob, &b1.id, false, at(4)).await.expect("bob retires his own");
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(5)).await.unwrap(), Some((30, 2)));
    assert_eq!(s.next_free_region(&bob.user_id, &are, at(5)).await.unwrap(), Some((30, 0)));
}

pub async fn region_names_are_unique_per_user_and_country_ignoring_case(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (are, sgp) = (country(s, "ARE").await, country(s, "SGP").await);
    let original = region(s, &alice, &are, "Prod-East", at(0)).await;

    let clash = try_region(s, &alice, &are, "prod-EAST", roomy(), at(1)).await;

    expect_conflict(clash, ConflictKind::DuplicateName);
    assert_eq!(
        all_regions(s, &alice.user_id, &RegionFilter::default()).await,
        std::slice::from_ref(&original),
        "nothing stored"
    );
    assert_eq!(s.quota(&alice.user_id).await.unwrap().region_count, 1);
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(1)).await.unwrap(), Some((30, 1)));
    let creates = AuditFilter { action: Some(AuditAction::Create), ..Default::default() };
    assert_eq!(audit_page(s, &alice.user_id, &creates).await.total, 1, "a refused allocation is not audited");

    region(s, &alice, &sgp, "prod-east", at(2)).await;
    region(s, &bob, &are, "PROD-EAST", at(3)).await;

    let other = region(s, &alice, &are, "other", at(4)).await;
    let rename = RegionPatch { name: Some(RegionName::parse("PROD-east").unwrap()), ..Default::default() };
    expect_conflict(s.update_region(&alice, &other.id, &rename, None, at(5)).await, ConflictKind::DuplicateName);
    assert_eq!(s.region(&alice.user_id, &other.id).await.unwrap(), Some(other));

    let recase = RegionPatch { name: Some(RegionName::parse("PROD-EAST").unwrap()), ..Default::default() };
    let renamed =
        s.update_region(&alice, &original.id, &recase, None, at(6)).await.expect("a region may re-case itself");
    assert_eq!(renamed.name.as_str(), "PROD-EAST");
}

pub async fn the_region_quota_refuses_one_more_region_and_frees_up_on_retirement(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let small = QuotaDefaults { regions: 3, hosts: 100 };
    let mut held = Vec::new();
    for i in 0..3 {
        held.push(try_region(s, &alice, &are, &format!("r-{i}"), small, at(i)).await.expect("within quota"));
    }

    let refused = try_region(s, &alice, &are, "r-3", small, at(3)).await;

    expect_quota_exceeded(refused, "regions", 3, 3, 1);
    assert_eq!(all_regions(s, &alice.user_id, &RegionFilter::default()).await.len(), 3, "nothing stored");
    let usage = s.quota(&alice.user_id).await.unwrap();
    assert_eq!((usage.region_count, usage.host_count, usage.last_updated), (3, 0, Some(at(2))));
    try_region(s, &bob, &are, "r-0", small, at(4)).await.expect("bob has his own quota");

    retire(s, &alice, &held[1].id, false, at(5)).await.expect("retire");
    assert_eq!(s.quota(&alice.user_id).await.unwrap().region_count, 2);
    let again = try_region(s, &alice, &are, "r-3", small, at(6)).await.expect("room again after retirement");
    assert_eq!((again.x, again.y), (30, 1));
    expect_quota_exceeded(try_region(s, &alice, &are, "r-4", small, at(7)).await, "regions", 3, 3, 1);
}

pub async fn next_free_region_names_the_block_the_next_allocation_takes(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (are, ind) = (country(s, "ARE").await, country(s, "IND").await);

    assert_eq!(s.next_free_region(&alice.user_id, &are, at(0)).await.unwrap(), Some((30, 0)));
    assert_eq!(s.next_free_region(&alice.user_id, &ind, at(0)).await.unwrap(), Some((0, 0)));
    let mut regions = Vec::new();
    for i in 0..4 {
        let predicted = s.next_free_region(&alice.user_id, &are, at(i)).await.unwrap();
        let r = region(s, &alice, &are, &format!("r-{i}"), at(i)).await;
        assert_eq!(predicted, Some((r.x, r.y)));
        regions.push(r);
    }
    retire(s, &alice, &regions[2].id, false, at(10)).await.unwrap();
    retire(s, &alice, &regions[0].id, false, at(11)).await.unwrap();

    for expected in [(30, 0), (30, 2), (30, 4)] {
        let predicted = s.next_free_region(&alice.user_id, &are, at(12)).await.unwrap();
        assert_eq!(predicted, Some(expected));
        let r = region(s, &alice, &are, &format!("refill-{}", expected.1), at(12)).await;
        assert_eq!((r.x, r.y), expected);
    }
    assert_eq!(s.next_free_region(&bob.user_id, &are, at(13)).await.unwrap(), Some((30, 0)));
    assert_eq!(s.next_free_region(&alice.user_id, &ind, at(13)).await.unwrap(), Some((0, 0)), "per country");
}

pub async fn updating_a_region_returns_it_and_audits_the_snapshot_before_and_each_changed_field(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let request = NewRegion {
        description: Description::parse("old text").unwrap(),
        tags: tags(json!({"env": "dev"})),
        ..new_region("prod-east")
    };
    let before = try_region_with(s, &alice, &are, &request, roomy(), at(0)).await.unwrap();
    let patch = RegionPatch {
        name: Some(RegionName::parse("prod-west").unwrap()),
        description: Some(Description::parse("new text").unwrap()),
        owner: Some(OwnerLabel::parse("team-net").unwrap()),
        status: Some(RegionStatus::Reserved),
        tags: Some(TagChange::replace(tags(json!({"env": "prod", "tier": "1"})))),
    };

    let updated = s.update_region(&alice, &before.id, &patch, Some(&reason("re-organisation")), at(10)).await.unwrap();

    let mut expected = before.clone();
    expected.name = RegionName::parse("prod-west").unwrap();
    expected.description = Description::parse("new text").unwrap();
    expected.owner = OwnerLabel::parse("team-net").unwrap();
    expected.status = RegionStatus::Reserved;
    expected.tags = tags(json!({"env": "prod", "tier": "1"}));
    expected.updated_at = at(10);
    assert_eq!(updated, expected);
    assert_eq!(s.region(&alice.user_id, &before.id).await.unwrap(), Some(expected));

    let updates = AuditFilter { action: Some(AuditAction::Update), ..Default::default() };
    let events = audit_page(s, &alice.user_id, &updates).await;
    assert_eq!(events.total, 1);
    let e = &events.items[0];
    assert_eq!((e.resource_type, e.resource_id.as_str()), (AuditResource::Region, before.id.as_str()));
    assert_eq!((&e.user_id, &e.actor_id, e.actor_username.as_str()), (&alice.user_id, &alice.user_id, "alice"));
    assert_eq!(e.snapshot, before.snapshot(), "the snapshot is the region before the update");
    assert_eq!(
        e.changes,
        [
            FieldChange::new("region_name", json!("prod-east"), json!("prod-west")),
            FieldChange::new("description", json!("old text"), json!("new text")),
            FieldChange::new("owner", json!("alice"), json!("team-net")),
            FieldChange::new("status", json!("Active"), json!("Reserved")),
            FieldChange::new("tags", json!({"env": "dev"}), json!({"env": "prod", "tier": "1"})),
        ]
    );
    assert_eq!(e.reason.as_deref(), Some("re-organisation"));
    assert_eq!(
        (e.cidr.as_deref(), e.x, e.y, e.z, e.ip_address.as_deref()),
        (Some("10.30.0.0/24"), Some(30), Some(0), None, None)
    );
    assert_eq!(e.timestamp, at(10));

    let only_status = RegionPatch { status: Some(RegionStatus::Active), ..Default::default() };
    s.update_region(&alice, &before.id, &only_status, None, at(11)).await.unwrap();
    let events = audit_page(s, &alice.user_id, &updates).await;
    assert_eq!(events.total, 2);
    assert_eq!(events.items[0].changes, [FieldChange::new("status", json!("Reserved"), json!("Active"))]);
    assert_eq!(events.items[0].reason, None);
}

pub async fn a_region_patch_that_changes_nothing_writes_no_audit_event(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let request = NewRegion { tags: tags(json!({"env": "dev"})), ..new_region("prod-east") };
    let r = try_region_with(s, &alice, &are, &request, roomy(), at(0)).await.unwrap();
    let same = RegionPatch {
        name: Some(RegionName::parse("prod-east").unwrap()),
        description: Some(Description::empty()),
        owner: Some(OwnerLabel::parse("alice").unwrap()),
        status: Some(RegionStatus::Active),
        tags: Some(TagChange::replace(tags(json!({"env": "dev"})))),
    };

    let unchanged = s.update_region(&alice, &r.id, &same, Some(&reason("nothing really")), at(5)).await.unwrap();
    let empty = s.update_region(&alice, &r.id, &RegionPatch::default(), None, at(6)).await.unwrap();

    assert_eq!(unchanged, r, "updated_at stays at creation");
    assert_eq!(empty, r);
    assert_eq!(s.region(&alice.user_id, &r.id).await.unwrap(), Some(r));
    let updates = AuditFilter { action: Some(AuditAction::Update), ..Default::default() };
    assert_eq!(audit_page(s, &alice.user_id, &updates).await.total, 0);
}

pub async fn retiring_a_region_that_has_hosts_without_cascade_is_refused_and_changes_nothing(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "busy", at(0)).await;
    let hosts = batch(s, &alice, &r.id, "web", 2, at(1)).await;
    let before = s.region(&alice.user_id, &r.id).await.unwrap().expect("region");

    let refused = retire(s, &alice, &r.id, false, at(2)).await;

    expect_conflict(refused, ConflictKind::Conflict);
    assert_eq!(s.region(&alice.user_id, &r.id).await.unwrap(), Some(before.clone()));
    assert_eq!(before.allocated_hosts, 2);
    for h in &hosts {
        assert_eq!(s.host(&alice.user_id, &h.id).await.unwrap().as_ref(), Some(h));
    }
    let usage = s.quota(&alice.user_id).await.unwrap();
    assert_eq!((usage.region_count, usage.host_count), (1, 2));
    let retires = AuditFilter { action: Some(AuditAction::Retire), ..Default::default() };
    assert_eq!(audit_page(s, &alice.user_id, &retires).await.total, 0);
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(3)).await.unwrap(), Some((30, 1)), "the block stays taken");
}

pub async fn retiring_with_cascade_removes_the_hosts_and_audits_each_host_and_the_region(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let doomed = region(s, &alice, &are, "doomed", at(0)).await;
    let keeper = region(s, &alice, &are, "keeper", at(1)).await;
    let mut hosts = batch(s, &alice, &doomed.id, "web", 3, at(2)).await;
    let survivor = host(s, &alice, &keeper.id, "survivor", at(3)).await;
    let before = s.region(&alice.user_id, &doomed.id).await.unwrap().expect("region");

    let mut retired = retire(s, &alice, &doomed.id, true, at(10)).await.expect("cascade retirement");

    assert_eq!(retired.region, before, "the region as it was");
    retired.hosts.sort_by_key(|h| h.z);
    hosts.sort_by_key(|h| h.z);
    assert_eq!(retired.hosts, hosts, "the hosts as they were");
    assert_eq!(s.region(&alice.user_id, &doomed.id).await.unwrap(), None);
    assert_eq!(s.region_at(&alice.user_id, 30, 0).await.unwrap(), None);
    for h in &hosts {
        assert_eq!(s.host(&alice.user_id, &h.id).await.unwrap(), None);
    }
    let remaining = super::all_hosts(s, &alice.user_id, &HostFilter::default()).await;
    assert_eq!(remaining, [survivor]);
    let usage = s.quota(&alice.user_id).await.unwrap();
    assert_eq!((usage.region_count, usage.host_count), (1, 1));
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(11)).await.unwrap(), Some((30, 0)), "the block is free");

    let retires = AuditFilter { action: Some(AuditAction::Retire), ..Default::default() };
    let events = audit_page(s, &alice.user_id, &retires).await;
    assert_eq!(events.total, 4, "one per host and one for the region");
    for h in &hosts {
        let e = events.items.iter().find(|e| e.resource_id == h.id.as_str()).expect("host retire event");
        assert_eq!(e.resource_type, AuditResource::Host);
        assert_eq!(e.snapshot, h.snapshot());
        assert!(e.reason.as_deref().unwrap_or_default().contains("decommissioned"), "{:?}", e.reason);
        assert_eq!(e.timestamp, at(10));
    }
    let e = events.items.iter().find(|e| e.resource_id == doomed.id.as_str()).expect("region retire event");
    assert_eq!(e.resource_type, AuditResource::Region);
    assert_eq!(e.reason.as_deref(), Some("decommissioned"));
    assert_eq!(e.snapshot["region_id"], json!(doomed.id));
    assert_eq!(e.snapshot["cidr"], json!("10.30.0.0/24"));
    assert_eq!(e.snapshot["allocated_hosts"], json!(3));

    let refill = region(s, &alice, &are, "reborn", at(12)).await;
    assert_eq!((refill.x, refill.y), (30, 0));
    assert_eq!(zs(&batch(s, &alice, &refill.id, "web", 2, at(13)).await), [1, 2], "a fresh region starts empty");
}

pub async fn unknown_regions_cannot_be_updated_or_retired(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let missing = RegionId::generate();
    let patch = RegionPatch { tags: Some(TagChange::replace(Tags::empty())), ..Default::default() };

    expect_not_found(s.update_region(&alice, &missing, &patch, None, at(0)).await);
    expect_not_found(retire(s, &alice, &missing, true, at(0)).await);
    assert_eq!(s.region(&alice.user_id, &missing).await.unwrap(), None);
    assert_eq!(audit_page(s, &alice.user_id, &AuditFilter::default()).await.total, 0);
    let codes = Some(vec![CountryCode::from_stored("ARE".into())]);
    assert!(
        all_regions(s, &alice.user_id, &RegionFilter { country_codes: codes, ..Default::default() }).await.is_empty()
    );
}

/// A test country of two X octets (ARE cut down to 10.30–31.x): it crosses an X boundary like
/// a real one, and fills with 512 regions instead of the 2,048 of the real ARE.
async fn two_octet_country(s: &dyn Store) -> Country {
    Country { x_end: 31, ..country(s, "ARE").await }
}

pub async fn a_full_country_refuses_another_region_with_capacity_exhausted(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = two_octet_country(s).await;
    let capacity = are.region_capacity();
    assert_eq!(capacity, 512);
    let mut middle = None;
    for i in 0..capacity {
        let r = region(s, &alice, &are, &format!("r-{i}"), at(i64::from(i))).await;
        if (r.x, r.y) == (31, 77) {
            middle = Some(r.id);
        }
    }
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(0)).await.unwrap(), None);

    let refused = try_region(s, &alice, &are, "one-too-many", roomy(), at(9_000)).await;

    expect_conflict(refused, ConflictKind::CapacityExhausted);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().region_count, capacity);
    let per_x = s.regions_per_x(&alice.user_id, 0, 255).await.unwrap();
    assert_eq!(per_x, (30..=31).map(|x| (x, 256)).collect::<Vec<_>>());
    let sgp = country(s, "SGP").await;
    assert_eq!((region(s, &alice, &sgp, "elsewhere", at(9_001)).await.x), 38, "other countries are unaffected");

    retire(s, &alice, &middle.expect("10.31.77.0/24 was allocated"), false, at(9_002)).await.unwrap();
    assert_eq!(s.next_free_region(&alice.user_id, &are, at(9_003)).await.unwrap(), Some((31, 77)));
    let refill = region(s, &alice, &are, "one-too-many", at(9_003)).await;
    assert_eq!((refill.x, refill.y), (31, 77));
}
