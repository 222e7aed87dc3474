//! Comments on regions and hosts.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipam_core::auth::Actor;
use ipam_core::domain::{AuditAction, Comment, CommentId, CommentTarget, CommentText, FieldChange, HostId, RegionId};
use ipam_core::storage::{AuditFilter, Store};
use serde_json::json;

use super::{at, audit_page, batch, country, expect_not_found, host, page, region, release, retire, user};

/// A comment by `actor` in their own namespace.
fn comment(actor: &Actor, target: CommentTarget, text: &str, now: DateTime<Utc>) -> Comment {
    Comment {
        id: CommentId::generate(),
        user_id: actor.user_id.clone(),
        target,
        text: CommentText::parse(text).expect("comment text"),
        author_id: actor.user_id.clone(),
        author: actor.username.clone(),
        created_at: now,
    }
}

/// Adds a comment (must succeed) and returns it.
async fn add(s: &dyn Store, actor: &Actor, target: CommentTarget, text: &str, now: DateTime<Utc>) -> Comment {
    let c = comment(actor, target, text, now);
    s.add_comment(actor, &c).await.expect("add_comment");
    c
}

pub async fn comments_are_listed_newest_first_with_real_totals_and_audited(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let h = host(s, &alice, &r.id, "web", at(0)).await;
    let on_region = CommentTarget::Region(r.id.clone());
    let on_host = CommentTarget::Host(h.id.clone());
    let first = add(s, &alice, on_region.clone(), "first", at(1)).await;
    let second = add(s, &alice, on_region.clone(), "second\nwith a line break", at(2)).await;
    let third = add(s, &alice, on_region.clone(), "third", at(3)).await;
    let on_the_host = add(s, &alice, on_host.clone(), "host note", at(4)).await;

    let page1 = s.comments(&alice.user_id, &on_region, page(1, 2)).await.unwrap().expect("region exists");
    let page2 = s.comments(&alice.user_id, &on_region, page(2, 2)).await.unwrap().expect("region exists");
    let host_page = s.comments(&alice.user_id, &on_host, page(1, 50)).await.unwrap().expect("host exists");

    assert_eq!((page1.items, page1.total), (vec![third, second], 3));
    assert_eq!((page2.items, page2.total), (vec![first], 3));
    assert_eq!((host_page.items, host_page.total), (vec![on_the_host], 1));
    let empty_region = region(s, &alice, &are, "quiet", at(5)).await;
    let none_yet = s.comments(&alice.user_id, &CommentTarget::Region(empty_region.id), page(1, 50)).await.unwrap();
    assert_eq!(none_yet.map(|p| (p.items.len(), p.total)), Some((0, 0)));

    let comment_events = AuditFilter { action: Some(AuditAction::Comment), ..Default::default() };
    let events = audit_page(s, &alice.user_id, &comment_events).await;
    assert_eq!(events.total, 4, "every comment is audited");
    assert_eq!(events.items[0].resource_id, h.id.as_str());
    assert_eq!(events.items[0].changes, [FieldChange::new("comment", json!(null), json!("host note"))]);
    assert_eq!(events.items[0].timestamp, at(4));
    assert_eq!(events.items[3].resource_id, r.id.as_str());
    assert_eq!(events.items[3].changes, [FieldChange::new("comment", json!(null), json!("first"))]);
}

pub async fn comments_cannot_reach_another_users_or_a_missing_resource(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let h = host(s, &alice, &r.id, "web", at(0)).await;

    expect_not_found(s.add_comment(&bob, &comment(&bob, CommentTarget::Region(r.id.clone()), "mine?", at(1))).await);
    expect_not_found(s.add_comment(&bob, &comment(&bob, CommentTarget::Host(h.id.clone()), "mine?", at(1))).await);
    let missing_host = CommentTarget::Host(HostId::generate());
    expect_not_found(s.add_comment(&alice, &comment(&alice, missing_host.clone(), "hello", at(1))).await);

    assert!(s.comments(&bob.user_id, &CommentTarget::Region(r.id.clone()), page(1, 50)).await.unwrap().is_none());
    assert!(s.comments(&alice.user_id, &missing_host, page(1, 50)).await.unwrap().is_none());
    let missing_region = CommentTarget::Region(RegionId::generate());
    assert!(s.comments(&alice.user_id, &missing_region, page(1, 50)).await.unwrap().is_none());
    let alices = s.comments(&alice.user_id, &CommentTarget::Region(r.id.clone()), page(1, 50)).await.unwrap();
    assert_eq!(alices.map(|p| p.total), Some(0), "refused comments are not stored");
    let comment_events = AuditFilter { action: Some(AuditAction::Comment), ..Default::default() };
    assert_eq!(audit_page(s, &alice.user_id, &comment_events).await.total, 0);
    assert_eq!(audit_page(s, &bob.user_id, &comment_events).await.total, 0);
}

pub async fn comments_vanish_with_their_host_and_with_a_retired_region(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    let r = region(s, &alice, &are, "dc", at(0)).await;
    let hosts = batch(s, &alice, &r.id, "web", 2, at(0)).await;
    let on_region = CommentTarget::Region(r.id.clone());
    let on_first = CommentTarget::Host(hosts[0].id.clone());
    let on_second = CommentTarget::Host(hosts[1].id.clone());
    add(s, &alice, on_region.clone(), "region note", at(1)).await;
    add(s, &alice, on_first.clone(), "first host note", at(2)).await;
    add(s, &alice, on_second.clone(), "second host note", at(3)).await;

    release(s, &alice, &[hosts[0].id.clone()], at(4)).await;

    assert!(s.comments(&alice.user_id, &on_first, page(1, 50)).await.unwrap().is_none());
    let remaining = s.comments(&alice.user_id, &on_second, page(1, 50)).await.unwrap().expect("host exists");
    assert_eq!(remaining.total, 1);
    assert_eq!(s.comments(&alice.user_id, &on_region, page(1, 50)).await.unwrap().map(|p| p.total), Some(1));

    retire(s, &alice, &r.id, true, at(5)).await.expect("cascade");

    assert!(s.comments(&alice.user_id, &on_region, page(1, 50)).await.unwrap().is_none());
    assert!(s.comments(&alice.user_id, &on_second, page(1, 50)).await.unwrap().is_none());
    let comment_events = AuditFilter { action: Some(AuditAction::Comment), ..Default::default() };
    assert_eq!(audit_page(s, &alice.user_id, &comment_events).await.total, 3, "the audit history survives deletion");
}
