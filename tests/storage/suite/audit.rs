//! Reading the audit trail: filters, totals, pagination, namespaces.

use std::sync::Arc;

use ipam_core::domain::{AuditAction, AuditEvent, AuditId, AuditResource, HostPatch, Notes, QuotaPatch};
use ipam_core::storage::{AuditFilter, Store, TimeRange};

use super::{admin, at, audit_page, country, host, page, range, region, release, user};

/// `(action, resource id)` of each event, in the order given.
fn keys(events: &[AuditEvent]) -> Vec<(AuditAction, String)> {
    events.iter().map(|e| (e.action, e.resource_id.clone())).collect()
}

pub async fn audit_events_filter_by_action_resource_address_and_time_with_real_totals(store: Arc<dyn Store>) {
    use AuditAction::{Create, QuotaUpdate, Release, Update};
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let a = region(s, &alice, &are, "ra", at(0)).await;
    let b = region(s, &alice, &are, "rb", at(1)).await;
    let a1 = host(s, &alice, &a.id, "a1", at(2)).await;
    let a2 = host(s, &alice, &a.id, "a2", at(3)).await;
    let b1 = host(s, &alice, &b.id, "b1", at(4)).await;
    let notes = HostPatch { notes: Some(Some(Notes::parse("patched").unwrap())), ..Default::default() };
    s.update_host(&alice, &a1.id, &notes, None, at(5)).await.unwrap();
    release(s, &alice, std::slice::from_ref(&a2.id), at(6)).await;
    let limit = QuotaPatch { region_quota: Some(Some(5)), ..Default::default() };
    s.update_quota(&admin("root"), &alice.user_id, &limit, at(7)).await.unwrap();
    let (a, b, a1, a2, b1) =
        (a.id.to_string(), b.id.to_string(), a1.id.to_string(), a2.id.to_string(), b1.id.to_string());
    let me = alice.user_id.to_string();
    let query = async |filter: AuditFilter| {
        let p = audit_page(s, &alice.user_id, &filter).await;
        assert_eq!(p.total, p.items.len() as u64, "the total counts exactly the matches ({filter:?})");
        keys(&p.items)
    };
    let action = |a: AuditAction| AuditFilter { action: Some(a), ..Default::default() };
    let kind = |k: AuditResource| AuditFilter { resource_type: Some(k), ..Default::default() };
    let within = |raw: &str| AuditFilter { within: Some(range(raw)), ..Default::default() };
    let time = |from: Option<i64>, to: Option<i64>| AuditFilter {
        time: TimeRange { from: from.map(at), to: to.map(at) },
        ..Default::default()
    };

    assert_eq!(
        query(AuditFilter::default()).await,
        [
            (QuotaUpdate, me.clone()),
            (Release, a2.clone()),
            (Update, a1.clone()),
            (Create, b1.clone()),
            (Create, a2.clone()),
            (Create, a1.clone()),
            (Create, b.clone()),
            (Create, a.clone()),
        ]
    );
    assert_eq!(
        query(action(Create)).await,
        [(Create, b1.clone()), (Create, a2.clone()), (Create, a1.clone()), (Create, b.clone()), (Create, a.clone()),]
    );
    assert_eq!(query(action(Update)).await, [(Update, a1.clone())]);
    assert_eq!(query(action(Release)).await, [(Release, a2.clone())]);
    assert_eq!(query(action(QuotaUpdate)).await, [(QuotaUpdate, me.clone())]);
    assert!(query(action(AuditAction::Retire)).await.is_empty());

    assert_eq!(query(kind(AuditResource::Region)).await, [(Create, b.clone()), (Create, a.clone())]);
    assert_eq!(query(kind(AuditResource::Host)).await.len(), 5);
    assert_eq!(query(kind(AuditResource::Quota)).await, [(QuotaUpdate, me.clone())]);
    let one = AuditFilter { resource_id: Some(a1.clone()), ..Default::default() };
    assert_eq!(query(one).await, [(Update, a1.clone()), (Create, a1.clone())]);

    assert_eq!(
        query(within("10.30.0.1")).await,
        [(Update, a1.clone()), (Create, a1.clone()), (Create, a.clone())],
        "an address matches its host's events and the events of the region around it"
    );
    assert_eq!(query(within("10.30.0.2/31")).await, [(Release, a2.clone()), (Create, a2.clone()), (Create, a.clone())]);
    assert_eq!(
        query(within("10.30.0.0/24")).await,
        [(Release, a2.clone()), (Update, a1.clone()), (Create, a2.clone()), (Create, a1.clone()), (Create, a.clone()),]
    );
    assert_eq!(query(within("10.30.1.0/24")).await, [(Create, b1.clone()), (Create, b.clone())]);
    assert_eq!(query(within("10.30.0.0/16")).await.len(), 7, "quota events have no address");
    assert!(query(within("10.31.0.0/16")).await.is_empty());

    assert_eq!(query(time(Some(2), Some(4))).await, [(Create, b1.clone()), (Create, a2.clone()), (Create, a1.clone())]);
    assert_eq!(query(time(Some(6), None)).await, [(QuotaUpdate, me.clone()), (Release, a2.clone())]);
    assert_eq!(query(time(None, Some(0))).await, [(Create, a.clone())], "bounds are inclusive");

    let combined = AuditFilter {
        action: Some(Create),
        resource_type: Some(AuditResource::Host),
        time: TimeRange { from: Some(at(3)), to: None },
        ..Default::default()
    };
    assert_eq!(query(combined).await, [(Create, b1.clone()), (Create, a2.clone())]);
    let combined = AuditFilter { action: Some(Create), within: Some(range("10.30.0.0/24")), ..Default::default() };
    assert_eq!(query(combined).await, [(Create, a2), (Create, a1), (Create, a)]);
    let nothing = AuditFilter { action: Some(Release), resource_id: Some(b1), ..Default::default() };
    assert!(query(nothing).await.is_empty());
}

pub async fn audit_events_paginate_newest_first_and_stay_in_the_users_namespace(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    for i in 1..=7 {
        host(s, &alice, &r.id, &format!("h{i}"), at(i)).await;
    }
    let bobs = region(s, &bob, &are, "dc", at(3)).await;
    host(s, &bob, &bobs.id, "h1", at(4)).await;
    let everything = audit_page(s, &alice.user_id, &AuditFilter::default()).await;

    let mut walked = Vec::new();
    for n in 1..=4 {
        let p = s.audit_events(&alice.user_id, &AuditFilter::default(), page(n, 3)).await.unwrap();
        assert_eq!(p.total, 8, "page {n} reports the full total");
        assert_eq!(p.items.len(), [3, 3, 2, 0][n as usize - 1], "page {n}");
        walked.extend(p.items);
    }

    assert_eq!(everything.total, 8);
    assert_eq!(walked, everything.items, "pages partition the full list in order");
    let times: Vec<_> = walked.iter().map(|e| e.timestamp).collect();
    assert_eq!(times, (0..=7).rev().map(at).collect::<Vec<_>>(), "newest first");
    assert!(walked.iter().all(|e| e.user_id == alice.user_id && e.actor_id == alice.user_id));
    assert_eq!(audit_page(s, &bob.user_id, &AuditFilter::default()).await.total, 2);

    let newest = &walked[0];
    assert_eq!(s.audit_event(&alice.user_id, &newest.id).await.unwrap().as_ref(), Some(newest));
    assert_eq!(s.audit_event(&bob.user_id, &newest.id).await.unwrap(), None, "another user's event is not found");
    assert_eq!(s.audit_event(&alice.user_id, &AuditId::generate()).await.unwrap(), None);
}
