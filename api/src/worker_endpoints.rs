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
    /// Binds `addr` (port 0 works). When its port is taken (a second worker on the same host
    /// with the default `IPAM_WORKER_ADDR`), binds a free port on the same interface instead and
    /// warns with both addresses: the worker's jobs matter more than a fixed scrape port, and
    /// [`local_addr`](Self::local_addr) (logged at start) says where it ended up.
    pub async fn bind(addr: SocketAddr, platform: Arc<Platform>) -> anyhow::Result<Self> {
        // Install the recorder before the workers start counting.
        metrics::handle();
        let cannot = |e: std::io::Error| anyhow::anyhow!("cannot listen on {addr} (IPAM_WORKER_ADDR): {e}");
        let listener = match TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() != 0 => {
                let listener = TcpListener::bind(SocketAddr::new(addr.ip(), 0)).await.map_err(cannot)?;
                let bound = listener.local_addr().map_err(cannot)?;
                tracing::warn!(
                    configured = %addr,
                    bound = %bound,
                    "IPAM_WORKER_ADDR {addr} is in use (another worker on this host?): serving /health and /metrics \
                     on {bound} instead; give each worker its own IPAM_WORKER_ADDR for a fixed scrape target"
                );
                listener
            }
            Err(e) => return Err(cannot(e)),
        };
        Ok(Self { listener, platform })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The address actually bound (the configured one, or the fallback when it was taken).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
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
