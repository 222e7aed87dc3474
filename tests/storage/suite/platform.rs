//! The job platform's storage: the event outbox and its fan-out to webhook deliveries, claiming
//! and recording delivery attempts, manual retries, webhook management, cron tick claims, the
//! expiry sweeps, and the relay's and pruner's queries.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipam_core::auth::Actor;
use ipam_core::domain::{
    AttemptRecorded, AuditAction, AuditResource, Delivery, DeliveryAttempt, DeliveryId, DeliveryState, DomainEvent,
    EventType, NewReservation, NotificationType, Reservation, ReservationKind, ReservationReason, ReservationStatus,
    Severity, Share, ShareKind, Webhook, WebhookEvents, WebhookId, WebhookPatch, WebhookUrl,
};
use ipam_core::error::IpamError;
use ipam_core::storage::{AttemptOutcome, AuditFilter, DispatchReport, RunOutcome, ScheduleRun, Store};
use serde_json::Value;

use super::{at, audit_page, country, first_100, page, region, user};

/// One day, in seconds.
const DAY: i64 = 86_400;

/// A webhook limit large enough never to matter.
const ROOMY: u32 = 100;

/// Whole seconds as a lease or tolerance.
pub(super) fn secs(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n)
}

/// Builds the webhook the service would build for `owner` at `now` and stores it.
pub(super) async fn hook(s: &dyn Store, owner: &Actor, events: &[&str], now: DateTime<Utc>) -> Webhook {
    let url = WebhookUrl::parse("https://hooks.example.com/ipam").expect("url");
    let w = Webhook::new(owner.user_id.clone(), url, WebhookEvents::parse(events).expect("events"), None, now);
    s.create_webhook(&w, ROOMY).await.expect("create_webhook");
    w
}

/// The webhook as stored (must exist).
pub(super) async fn stored_hook(s: &dyn Store, w: &Webhook) -> Webhook {
    s.webhook(&w.user_id, &w.id).await.expect("webhook").expect("the webhook exists")
}

/// Every delivery of a webhook (first 100), newest first.
async fn deliveries(s: &dyn Store, w: &Webhook) -> Vec<Delivery> {
    s.list_deliveries(&w.user_id, &w.id, first_100()).await.expect("list_deliveries").expect("the webhook exists").items
}

/// One delivery of a webhook as stored (must exist).
async fn stored_delivery(s: &dyn Store, w: &Webhook, id: &DeliveryId) -> Delivery {
    deliveries(s, w).await.into_iter().find(|d| &d.id == id).unwrap_or_else(|| panic!("delivery {id} is stored"))
}

/// Stores a pending ping delivery to `w`, due at `due`.
pub(super) async fn ping(s: &dyn Store, w: &Webhook, due: DateTime<Utc>) -> Delivery {
    let event = DomainEvent::ping(&w.user_id, w.id.as_str(), due);
    let d = Delivery::new(w, &event.id, EventType::Ping, event.body(), due, due);
    s.create_delivery(&d).await.expect("create_delivery");
    d
}

/// An attempt numbered `n` made at `when`, answered with `status` (none: no answer).
pub(super) fn attempt(
    n: u32,
    status: Option<u16>,
    when: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
) -> DeliveryAttempt {
    DeliveryAttempt {
        attempt: n,
        status_code: status,
        response_time_ms: 42,
        error: status.filter(|s| !(200..300).contains(s)).map(|s| format!("HTTP {s}")),
        attempted_at: when,
        next_retry_at: next,
    }
}

/// The lease holder these tests claim and record as.
const HOLDER: &str = "suite-worker";

/// Records an attempt (the delivery must still be pending), as its lease holder: the worker
/// claims it first, as the delivery job does.
pub(super) async fn record(
    s: &dyn Store,
    d: &Delivery,
    a: &DeliveryAttempt,
    outcome: AttemptOutcome,
    disable_after: u32,
    now: DateTime<Utc>,
) -> AttemptRecorded {
    // Claimed with a wide tolerance so a not-yet-due delivery can be recorded in these tests;
    // a delivery this holder already leases stays its own.
    let year = std::time::Duration::from_secs(366 * 24 * 3600);
    let _ = s.claim_delivery(&d.id, HOLDER, now, year, std::time::Duration::from_secs(1)).await.expect("claim");
    s.record_attempt(&d.id, HOLDER, a, outcome, disable_after, now)
        .await
        .expect("record_attempt")
        .unwrap_or_else(|| panic!("delivery {} is pending", d.id))
}

