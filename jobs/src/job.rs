//! The job payloads: small, id-only, serialised as JSON on the queue.

use chrono::{DateTime, Utc};
use ipam_core::domain::{BulkJobId, DeliveryId};
use serde::{Deserialize, Serialize};

use crate::schedule::ScheduleName;

/// One unit of background work. Each variant's handler lives in its own file under [`crate::jobs`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Fan undispatched outbox events out to webhook deliveries.
    DispatchEvents,
    /// One attempt to deliver one event to one webhook.
    DeliverWebhook {
        /// The delivery.
        delivery_id: DeliveryId,
    },
    /// One tick of a cron schedule, claimed by this deployment's worker that won it.
    Scheduled {
        /// Which schedule.
        schedule: ScheduleName,
        /// The tick it belongs to.
        tick: DateTime<Utc>,
    },
    /// Apply a bulk tag job's change to its resources, from its cursor to the end.
    BulkTags {
        /// The job.
        job_id: BulkJobId,
    },
}

impl Job {
    /// Metric and log name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::DispatchEvents => "dispatch_events",
            Self::DeliverWebhook { .. } => "deliver_webhook",
            Self::Scheduled { schedule, .. } => schedule.as_str(),
            Self::BulkTags { .. } => "bulk_tags",
        }
    }

    /// The queue it travels on: deliveries wait on receivers for up to their timeout, so they
    /// get a queue (and worker concurrency) of their own and never hold up the sweeps.
    pub fn lane(&self) -> Lane {
        match self {
            Self::DeliverWebhook { .. } => Lane::Webhooks,
            _ => Lane::Jobs,
        }
    }
}

/// The queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Event dispatch and scheduled sweeps.
    Jobs,
    /// Webhook deliveries.
    Webhooks,
}

impl Lane {
    /// Both lanes.
    pub const ALL: [Lane; 2] = [Lane::Jobs, Lane::Webhooks];

    /// Short name (the queue is `<prefix>:<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jobs => "jobs",
            Self::Webhooks => "webhooks",
        }
    }
}

/// A job and how many times it has been attempted before (our retries re-push the job with
/// the count raised, since apalis' own attempt counter restarts with every push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The job.
    #[serde(flatten)]
    pub job: Job,
    /// Attempts made before this one.
    #[serde(default)]
    pub previous_attempts: u32,
}

impl Envelope {
    /// A first attempt of `job`.
    pub fn new(job: Job) -> Self {
        Self { job, previous_attempts: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_small_tagged_json() {
        let e = Envelope::new(Job::DeliverWebhook { delivery_id: DeliveryId::from_stored("01J".into()) });
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(text, r#"{"job":"deliver_webhook","delivery_id":"01J","previous_attempts":0}"#);
        assert_eq!(serde_json::from_str::<Envelope>(&text).unwrap(), e);
        let tick: Envelope = serde_json::from_str(
            r#"{"job":"scheduled","schedule":"reservation_expiry","tick":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(tick.job.name(), "reservation_expiry");
        assert_eq!(tick.job.lane(), Lane::Jobs);
    }
}
