//! Quota usage, administrator overrides and the quota list.

use std::sync::Arc;

use ipam_core::domain::{AuditAction, AuditResource, FieldChange, QuotaPatch, QuotaUsage};
use ipam_core::storage::{AuditFilter, Store};
use serde_json::json;

use super::{admin, at, audit_page, country, expect_quota_exceeded, page, region, roomy, try_batch, try_region, user};

pub async fn a_user_who_never_allocated_has_empty_usage(store: Arc<dyn Store>) {
    let s = &*store;
    let carol = user("carol");

    assert_eq!(s.quota(&carol.user_id).await.unwrap(), QuotaUsage::empty(carol.user_id.clone()));
    let listed = s.quotas(page(1, 50)).await.unwrap();
    assert_eq!((listed.items.len(), listed.total), (0, 0), "reading usage creates no record");
}

pub async fn quota_overrides_are_applied_reset_and_audited(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob, root) = (user("alice"), user("bob"), admin("root"));
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let before = s.quota(&alice.user_id).await.unwrap();
    let set = QuotaPatch { region_quota: Some(Some(1)), host_quota: Some(Some(2)) };

    let usage = s.update_quota(&root, &alice.user_id, &set, at(2)).await.expect("update quota");

    let expected = QuotaUsage {
        user_id: alice.user_id.clone(),
        region_quota: Some(1),
        host_quota: Some(2),
        region_count: 1,
        host_count: 0,
        last_updated: Some(at(2)),
    };
    assert_eq!(usage, expected);
    assert_eq!(s.quota(&alice.user_id).await.unwrap(), expected);
    expect_quota_exceeded(try_region(s, &alice, &are, "second", roomy(), at(3)).await, "regions", 1, 1, 1);
    expect_quota_exceeded(try_batch(s, &alice, &r.id, "web", 3, roomy(), at(3)).await, "hosts", 2, 0, 3);

    let quota_events = AuditFilter { action: Some(AuditAction::QuotaUpdate), ..Default::default() };
    let events = audit_page(s, &alice.user_id, &quota_events).await;
    assert_eq!(events.total, 1);
    let e = &events.items[0];
    assert_eq!((e.resource_type, e.resource_id.as_str()), (AuditResource::Quota, alice.user_id.as_str()));
    assert_eq!((&e.user_id, &e.actor_id, e.actor_username.as_str()), (&alice.user_id, &root.user_id, "root"));
    assert_eq!(e.snapshot, before.snapshot(), "the usage before the change");
    assert_eq!(
        e.changes,
        [
            FieldChange::new("region_quota", json!(null), json!(1)),
            FieldChange::new("host_quota", json!(null), json!(2)),
        ]
    );
    assert_eq!((e.x, e.y, e.z, e.timestamp), (None, None, None, at(2)));
    assert_eq!(audit_page(s, &root.user_id, &AuditFilter::default()).await.total, 0, "audited in alice's namespace");

    let reset = QuotaPatch { region_quota: Some(None), ..Default::default() };
    let usage = s.update_quota(&root, &alice.user_id, &reset, at(4)).await.unwrap();
    assert_eq!((usage.region_quota, usage.host_quota, usage.last_updated), (None, Some(2), Some(at(4))));
    let same = QuotaPatch { host_quota: Some(Some(2)), ..Default::default() };
    assert_eq!(s.update_quota(&root, &alice.user_id, &same, at(5)).await.unwrap().last_updated, Some(at(4)));
    s.update_quota(&root, &alice.user_id, &QuotaPatch::default(), at(5)).await.unwrap();
    let events = audit_page(s, &alice.user_id, &quota_events).await;
    assert_eq!(events.total, 2, "a change that changes nothing is not audited");
    assert_eq!(events.items[0].changes, [FieldChange::new("region_quota", json!(1), json!(null))]);
    assert_eq!(s.quota(&alice.user_id).await.unwrap().last_updated, Some(at(4)));
    try_region(s, &alice, &are, "second", roomy(), at(6)).await.expect("the default applies again");

    let for_newcomer = QuotaPatch { host_quota: Some(Some(50)), ..Default::default() };
    let bobs = s.update_quota(&root, &bob.user_id, &for_newcomer, at(7)).await.unwrap();
    let expected_bob =
        QuotaUsage { host_quota: Some(50), last_updated: Some(at(7)), ..QuotaUsage::empty(bob.user_id.clone()) };
    assert_eq!(bobs, expected_bob);
    assert_eq!(s.quota(&bob.user_id).await.unwrap(), expected_bob);
}

pub async fn quotas_are_listed_by_user_id_with_real_totals(store: Arc<dyn Store>) {
    let s = &*store;
    let are = country(s, "ARE").await;
    for (i, name) in ["carol", "alice", "bob"].into_iter().enumerate() {
        region(s, &user(name), &are, "dc", at(i as i64)).await;
    }
    let dave = user("dave");
    let patch = QuotaPatch { region_quota: Some(Some(7)), ..Default::default() };
    s.update_quota(&admin("root"), &dave.user_id, &patch, at(5)).await.unwrap();

    let first = s.quotas(page(1, 2)).await.unwrap();
    let second = s.quotas(page(2, 2)).await.unwrap();

    assert_eq!((first.total, second.total), (4, 4));
    let ids: Vec<_> = first.items.iter().chain(&second.items).map(|u| u.user_id.as_str()).collect();
    assert_eq!(ids, ["u-alice", "u-bob", "u-carol", "u-dave"]);
    for usage in first.items.iter().chain(&second.items) {
        assert_eq!(usage, &s.quota(&usage.user_id).await.unwrap());
    }
    assert_eq!((second.items[0].region_count, second.items[1].region_quota), (1, Some(7)));
}