/// Records one failed attempt that kills the delivery.
pub(super) async fn kill(s: &dyn Store, d: &Delivery, disable_after: u32, now: DateTime<Utc>) -> AttemptRecorded {
    record(s, d, &attempt(1, Some(500), now, None), AttemptOutcome::Dead, disable_after, now).await
}

/// The parsed body of a delivery.
fn body(d: &Delivery) -> Value {
    serde_json::from_str(&d.body).expect("the body is JSON")
}

/// A reservation of the block `10.X.Y.0/24` for `days`, stored at `now`.
async fn reserve_block(s: &dyn Store, actor: &Actor, x: u8, y: u8, days: u32, now: DateTime<Utc>) -> Reservation {
    let new = NewReservation {
        kind: ReservationKind::Region,
        x,
        y,
        z: None,
        reason: ReservationReason::parse("held for the next rollout").expect("reason"),
        expires_in_days: Some(days),
    };
    let r = Reservation::new(&actor.user_id, &actor.username, &new, now);
    s.create_reservation(actor, &r, now).await.expect("create_reservation");
    r
}

/// Ids, sorted, for comparisons that ignore order.
fn id_set<'a>(ids: impl IntoIterator<Item = &'a DeliveryId>) -> BTreeSet<String> {
    ids.into_iter().map(|id| id.as_str().to_owned()).collect()
}

pub async fn an_allocation_is_fanned_out_once_to_each_active_subscribed_webhook_of_its_owner(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let usa = country(s, "USA").await;
    let subscribed = hook(s, &alice, &["region.created", "host.allocated"], at(0)).await;
    let other_event = hook(s, &alice, &["host.allocated"], at(0)).await;
    let inactive = hook(s, &alice, &["region.created"], at(0)).await;
    let bobs = hook(s, &bob, &["region.created"], at(0)).await;
    let off = WebhookPatch { is_active: Some(false), ..Default::default() };
    s.update_webhook(&alice.user_id, &inactive.id, &off, at(0)).await.expect("update_webhook").expect("exists");
    let before = s.outbox_backlog().await.expect("outbox_backlog");

    let created = region(s, &alice, &usa, "edge-1", at(1)).await;
    let backlog = s.outbox_backlog().await.expect("outbox_backlog");
    let first = s.dispatch_events(100, at(2)).await.expect("dispatch_events");
    let after = s.outbox_backlog().await.expect("outbox_backlog");
    let second = s.dispatch_events(100, at(3)).await.expect("dispatch_events");

    assert_eq!(before, (0, None), "a fresh store has nothing waiting");
    assert_eq!(backlog, (1, Some(at(1))), "the allocation left one region.created event in the outbox");
    assert_eq!(first.events, 1, "the event is dispatched");
    let got = deliveries(s, &subscribed).await;
    assert_eq!(got.len(), 1, "the subscribed webhook gets exactly one delivery");
    let d = &got[0];
    assert_eq!(first.deliveries, vec![d.id.clone()], "the report names the delivery it created");
    assert_eq!(
        (d.state, d.event_type, d.next_attempt_at),
        (DeliveryState::Pending, EventType::RegionCreated, Some(at(2)))
    );
    assert_eq!((&d.webhook_id, &d.user_id, d.attempts.len(), d.event_at), (&subscribed.id, &alice.user_id, 0, at(1)));
    let b = body(d);
    assert_eq!(b["event_type"], "region.created");
    assert_eq!(b["user_id"], alice.user_id.as_str());
    assert_eq!(b["event_id"], d.event_id.as_str());
    assert_eq!(b["data"]["region_id"], created.id.as_str(), "the body describes the allocated region");
    assert_eq!(after, (0, None), "nothing waits after the dispatch");
    assert_eq!(second, DispatchReport::default(), "a second dispatch creates nothing");
    assert_eq!(deliveries(s, &subscribed).await.len(), 1, "still exactly one delivery");
    assert!(deliveries(s, &other_event).await.is_empty(), "a webhook not subscribed to the type gets nothing");
    assert!(deliveries(s, &inactive).await.is_empty(), "an inactive webhook gets nothing");
    assert!(deliveries(s, &bobs).await.is_empty(), "another user's webhook never hears of alice's events");
}

