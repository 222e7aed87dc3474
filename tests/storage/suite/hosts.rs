//! Host allocation, batch naming, capacity, quotas, updates, release and address lookup.

use std::sync::Arc;

use ipam_core::domain::{
    Application, AuditAction, AuditResource, DeviceType, FieldChange, Host, HostDetails, HostId, HostPatch, HostStatus,
    Notes, OsType, OwnerLabel, Purpose, QuotaDefaults, RegionId, RegionPatch, RegionStatus, TagChange, TenAddress,
};
use ipam_core::error::ConflictKind;
use ipam_core::storage::{AllocateHosts, AuditFilter, HostFilter, HostNames, Placement, ReleaseOutcome, Store};
use serde_json::json;

use super::{
    all_hosts, at, audit_page, batch, country, expect_conflict, expect_not_found, expect_quota_exceeded, host,
    hostname, hostnames, reason, region, release, retire, roomy, tags, try_batch, try_host, try_hosts_with, user, zs,
};

/// `(released?, id)` per outcome, in order.
fn outcomes(list: &[ReleaseOutcome]) -> Vec<(bool, HostId)> {
    list.iter()
        .map(|o| match o {
            ReleaseOutcome::Released(h) => (true, h.id.clone()),
            ReleaseOutcome::NotFound(id) => (false, id.clone()),
        })
        .collect()
}

/// Fills the region's first `n` addresses with `fill-NNN` hosts (batches of at most 100).
async fn fill(s: &dyn Store, actor: &ipam_core::auth::Actor, region_id: &RegionId, n: u32) {
    let mut left = n;
    while left > 0 {
        let step = left.min(100);
        batch(s, actor, region_id, "fill", step, at(1)).await;
        left -= step;
    }
}

pub async fn hosts_are_allocated_from_z_1_with_the_lowest_free_address(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let details = HostDetails {
        device_type: Some(DeviceType::Vm),
        os_type: Some(OsType::parse("Ubuntu 24.04").unwrap()),
        application: Some(Application::parse("billing").unwrap()),
        cost_center: None,
        purpose: Some(Purpose::parse("front end").unwrap()),
        notes: Some(Notes::parse("line one\nline two").unwrap()),
    };
    let host_tags = tags(json!({"role": "web"}));
    let name = hostname("Web-01.Example.com");

    let first = try_hosts_with(s, &alice, &r.id, HostNames::One(&name), &details, &host_tags, roomy(), at(1))
        .await
        .expect("allocate")
        .remove(0);
    let second = host(s, &alice, &r.id, "web-02", at(2)).await;

    assert_eq!((first.x, first.y, first.z, first.ip_address()), (30, 0, 1, "10.30.0.1".to_owned()));
    assert_eq!(second.z, 2);
    assert_eq!(first.hostname.as_str(), "web-01.example.com");
    assert_eq!(first.region_id, r.id);
    assert_eq!(first.user_id, alice.user_id);
    assert_eq!((first.owner.as_str(), &first.owner_id), ("alice", &alice.user_id));
    assert_eq!(first.status, HostStatus::Active);
    assert_eq!(first.details, details);
    assert_eq!(first.tags, host_tags);
    assert_eq!((first.created_at, first.updated_at), (at(1), at(1)));
    assert_eq!((&first.created_by, &first.updated_by), (&alice.user_id, &alice.user_id));
    assert_eq!(s.host(&alice.user_id, &first.id).await.unwrap(), Some(first.clone()), "reads back exactly");
    assert_eq!(s.region(&alice.user_id, &r.id).await.unwrap().unwrap().allocated_hosts, 2);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 2);

    let owner = OwnerLabel::parse("team-ops").unwrap();
    let third_name = hostname("web-03");
    let third = s
        .allocate_hosts(AllocateHosts {
            actor: &alice,
            region_id: &r.id,
            names: HostNames::One(&third_name),
            details: &HostDetails::default(),
            owner: Some(&owner),
            tags: &host_tags,
            placement: Placement::Lowest,
            quotas: roomy(),
            now: at(3),
        })
        .await
        .expect("allocate with an owner label")
        .remove(0);
    assert_eq!((third.z, third.owner.as_str(), &third.owner_id), (3, "team-ops", &alice.user_id));

    let creates = AuditFilter {
        action: Some(AuditAction::Create),
        resource_type: Some(AuditResource::Host),
        resource_id: Some(first.id.to_string()),
        ..Default::default()
    };
    let events = audit_page(s, &alice.user_id, &creates).await;
    assert_eq!(events.total, 1);
    let e = &events.items[0];
    assert_eq!(e.snapshot, first.snapshot());
    assert_eq!((e.ip_address.as_deref(), e.cidr.as_deref()), (Some("10.30.0.1"), Some("10.30.0.0/24")));
    assert_eq!((e.x, e.y, e.z), (Some(30), Some(0), Some(1)));
    assert_eq!(e.timestamp, at(1));
}

