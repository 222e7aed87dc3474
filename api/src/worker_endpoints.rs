//! What `ipam worker` serves on `IPAM_WORKER_ADDR`: `/health` (the same report as the API's)
//! and `/metrics`, so Prometheus can scrape every worker process.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use ipam_jobs::Platform;
use tokio::net::TcpListener;

use crate::metrics;
use crate::routes::health_report;

/// The bound listener of a worker's endpoints.
#[derive(Debug)]
pub struct WorkerEndpoints {
    listener: TcpListener,
    platform: Arc<Platform>,
}

impl WorkerEndpoints {
    /// Binds `addr` (port 0 works).
    pub async fn bind(addr: SocketAddr, platform: Arc<Platform>) -> anyhow::Result<Self> {
        // Install the recorder before the workers start counting.
        metrics::handle();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (IPAM_WORKER_ADDR): {e}"))?;
        Ok(Self { listener, platform })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let handle = metrics::handle();
        let router = Router::new()
            .route(
                "/health",
                get(|State(p): State<Arc<Platform>>| async move {
                    let (status, report) = health_report(&p, None).await;
                    (status, axum::Json(report))
                }),
            )
            .route(
                "/metrics",
                get(move || {
                    let handle = handle.clone();
                    async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response() }
                }),
            )
            .with_state(self.platform);
        axum::serve(self.listener, router).with_graceful_shutdown(shutdown).await
    }
}