pub async fn concurrent_dispatchers_never_fan_an_event_out_twice(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let usa = country(s, "USA").await;
    let hooks = [hook(s, &alice, &["region.created"], at(0)).await, hook(s, &alice, &["region.created"], at(0)).await];
    for n in 1..=20 {
        region(s, &alice, &usa, &format!("edge-{n}"), at(n)).await;
    }
    assert_eq!(s.outbox_backlog().await.expect("outbox_backlog").0, 20, "one event per allocation");

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = Arc::clone(&store);
            tokio::spawn(async move { s.dispatch_events(if i % 2 == 0 { 100 } else { 3 }, at(100)).await })
        })
        .collect();
    let mut events = 0;
    let mut reported = Vec::new();
    for t in tasks {
        let r = t.await.expect("the task ran").expect("dispatch_events");
        events += r.events;
        reported.extend(r.deliveries);
    }
    // Whatever the limits left undispatched goes out now.
    let rest = s.dispatch_events(100, at(101)).await.expect("dispatch_events");
    events += rest.events;
    reported.extend(rest.deliveries);

    let mut stored = Vec::new();
    for w in &hooks {
        stored.extend(deliveries(s, w).await);
    }
    let pairs: BTreeSet<(String, String)> =
        stored.iter().map(|d| (d.event_id.as_str().to_owned(), d.webhook_id.as_str().to_owned())).collect();
    assert_eq!(events, 20, "each event is dispatched exactly once");
    assert_eq!(stored.len(), 40, "20 events x 2 subscribed webhooks, no duplicates");
    assert_eq!(pairs.len(), 40, "one delivery per event and webhook");
    assert_eq!(reported.len(), 40, "the reports name every delivery once");
    assert_eq!(id_set(&reported), id_set(stored.iter().map(|d| &d.id)), "the reports name the stored deliveries");
    assert_eq!(s.outbox_backlog().await.expect("outbox_backlog"), (0, None));
}

pub async fn a_due_delivery_is_claimed_by_one_worker_until_its_lease_expires(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let w = hook(s, &alice, &["region.created"], at(0)).await;
    let due = ping(s, &w, at(10)).await;
    let later = ping(s, &w, at(100)).await;

    let first = s.claim_delivery(&due.id, HOLDER, at(10), secs(0), secs(30)).await.expect("claim_delivery");
    let while_leased = s.claim_delivery(&due.id, HOLDER, at(20), secs(0), secs(30)).await.expect("claim_delivery");
    let after_lease = s.claim_delivery(&due.id, HOLDER, at(41), secs(0), secs(30)).await.expect("claim_delivery");
    let not_due = s.claim_delivery(&later.id, HOLDER, at(41), secs(5), secs(30)).await.expect("claim_delivery");
    let just_early_enough =
        s.claim_delivery(&later.id, HOLDER, at(95), secs(5), secs(30)).await.expect("claim_delivery");
    let unknown =
        s.claim_delivery(&DeliveryId::generate(), HOLDER, at(200), secs(0), secs(30)).await.expect("claim_delivery");

    let (d, hooked) = first.expect("a due, unleased delivery is claimed");
    assert_eq!(
        (&d.id, d.state, &d.body),
        (&due.id, DeliveryState::Pending, &due.body),
        "the claim returns the delivery"
    );
    assert_eq!(hooked, stored_hook(s, &w).await, "with its webhook");
    assert!(while_leased.is_none(), "a leased delivery cannot be claimed by another worker");
    assert_eq!(after_lease.map(|(d, _)| d.id), Some(due.id.clone()), "an expired lease lets it be claimed again");
    assert!(not_due.is_none(), "a delivery due beyond the early tolerance is not claimed");
    assert_eq!(just_early_enough.map(|(d, _)| d.id), Some(later.id), "within the tolerance it is");
    assert!(unknown.is_none(), "an unknown delivery is not claimed");
}

