//! `ipam worker`: the workers and cron schedules only, plus `/health` and `/metrics` on
//! `IPAM_WORKER_ADDR`. Run as many as the load needs against one queue; SIGTERM drains.

use std::process::ExitCode;
use std::sync::Arc;

use ipam_api::{WorkerEndpoints, shutdown_signal};
use ipam_core::clock::SystemClock;
use ipam_core::configuration::Settings;
use ipam_jobs::{JobQueue, Platform, Shutdown, open_service, start_workers};

pub(crate) async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let store = ipam_core::storage::open(&settings).await?;
    let queue = JobQueue::open(&settings).await?;
    queue.ensure_shared(store.as_ref(), chrono::Utc::now()).await?;
    let addr = settings.worker_addr;
    // Its own result cache: Redis when configured (shared with the API), otherwise an
    // in-process cache no API reads (see the README on warming forecasts).
    let service = open_service(&settings, store, Arc::new(SystemClock)).await?;
    let platform = Arc::new(Platform::new(service, queue, Arc::new(settings))?);
    let endpoints = WorkerEndpoints::bind(addr, platform.clone()).await?;
    tracing::info!(
        worker = platform.worker_name(),
        addr = %endpoints.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        port = endpoints.port(),
        backend = platform.store().backend(),
        queue = platform.queue().backend_name(),
        queue_prefix = platform.queue().prefix(),
        "worker started"
    );
    let stop = Shutdown::on(shutdown_signal());
    let workers = start_workers(platform, stop.wait());
    let server = tokio::spawn(endpoints.run(stop.wait()));
    workers.wait().await;
    let _ = server.await;
    tracing::info!("worker stopped");
    Ok(ExitCode::SUCCESS)
}
