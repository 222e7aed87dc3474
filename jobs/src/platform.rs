//! What every job needs (store, queue, clock, settings, HTTP client), and the one place that
//! runs a job: metrics, logging, and our retries with backoff and dead state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use ipam_core::clock::SharedClock;
use ipam_core::configuration::Settings;
use ipam_core::service::Ipam;
use ipam_core::storage::{RunOutcome, Store};

use crate::backoff::Backoff;
use crate::job::{Envelope, Job};
use crate::jobs;
use crate::kicker::{self, Kicker};
use crate::queue::JobQueue;
use crate::schedule::Schedules;
use crate::target::PublicOnlyResolver;

/// Shared dependencies of the jobs.
pub struct Platform {
    /// The application service, shared with the API in `ipam serve` (and so its result cache).
    service: Arc<Ipam>,
    store: Arc<dyn Store>,
    queue: JobQueue,
    clock: SharedClock,
    settings: Arc<Settings>,
    schedules: Schedules,
    http: reqwest::Client,
    worker_name: String,
    kicker: Arc<Kicker>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").field("queue", &self.queue).field("worker", &self.worker_name).finish()
    }
}

async fn kick(queue: JobQueue) {
    if let Err(e) = queue.push(Envelope::new(Job::DispatchEvents)).await {
        tracing::warn!(error = %e, "could not enqueue event dispatch; the outbox relay will pick the events up");
    }
}

/// What a job reports when it did its work: a short summary for logs and the schedule history.
pub type JobResult = anyhow::Result<String>;

impl Platform {
    /// Builds the platform over `service` (its store, clock and result cache; see
    /// [`open_service`](crate::open_service)). The queue must already be open.
    pub fn new(service: Arc<Ipam>, queue: JobQueue, settings: Arc<Settings>) -> anyhow::Result<Self> {
        let store = service.store().clone();
        let clock: SharedClock = service.clock().clone();
        let schedules = Schedules::from_settings(&settings)?;
        // reqwest is built without a TLS crypto provider; use ring (the MongoDB driver's). A
        // provider installed earlier (e.g. by `main`) is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.webhook_timeout_ms))
            .connect_timeout(Duration::from_millis(settings.webhook_timeout_ms))
            // 3xx is a failure, never followed: a redirect could lead to a private address.
            .redirect(reqwest::redirect::Policy::none())
            // Never through a proxy from the environment: a proxy resolves the target itself,
            // which would bypass the public-address resolver below.
            .no_proxy()
            .user_agent(concat!("ipam-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PublicOnlyResolver { allow_private: settings.webhook_allow_private_targets }))
            .build()?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        // Unique per process and per restart: apalis refuses a name still registered as alive.
        let worker_name = format!("{host}-{}-{}", std::process::id(), ulid::Ulid::generate());
        let pushed = queue.clone();
        let kicker = Kicker::new(kicker::WINDOW, Arc::new(move || Box::pin(kick(pushed.clone()))));
        Ok(Self { service, store, queue, clock, settings, schedules, http, worker_name, kicker })
    }

    /// The application service (jobs that compute what the API serves go through it).
    pub fn service(&self) -> &Arc<Ipam> {
        &self.service
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The queue.
    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The schedules.
    pub fn schedules(&self) -> &Schedules {
        &self.schedules
    }

    /// The webhook HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// This process's worker name.
    pub fn worker_name(&self) -> &str {
        &self.worker_name
    }

    /// Now, by the platform's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Retry delays of failing jobs.
    pub fn job_backoff(&self) -> Backoff {
        Backoff::new(Duration::from_millis(self.settings.job_backoff_base_ms), Duration::from_secs(3600))
    }

    /// Retry delays of webhook deliveries.
    pub fn webhook_backoff(&self) -> Backoff {
        Backoff::new(Duration::from_millis(self.settings.webhook_backoff_base_ms), Duration::from_secs(6 * 3600))
    }

    /// Asks a worker to fan new events out now (called after every change; the outbox relay
    /// catches any kick that is lost).
    pub async fn kick_dispatch(&self) {
        kick(self.queue.clone()).await;
    }

    /// Like [`kick_dispatch`](Self::kick_dispatch), without waiting for the queue (the API's
    /// responses never wait on it), and coalesced: a burst of writes queues a couple of
    /// dispatch jobs, not one per write (see `kicker`).
    pub fn kick_dispatch_in_background(&self) {
        self.kicker.kick();
    }

    /// Runs one job attempt. A failure is retried by re-scheduling the job with backoff until
    /// `IPAM_JOB_MAX_ATTEMPTS`, then recorded as dead. Only a failure to re-schedule is
    /// returned as an error (so apalis keeps the task and its own recovery applies).
    pub async fn execute(&self, envelope: Envelope) -> anyhow::Result<()> {
        let name = envelope.job.name();
        let attempt = envelope.previous_attempts + 1;
        let started = Instant::now();
        let work = async {
            match &envelope.job {
                Job::DispatchEvents => jobs::dispatch_events::run(self).await,
                Job::DeliverWebhook { delivery_id } => jobs::deliver_webhook::run(self, delivery_id).await,
                Job::Scheduled { schedule, .. } => jobs::run_scheduled(self, *schedule).await,
                Job::BulkTags { job_id } => jobs::bulk_tags::run(self, job_id).await,
            }
        };
        // A panic is a failure like any other: retried with backoff, then dead, and recorded
        // (apalis would otherwise kill the task without our bookkeeping).
        let result = match std::panic::AssertUnwindSafe(work).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "unknown panic".into());
                Err(anyhow::anyhow!("the job panicked: {what}"))
            }
        };
        let took = started.elapsed();
        let tick = match &envelope.job {
            Job::Scheduled { schedule, tick } => Some((*schedule, *tick)),
            _ => None,
        };
        match result {
            Ok(summary) => {
                crate::metrics::job_finished(name, "succeeded", took);
                tracing::info!(job = name, attempt, took_ms = took.as_millis() as u64, %summary, "job done");
                if let Some((s, t)) = tick {
                    self.record_tick(s, t, RunOutcome::Succeeded, &summary).await;
                }
                Ok(())
            }
            Err(e) if attempt < self.settings.job_max_attempts => {
                let delay = self.job_backoff().delay(attempt);
                crate::metrics::job_finished(name, "retried", took);
                tracing::warn!(job = name, attempt, retry_in_ms = delay.as_millis() as u64, error = %format!("{e:#}"), "job failed; retrying");
                if let Some((s, t)) = tick {
                    self.record_tick(s, t, RunOutcome::Failed, &format!("{e:#}")).await;
                }
                let again = Envelope { job: envelope.job.clone(), previous_attempts: attempt };
                self.queue.push_after(again, delay).await
            }
            Err(e) => {
                crate::metrics::job_finished(name, "dead", took);
                tracing::error!(job = name, attempt, error = %format!("{e:#}"), "job failed for the last time; it is dead");
                if let Some((s, t)) = tick {
                    self.record_tick(s, t, RunOutcome::Dead, &format!("{e:#}")).await;
                }
                Ok(())
            }
        }
    }

