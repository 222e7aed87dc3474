//! Deliveries: one event on its way to one webhook, every attempt logged, and the state
//! machine both backends persist — an attempt's outcome moves the delivery (pending, succeeded,
//! dead) and the webhook's consecutive-failure count, which disables the webhook at a limit.

use chrono::{DateTime, Utc};

use super::event::EventType;
use super::ids::{DeliveryId, EventId, UserId, WebhookId};
use super::webhook::Webhook;

/// How an attempt ended, as the delivery job decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Succeeded,
    /// Failed; try again at this time.
    RetryAt(DateTime<Utc>),
    /// Failed for the last time: the delivery is dead.
    Dead,
    /// Not attempted because the webhook is disabled: the delivery is closed as dead without
    /// counting against the webhook (a disabled webhook gathers no failures).
    Abandoned,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its first attempt or for a retry.
    Pending,
    /// A receiver answered 2xx.
    Succeeded,
    /// Every attempt failed; it can be retried by hand.
    Dead,
}

impl DeliveryState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// HTTP status, when the receiver answered.
    pub status_code: Option<u16>,
    /// Time to the answer (or to the failure).
    pub response_time_ms: u64,
    /// What went wrong (non-2xx status, timeout, refused target…).
    pub error: Option<String>,
    /// When the attempt was made.
    pub attempted_at: DateTime<Utc>,
    /// When the next attempt is due, if there will be one.
    pub next_retry_at: Option<DateTime<Utc>>,
}

impl DeliveryAttempt {
    /// True when the receiver answered 2xx.
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Identifier (sent as `X-IPAM-Delivery`, the same on every attempt).
    pub id: DeliveryId,
    /// Target webhook.
    pub webhook_id: WebhookId,
    /// Owner of the webhook.
    pub user_id: UserId,
    /// The event delivered.
    pub event_id: EventId,
    /// Its type.
    pub event_type: EventType,
    /// The exact bytes posted and signed.
    pub body: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Every attempt so far, oldest first.
    pub attempts: Vec<DeliveryAttempt>,
    /// How many of `attempts` came before the last manual retry (a retried dead delivery gets
    /// a fresh round of attempts).
    pub round_start: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event was committed (for the event→delivery latency).
    pub event_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Delivery {
    /// A pending delivery of `body` (the event's serialised form) to `webhook`, due now.
    pub fn new(
        webhook: &Webhook,
        event_id: &EventId,
        event_type: EventType,
        body: String,
        event_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: DeliveryId::generate(),
            webhook_id: webhook.id.clone(),
            user_id: webhook.user_id.clone(),
            event_id: event_id.clone(),
            event_type,
            body,
            state: DeliveryState::Pending,
            attempts: vec![],
            round_start: 0,
            next_attempt_at: Some(now),
            event_at,
            created_at: now,
            updated_at: now,
        }
    }

    /// Attempts made in the current round (since creation or the last manual retry).
    pub fn attempts_this_round(&self) -> u32 {
        u32::try_from(self.attempts.len()).unwrap_or(u32::MAX).saturating_sub(self.round_start)
    }

    /// The most recent attempt.
    pub fn last_attempt(&self) -> Option<&DeliveryAttempt> {
        self.attempts.last()
    }
}

/// What recording an attempt did to the delivery and its webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRecorded {
    /// The delivery's state afterwards.
    pub state: DeliveryState,
    /// The webhook's consecutive-failure count afterwards.
    pub failure_count: u32,
    /// True when this attempt disabled the webhook.
    pub webhook_disabled: bool,
    /// The `webhook_disabled` notice the disabling created (set by the store that recorded
    /// it; `None` when nothing was disabled or the owner's settings keep no such notice).
    pub notice: Option<crate::domain::NotificationCreated>,
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryStep {
    /// Its state afterwards.
    pub state: DeliveryState,
    /// When its next attempt is due (only while it stays pending).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A webhook after one attempt's outcome was applied to it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAfterAttempt {
    /// The webhook as it is afterwards.
    pub webhook: Webhook,
    /// True when this outcome disabled it.
    pub disabled: bool,
}

/// Why a webhook was disabled after `failures` consecutive dead deliveries (kept on the
/// webhook as `disabled_reason`).
pub fn disabled_after(failures: u32) -> String {
    format!("disabled after {failures} consecutive failed deliveries")
}

impl AttemptOutcome {
    /// The delivery's state after an attempt that ended so, and when the next one is due.
    pub fn delivery_step(self) -> DeliveryStep {
        let (state, next_attempt_at) = match self {
            Self::Succeeded => (DeliveryState::Succeeded, None),
            Self::RetryAt(at) => (DeliveryState::Pending, Some(at)),
            Self::Dead | Self::Abandoned => (DeliveryState::Dead, None),
        };
        DeliveryStep { state, next_attempt_at }
    }

