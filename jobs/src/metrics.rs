//! The platform's Prometheus metrics (recorded through the global `metrics` recorder that the
//! API and `ipam worker` install and render on `/metrics`).

use std::time::Duration;

use ipam_core::domain::{NotificationCreated, NotificationType, Severity};

/// A job attempt finished: `outcome` is `succeeded`, `retried` or `dead`.
pub fn job_finished(job: &'static str, outcome: &'static str, took: Duration) {
    metrics::counter!("ipam_jobs_total", "job" => job, "outcome" => outcome).increment(1);
    metrics::histogram!("ipam_job_duration_seconds", "job" => job).record(took.as_secs_f64());
    if outcome == "dead" {
        metrics::counter!("ipam_jobs_dead_total", "job" => job).increment(1);
    }
}

/// Jobs waiting in a queue.
pub fn queue_depth(queue: &str, depth: u64) {
    metrics::gauge!("ipam_queue_depth", "queue" => queue.to_owned()).set(depth as f64);
}

/// A webhook delivery attempt ended: `outcome` is `success`, `retry`, `dead`, or `abandoned`
/// (the webhook was disabled; not attempted, not a failure).
pub fn delivery_attempt(outcome: &'static str) {
    metrics::counter!("ipam_webhook_deliveries_total", "outcome" => outcome).increment(1);
}

/// A delivery succeeded `since_event` after its event was committed.
pub fn delivery_latency(since_event: Duration) {
    metrics::histogram!("ipam_webhook_delivery_seconds").record(since_event.as_secs_f64());
}

/// Undispatched events in the outbox.
pub fn outbox_backlog(n: u64) {
    metrics::gauge!("ipam_outbox_backlog").set(n as f64);
}

/// Notifications created (stored in an inbox, raised to webhooks or both), each counted once
/// by type and severity (closed sets: the labels stay bounded), and timed from the commit of
/// their cause to their own.
pub fn notifications_created(created: &[NotificationCreated]) {
    for n in created {
        metrics::counter!(
            "ipam_notifications_created_total",
            "type" => n.notification_type.as_str(),
            "severity" => n.severity.as_str()
        )
        .increment(1);
        metrics::histogram!("ipam_notification_latency_seconds").record(n.latency.as_seconds_f64());
    }
}

/// Outcomes of one recorded forecast request in the daily recomputation.
const FORECAST_OUTCOMES: [&str; 3] = ["recomputed", "forgotten", "failed"];

/// Counts the forecast recomputation's work: requests `recomputed` (cached under today's
/// key), `forgotten` (their region or country is gone) and `failed` (logged; retried the next
/// day), and requests `pruned` (not asked for in 7 days).
pub fn forecasts_recomputed(recomputed: u64, forgotten: u64, failed: u64, pruned: u64) {
    for (outcome, n) in FORECAST_OUTCOMES.into_iter().zip([recomputed, forgotten, failed]) {
        metrics::counter!("ipam_forecast_recomputations_total", "outcome" => outcome).increment(n);
    }
    metrics::counter!("ipam_forecast_requests_pruned_total").increment(pruned);
}

/// Job names, for [`describe`].
const JOB_NAMES: &[&str] = &[
    "dispatch_events",
    "deliver_webhook",
    "reservation_expiry",
    "share_expiry",
    "notification_cleanup",
    "delivery_pruning",
    "outbox_relay",
    "rule_catch_up",
    "forecast_recompute",
    "bulk_tags",
];

/// Creates every counter at zero when a process starts, so Prometheus' `increase()` sees a
/// process's first failure (a counter that appears at 1 has no "before" to increase from).
pub fn describe() {
    for job in JOB_NAMES {
        for outcome in ["succeeded", "retried", "dead"] {
            metrics::counter!("ipam_jobs_total", "job" => *job, "outcome" => outcome).increment(0);
        }
        metrics::counter!("ipam_jobs_dead_total", "job" => *job).increment(0);
    }
    for outcome in FORECAST_OUTCOMES {
        metrics::counter!("ipam_forecast_recomputations_total", "outcome" => outcome).increment(0);
    }
    for outcome in ["success", "retry", "dead", "abandoned"] {
        metrics::counter!("ipam_webhook_deliveries_total", "outcome" => outcome).increment(0);
    }
    for t in NotificationType::ALL {
        for s in Severity::ALL {
            metrics::counter!("ipam_notifications_created_total", "type" => t.as_str(), "severity" => s.as_str())
                .increment(0);
        }
    }
}
