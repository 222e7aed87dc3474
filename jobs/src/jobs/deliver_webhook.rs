//! Webhook delivery: one attempt to POST one event to one webhook, signed over the exact bytes
//! sent. A failure is retried with exponential backoff (re-scheduled, same delivery id) until
//! `IPAM_WEBHOOK_MAX_ATTEMPTS`; then the delivery is dead and counts against the webhook, which
//! is disabled after `IPAM_WEBHOOK_DISABLE_AFTER_FAILURES` consecutive dead deliveries.

use std::time::{Duration, Instant};

use ipam_core::domain::{DeliveryAttempt, DeliveryId, DeliveryState, Webhook};
use ipam_core::storage::AttemptOutcome;

use crate::job::{Envelope, Job};
use crate::platform::{JobResult, Platform};
use crate::signing::signature;
use crate::target::literal_allowed;

/// A job may start this much before the delivery's due time: clocks of different hosts
/// disagree a little (the queue itself never starts a delayed job early; see `JobQueue`).
const EARLY: Duration = Duration::from_millis(250);

/// Longest error text kept per attempt.
const MAX_ERROR_CHARS: usize = 300;

/// What the receiver said.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
}

async fn post(platform: &Platform, webhook: &Webhook, delivery_id: &DeliveryId, event: &str, body: &str) -> Answer {
    let allow_private = platform.settings().webhook_allow_private_targets;
    if let Err(e) = literal_allowed(&webhook.url, allow_private) {
        return Answer { status: None, error: Some(format!("refused target: {e}")) };
    }
    let request = platform
        .http()
        .post(webhook.url.as_str())
        .header("Content-Type", "application/json")
        .header("X-IPAM-Signature", signature(webhook.secret.expose(), body.as_bytes()))
        .header("X-IPAM-Event", event)
        .header("X-IPAM-Delivery", delivery_id.as_str())
        .header("X-IPAM-Timestamp", platform.now().timestamp().to_string())
        .body(body.to_owned());
    match request.send().await {
        Ok(resp) => {
            let status = resp.status();
            let error = (!status.is_success()).then(|| format!("receiver answered HTTP {}", status.as_u16()));
            Answer { status: Some(status.as_u16()), error }
        }
        Err(e) => {
            let what = if e.is_timeout() {
                format!("no answer within {} ms", platform.settings().webhook_timeout_ms)
            } else if e.is_connect() {
                format!("could not connect: {}", root_cause(&e))
            } else {
                root_cause(&e)
            };
            Answer { status: None, error: Some(what) }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string().chars().take(MAX_ERROR_CHARS).collect()
}

/// Makes one attempt of a delivery (if it is still pending, due, and not taken by another worker).
pub async fn run(platform: &Platform, id: &DeliveryId) -> JobResult {
    let settings = platform.settings();
    let timeout = Duration::from_millis(settings.webhook_timeout_ms);
    // The lease outlives the attempt, so a crashed worker's delivery is free again soon after.
    let lease = timeout + Duration::from_secs(5);
    let store = platform.store();
    let holder = format!("{}-{}", platform.worker_name(), ulid::Ulid::generate());
    let Some((delivery, webhook)) = store.claim_delivery(id, &holder, platform.now(), EARLY, lease).await? else {
        return Ok(format!("delivery {id} is not due, already done, or taken by another worker"));
    };
    let attempted_at = platform.now();
    let started = Instant::now();
    let answer = if webhook.is_active {
        post(platform, &webhook, id, delivery.event_type.as_str(), &delivery.body).await
    } else {
        Answer { status: None, error: Some("not attempted: the webhook is disabled".into()) }
    };
    let response_time_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let in_round = delivery.attempts_this_round() + 1;
    let succeeded = answer.status.is_some_and(|s| (200..300).contains(&s));
    let now = platform.now();
    let outcome = if succeeded {
        AttemptOutcome::Succeeded
    } else if !webhook.is_active {
        AttemptOutcome::Abandoned
    } else if in_round >= settings.webhook_max_attempts {
        AttemptOutcome::Dead
    } else {
        let delay = platform.webhook_backoff().delay(in_round);
        AttemptOutcome::RetryAt(now + chrono::Duration::from_std(delay).unwrap_or_default())
    };
    let attempt = DeliveryAttempt {
        attempt: u32::try_from(delivery.attempts.len()).unwrap_or(u32::MAX) + 1,
        status_code: answer.status,
        response_time_ms,
        error: answer.error.clone(),
        attempted_at,
        next_retry_at: match outcome {
            AttemptOutcome::RetryAt(at) => Some(at),
            _ => None,
        },
    };
    let recorded =
        store.record_attempt(id, &holder, &attempt, outcome, settings.webhook_disable_after_failures, now).await?;
    let Some(recorded) = recorded else {
        return Ok(format!("delivery {id} was deleted, finished, or taken over by another worker meanwhile"));
    };
    match outcome {
        AttemptOutcome::Succeeded => {
            crate::metrics::delivery_attempt("success");
            crate::metrics::delivery_latency((now - delivery.event_at).to_std().unwrap_or_default());
        }
        AttemptOutcome::RetryAt(at) => {
            crate::metrics::delivery_attempt("retry");
            let delay = (at - now).to_std().unwrap_or_default();
            platform.queue().push_after(Envelope::new(Job::DeliverWebhook { delivery_id: id.clone() }), delay).await?;
        }
        AttemptOutcome::Dead => crate::metrics::delivery_attempt("dead"),
        AttemptOutcome::Abandoned => crate::metrics::delivery_attempt("abandoned"),
    }
    crate::metrics::notifications_created(recorded.notice.as_slice());
    if recorded.webhook_disabled {
        tracing::warn!(webhook = %webhook.id, failures = recorded.failure_count, "webhook disabled after consecutive failed deliveries");
    }
    let state = match recorded.state {
        DeliveryState::Pending => "will be retried",
        DeliveryState::Succeeded => "delivered",
        DeliveryState::Dead => "dead",
    };
    Ok(format!(
        "delivery {id} attempt {}: {} ({state})",
        attempt.attempt,
        answer.error.unwrap_or_else(|| format!("HTTP {}", answer.status.unwrap_or_default()))
    ))
}