pub async fn recorded_attempts_move_the_delivery_and_the_webhooks_failure_count(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let w = hook(s, &alice, &["region.created"], at(0)).await;
    let (retried, dies, first_dead, second_dead) =
        (ping(s, &w, at(1)).await, ping(s, &w, at(2)).await, ping(s, &w, at(3)).await, ping(s, &w, at(4)).await);

    let failed = attempt(1, Some(503), at(10), Some(at(60)));
    let retry = record(s, &retried, &failed, AttemptOutcome::RetryAt(at(60)), 5, at(10)).await;
    let after_retry = stored_delivery(s, &w, &retried.id).await;
    let dead = kill(s, &dies, 5, at(20)).await;
    let count_after_dead = stored_hook(s, &w).await.failure_count;
    let ok = attempt(2, Some(204), at(60), None);
    let success = record(s, &retried, &ok, AttemptOutcome::Succeeded, 5, at(61)).await;
    let after_success = stored_delivery(s, &w, &retried.id).await;
    let hook_after_success = stored_hook(s, &w).await;
    let on_succeeded = s.record_attempt(&retried.id, HOLDER, &ok, AttemptOutcome::Succeeded, 5, at(62)).await;
    let on_dead = s.record_attempt(&dies.id, HOLDER, &ok, AttemptOutcome::Succeeded, 5, at(62)).await;
    let on_unknown = s.record_attempt(&DeliveryId::generate(), HOLDER, &ok, AttemptOutcome::Succeeded, 5, at(62)).await;

    let pending =
        AttemptRecorded { state: DeliveryState::Pending, failure_count: 0, webhook_disabled: false, notice: None };
    assert_eq!(retry, pending, "a retry keeps the delivery pending and counts no failure");
    assert_eq!(
        (after_retry.state, after_retry.next_attempt_at, after_retry.attempts),
        (DeliveryState::Pending, Some(at(60)), vec![failed.clone()]),
        "the retry is due at its time and the attempt is logged"
    );
    assert_eq!(dead, AttemptRecorded { state: DeliveryState::Dead, failure_count: 1, ..pending });
    assert_eq!(count_after_dead, 1, "a dead delivery counts one failure of its webhook");
    assert_eq!(success, AttemptRecorded { state: DeliveryState::Succeeded, ..pending });
    assert_eq!((after_success.state, after_success.attempts), (DeliveryState::Succeeded, vec![failed, ok]));
    assert_eq!(
        (hook_after_success.failure_count, hook_after_success.last_delivery_at, hook_after_success.is_active),
        (0, Some(at(61)), true),
        "a success resets the failure count and records the delivery time"
    );
    assert!(matches!(on_succeeded, Ok(None)), "a succeeded delivery takes no more attempts: {on_succeeded:?}");
    assert!(matches!(on_dead, Ok(None)), "a dead delivery takes no more attempts: {on_dead:?}");
    assert!(matches!(on_unknown, Ok(None)), "an unknown delivery takes no attempts: {on_unknown:?}");
    assert_eq!(stored_delivery(s, &w, &dies.id).await.attempts.len(), 1, "the refused attempt was not logged");

    let once = kill(s, &first_dead, 2, at(70)).await;
    let twice = kill(s, &second_dead, 2, at(80)).await;
    let disabled = stored_hook(s, &w).await;
    assert_eq!(
        once,
        AttemptRecorded { state: DeliveryState::Dead, failure_count: 1, webhook_disabled: false, notice: None }
    );
    assert_eq!(
        (twice.state, twice.failure_count, twice.webhook_disabled),
        (DeliveryState::Dead, 2, true),
        "the second death in a row disables it"
    );
    let notice = twice.notice.expect("the disabling created a notice");
    assert_eq!((notice.notification_type, notice.severity), (NotificationType::WebhookDisabled, Severity::Critical));
    assert_eq!((disabled.is_active, disabled.failure_count), (false, 2), "the second death in a row disables it");
    assert!(disabled.disabled_reason.is_some(), "and says why");
    let inbox = s.recent_unread(&w.user_id, 5, at(81)).await.expect("inbox");
    assert_eq!(inbox.len(), 1, "one notice in the owner's inbox: {inbox:?}");
    assert_eq!(inbox[0].resource_link, Some(format!("/ipam/webhooks/{}", w.id)));
}

pub async fn only_the_owners_dead_deliveries_can_be_requeued_with_a_fresh_round(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let w = hook(s, &alice, &["region.created"], at(0)).await;
    let other = hook(s, &alice, &["region.created"], at(0)).await;
    let d = ping(s, &w, at(1)).await;

    let while_pending = s.requeue_delivery(&alice.user_id, &w.id, &d.id, at(5)).await;
    record(s, &d, &attempt(1, Some(500), at(10), Some(at(20))), AttemptOutcome::RetryAt(at(20)), 5, at(10)).await;
    record(s, &d, &attempt(2, None, at(20), None), AttemptOutcome::Dead, 5, at(20)).await;
    let by_bob = s.requeue_delivery(&bob.user_id, &w.id, &d.id, at(30)).await;
    let wrong_hook = s.requeue_delivery(&alice.user_id, &other.id, &d.id, at(30)).await;
    let unknown = s.requeue_delivery(&alice.user_id, &w.id, &DeliveryId::generate(), at(30)).await;
    let still_dead = stored_delivery(s, &w, &d.id).await.state;
    let requeued = s.requeue_delivery(&alice.user_id, &w.id, &d.id, at(100)).await.expect("requeue_delivery");
    let stored = stored_delivery(s, &w, &d.id).await;
    let again = s.requeue_delivery(&alice.user_id, &w.id, &d.id, at(101)).await;
    let claimed = s.claim_delivery(&d.id, HOLDER, at(100), secs(0), secs(30)).await.expect("claim_delivery");

    assert!(
        matches!(while_pending, Err(IpamError::Conflict { .. })),
        "a pending delivery is not requeued: {while_pending:?}"
    );
    assert!(matches!(by_bob, Err(IpamError::NotFound { .. })), "another user's delivery: {by_bob:?}");
    assert!(matches!(wrong_hook, Err(IpamError::NotFound { .. })), "through another webhook: {wrong_hook:?}");
    assert!(matches!(unknown, Err(IpamError::NotFound { .. })), "an unknown delivery: {unknown:?}");
    assert_eq!(still_dead, DeliveryState::Dead, "refused requeues change nothing");
    assert_eq!(
        (requeued.state, requeued.round_start, requeued.attempts_this_round(), requeued.next_attempt_at),
        (DeliveryState::Pending, 2, 0, Some(at(100))),
        "a requeued delivery is pending, due now, with a fresh round"
    );
    assert_eq!(requeued.attempts.len(), 2, "the earlier attempts stay logged");
    assert_eq!(stored, requeued, "the requeue is stored as returned");
    assert!(matches!(again, Err(IpamError::Conflict { .. })), "a pending delivery is not requeued twice: {again:?}");
    assert_eq!(claimed.map(|(c, _)| c.id), Some(d.id), "the requeued delivery can be claimed at once");
}

