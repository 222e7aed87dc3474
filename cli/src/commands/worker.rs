//! `ipam worker`: the workers and cron schedules only, plus `/health` and `/metrics` on
//! `IPAM_WORKER_ADDR`. Run as many as the load needs against one queue; SIGTERM drains.

use std::process::ExitCode;
use std::sync::Arc;

use ipam_api::{WorkerEndpoints, shutdown_signal};
use ipam_core::clock::SystemClock;
use ipam_core::configuration::Settings;
use ipam_jobs::{JobQueue, Platform, start_workers};

pub(crate) async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let store = ipam_core::storage::open(&settings).await?;
    let queue = JobQueue::open(&settings).await?;
    let addr = settings.worker_addr;
    let platform = Arc::new(Platform::new(store, queue, Arc::new(SystemClock), Arc::new(settings))?);
    let endpoints = WorkerEndpoints::bind(addr, platform.clone()).await?;
    tracing::info!(
        worker = platform.worker_name(),
        queue = platform.queue().backend_name(),
        port = endpoints.port(),
        "worker started"
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let workers = start_workers(platform, wait(stopped.clone()));
    let server = tokio::spawn(endpoints.run(wait(stopped)));
    workers.wait().await;
    let _ = server.await;
    tracing::info!("worker stopped");
    Ok(ExitCode::SUCCESS)
}
