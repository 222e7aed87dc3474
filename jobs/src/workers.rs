//! All the wiring in one place: one apalis worker per queue (each with a concurrency limit,
//! timeout, tracing and panic catching), one cron claim loop per schedule, all under one
//! apalis `Monitor` that stops taking jobs on the shutdown signal, lets in-flight jobs finish
//! within `IPAM_SHUTDOWN_TIMEOUT_SECS`, and hands fetched-but-unstarted jobs back to the queue.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, BoxDynError, Data, Monitor, WorkerBuilder};
use tokio::task::JoinHandle;

use crate::job::{Envelope, Lane};
use crate::platform::Platform;
use crate::schedule;

/// The apalis handler: every job goes through [`Platform::execute`].
async fn handle(envelope: Envelope, platform: Data<Arc<Platform>>) -> Result<(), BoxDynError> {
    platform.execute(envelope).await.map_err(|e| e.to_string().into())
}

/// The longest a job may run before apalis cuts it: a delivery waits at most its timeout, a
/// sweep over a large backlog may take a while (each of its units of work is short).
fn time_limit(lane: Lane, settings: &ipam_core::configuration::Settings) -> Duration {
    match lane {
        Lane::Webhooks => Duration::from_millis(settings.webhook_timeout_ms) + Duration::from_secs(60),
        Lane::Jobs => Duration::from_secs(3600),
    }
}

macro_rules! worker {
    ($name:expr, $backend:expr, $platform:expr, $settings:expr, $lane:expr) => {
        WorkerBuilder::new($name)
            .backend($backend.poll_with_interval(Duration::from_millis($settings.worker_poll_ms)))
            .data($platform.clone())
            .concurrency(usize::try_from($settings.worker_concurrency).unwrap_or(4))
            .timeout(time_limit($lane, &$settings))
            .enable_tracing()
            .catch_panic()
            .build(handle)
    };
}

/// Running workers and schedules.
#[derive(Debug)]
pub struct WorkerHandle {
    monitor: JoinHandle<()>,
    crons: Vec<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Waits until the monitor has stopped (after the shutdown signal and the drain).
    pub async fn wait(self) {
        if let Err(e) = self.monitor.await {
            tracing::error!(error = %e, "worker monitor task failed");
        }
        for c in self.crons {
            c.abort();
        }
    }
}

/// Starts the workers of both queues and the cron schedules; they stop when `shutdown` resolves.
pub fn start_workers(platform: Arc<Platform>, shutdown: impl Future<Output = ()> + Send + 'static) -> WorkerHandle {
    crate::metrics::describe();
    let settings = Arc::new(platform.settings().clone());
    let name = platform.worker_name().to_owned();
    let mut monitor = Monitor::new()
        .shutdown_timeout(Duration::from_secs(settings.shutdown_timeout_secs.max(1)))
        // A worker whose backend errored (e.g. Redis restarting) is started again.
        .should_restart(|ctx, err| {
            tracing::warn!(worker = ctx.name(), error = %err, "worker stopped with an error; restarting");
            true
        });
    for lane in Lane::ALL {
        let worker_name = format!("{name}-{}", lane.as_str());
        let (p, s) = (platform.clone(), settings.clone());
        if let Some(storage) = platform.queue().redis(lane) {
            monitor = monitor.register(move |restarts| {
                // A restarted worker registers under a new name (apalis refuses a live one).
                worker!(format!("{worker_name}-{restarts}"), storage.clone(), p, s, lane)
            });
        } else if let Some(storage) = platform.queue().sqlite(lane) {
            monitor = monitor
                .register(move |restarts| worker!(format!("{worker_name}-{restarts}"), storage.clone(), p, s, lane));
        }
    }
    let crons = platform
        .schedules()
        .iter()
        .map(|scheduled| tokio::spawn(schedule::run(platform.clone(), scheduled.clone())))
        .collect();
    let monitor = tokio::spawn(async move {
        let signal = async move {
            shutdown.await;
            tracing::info!("workers: no new jobs; draining in-flight ones");
            Ok(())
        };
        if let Err(e) = monitor.run_with_signal(signal).await {
            tracing::error!(error = %e, "worker monitor stopped with an error");
        }
        tracing::info!("workers stopped");
    });
    WorkerHandle { monitor, crons }
}