pub async fn webhooks_are_managed_per_user_within_a_limit(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let url = WebhookUrl::parse("https://hooks.example.com/limit").expect("url");
    let events = WebhookEvents::parse(&["region.created"]).expect("events");
    let new = |owner: &Actor, now| Webhook::new(owner.user_id.clone(), url.clone(), events.clone(), None, now);
    let (a1, a2, a3, a4) = (new(&alice, at(1)), new(&alice, at(2)), new(&alice, at(3)), new(&alice, at(4)));
    for w in [&a1, &a2, &a3] {
        s.create_webhook(w, 3).await.expect("create_webhook under the limit");
    }
    let over = s.create_webhook(&a4, 3).await;
    let b1 = new(&bob, at(5));
    let bobs_first = s.create_webhook(&b1, 3).await;

    assert!(matches!(over, Err(IpamError::Conflict { .. })), "a fourth webhook over a limit of 3: {over:?}");
    assert!(bobs_first.is_ok(), "the limit is per user: {bobs_first:?}");
    assert_eq!(s.webhook(&alice.user_id, &a4.id).await.expect("webhook"), None, "the refused one is not stored");
    let listed = s.list_webhooks(&alice.user_id, first_100()).await.expect("list_webhooks");
    assert_eq!(listed.total, 3);
    assert_eq!(listed.items, vec![a3.clone(), a2.clone(), a1.clone()], "newest first, as created");
    let second_page = s.list_webhooks(&alice.user_id, page(2, 2)).await.expect("list_webhooks");
    assert_eq!((second_page.items, second_page.total), (vec![a1.clone()], 3));
    let for_bob = s.list_webhooks(&bob.user_id, first_100()).await.expect("list_webhooks");
    assert_eq!((for_bob.items, for_bob.total), (vec![b1], 1), "each user lists only their own");
    assert_eq!(s.webhook(&bob.user_id, &a1.id).await.expect("webhook"), None, "nor reads another's");

    // Disabled by failures, then re-enabled by its owner.
    kill(s, &ping(s, &a1, at(10)).await, 2, at(11)).await;
    let second = kill(s, &ping(s, &a1, at(12)).await, 2, at(13)).await;
    assert!(second.webhook_disabled, "sanity: two dead deliveries disabled it");
    let on = WebhookPatch { is_active: Some(true), ..Default::default() };
    let by_bob = s.update_webhook(&bob.user_id, &a1.id, &on, at(20)).await.expect("update_webhook");
    let enabled = s.update_webhook(&alice.user_id, &a1.id, &on, at(21)).await.expect("update_webhook");
    assert_eq!(by_bob, None, "another user cannot update it");
    let enabled = enabled.expect("the owner updates it");
    assert_eq!(
        (enabled.is_active, enabled.failure_count, enabled.disabled_reason.as_deref(), enabled.updated_at),
        (true, 0, None, at(21)),
        "re-enabling resets the failure count"
    );
    assert_eq!(stored_hook(s, &a1).await, enabled, "the update is stored as returned");
    let unknown = s.update_webhook(&alice.user_id, &WebhookId::generate(), &on, at(22)).await.expect("update_webhook");
    assert_eq!(unknown, None);

    // Deleting takes the deliveries along.
    assert_eq!(deliveries(s, &a1).await.len(), 2, "sanity: a1 has deliveries");
    let by_bob = s.delete_webhook(&bob.user_id, &a1.id).await.expect("delete_webhook");
    let first = s.delete_webhook(&alice.user_id, &a1.id).await.expect("delete_webhook");
    let again = s.delete_webhook(&alice.user_id, &a1.id).await.expect("delete_webhook");
    assert!(!by_bob, "another user cannot delete it");
    assert!(first, "the owner deletes it");
    assert!(!again, "a deleted webhook cannot be deleted again");
    assert_eq!(s.webhook(&alice.user_id, &a1.id).await.expect("webhook"), None);
    let gone = s.list_deliveries(&alice.user_id, &a1.id, first_100()).await.expect("list_deliveries");
    assert!(gone.is_none(), "its deliveries are not listed any more");
    assert!(s.overdue_deliveries(at(1000), 100).await.expect("overdue_deliveries").is_empty(), "nor queued");
    let replacement = new(&alice, at(30));
    s.create_webhook(&replacement, 3).await.expect("deleting frees a place under the limit");
}

