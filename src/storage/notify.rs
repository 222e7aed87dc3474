//! Creating notifications inside a unit of work: what dispatching one event does besides
//! webhook deliveries (the owner's rules are evaluated, the system's own notices raised), the
//! scheduled rule catch-up, and the system notices written where their cause is recorded (a
//! webhook disabled, a reservation about to expire).
//!
//! The steps are written once, here, over [`NotifyUnit`]: the few reads and writes a backend
//! offers inside one of its units of work. What fires, what a notification says and where it
//! goes are the domain's decisions (`NotificationRule::on_event`/`observe`, `Notification`'s
//! causes, `Routing`); a backend only reads the inputs and persists the outcome.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::domain::NotificationCreated;
use crate::domain::notification_rule::{ObservedResource, ResourceKey, RuleState, WatchedKind, WatchedResource};
use crate::domain::{
    DomainEvent, EventType, Notification, NotificationRule, NotificationSettings, Reservation, ReservationId, Routing,
    RuleConditions, RuleId, UserId,
};
use crate::error::Result;

/// The reads and writes notification work needs, inside one unit of work of a backend (a
/// SQLite transaction; a MongoDB transaction on a replica set, or idempotent steps without one).
#[async_trait]
pub(crate) trait NotifyUnit: Send {
    /// The user's active rules, oldest first.
    async fn active_rules(&mut self, user: &UserId) -> Result<Vec<NotificationRule>>;
    /// The user's notification settings (defaults when they have no preferences).
    async fn settings(&mut self, user: &UserId) -> Result<NotificationSettings>;
    /// The resource's utilisation now; `None` when it is gone (a retired region).
    async fn observe(&mut self, user: &UserId, what: &WatchedResource) -> Result<Option<ObservedResource>>;
    /// Every resource of `kind` in the user's namespace, observed now (countries: every
    /// allocatable one, held regions or not).
    async fn observe_all(&mut self, user: &UserId, kind: WatchedKind) -> Result<Vec<ObservedResource>>;
    /// The stored state of a rule for one resource.
    async fn rule_state(&mut self, rule: &RuleId, key: &ResourceKey) -> Result<Option<RuleState>>;
    /// Stores a rule's state for one resource (insert or replace), owned by `user`.
    async fn save_rule_state(&mut self, user: &UserId, state: &RuleState, now: DateTime<Utc>) -> Result<()>;
    /// Stores a notification; false, writing nothing, when its owner already has its dedup key.
    async fn insert_notification(&mut self, n: &Notification) -> Result<bool>;
    /// Appends an event to the outbox.
    async fn publish(&mut self, event: &DomainEvent) -> Result<()>;
    /// One of the user's reservations.
    async fn reservation(&mut self, user: &UserId, id: &ReservationId) -> Result<Option<Reservation>>;
}

/// Sends `n` where `routing` says: into the inbox (once per dedup key) and/or to the user's
/// webhooks as `notification.created`. A notification whose dedup key is already stored was
/// sent by an earlier pass over the same cause, webhook included, so nothing is sent again.
async fn send(
    unit: &mut dyn NotifyUnit,
    n: &Notification,
    routing: Routing,
    caused_at: DateTime<Utc>,
) -> Result<Option<NotificationCreated>> {
    if routing.is_dropped() {
        return Ok(None);
    }
    if routing.in_app && !unit.insert_notification(n).await? {
        return Ok(None);
    }
    if routing.webhook {
        unit.publish(&DomainEvent::notification_created(n)).await?;
    }
    Ok(Some(NotificationCreated::of(n, caused_at)))
}

/// Sends a notification of the system's own (inbox only, as the owner's settings allow).
pub(crate) async fn system_notice(
    unit: &mut dyn NotifyUnit,
    n: &Notification,
    caused_at: DateTime<Utc>,
) -> Result<Option<NotificationCreated>> {
    let settings = unit.settings(&n.user_id).await?;
    send(unit, n, Routing::of_system(&settings, n.severity), caused_at).await
}

