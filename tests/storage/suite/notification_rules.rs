//! Notification rules and their per-resource states: rules within a per-user limit, patches that
//! stamp `updated_at` and re-arm the rule's states (only its own), deletion with its states,
//! the active rules, and state upserts. Times start in 2200 (see `notifications.rs`).

use std::sync::Arc;

use ipam_core::domain::{
    Channels, Cooldown, NotificationRule, ResourceKey, RuleConditions, RuleId, RuleName, RulePatch, RuleState,
    Severity, UserId,
};
use ipam_core::error::ConflictKind;
use ipam_core::storage::Store;
use serde_json::json;

use super::notifications::on;
use super::{expect_conflict, first_100, page, user};

/// An active rule of `owner` on `conditions`, created at `on(secs)`.
fn rule(owner: &UserId, name: &str, conditions: serde_json::Value, secs: i64) -> NotificationRule {
    let conditions = RuleConditions::from_stored(&conditions).expect("conditions");
    NotificationRule {
        id: RuleId::generate(),
        user_id: owner.clone(),
        rule_name: RuleName::parse(name).expect("rule name"),
        severity: conditions.default_severity(),
        conditions,
        channels: Channels::default(),
        cooldown: Cooldown::default(),
        is_active: true,
        created_at: on(secs),
        updated_at: on(secs),
    }
}

fn half_full() -> serde_json::Value {
    json!({"utilization_threshold": 50, "resource_type": "region"})
}

/// A state of `rule` for `key`, above its threshold, fired once at `on(5)`.
fn state(rule: &NotificationRule, key: &str) -> RuleState {
    RuleState {
        rule_id: rule.id.clone(),
        resource_key: ResourceKey::from_stored(key.to_owned()),
        above: true,
        crossings: 2,
        last_fired_at: Some(on(5)),
    }
}

async fn stored_state(s: &dyn Store, st: &RuleState) -> Option<RuleState> {
    s.rule_state(&st.rule_id, &st.resource_key).await.expect("rule_state")
}

pub async fn rules_are_managed_per_user_within_a_limit(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    let mut events = rule(&alice, "Hosts", json!({"event_types": ["host.allocated"]}), 1);
    events.channels = Channels::parse(&["in_app", "webhook"]).expect("channels");
    events.cooldown = Cooldown::parse(0).expect("cooldown");
    let (a1, a2, a3) = (events, rule(&alice, "Half", half_full(), 2), rule(&alice, "Third", half_full(), 3));
    for r in [&a1, &a2, &a3] {
        s.create_rule(r, 3).await.expect("create_rule under the limit");
    }
    let (message, details) =
        expect_conflict(s.create_rule(&rule(&alice, "Over", half_full(), 4), 3).await, ConflictKind::Conflict);
    assert_eq!(message, "at most 3 notification rules are allowed; delete one first");
    assert_eq!(details.get("limit"), Some(&json!(3)));
    let b1 = rule(&bob, "Bob's", half_full(), 5);
    s.create_rule(&b1, 3).await.expect("the limit is per user");

    let listed = s.list_rules(&alice, first_100()).await.expect("list_rules");
    assert_eq!((listed.items, listed.total), (vec![a3.clone(), a2.clone(), a1.clone()], 3), "newest first, exactly");
    let second = s.list_rules(&alice, page(2, 2)).await.expect("list_rules");
    assert_eq!((second.items, second.total), (vec![a1.clone()], 3));
    assert_eq!(s.rule(&alice, &a1.id).await.expect("rule"), Some(a1.clone()));
    assert_eq!(s.rule(&bob, &a1.id).await.expect("rule"), None, "another user's rule is not found");
    let rename = RulePatch { rule_name: Some(RuleName::parse("Mine").expect("name")), ..Default::default() };
    assert_eq!(s.update_rule(&bob, &a1.id, &rename, on(6)).await.expect("update_rule"), None);
    assert!(!s.delete_rule(&bob, &a1.id).await.expect("delete_rule"));
    assert!(s.delete_rule(&alice, &a1.id).await.expect("delete_rule"));
    assert!(!s.delete_rule(&alice, &a1.id).await.expect("delete_rule"), "once");
    assert_eq!(s.rule(&alice, &a1.id).await.expect("rule"), None);
    s.create_rule(&rule(&alice, "Room again", half_full(), 7), 3).await.expect("a deletion frees a place");
}