/// `(schedule, tick, outcome, detail, attempts)` of one run.
type RunSummary<'a> = (&'a str, DateTime<Utc>, Option<RunOutcome>, Option<&'a str>, u32);

/// The summaries of runs, for comparisons.
fn runs(list: &[ScheduleRun]) -> Vec<RunSummary<'_>> {
    list.iter().map(|r| (r.schedule.as_str(), r.tick_at, r.outcome, r.detail.as_deref(), r.attempts)).collect()
}

pub async fn each_cron_tick_is_claimed_once_and_its_runs_are_recorded(store: Arc<dyn Store>) {
    let s = &*store;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let s = Arc::clone(&store);
            tokio::spawn(async move {
                let worker = format!("worker-{i}");
                s.claim_tick("reservation_expiry", at(60), &worker, at(61)).await.map(|won| (won, worker))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (won, worker) = t.await.expect("the task ran").expect("claim_tick");
        if won {
            winners.push(worker);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of 10 racing workers claims the tick: {winners:?}");
    let claimed = s.ticks("reservation_expiry", 10).await.expect("ticks");
    assert_eq!(runs(&claimed), vec![("reservation_expiry", at(60), None, None, 0)], "claimed, not yet run");
    assert_eq!((&claimed[0].claimed_by, claimed[0].claimed_at), (&winners[0], at(61)));

    s.finish_tick("reservation_expiry", at(60), RunOutcome::Succeeded, "expired 3 reservations", at(62))
        .await
        .expect("finish_tick");
    let again = s.claim_tick("reservation_expiry", at(60), "late", at(63)).await.expect("claim_tick");
    let latest = s.latest_ticks().await.expect("latest_ticks");
    assert!(!again, "a finished tick cannot be claimed again");
    assert_eq!(
        runs(&latest),
        vec![("reservation_expiry", at(60), Some(RunOutcome::Succeeded), Some("expired 3 reservations"), 1)]
    );
    assert_eq!(latest[0].finished_at, Some(at(62)));

    for (tick, claimed_at) in [(120, 121), (180, 181)] {
        assert!(s.claim_tick("reservation_expiry", at(tick), "w", at(claimed_at)).await.expect("claim_tick"));
    }
    assert!(s.claim_tick("share_expiry", at(60), "w", at(61)).await.expect("claim_tick"));
    s.finish_tick("share_expiry", at(60), RunOutcome::Failed, "database busy", at(62)).await.expect("finish_tick");
    s.finish_tick("share_expiry", at(60), RunOutcome::Dead, "database gone", at(64)).await.expect("finish_tick");
    let ticks: Vec<_> =
        s.ticks("reservation_expiry", 10).await.expect("ticks").into_iter().map(|r| r.tick_at).collect();
    let two: Vec<_> = s.ticks("reservation_expiry", 2).await.expect("ticks").into_iter().map(|r| r.tick_at).collect();
    let mut latest = s.latest_ticks().await.expect("latest_ticks");
    latest.sort_by(|a, b| a.schedule.cmp(&b.schedule));
    assert_eq!(ticks, vec![at(180), at(120), at(60)], "ticks are listed newest first");
    assert_eq!(two, vec![at(180), at(120)], "up to the limit");
    assert_eq!(
        runs(&latest),
        vec![
            ("reservation_expiry", at(180), None, None, 0),
            ("share_expiry", at(60), Some(RunOutcome::Dead), Some("database gone"), 2),
        ],
        "the latest tick of each schedule, with its last attempt's outcome and the attempts so far"
    );

    let pruned = s.prune_ticks(at(100)).await.expect("prune_ticks");
    let left: Vec<_> = s.ticks("reservation_expiry", 10).await.expect("ticks").into_iter().map(|r| r.tick_at).collect();
    assert_eq!(pruned, 2, "the two ticks claimed before the cutoff are deleted");
    assert_eq!(left, vec![at(180), at(120)]);
    assert!(s.ticks("share_expiry", 10).await.expect("ticks").is_empty());
}

pub async fn the_expiry_sweeps_record_lapsed_reservations_and_shares_once(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let w = hook(s, &alice, &["reservation.expired"], at(0)).await;
    let short = reserve_block(s, &alice, 30, 0, 1, at(0)).await;
    let long = reserve_block(s, &alice, 30, 1, 30, at(0)).await;
    let flushed = s.dispatch_events(100, at(1)).await.expect("dispatch_events");
    assert_eq!((flushed.events, flushed.deliveries.len()), (2, 0), "sanity: reservation.created is not subscribed");

    let before_expiry = s.expire_reservations(at(DAY - 1), 100).await.expect("expire_reservations");
    let expired = s.expire_reservations(at(DAY), 100).await.expect("expire_reservations");
    let again = s.expire_reservations(at(DAY + 1), 100).await.expect("expire_reservations");

    assert_eq!((before_expiry, expired, again), (0, 1, 0), "the lapsed reservation is expired exactly once");
    let stored_short = s.reservation(&alice.user_id, &short.id).await.expect("reservation").expect("exists");
    let stored_long = s.reservation(&alice.user_id, &long.id).await.expect("reservation").expect("exists");
    assert_eq!(stored_short.status, ReservationStatus::Expired, "the lapsed one is stored expired");
    assert_eq!(stored_long, long, "the unexpired one is untouched");
    let filter = AuditFilter {
        action: Some(AuditAction::Expire),
        resource_type: Some(AuditResource::Reservation),
        ..Default::default()
    };
    let audited = audit_page(s, &alice.user_id, &filter).await;
    assert_eq!(audited.total, 1, "one expire audit event");
    let e = &audited.items[0];
    assert_eq!(
        (e.resource_id.as_str(), e.actor_username.as_str(), e.timestamp),
        (short.id.as_str(), "system", at(DAY))
    );

    let fanned = s.dispatch_events(100, at(DAY + 2)).await.expect("dispatch_events");
    assert_eq!((fanned.events, fanned.deliveries.len()), (1, 1), "one reservation.expired event, one delivery");
    let got = deliveries(s, &w).await;
    assert_eq!(got.len(), 1);
    let b = body(&got[0]);
    assert_eq!(
        (got[0].event_type, b["event_type"].as_str()),
        (EventType::ReservationExpired, Some("reservation.expired"))
    );
    assert_eq!(
        (b["data"]["reservation_id"].as_str(), b["data"]["status"].as_str()),
        (Some(short.id.as_str()), Some("expired"))
    );

    let day = Share::new(&alice.user_id, &alice.username, ShareKind::Country, "USA".into(), 1, None, at(0));
    let week = Share::new(&alice.user_id, &alice.username, ShareKind::Country, "USA".into(), 7, None, at(0));
    s.create_share(&alice, &day).await.expect("create_share");
    s.create_share(&alice, &week).await.expect("create_share");
    let shares_before = s.expire_shares(at(DAY - 1), 100).await.expect("expire_shares");
    let shares_expired = s.expire_shares(at(DAY), 100).await.expect("expire_shares");
    let shares_again = s.expire_shares(at(DAY + 1), 100).await.expect("expire_shares");
    assert_eq!((shares_before, shares_expired, shares_again), (0, 1, 0), "the overdue share is counted once");
    assert_eq!(s.live_share(&day.token, at(DAY - 1)).await.expect("live_share"), None, "it is stored inactive");
    assert_eq!(s.live_share(&week.token, at(DAY)).await.expect("live_share"), Some(week), "the other stays live");
}

pub async fn the_relay_finds_overdue_deliveries_and_the_pruner_deletes_only_old_finished_work(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let usa = country(s, "USA").await;
    let w = hook(s, &alice, &["region.created"], at(0)).await;
    let due = ping(s, &w, at(10)).await;
    let leased = ping(s, &w, at(10)).await;
    let future = ping(s, &w, at(200)).await;
    let dead = ping(s, &w, at(10)).await;
    let succeeded = ping(s, &w, at(10)).await;
    let finished_late = ping(s, &w, at(10)).await;
    assert!(s.claim_delivery(&leased.id, HOLDER, at(10), secs(0), secs(60)).await.expect("claim_delivery").is_some());
    kill(s, &dead, 5, at(20)).await;
    record(s, &succeeded, &attempt(1, Some(200), at(20), None), AttemptOutcome::Succeeded, 5, at(20)).await;
    record(s, &finished_late, &attempt(1, Some(200), at(500), None), AttemptOutcome::Succeeded, 5, at(500)).await;

    let early = s.overdue_deliveries(at(50), 100).await.expect("overdue_deliveries");
    let late = s.overdue_deliveries(at(300), 100).await.expect("overdue_deliveries");
    let limited = s.overdue_deliveries(at(300), 2).await.expect("overdue_deliveries");
    assert_eq!(id_set(&early), id_set([&due.id]), "only pending, unleased deliveries due before the cutoff");
    assert_eq!(id_set(&late), id_set([&due.id, &leased.id, &future.id]), "an expired lease counts as unleased");
    assert_eq!(limited.len(), 2, "up to the limit");

    let pruned = s.prune_deliveries(at(100)).await.expect("prune_deliveries");
    let left = deliveries(s, &w).await;
    assert_eq!(pruned, 2, "the dead and the succeeded delivery finished before the cutoff");
    assert_eq!(
        id_set(left.iter().map(|d| &d.id)),
        id_set([&due.id, &leased.id, &future.id, &finished_late.id]),
        "pending deliveries stay, however old; newer finished ones stay"
    );

    region(s, &alice, &usa, "edge-1", at(1)).await;
    region(s, &alice, &usa, "edge-2", at(2)).await;
    s.dispatch_events(100, at(3)).await.expect("dispatch_events");
    region(s, &alice, &usa, "edge-3", at(4)).await;
    let first = s.prune_events(at(500)).await.expect("prune_events");
    let backlog = s.outbox_backlog().await.expect("outbox_backlog");
    s.dispatch_events(100, at(600)).await.expect("dispatch_events");
    region(s, &alice, &usa, "edge-4", at(1000)).await;
    s.dispatch_events(100, at(1001)).await.expect("dispatch_events");
    let second = s.prune_events(at(500)).await.expect("prune_events");
    let third = s.prune_events(at(2000)).await.expect("prune_events");
    assert_eq!(first, 2, "the two dispatched events before the cutoff are deleted");
    assert_eq!(backlog, (1, Some(at(4))), "the undispatched one is kept, however old");
    assert_eq!(second, 1, "once dispatched, it goes too; the newer one stays");
    assert_eq!(third, 1, "the newer one goes with a later cutoff");
}

pub async fn only_the_worker_holding_the_lease_records_an_attempt(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let w = hook(s, &alice, &["region.created"], at(0)).await;
    let d = ping(s, &w, at(10)).await;
    let ok = attempt(1, Some(200), at(10), None);

    // Worker A claims and stalls past its lease; worker B takes the delivery over.
    assert!(s.claim_delivery(&d.id, "worker-a", at(10), secs(0), secs(30)).await.expect("claim").is_some());
    assert!(s.claim_delivery(&d.id, "worker-b", at(41), secs(0), secs(30)).await.expect("claim").is_some());

    let late = s.record_attempt(&d.id, "worker-a", &ok, AttemptOutcome::Succeeded, 5, at(42)).await.expect("record");
    assert!(late.is_none(), "a worker whose lease passed on cannot record");
    let current = s.record_attempt(&d.id, "worker-b", &ok, AttemptOutcome::Succeeded, 5, at(43)).await.expect("record");
    assert_eq!(current.map(|r| r.state), Some(DeliveryState::Succeeded));
    let stored = deliveries(s, &w).await;
    assert_eq!(stored[0].attempts.len(), 1, "one attempt logged, by the holder");
}

pub async fn a_claimed_delivery_whose_webhook_is_gone_is_deleted(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let w = hook(s, &alice, &["region.created"], at(0)).await;
    let d = ping(s, &w, at(10)).await;
    // The webhook's row disappears underneath the delivery (a crash between the two deletes).
    assert!(s.delete_webhook(&alice.user_id, &w.id).await.expect("delete_webhook"));
    if s.create_delivery(&d).await.is_err() {
        // This backend refuses an orphan outright (SQLite's foreign key): nothing can get stuck.
        return;
    }
    assert!(s.claim_delivery(&d.id, HOLDER, at(20), secs(0), secs(30)).await.expect("claim").is_none());
    assert!(
        s.overdue_deliveries(at(10_000), 10).await.expect("overdue").is_empty(),
        "the orphan is gone, not re-queued forever"
    );
}