    /// What this outcome does to `webhook` at `now`: a success forgets its consecutive failures
    /// and stamps its last delivery; a dead delivery counts one failure, and an active webhook
    /// that reaches `disable_after` of them is disabled, saying why; a retry to come or an
    /// abandoned delivery changes nothing (a disabled webhook gathers no failures).
    pub fn webhook_after(self, webhook: &Webhook, disable_after: u32, now: DateTime<Utc>) -> WebhookAfterAttempt {
        let mut after = webhook.clone();
        let mut disabled = false;
        match self {
            Self::Succeeded => {
                after.failure_count = 0;
                after.last_delivery_at = Some(now);
            }
            Self::Dead => {
                after.failure_count = after.failure_count.saturating_add(1);
                if after.is_active && after.failure_count >= disable_after {
                    after.is_active = false;
                    after.disabled_reason = Some(disabled_after(after.failure_count));
                    after.updated_at = now;
                    disabled = true;
                }
            }
            Self::RetryAt(_) | Self::Abandoned => {}
        }
        WebhookAfterAttempt { webhook: after, disabled }
    }
}

impl AttemptRecorded {
    /// What recording an attempt did: the delivery's step, and the webhook afterwards (`None`
    /// when the webhook was deleted meanwhile: no failures, nothing disabled).
    pub fn new(step: DeliveryStep, webhook: Option<&WebhookAfterAttempt>) -> Self {
        Self {
            state: step.state,
            failure_count: webhook.map_or(0, |w| w.webhook.failure_count),
            webhook_disabled: webhook.is_some_and(|w| w.disabled),
            notice: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    fn hook(active: bool, failures: u32) -> Webhook {
        crate::domain::webhook::fixtures::webhook(active, failures, now() - chrono::Duration::days(1))
    }

    #[test]
    fn each_outcome_moves_the_delivery_to_its_next_state() {
        let retry = now() + chrono::Duration::seconds(60);
        let step = |o: AttemptOutcome| (o.delivery_step().state, o.delivery_step().next_attempt_at);
        assert_eq!(step(AttemptOutcome::Succeeded), (DeliveryState::Succeeded, None));
        assert_eq!(step(AttemptOutcome::RetryAt(retry)), (DeliveryState::Pending, Some(retry)));
        assert_eq!(step(AttemptOutcome::Dead), (DeliveryState::Dead, None));
        assert_eq!(step(AttemptOutcome::Abandoned), (DeliveryState::Dead, None));
    }

    #[test]
    fn a_success_resets_the_failures_and_stamps_the_last_delivery() {
        let before = hook(true, 3);
        let after = AttemptOutcome::Succeeded.webhook_after(&before, 5, now());
        assert!(!after.disabled);
        assert_eq!(after.webhook, Webhook { failure_count: 0, last_delivery_at: Some(now()), ..before });
    }

    #[test]
    fn a_dead_delivery_counts_and_disables_an_active_webhook_at_the_threshold() {
        let dead = |active, failures| {
            let after = AttemptOutcome::Dead.webhook_after(&hook(active, failures), 5, now());
            (after.webhook.failure_count, after.disabled)
        };
        assert_eq!(dead(true, 3), (4, false));
        assert_eq!(dead(true, 4), (5, true));
        assert_eq!(dead(false, 4), (5, false), "already disabled by hand");
        assert_eq!(dead(true, u32::MAX - 1), (u32::MAX, true));

        let before = hook(true, 4);
        let after = AttemptOutcome::Dead.webhook_after(&before, 5, now()).webhook;
        let disabled_reason = Some("disabled after 5 consecutive failed deliveries".to_owned());
        assert_eq!(after, Webhook { is_active: false, failure_count: 5, disabled_reason, updated_at: now(), ..before });
        let below = hook(true, 1);
        let counted = AttemptOutcome::Dead.webhook_after(&below, 5, now()).webhook;
        assert_eq!(counted, Webhook { failure_count: 2, ..below }, "below the limit only the count moves");
    }

    #[test]
    fn a_retry_or_an_abandoned_delivery_leaves_the_webhook_alone() {
        let before = hook(false, 2);
        for outcome in [AttemptOutcome::RetryAt(now()), AttemptOutcome::Abandoned] {
            assert_eq!(
                outcome.webhook_after(&before, 1, now()),
                WebhookAfterAttempt { webhook: before.clone(), disabled: false }
            );
        }
    }

    #[test]
    fn the_record_reports_the_step_and_the_webhook_afterwards() {
        let after = AttemptOutcome::Dead.webhook_after(&hook(true, 1), 2, now());
        let recorded = AttemptRecorded::new(AttemptOutcome::Dead.delivery_step(), Some(&after));
        assert_eq!(
            recorded,
            AttemptRecorded { state: DeliveryState::Dead, failure_count: 2, webhook_disabled: true, notice: None }
        );
        let gone = AttemptRecorded::new(AttemptOutcome::Succeeded.delivery_step(), None);
        assert_eq!(
            gone,
            AttemptRecorded {
                state: DeliveryState::Succeeded,
                failure_count: 0,
                webhook_disabled: false,
                notice: None
            }
        );
    }
}
