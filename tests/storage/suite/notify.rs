//! Notifications created inside the storage's own units of work, observed through the `Store`
//! traits only: threshold rules firing on dispatched allocations (once per crossing, cooldown
//! respected), event rules (once per event, per owner), the owner's notification settings, the
//! `webhook` channel's `notification.created` events (which trigger no rule), the scheduled
//! catch-up, and the reservation expiring/expired notices. Times start in 2200 (see
//! `notifications.rs`), so MongoDB's TTL monitor never deletes what a test just created.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipam_core::auth::Actor;
use ipam_core::domain::{
    Channels, Cooldown, EventType, NewReservation, Notification, NotificationCreated, NotificationRule,
    NotificationType, PreferencesPatch, Reservation, ReservationKind, ReservationReason, ResourceKey, RuleConditions,
    RuleId, RuleName, Severity, UserId,
};
use ipam_core::storage::{DispatchReport, NotificationFilter, Store};
use serde_json::{Value, json};

use super::notifications::on;
use super::platform::hook;
use super::{batch, country, first_100, host, region, release, user};

/// One minute and one day, in seconds.
const MINUTE: i64 = 60;
const DAY: i64 = 86_400;

/// An active rule of `owner` named `name` on `conditions`, sent to `channels` at `severity`.
fn rule(owner: &Actor, name: &str, conditions: Value, channels: &[&str], severity: Severity) -> NotificationRule {
    NotificationRule {
        id: RuleId::generate(),
        user_id: owner.user_id.clone(),
        rule_name: RuleName::parse(name).expect("rule name"),
        severity,
        conditions: RuleConditions::from_stored(&conditions).expect("conditions"),
        channels: Channels::parse(channels).expect("channels"),
        cooldown: Cooldown::default(),
        is_active: true,
        created_at: on(0),
        updated_at: on(0),
    }
}

/// Stores `rule` (must succeed) and returns it.
async fn add(s: &dyn Store, rule: NotificationRule) -> NotificationRule {
    s.create_rule(&rule, 10).await.expect("create_rule");
    rule
}

/// The 50 % region rule, in the inbox.
fn half_full(owner: &Actor) -> NotificationRule {
    let half = json!({"utilization_threshold": 50, "resource_type": "region"});
    rule(owner, "Half", half, &["in_app"], Severity::Warning)
}

/// An event rule on `host.allocated`.
fn on_hosts(owner: &Actor, name: &str, channels: &[&str], severity: Severity) -> NotificationRule {
    rule(owner, name, json!({"event_types": ["host.allocated"]}), channels, severity)
}

/// Dispatches every waiting event at `now`; returns every report.
async fn drain(s: &dyn Store, now: DateTime<Utc>) -> Vec<DispatchReport> {
    let mut reports = Vec::new();
    loop {
        let r = s.dispatch_events(500, now).await.expect("dispatch_events");
        if r.events == 0 {
            return reports;
        }
        reports.push(r);
    }
}

/// `(type, severity)` of the notifications every dispatch at `now` reported.
async fn fired(s: &dyn Store, now: DateTime<Utc>) -> Vec<(NotificationType, Severity)> {
    kinds(drain(s, now).await.iter().flat_map(|r| &r.notifications))
}

/// `(type, severity)` of each reported notification.
fn kinds<'a>(created: impl IntoIterator<Item = &'a NotificationCreated>) -> Vec<(NotificationType, Severity)> {
    created.into_iter().map(|n| (n.notification_type, n.severity)).collect()
}

/// The user's inbox at `now` (first 100, newest first).
async fn inbox(s: &dyn Store, owner: &UserId, now: DateTime<Utc>) -> Vec<Notification> {
    s.notifications(owner, &NotificationFilter::default(), first_100(), now).await.expect("notifications").items
}

/// Replaces the user's notification settings.
async fn settings(s: &dyn Store, owner: &Actor, raw: Value, now: DateTime<Utc>) {
    let Value::Object(m) = raw else { panic!("settings are an object") };
    let patch = PreferencesPatch { notification_settings: Some(m), ..Default::default() };
    s.update_preferences(&owner.user_id, &patch, 1_000_000, now).await.expect("update_preferences");
}