pub async fn a_rule_patch_stamps_updated_at_and_rearming_resets_only_the_rules_states(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice").user_id;
    let (r, other) = (rule(&alice, "Half", half_full(), 1), rule(&alice, "Other", half_full(), 2));
    for x in [&r, &other] {
        s.create_rule(x, 10).await.expect("create_rule");
    }
    let (sa, sb, so) = (state(&r, "region:A"), state(&r, "region:B"), state(&other, "region:A"));
    for st in [&sa, &sb, &so] {
        assert!(s.save_rule_state(st, on(6)).await.expect("save_rule_state"));
    }

    let quiet = RulePatch { severity: Some(Severity::Critical), ..Default::default() };
    let patched = s.update_rule(&alice, &r.id, &quiet, on(10)).await.expect("update_rule").expect("found");
    assert_eq!((patched.severity, patched.updated_at, patched.created_at), (Severity::Critical, on(10), on(1)));
    assert_eq!(s.rule(&alice, &r.id).await.expect("rule"), Some(patched.clone()), "stored as returned");
    assert_eq!(stored_state(s, &sa).await, Some(sa.clone()), "a patch that does not re-arm leaves states alone");

    let lower = RuleConditions::from_stored(&json!({"utilization_threshold": 30, "resource_type": "region"}));
    let rearming = RulePatch { conditions: lower, ..Default::default() };
    let patched = s.update_rule(&alice, &r.id, &rearming, on(20)).await.expect("update_rule").expect("found");
    assert_eq!(patched, r.patched(&quiet, on(10)).patched(&rearming, on(20)), "as the domain decides");
    for st in [&sa, &sb] {
        let rearmed = RuleState { above: false, ..st.clone() };
        assert_eq!(stored_state(s, st).await, Some(rearmed), "above reset; crossings and last firing kept");
    }
    assert_eq!(stored_state(s, &so).await, Some(so.clone()), "another rule's state is untouched");

    for st in [&sa, &sb] {
        s.save_rule_state(st, on(21)).await.expect("save_rule_state");
    }
    let off = RulePatch { is_active: Some(false), ..Default::default() };
    s.update_rule(&alice, &r.id, &off, on(30)).await.expect("update_rule").expect("found");
    assert_eq!(stored_state(s, &sa).await, Some(sa.clone()), "disabling does not re-arm");
    let on_again = RulePatch { is_active: Some(true), ..Default::default() };
    s.update_rule(&alice, &r.id, &on_again, on(40)).await.expect("update_rule").expect("found");
    assert_eq!(stored_state(s, &sa).await.map(|st| st.above), Some(false), "re-enabling re-arms");
}

pub async fn deleting_a_rule_deletes_its_states_and_no_state_outlives_it(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice").user_id;
    let (r, other) = (rule(&alice, "Half", half_full(), 1), rule(&alice, "Other", half_full(), 2));
    for x in [&r, &other] {
        s.create_rule(x, 10).await.expect("create_rule");
    }
    let (sa, sb, so) = (state(&r, "region:A"), state(&r, "country:USA"), state(&other, "region:A"));
    for st in [&sa, &sb, &so] {
        s.save_rule_state(st, on(6)).await.expect("save_rule_state");
    }
    assert!(s.delete_rule(&alice, &r.id).await.expect("delete_rule"));
    assert_eq!((stored_state(s, &sa).await, stored_state(s, &sb).await), (None, None));
    assert_eq!(stored_state(s, &so).await, Some(so), "another rule's state stays");
    assert!(!s.save_rule_state(&sa, on(7)).await.expect("save_rule_state"), "the rule is gone");
    assert_eq!(stored_state(s, &sa).await, None, "nothing written for a deleted rule");
}

pub async fn active_rules_are_the_users_active_rules_oldest_first(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    let (r1, mut r2, r3) = (
        rule(&alice, "One", half_full(), 1),
        rule(&alice, "Two", half_full(), 2),
        rule(&alice, "Three", half_full(), 3),
    );
    r2.is_active = false;
    for r in [&r1, &r2, &r3, &rule(&bob, "Bob's", half_full(), 4)] {
        s.create_rule(r, 10).await.expect("create_rule");
    }
    assert_eq!(s.active_rules(&alice).await.expect("active_rules"), vec![r1.clone(), r3.clone()]);
    let off = RulePatch { is_active: Some(false), ..Default::default() };
    s.update_rule(&alice, &r1.id, &off, on(10)).await.expect("update_rule").expect("found");
    assert_eq!(s.active_rules(&alice).await.expect("active_rules"), vec![r3]);
    assert!(s.active_rules(&user("carol").user_id).await.expect("active_rules").is_empty());
}

pub async fn a_rule_state_is_upserted_and_reads_back_exactly(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice").user_id;
    let r = rule(&alice, "Half", half_full(), 1);
    s.create_rule(&r, 10).await.expect("create_rule");
    let fresh = RuleState::unseen(&r.id, ResourceKey::from_stored("region:A".into()));
    assert_eq!(stored_state(s, &fresh).await, None, "nothing stored yet");
    let crossed = RuleState { above: true, crossings: 1, last_fired_at: Some(on(10)), ..fresh.clone() };
    assert!(s.save_rule_state(&crossed, on(10)).await.expect("save_rule_state"));
    assert_eq!(stored_state(s, &crossed).await, Some(crossed.clone()));
    let fell = RuleState { above: false, ..crossed.clone() };
    assert!(s.save_rule_state(&fell, on(20)).await.expect("save_rule_state"));
    assert_eq!(stored_state(s, &fell).await, Some(fell), "replaced, not added");
    let other = ResourceKey::from_stored("region:B".into());
    assert_eq!(s.rule_state(&r.id, &other).await.expect("rule_state"), None, "states are per resource");
    let unknown = RuleState { rule_id: RuleId::generate(), ..crossed };
    assert!(!s.save_rule_state(&unknown, on(30)).await.expect("save_rule_state"), "no such rule");
}