pub async fn released_addresses_are_handed_out_again_before_new_ones(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let hosts = batch(s, &alice, &r.id, "web", 5, at(1)).await;
    assert_eq!(zs(&hosts), [1, 2, 3, 4, 5]);

    release(s, &alice, &[hosts[3].id.clone(), hosts[1].id.clone()], at(2)).await;
    let single = host(s, &alice, &r.id, "again", at(3)).await;
    let pair = batch(s, &alice, &r.id, "more", 2, at(4)).await;

    assert_eq!(single.z, 2, "the lowest gap first");
    assert_eq!(zs(&pair), [4, 6]);
    assert_eq!(s.region(&alice.user_id, &r.id).await.unwrap().unwrap().allocated_hosts, 6);
}

pub async fn batch_names_continue_after_the_highest_existing_number_of_the_prefix(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    for name in ["web-001", "web-007", "web-abc", "webx-010", "web-db-020", "api-050"] {
        host(s, &alice, &r.id, name, at(1)).await;
    }

    let numbered = batch(s, &alice, &r.id, "web", 3, at(2)).await;
    let other_prefix = batch(s, &alice, &r.id, "DB", 2, at(3)).await;

    assert_eq!(hostnames(&numbered), ["web-008", "web-009", "web-010"]);
    assert_eq!(zs(&numbered), [7, 8, 9]);
    assert_eq!(hostnames(&other_prefix), ["db-001", "db-002"], "prefixes are lower-cased and numbered from 1");
    assert!(numbered.iter().all(|h| h.created_at == at(2) && h.status == HostStatus::Active));

    let r2 = region(s, &alice, &are, "dc-2", at(4)).await;
    assert_eq!(hostnames(&batch(s, &alice, &r2.id, "web", 1, at(5)).await), ["web-001"], "numbering is per region");
    host(s, &alice, &r2.id, "web-998", at(6)).await;
    host(s, &alice, &r2.id, "web-1000", at(7)).await;
    assert_eq!(
        hostnames(&batch(s, &alice, &r2.id, "web", 2, at(8)).await),
        ["web-1001", "web-1002"],
        "the highest number, not the last in text order"
    );
}

pub async fn a_batch_larger_than_the_free_space_stores_nothing(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    fill(s, &alice, &r.id, 250).await;

    let refused = try_batch(s, &alice, &r.id, "web", 5, roomy(), at(2)).await;

    expect_conflict(refused, ConflictKind::CapacityExhausted);
    let in_region = HostFilter { region_id: Some(r.id.clone()), ..Default::default() };
    assert_eq!(all_hosts(s, &alice.user_id, &in_region).await.len(), 250);
    assert!(all_hosts(s, &alice.user_id, &in_region).await.iter().all(|h| h.hostname.as_str().starts_with("fill-")));
    assert_eq!(s.region(&alice.user_id, &r.id).await.unwrap().unwrap().allocated_hosts, 250);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 250);
    let host_creates = AuditFilter {
        action: Some(AuditAction::Create),
        resource_type: Some(AuditResource::Host),
        ..Default::default()
    };
    assert_eq!(audit_page(s, &alice.user_id, &host_creates).await.total, 250);
    assert_eq!(s.next_free_host(&alice.user_id, &r.id, at(2)).await.unwrap().and_then(|(_, z)| z), Some(251));

    let fits = batch(s, &alice, &r.id, "web", 4, at(3)).await;
    assert_eq!(zs(&fits), [251, 252, 253, 254]);
    assert_eq!(hostnames(&fits), ["web-001", "web-002", "web-003", "web-004"], "the refused batch used no numbers");
}