const THRESHOLD: (NotificationType, Severity) = (NotificationType::CapacityThreshold, Severity::Warning);

pub async fn a_threshold_rule_fires_once_per_upward_crossing_and_again_only_after_its_cooldown(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let edge = region(s, &alice, &country(s, "ARE").await, "edge-1", on(0)).await;
    let half = add(s, half_full(&alice)).await;
    let key = ResourceKey::from_stored(format!("region:{}", edge.id));
    let fill = batch(s, &alice, &edge.id, "fill", 126, on(1)).await;
    assert_eq!(fired(s, on(2)).await, [], "126 of 254 hosts (49.6%) is below 50%");

    host(s, &alice, &edge.id, "crosses", on(3)).await;
    let reports = drain(s, on(4)).await;
    let created: Vec<&NotificationCreated> = reports.iter().flat_map(|r| &r.notifications).collect();
    assert_eq!(kinds(created.iter().copied()), [THRESHOLD], "127 of 254 is exactly 50%: one notification");
    assert_eq!(created[0].latency, chrono::Duration::seconds(1), "from the allocation to the dispatch");
    let got = inbox(s, &alice.user_id, on(4)).await;
    assert_eq!(got.len(), 1, "one notification in the owner's inbox: {got:?}");
    let n = &got[0];
    assert_eq!((n.notification_type, n.severity, n.created_at), (THRESHOLD.0, THRESHOLD.1, on(4)));
    assert_eq!(n.dedup_key, format!("rule:{}:region:{}:1", half.id, edge.id));
    assert_eq!(n.resource_link, Some(format!("/ipam/regions/{}", edge.id)));
    assert!(n.message.contains("(127 of 254 hosts)"), "{}", n.message);

    batch(s, &alice, &edge.id, "more", 10, on(5)).await;
    assert_eq!(fired(s, on(6)).await, [], "staying above fires nothing");
    let ids: Vec<_> = fill.iter().map(|h| h.id.clone()).collect();
    release(s, &alice, &ids[..20], on(7)).await;
    assert_eq!(fired(s, on(8)).await, [], "117 of 254: below again");
    batch(s, &alice, &edge.id, "back", 20, on(9)).await;
    assert_eq!(fired(s, on(10)).await, [], "a fresh crossing within the 60-minute cooldown is silent");
    let state = s.rule_state(&half.id, &key).await.expect("rule_state").expect("stored");
    assert_eq!((state.above, state.crossings, state.last_fired_at), (true, 2, Some(on(4))), "consumed, not fired");

    release(s, &alice, &ids[20..40], on(11)).await;
    assert_eq!(fired(s, on(12)).await, []);
    batch(s, &alice, &edge.id, "again", 20, on(13)).await;
    assert_eq!(fired(s, on(4 + 61 * MINUTE)).await, [THRESHOLD], "61 minutes after the first firing");
    let got = inbox(s, &alice.user_id, on(4 + 61 * MINUTE)).await;
    let keys: Vec<&str> = got.iter().map(|n| n.dedup_key.as_str()).collect();
    let crossing = |c: u32| format!("rule:{}:region:{}:{c}", half.id, edge.id);
    assert_eq!(keys, [crossing(3), crossing(1)], "the third crossing fired; the second did not");
}