/// Observes `seen` for every threshold rule of `rules` that watches it: stores each changed
/// state and sends each firing.
async fn observe_for_rules(
    unit: &mut dyn NotifyUnit,
    rules: &[NotificationRule],
    settings: &NotificationSettings,
    seen: &ObservedResource,
    (caused_at, now): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<NotificationCreated>> {
    let key = ResourceKey::of(&seen.resource);
    let mut created = Vec::new();
    for rule in rules {
        // Only rules that watch it read their state: most rules watch other resources.
        if !rule.watches(seen) {
            continue;
        }
        let prior = unit.rule_state(&rule.id, &key).await?;
        let Some(o) = rule.observe(prior.as_ref(), seen, now) else { continue };
        if o.changed {
            unit.save_rule_state(&rule.user_id, &o.state, now).await?;
        }
        if let Some(n) = o.fire {
            let routing = Routing::of_rule(&rule.channels, settings, n.severity);
            created.extend(send(unit, &n, routing, caused_at).await?);
        }
    }
    Ok(created)
}

/// Everything dispatching `event` does besides webhook deliveries: the owner's event rules
/// that list it fire, threshold rules observe the region or country it moved, and a
/// `reservation.expired` event tells the reservation's owner. `notification.created` and
/// `ping` trigger nothing.
pub(crate) async fn on_event(
    unit: &mut dyn NotifyUnit,
    event: &DomainEvent,
    now: DateTime<Utc>,
) -> Result<Vec<NotificationCreated>> {
    if !event.event_type.can_trigger_rules() {
        return Ok(Vec::new());
    }
    let mut created = Vec::new();
    if event.event_type == EventType::ReservationExpired {
        created.extend(reservation_expired(unit, event, now).await?);
    }
    let rules = unit.active_rules(&event.user_id).await?;
    if rules.is_empty() {
        return Ok(created);
    }
    let settings = unit.settings(&event.user_id).await?;
    for rule in &rules {
        if let Some(n) = rule.on_event(event, now) {
            let routing = Routing::of_rule(&rule.channels, &settings, n.severity);
            created.extend(send(unit, &n, routing, event.occurred_at).await?);
        }
    }
    let watching = rules.iter().any(|r| matches!(r.conditions, RuleConditions::Threshold(_)));
    if let Some(moved) = WatchedResource::moved_by(event).filter(|_| watching)
        && let Some(seen) = unit.observe(&event.user_id, &moved).await?
    {
        created.extend(observe_for_rules(unit, &rules, &settings, &seen, (event.occurred_at, now)).await?);
    }
    Ok(created)
}

async fn reservation_expired(
    unit: &mut dyn NotifyUnit,
    event: &DomainEvent,
    now: DateTime<Utc>,
) -> Result<Option<NotificationCreated>> {
    let id = event.data.get("reservation_id").and_then(|v| v.as_str()).and_then(ReservationId::parse);
    let Some(id) = id else { return Ok(None) };
    let Some(r) = unit.reservation(&event.user_id, &id).await? else { return Ok(None) };
    match Notification::reservation_expired(&r, now) {
        Some(n) => system_notice(unit, &n, event.occurred_at).await,
        None => Ok(None),
    }
}

/// The scheduled catch-up for one user: every active threshold rule observes every resource it
/// watches, as if an event had moved each. This is what fires a rule created, lowered or
/// re-activated while a resource is already above its threshold (no event will cross it).
/// It raises no `capacity.*` events: only allocations do.
pub(crate) async fn catch_up(
    unit: &mut dyn NotifyUnit,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Vec<NotificationCreated>> {
    let rules: Vec<NotificationRule> = unit
        .active_rules(user)
        .await?
        .into_iter()
        .filter(|r| matches!(r.conditions, RuleConditions::Threshold(_)))
        .collect();
    let mut created = Vec::new();
    if rules.is_empty() {
        return Ok(created);
    }
    let settings = unit.settings(user).await?;
    for kind in [WatchedKind::Region, WatchedKind::Country] {
        if !rules.iter().any(|r| r.watches_kind(kind)) {
            continue;
        }
        for seen in unit.observe_all(user, kind).await? {
            created.extend(observe_for_rules(unit, &rules, &settings, &seen, (now, now)).await?);
        }
    }
    Ok(created)
}