pub async fn a_full_region_refuses_another_host_with_capacity_exhausted(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    fill(s, &alice, &r.id, 254).await;

    let single = try_host(s, &alice, &r.id, "one-more", roomy(), at(2)).await;
    let one_batch = try_batch(s, &alice, &r.id, "web", 1, roomy(), at(2)).await;

    expect_conflict(single, ConflictKind::CapacityExhausted);
    expect_conflict(one_batch, ConflictKind::CapacityExhausted);
    let full = s.region(&alice.user_id, &r.id).await.unwrap().unwrap();
    assert_eq!(full.allocated_hosts, 254);
    assert_eq!(s.next_free_host(&alice.user_id, &r.id, at(2)).await.unwrap(), Some((full, None)));
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 254);

    let seventeenth = all_hosts(s, &alice.user_id, &HostFilter::default())
        .await
        .into_iter()
        .find(|h| h.z == 17)
        .expect("host at .17");
    release(s, &alice, &[seventeenth.id], at(3)).await;
    assert_eq!(host(s, &alice, &r.id, "one-more", at(4)).await.z, 17);
}

pub async fn the_host_quota_refuses_singles_and_batches_and_frees_up_on_release_and_cascade(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let limits = QuotaDefaults { regions: 10, hosts: 4 };
    let r1 = region(s, &alice, &are, "one", at(0)).await;
    let r2 = region(s, &alice, &are, "two", at(1)).await;
    let pair = try_batch(s, &alice, &r1.id, "web", 2, limits, at(2)).await.expect("within quota");
    try_host(s, &alice, &r2.id, "solo", limits, at(3)).await.expect("within quota");

    let too_many = try_batch(s, &alice, &r1.id, "web", 2, limits, at(4)).await;

    expect_quota_exceeded(too_many, "hosts", 4, 3, 2);
    assert_eq!(all_hosts(s, &alice.user_id, &HostFilter::default()).await.len(), 3, "all or nothing");
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 3);
    let last = try_host(s, &alice, &r1.id, "last", limits, at(5)).await.expect("the last unit can be used");
    assert_eq!(last.z, 3);
    expect_quota_exceeded(try_host(s, &alice, &r1.id, "over", limits, at(6)).await, "hosts", 4, 4, 1);
    expect_not_found(try_host(s, &user("bob"), &r1.id, "other-namespace", limits, at(6)).await);

    release(s, &alice, &[pair[0].id.clone()], at(7)).await;
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 3, "release gives quota back");
    retire(s, &alice, &r2.id, true, at(8)).await.expect("cascade");
    let usage = s.quota(&alice.user_id).await.unwrap();
    assert_eq!((usage.region_count, usage.host_count), (1, 2), "cascade gives the hosts' quota back");
    assert_eq!(usage.last_updated, Some(at(8)));
    let refilled = try_batch(s, &alice, &r1.id, "web", 2, limits, at(9)).await.expect("room again");
    assert_eq!(zs(&refilled), [1, 4]);
}