pub async fn an_event_rule_reports_each_of_its_owners_events_once(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let alices = add(s, on_hosts(&alice, "Hosts", &["in_app"], Severity::Info)).await;
    add(s, on_hosts(&bob, "Bob's hosts", &["in_app"], Severity::Info)).await;
    let (a_region, b_region) =
        (region(s, &alice, &are, "edge-a", on(1)).await, region(s, &bob, &are, "edge-b", on(1)).await);
    let hosts = batch(s, &alice, &a_region.id, "web", 3, on(2)).await;
    let bobs = batch(s, &bob, &b_region.id, "db", 2, on(2)).await;

    let first = s.dispatch_events(100, on(3)).await.expect("dispatch_events");
    let second = s.dispatch_events(100, on(4)).await.expect("dispatch_events");
    assert_eq!(first.events, 7, "2 region.created + 5 host.allocated");
    let info = (NotificationType::EventRule, Severity::Info);
    assert_eq!(kinds(&first.notifications), [info; 5], "one per host.allocated event, none for region.created");
    assert_eq!(second, DispatchReport::default(), "a second dispatch creates nothing");

    let mut got = inbox(s, &alice.user_id, on(4)).await;
    got.sort_by(|a, b| a.message.cmp(&b.message));
    let expected: Vec<String> =
        hosts.iter().map(|h| format!("Rule 'Hosts': host {} ({}) was allocated", h.hostname, h.ip_address())).collect();
    assert_eq!(got.iter().map(|n| n.message.clone()).collect::<Vec<_>>(), expected, "alice's hosts only");
    for (n, h) in got.iter().zip(&hosts) {
        assert_eq!((n.notification_type, n.resource_id.as_deref()), (info.0, Some(h.id.as_str())));
        assert!(n.dedup_key.starts_with(&format!("rule:{}:event:", alices.id)), "{}", n.dedup_key);
    }
    let bobs_inbox = inbox(s, &bob.user_id, on(4)).await;
    let mut bob_ids: Vec<_> = bobs_inbox.iter().filter_map(|n| n.resource_id.clone()).collect();
    bob_ids.sort();
    let mut expected: Vec<_> = bobs.iter().map(|h| h.id.as_str().to_owned()).collect();
    expected.sort();
    assert_eq!(bob_ids, expected, "bob's rule hears bob's events only");
}

pub async fn notification_settings_decide_what_reaches_the_inbox(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    settings(s, &alice, json!({"in_app_enabled": false}), on(0)).await;
    settings(s, &bob, json!({"severity_threshold": "critical"}), on(0)).await;
    add(s, on_hosts(&alice, "Hosts", &["in_app"], Severity::Critical)).await;
    add(s, on_hosts(&bob, "Warn", &["in_app"], Severity::Warning)).await;
    add(s, on_hosts(&bob, "Page", &["in_app"], Severity::Critical)).await;
    let (a_region, b_region) =
        (region(s, &alice, &are, "edge-a", on(1)).await, region(s, &bob, &are, "edge-b", on(1)).await);
    host(s, &alice, &a_region.id, "web-1", on(2)).await;
    host(s, &bob, &b_region.id, "db-1", on(2)).await;

    let critical = (NotificationType::EventRule, Severity::Critical);
    assert_eq!(fired(s, on(3)).await, [critical], "only bob's critical rule stores anything");
    assert_eq!(inbox(s, &alice.user_id, on(3)).await, [], "alice's inbox is switched off");
    let got = inbox(s, &bob.user_id, on(3)).await;
    assert_eq!(got.len(), 1, "the warning rule is below bob's threshold: {got:?}");
    assert_eq!(
        (got[0].severity, got[0].message.as_str()),
        (Severity::Critical, "Rule 'Page': host db-1 (10.30.0.1) was allocated")
    );

    settings(s, &alice, json!({"in_app_enabled": true}), on(4)).await;
    host(s, &alice, &a_region.id, "web-2", on(5)).await;
    assert_eq!(fired(s, on(6)).await, [critical], "settings are read at each dispatch");
    assert_eq!(inbox(s, &alice.user_id, on(6)).await.len(), 1);
}

