//! The storage the job platform needs: the event outbox, webhooks and their deliveries, cron
//! tick claims, and the expiry sweeps. Same contract as the rest of the seam: every method is a
//! whole unit of work, and every backend passes the same conformance suite.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    AttemptRecorded, Delivery, DeliveryAttempt, DeliveryId, NotificationCreated, Page, PageRequest, UserId, Webhook,
    WebhookId, WebhookPatch,
};
use crate::error::Result;

/// What one fan-out pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Events marked dispatched.
    pub events: u64,
    /// Deliveries created (to be queued).
    pub deliveries: Vec<DeliveryId>,
    /// Notifications the events' rules and causes created (for the metrics).
    pub notifications: Vec<NotificationCreated>,
}

/// The outbox: domain events stored with the change that caused them, fanned out later.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Fans out up to `limit` undispatched events, oldest first: each gets one pending delivery
    /// per active webhook of its owner subscribed to its type, its notifications (rules and
    /// system notices, `storage::notify::on_event`) and is marked dispatched, in one unit of
    /// work per event, so concurrent dispatchers never fan an event out twice and a crash loses
    /// none.
    async fn dispatch_events(&self, limit: u32, now: DateTime<Utc>) -> Result<DispatchReport>;
    /// How many events wait for dispatch, and when the oldest of them happened.
    async fn outbox_backlog(&self) -> Result<(u64, Option<DateTime<Utc>>)>;
    /// Deletes dispatched events that happened before `before`; returns how many.
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// How an attempt ended: a domain value (its effects are decided in `domain::delivery`), named
/// here too because it is part of [`WebhookStore::record_attempt`]'s contract.
pub use crate::domain::AttemptOutcome;

/// Webhooks and their deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new webhook; `Conflict` when the user already has `max` of them.
    async fn create_webhook(&self, webhook: &Webhook, max: u32) -> Result<()>;
    /// One of the user's webhooks.
    async fn webhook(&self, user: &UserId, id: &WebhookId) -> Result<Option<Webhook>>;
    /// A page of the user's webhooks, newest first.
    async fn list_webhooks(&self, user: &UserId, page: PageRequest) -> Result<Page<Webhook>>;
    /// Applies a patch (re-enabling resets the failure count); `None` when there is no such webhook.
    async fn update_webhook(
        &self,
        user: &UserId,
        id: &WebhookId,
        patch: &WebhookPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Webhook>>;
    /// Deletes a webhook and its deliveries; false when there is none.
    async fn delete_webhook(&self, user: &UserId, id: &WebhookId) -> Result<bool>;
    /// A page of a webhook's deliveries, newest first; `None` when the webhook is not the user's.
    async fn list_deliveries(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        page: PageRequest,
    ) -> Result<Option<Page<Delivery>>>;
    /// Stores a new pending delivery (the test ping).
    async fn create_delivery(&self, delivery: &Delivery) -> Result<()>;
    /// Puts a dead delivery back to pending, due `now`, with a fresh round of attempts;
    /// `NotFound` when it is not the user's, `Conflict` when it is not dead.
    async fn requeue_delivery(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Delivery>;
    /// Takes a pending delivery that is due (with `early` tolerance) and not leased, leasing it
    /// to `holder` until `now + lease`; returns it with its webhook. `None` when it is not
    /// pending, not due, leased by another worker, or gone (a delivery whose webhook is gone is
    /// deleted).
    async fn claim_delivery(
        &self,
        id: &DeliveryId,
        holder: &str,
        now: DateTime<Utc>,
        early: Duration,
        lease: Duration,
    ) -> Result<Option<(Delivery, Webhook)>>;
    /// Logs an attempt and applies its outcome to the delivery and to the webhook's failure
    /// count, as [`AttemptOutcome::delivery_step`] and [`AttemptOutcome::webhook_after`]
    /// decide (a dead delivery counts one failure; `disable_after` consecutive ones disable it;
    /// a success resets the count). Only the lease `holder` can record: `None` when the delivery
    /// is gone, no longer pending, or its lease passed to another worker meanwhile.
    async fn record_attempt(
        &self,
        id: &DeliveryId,
        holder: &str,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<AttemptRecorded>>;
    /// Pending, unleased deliveries due before `due_before` (the relay re-queues them).
    async fn overdue_deliveries(&self, due_before: DateTime<Utc>, limit: u32) -> Result<Vec<DeliveryId>>;
    /// Deletes finished deliveries last changed before `before`; returns how many.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// How a scheduled run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Done.
    Succeeded,
    /// Failed; it will be retried.
    Failed,
    /// Failed for the last time.
    Dead,
}

impl RunOutcome {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// One tick of one schedule, as claimed and run.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRun {
    /// Schedule name, e.g. `reservation_expiry`.
    pub schedule: String,
    /// The tick (the cron instant it belongs to).
    pub tick_at: DateTime<Utc>,
    /// The worker that claimed it.
    pub claimed_by: String,
    /// When it was claimed.
    pub claimed_at: DateTime<Utc>,
    /// When the last attempt finished, if one has.
    pub finished_at: Option<DateTime<Utc>>,
    /// How the last attempt ended.
    pub outcome: Option<RunOutcome>,
    /// What it did, or why it failed.
    pub detail: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
}

/// Cron coordination: each tick of each schedule is claimed by exactly one worker process.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Claims `(schedule, tick)` for `worker`; true for exactly one caller per pair, however
    /// many processes race for it.
    async fn claim_tick(&self, schedule: &str, tick: DateTime<Utc>, worker: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Records how an attempt of a claimed tick ended.
    async fn finish_tick(
        &self,
        schedule: &str,
        tick: DateTime<Utc>,
        outcome: RunOutcome,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// The most recent tick of every schedule that has run.
    async fn latest_ticks(&self) -> Result<Vec<ScheduleRun>>;
    /// Every recorded tick of one schedule, newest first (at most `limit`).
    async fn ticks(&self, schedule: &str, limit: u32) -> Result<Vec<ScheduleRun>>;
    /// Deletes ticks claimed before `before`; returns how many.
    async fn prune_ticks(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// The expiry sweeps of the scheduled jobs (reads already treat expired things as expired;
/// these record it, with audit events and `reservation.expired` events).
#[async_trait]
pub trait ExpiryStore: Send + Sync {
    /// Marks up to `limit` active reservations whose expiry is past as expired: status, audit
    /// event (`expire`, by `system`) and domain event, one unit of work each. Returns how many.
    async fn expire_reservations(&self, now: DateTime<Utc>, limit: u32) -> Result<u64>;
    /// Marks up to `limit` active shares whose expiry is past as inactive (audited). Returns how many.
    async fn expire_shares(&self, now: DateTime<Utc>, limit: u32) -> Result<u64>;
    /// Tells the owners of every active reservation that expires within `EXPIRY_NOTICE` of
    /// `now` (a `reservation_expiring` notice each, once per reservation whatever the number of
    /// runs; their settings decide whether it is kept), `limit` reservations per unit of work.
    /// Returns the notices this call created.
    async fn announce_expiring_reservations(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<NotificationCreated>>;
}