pub async fn a_reserved_region_refuses_new_hosts_until_it_is_active_again(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "parked", at(0)).await;
    let reserve = RegionPatch { status: Some(RegionStatus::Reserved), ..Default::default() };
    s.update_region(&alice, &r.id, &reserve, None, at(1)).await.expect("reserve");

    let single = try_host(s, &alice, &r.id, "web", roomy(), at(2)).await;
    let several = try_batch(s, &alice, &r.id, "web", 3, roomy(), at(2)).await;

    expect_conflict(single, ConflictKind::Conflict);
    expect_conflict(several, ConflictKind::Conflict);
    assert!(all_hosts(s, &alice.user_id, &HostFilter::default()).await.is_empty());
    assert_eq!(s.region(&alice.user_id, &r.id).await.unwrap().unwrap().allocated_hosts, 0);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 0);

    let activate = RegionPatch { status: Some(RegionStatus::Active), ..Default::default() };
    s.update_region(&alice, &r.id, &activate, None, at(3)).await.expect("activate");
    assert_eq!(host(s, &alice, &r.id, "web", at(4)).await.z, 1);
}

pub async fn hostnames_are_unique_within_a_region_only(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r1 = region(s, &alice, &are, "one", at(0)).await;
    let r2 = region(s, &alice, &are, "two", at(1)).await;
    let web = host(s, &alice, &r1.id, "web-1", at(2)).await;
    let db = host(s, &alice, &r1.id, "db-1", at(3)).await;

    let clash = try_host(s, &alice, &r1.id, "WEB-1", roomy(), at(4)).await;

    expect_conflict(clash, ConflictKind::DuplicateName);
    let in_r1 = HostFilter { region_id: Some(r1.id.clone()), ..Default::default() };
    assert_eq!(all_hosts(s, &alice.user_id, &in_r1).await.len(), 2, "nothing stored");
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 2);
    assert_eq!(s.next_free_host(&alice.user_id, &r1.id, at(4)).await.unwrap().and_then(|(_, z)| z), Some(3));
    assert_eq!(host(s, &alice, &r2.id, "web-1", at(5)).await.z, 1, "another region may reuse the name");

    let rename = HostPatch { hostname: Some(hostname("web-1")), ..Default::default() };
    expect_conflict(s.update_host(&alice, &db.id, &rename, None, at(6)).await, ConflictKind::DuplicateName);
    assert_eq!(s.host(&alice.user_id, &db.id).await.unwrap(), Some(db));
    assert_eq!(s.host(&alice.user_id, &web.id).await.unwrap(), Some(web));
}