pub async fn a_webhook_channel_raises_notification_created_which_never_triggers_a_rule(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    assert!(EventType::parse_rule_event("notification.created").is_err(), "a rule cannot list it");
    assert!(RuleConditions::from_stored(&json!({"event_types": ["notification.created"]})).is_none());
    let w = hook(s, &alice, &["notification.created"], on(0)).await;
    add(s, on_hosts(&alice, "Pager", &["webhook"], Severity::Info)).await;
    add(s, on_hosts(&alice, "Inbox", &["in_app"], Severity::Info)).await;
    let edge = region(s, &alice, &country(s, "ARE").await, "edge-1", on(1)).await;
    host(s, &alice, &edge.id, "web-1", on(2)).await;

    let reports = drain(s, on(3)).await;
    let events: u64 = reports.iter().map(|r| r.events).sum();
    assert_eq!(events, 3, "region.created, host.allocated, then the Pager's notification.created");
    let created = kinds(reports.iter().flat_map(|r| &r.notifications));
    assert_eq!(created.len(), 2, "one per rule, none for notification.created: {created:?}");
    let got = inbox(s, &alice.user_id, on(3)).await;
    assert_eq!(got.len(), 1, "the webhook-only rule stores nothing: {got:?}");
    assert_eq!(got[0].message, "Rule 'Inbox': host web-1 (10.30.0.1) was allocated");

    let page = s.list_deliveries(&alice.user_id, &w.id, first_100()).await.expect("list_deliveries").expect("exists");
    assert_eq!(page.items.len(), 1, "one notification.created delivery: {:?}", page.items);
    let d = &page.items[0];
    assert_eq!(d.event_type, EventType::NotificationCreated);
    let body: Value = serde_json::from_str(&d.body).expect("the body is JSON");
    assert_eq!(body["event_type"], "notification.created");
    assert_eq!(body["data"]["message"], "Rule 'Pager': host web-1 (10.30.0.1) was allocated");
    assert_eq!((&body["data"]["notification_type"], &body["data"]["severity"]), (&json!("event_rule"), &json!("info")));
}

pub async fn catch_up_fires_a_rule_created_above_its_threshold_once_and_raises_no_events(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let are = country(s, "ARE").await;
    let full = region(s, &alice, &are, "edge-full", on(1)).await;
    let quiet = region(s, &alice, &are, "edge-quiet", on(1)).await;
    batch(s, &alice, &full.id, "fill", 210, on(1)).await;
    batch(s, &alice, &quiet.id, "few", 10, on(1)).await;
    drain(s, on(2)).await; // region.created, host.allocated and the 80% capacity.warning
    add(s, on_hosts(&bob, "Bob's hosts", &["in_app"], Severity::Info)).await;
    assert_eq!(s.threshold_rule_owners(None, 100).await.expect("owners"), [], "an event rule is not one");

    let half = add(s, half_full(&alice)).await;
    assert_eq!(inbox(s, &alice.user_id, on(3)).await, [], "no event crossed the threshold since");
    assert_eq!(s.threshold_rule_owners(None, 100).await.expect("owners"), std::slice::from_ref(&alice.user_id));
    assert_eq!(s.threshold_rule_owners(Some(&alice.user_id), 100).await.expect("owners"), []);
    assert_eq!(s.outbox_backlog().await.expect("outbox_backlog"), (0, None), "sanity: nothing waits");

    let first = s.catch_up_rules(&alice.user_id, on(4)).await.expect("catch_up_rules");
    let second = s.catch_up_rules(&alice.user_id, on(5)).await.expect("catch_up_rules");
    assert_eq!(kinds(&first), [THRESHOLD], "the region above 50% fires; the quiet one does not");
    assert_eq!(second, [], "a second catch-up fires nothing");
    assert_eq!(s.catch_up_rules(&bob.user_id, on(5)).await.expect("catch_up_rules"), []);
    assert_eq!(s.outbox_backlog().await.expect("outbox_backlog"), (0, None), "catch-up raises no capacity.* events");
    let got = inbox(s, &alice.user_id, on(5)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].dedup_key, format!("rule:{}:region:{}:1", half.id, full.id));

    host(s, &alice, &full.id, "one-more", on(6)).await;
    assert_eq!(fired(s, on(7)).await, [], "the dispatcher sees the state the catch-up stored");
}

pub async fn catch_up_fires_a_country_rule_created_above_its_threshold_once(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let are = country(s, "ARE").await;
    for i in 0..21 {
        region(s, &alice, &are, &format!("r-{i}"), on(1)).await;
    }
    drain(s, on(2)).await;
    let one_percent = json!({"utilization_threshold": 1, "resource_type": "country"});
    let r = add(s, rule(&alice, "Countries", one_percent, &["in_app"], Severity::Critical)).await;
    let first = s.catch_up_rules(&alice.user_id, on(3)).await.expect("catch_up_rules");
    let second = s.catch_up_rules(&alice.user_id, on(4)).await.expect("catch_up_rules");
    let critical = (NotificationType::CapacityThreshold, Severity::Critical);
    assert_eq!(kinds(&first), [critical], "21 of ARE's 2048 blocks is 1.03%; every other country is empty");
    assert_eq!(second, [], "a second catch-up fires nothing");
    assert_eq!(s.outbox_backlog().await.expect("outbox_backlog"), (0, None), "catch-up raises no events");
    let got = inbox(s, &alice.user_id, on(4)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].dedup_key, format!("rule:{}:country:ARE:1", r.id));
    assert_eq!(got[0].resource_link.as_deref(), Some("/ipam/countries/ARE"));
}