    /// Runs, in this task, everything that is due by the platform's clock until nothing is left:
    /// event dispatch, then every due delivery. Tests use it instead of waiting for workers
    /// (they move the clock to make retries due); it touches the same state the jobs do.
    pub async fn drain(&self) -> anyhow::Result<u32> {
        let mut ran = 0;
        loop {
            let summary = jobs::dispatch_events::run(self).await?;
            let due = self.store.overdue_deliveries(self.now() + chrono::Duration::milliseconds(1), 1_000).await?;
            if due.is_empty() {
                tracing::debug!(%summary, ran, "drained");
                return Ok(ran);
            }
            for id in due {
                jobs::deliver_webhook::run(self, &id).await?;
                ran += 1;
            }
        }
    }

    /// Runs one schedule's job here and now, as if this worker had claimed tick `tick` (tests
    /// use it instead of going through the queue; operators use the schedules API, which
    /// enqueues the run like a cron tick).
    pub async fn run_schedule_now(&self, schedule: crate::ScheduleName, tick: DateTime<Utc>) -> anyhow::Result<bool> {
        if !self.store.claim_tick(schedule.as_str(), tick, &self.worker_name, self.now()).await? {
            return Ok(false);
        }
        self.execute(Envelope::new(Job::Scheduled { schedule, tick })).await?;
        Ok(true)
    }

    async fn record_tick(&self, schedule: crate::ScheduleName, tick: DateTime<Utc>, outcome: RunOutcome, detail: &str) {
        let detail: String = detail.chars().take(500).collect();
        if let Err(e) = self.store.finish_tick(schedule.as_str(), tick, outcome, &detail, self.now()).await {
            tracing::warn!(%schedule, error = %e, "could not record the outcome of a scheduled run");
        }
    }
}