pub async fn updating_a_host_returns_it_and_audits_the_snapshot_before_and_each_changed_field(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let details = HostDetails { notes: Some(Notes::parse("old notes").unwrap()), ..Default::default() };
    let name = hostname("web-1");
    let before = try_hosts_with(
        s,
        &alice,
        &r.id,
        HostNames::One(&name),
        &details,
        &tags(json!({"role": "web"})),
        roomy(),
        at(1),
    )
    .await
    .unwrap()
    .remove(0);
    let patch = HostPatch {
        hostname: Some(hostname("web-renamed")),
        device_type: Some(Some(DeviceType::Vm)),
        os_type: Some(Some(OsType::parse("linux").unwrap())),
        notes: Some(None),
        owner: Some(OwnerLabel::parse("team-ops").unwrap()),
        status: Some(HostStatus::Reserved),
        tags: Some(TagChange::replace(tags(json!({"role": "db"})))),
        ..Default::default()
    };

    let updated = s.update_host(&alice, &before.id, &patch, Some(&reason("moved to ops")), at(10)).await.unwrap();

    let expected = Host {
        hostname: hostname("web-renamed"),
        details: HostDetails {
            device_type: Some(DeviceType::Vm),
            os_type: Some(OsType::parse("linux").unwrap()),
            notes: None,
            ..Default::default()
        },
        owner: OwnerLabel::parse("team-ops").unwrap(),
        status: HostStatus::Reserved,
        tags: tags(json!({"role": "db"})),
        updated_at: at(10),
        ..before.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(s.host(&alice.user_id, &before.id).await.unwrap(), Some(expected));

    let updates = AuditFilter { action: Some(AuditAction::Update), ..Default::default() };
    let events = audit_page(s, &alice.user_id, &updates).await;
    assert_eq!(events.total, 1);
    let e = &events.items[0];
    assert_eq!((e.resource_type, e.resource_id.as_str()), (AuditResource::Host, before.id.as_str()));
    assert_eq!(e.snapshot, before.snapshot(), "the snapshot is the host before the update");
    assert_eq!(
        e.changes,
        [
            FieldChange::new("hostname", json!("web-1"), json!("web-renamed")),
            FieldChange::new("device_type", json!(null), json!("VM")),
            FieldChange::new("os_type", json!(null), json!("linux")),
            FieldChange::new("notes", json!("old notes"), json!(null)),
            FieldChange::new("owner", json!("alice"), json!("team-ops")),
            FieldChange::new("status", json!("Active"), json!("Reserved")),
            FieldChange::new("tags", json!({"role": "web"}), json!({"role": "db"})),
        ]
    );
    assert_eq!(e.reason.as_deref(), Some("moved to ops"));
    assert_eq!((e.ip_address.as_deref(), e.z, e.timestamp), (Some("10.30.0.1"), Some(1), at(10)));
    assert_eq!(&e.actor_id, &alice.user_id);
}

pub async fn a_host_patch_that_changes_nothing_writes_no_audit_event(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let h = host(s, &alice, &r.id, "web-1", at(1)).await;
    let same = HostPatch {
        hostname: Some(hostname("WEB-1")),
        application: Some(None),
        owner: Some(OwnerLabel::parse("alice").unwrap()),
        status: Some(HostStatus::Active),
        tags: Some(TagChange::replace(tags(json!({})))),
        ..Default::default()
    };

    let unchanged = s.update_host(&alice, &h.id, &same, None, at(5)).await.unwrap();
    let empty = s.update_host(&alice, &h.id, &HostPatch::default(), None, at(6)).await.unwrap();

    assert_eq!(unchanged, h, "updated_at stays at creation");
    assert_eq!(empty, h);
    assert_eq!(s.host(&alice.user_id, &h.id).await.unwrap(), Some(h));
    let updates = AuditFilter { action: Some(AuditAction::Update), ..Default::default() };
    assert_eq!(audit_page(s, &alice.user_id, &updates).await.total, 0);
}

pub async fn release_reports_one_outcome_per_distinct_id_in_request_order(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let hosts = batch(s, &alice, &r.id, "web", 3, at(1)).await;
    let bobs_region = region(s, &bob, &are, "dc", at(0)).await;
    let bobs_host = host(s, &bob, &bobs_region.id, "web-001", at(1)).await;
    let unknown = HostId::generate();
    // Distinct ids only: the service removes repeats before the store sees them (its unit test
    // `bulk_release_reports_one_outcome_per_distinct_id_in_request_order` covers a repeated id).
    let ids = [hosts[1].id.clone(), unknown.clone(), hosts[0].id.clone(), bobs_host.id.clone()];

    let result = s.release_hosts(&alice, &ids, &reason("end of project"), at(5)).await.expect("release");

    assert_eq!(
        outcomes(&result),
        [(true, hosts[1].id.clone()), (false, unknown), (true, hosts[0].id.clone()), (false, bobs_host.id.clone()),]
    );
    let ReleaseOutcome::Released(as_it_was) = &result[0] else { unreachable!() };
    assert_eq!(as_it_was.as_ref(), &hosts[1], "the released host as it was");
    assert_eq!(all_hosts(s, &alice.user_id, &HostFilter::default()).await, [hosts[2].clone()]);
    assert_eq!(s.host(&bob.user_id, &bobs_host.id).await.unwrap(), Some(bobs_host), "bob's host is untouched");
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 1);
    assert_eq!(s.quota(&bob.user_id).await.unwrap().host_count, 1);
    assert_eq!(s.region(&alice.user_id, &r.id).await.unwrap().unwrap().allocated_hosts, 1);

    let releases = AuditFilter { action: Some(AuditAction::Release), ..Default::default() };
    let events = audit_page(s, &alice.user_id, &releases).await;
    assert_eq!(events.total, 2, "one event per released host, none for misses");
    for h in &hosts[..2] {
        let e = events.items.iter().find(|e| e.resource_id == h.id.as_str()).expect("release event");
        assert_eq!(e.snapshot, h.snapshot());
        assert_eq!((e.reason.as_deref(), e.timestamp), (Some("end of project"), at(5)));
    }

    let again = release(s, &alice, &[hosts[0].id.clone()], at(6)).await;
    assert_eq!(outcomes(&again), [(false, hosts[0].id.clone())]);
    assert_eq!(audit_page(s, &alice.user_id, &releases).await.total, 2);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().host_count, 1);
    assert!(release(s, &alice, &[], at(7)).await.is_empty());
}