/// A reservation of the block `10.30.Y.0/24` for `days`, stored at `now`.
async fn reserve(s: &dyn Store, owner: &Actor, y: u8, days: u32, now: DateTime<Utc>) -> Reservation {
    let new = NewReservation {
        kind: ReservationKind::Region,
        x: 30,
        y,
        z: None,
        reason: ReservationReason::parse("held for the rollout").expect("reason"),
        expires_in_days: Some(days),
    };
    let r = Reservation::new(&owner.user_id, &owner.username, &new, now);
    s.create_reservation(owner, &r, now).await.expect("create_reservation");
    r
}

pub async fn reservations_announce_their_expiry_once_and_their_lapse_once(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    settings(s, &bob, json!({"in_app_enabled": false}), on(0)).await;
    let held = reserve(s, &alice, 5, 2, on(0)).await;
    reserve(s, &bob, 5, 2, on(0)).await;
    assert_eq!(fired(s, on(1)).await, [], "reservation.created notifies nobody");

    let announce = |now| async move { s.announce_expiring_reservations(now, 100).await.expect("announce") };
    assert_eq!(announce(on(DAY - MINUTE)).await, [], "more than 24 hours before the expiry");
    let expiring = (NotificationType::ReservationExpiring, Severity::Warning);
    assert_eq!(kinds(&announce(on(DAY + MINUTE)).await), [expiring], "alice's; bob's inbox is off");
    assert_eq!(announce(on(DAY + 2 * MINUTE)).await, [], "once per reservation");
    let got = inbox(s, &alice.user_id, on(DAY + 2 * MINUTE)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].notification_type, got[0].dedup_key.clone()),
        (expiring.0, format!("reservation_expiring:{}", held.id))
    );
    assert_eq!(got[0].resource_id.as_deref(), Some(held.id.as_str()));

    assert_eq!(s.expire_reservations(on(2 * DAY), 100).await.expect("expire_reservations"), 2);
    let expired = (NotificationType::ReservationExpired, Severity::Info);
    assert_eq!(fired(s, on(2 * DAY + 1)).await, [expired], "alice's reservation.expired; bob's inbox is off");
    assert_eq!(fired(s, on(2 * DAY + 2)).await, [], "nothing left");
    let got = inbox(s, &alice.user_id, on(2 * DAY + 2)).await;
    let keys: Vec<&str> = got.iter().map(|n| n.dedup_key.as_str()).collect();
    assert_eq!(keys, [format!("reservation_expired:{}", held.id), format!("reservation_expiring:{}", held.id)]);
    assert_eq!(inbox(s, &bob.user_id, on(2 * DAY + 2)).await, []);
    assert_eq!(announce(on(2 * DAY + 3)).await, [], "an expired reservation is not announced");
}

pub async fn owners_of_threshold_rules_are_listed_once_each_in_pages(store: Arc<dyn Store>) {
    let s = &*store;
    let (a, b, c) = (user("ann"), user("bea"), user("cid"));
    for owner in [&c, &a, &b, &a] {
        add(s, half_full(owner)).await;
    }
    add(s, on_hosts(&user("dan"), "events only", &["in_app"], Severity::Info)).await;
    let first = s.threshold_rule_owners(None, 2).await.expect("owners");
    assert_eq!(first, [a.user_id.clone(), b.user_id.clone()], "in id order, each once, at most the page");
    let next = s.threshold_rule_owners(first.last(), 2).await.expect("owners");
    assert_eq!(next, std::slice::from_ref(&c.user_id), "then the rest; dan has no threshold rule");
}