pub async fn hosts_at_finds_exactly_the_callers_hosts_at_the_requested_addresses(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let r1 = region(s, &alice, &are, "one", at(0)).await;
    let r2 = region(s, &alice, &are, "two", at(1)).await;
    let in_r1 = batch(s, &alice, &r1.id, "a", 3, at(2)).await;
    let in_r2 = host(s, &alice, &r2.id, "b", at(3)).await;
    let bobs = region(s, &bob, &are, "one", at(0)).await;
    batch(s, &bob, &bobs.id, "bob", 4, at(2)).await;
    let addr = |raw: &str| TenAddress::parse(raw).unwrap();
    let wanted = [
        addr("10.30.0.1"),
        addr("10.30.0.3"),
        addr("10.30.0.4"),
        addr("10.30.1.1"),
        addr("10.30.2.1"),
        addr("10.31.0.1"),
        addr("10.30.0.0"),
        addr("10.30.0.1"),
    ];

    let mut found = s.hosts_at(&alice.user_id, &wanted).await.expect("hosts_at");

    found.sort_by_key(|h| (h.x, h.y, h.z));
    assert_eq!(found, [in_r1[0].clone(), in_r1[2].clone(), in_r2], "each of alice's hosts once; bob's .4 is not hers");
    assert!(s.hosts_at(&alice.user_id, &[]).await.unwrap().is_empty());
    assert!(s.hosts_at(&user("carol").user_id, &wanted).await.unwrap().is_empty());
    let bobs_found = s.hosts_at(&bob.user_id, &[addr("10.30.0.4")]).await.unwrap();
    assert_eq!(hostnames(&bobs_found), ["bob-004"]);
}

pub async fn next_free_host_names_the_address_the_next_allocation_takes(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;

    assert_eq!(s.next_free_host(&alice.user_id, &r.id, at(1)).await.unwrap(), Some((r.clone(), Some(1))));
    assert_eq!(s.next_free_host(&bob.user_id, &r.id, at(1)).await.unwrap(), None, "another user's region");
    assert_eq!(s.next_free_host(&alice.user_id, &RegionId::generate(), at(1)).await.unwrap(), None);
    let mut hosts = Vec::new();
    for i in 0..5 {
        let (_, predicted) = s.next_free_host(&alice.user_id, &r.id, at(i)).await.unwrap().unwrap();
        let h = host(s, &alice, &r.id, &format!("h{i}"), at(i)).await;
        assert_eq!(predicted, Some(h.z));
        hosts.push(h);
    }
    release(s, &alice, &[hosts[3].id.clone(), hosts[0].id.clone()], at(10)).await;

    for expected in [1, 4, 6] {
        let (current, predicted) = s.next_free_host(&alice.user_id, &r.id, at(11)).await.unwrap().unwrap();
        assert_eq!(current, s.region(&alice.user_id, &r.id).await.unwrap().unwrap(), "the region as stored");
        assert_eq!(predicted, Some(expected));
        assert_eq!(host(s, &alice, &r.id, &format!("again-{expected}"), at(11)).await.z, expected);
    }
}
