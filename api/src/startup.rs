//! Building and running the API: `Application::build` opens the store, binds the listener
//! (port 0 works) and assembles the router; `run_until_stopped` serves until the shutdown signal.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ipam_core::auth::TokenKeys;
use ipam_core::clock::{SharedClock, SystemClock};
use ipam_core::configuration::{Settings, resolve_jwt_secret};
use ipam_jobs::{JobQueue, Platform, Shutdown};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::rate_limit::RateLimits;
use crate::state::AppState;
use crate::{metrics, routes};

/// The HTTP API, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    workers: bool,
}

impl Application {
    /// Builds the application with the wall clock.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the application with the given clock (tests control time with it).
    pub async fn build_with_clock(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        // The metrics recorder first, so nothing recorded while starting up is lost.
        let metrics = metrics::handle();
        let store = ipam_core::storage::open(&settings).await?;
        let queue = JobQueue::open(&settings).await?;
        queue.ensure_shared(store.as_ref(), clock.now()).await?;
        // One service, and so one result cache, for the handlers and the in-process workers: the
        // forecast recomputation warms the cache the API reads.
        let ipam = ipam_jobs::open_service(&settings, store, clock).await?;
        let platform = Arc::new(Platform::new(ipam.clone(), queue, Arc::new(settings.clone()))?);
        let tokens = TokenKeys::new(&resolve_jwt_secret(&settings)?);
        let listener = TcpListener::bind(settings.bind_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind_addr))?;
        let port = listener.local_addr()?.port();
        let state = AppState {
            ipam,
            tokens: Arc::new(tokens),
            limits: Arc::new(RateLimits::new(&settings)),
            metrics,
            public_base_url: settings.public_base_url(port).into(),
            settings: Arc::new(settings),
            platform,
        };
        let router = router(state.clone());
        Ok(Self { listener, router, state, workers: true })
    }

    /// Whether `run_until_stopped` also runs the workers and schedules in this process (the
    /// default; `ipam serve --no-workers` turns it off for API-only nodes).
    pub fn with_workers(mut self, workers: bool) -> Self {
        self.workers = workers;
        self
    }

    /// The port the API listens on.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The shared state (tests reach the store through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let limits = self.state.limits.clone();
        let pruner = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limits.prune();
            }
        });
        let queue = self.state.platform.queue();
        tracing::info!(
            bind_addr = %self.listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            port = self.port(),
            backend = self.state.ipam.store().backend(),
            queue = queue.backend_name(),
            queue_prefix = queue.prefix(),
            cache = self.state.ipam.cache().backend(),
            workers = self.workers,
            "API listening"
        );
        // One signal for both the API and the workers.
        let stop = Shutdown::on(shutdown);
        let workers = self.workers.then(|| ipam_jobs::start_workers(self.state.platform.clone(), stop.wait()));
        let result = axum::serve(self.listener, self.router).with_graceful_shutdown(stop.wait()).await;
        if let Some(workers) = workers {
            workers.wait().await;
        }
        pruner.abort();
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[derive(Clone, Copy)]
struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        ulid::Ulid::generate().to_string().parse().ok().map(RequestId::new)
    }
}

fn router(state: AppState) -> Router {
    let (api, openapi) = routes::api(&state);
    let timeout = Duration::from_secs(state.settings.request_timeout_secs.max(1));
    let body_limit = state.settings.max_body_bytes;
    api.route("/metrics", get(metrics::render))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(|method: Method, uri: Uri| async move {
            ApiError::NoRoute(format!("{method} {}", crate::extract::shorten(uri.path())))
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(timeout, time_limit))
        .layer(from_fn_with_state(state.clone(), kick_dispatch))
        .layer(from_fn(metrics::track))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(UlidRequestId))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(panic_response)),
        )
        .with_state(state)
}

/// After a successful change, asks a worker to fan the change's events out now (the events
/// themselves were stored with the change; the outbox relay covers a kick that is lost).
async fn kick_dispatch(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(req).await;
    if changes && response.status().is_success() {
        state.platform.kick_dispatch_in_background();
    }
    response
}

/// Runs the request in its own task and stops waiting after `limit`. Because the work is a
/// task of its own, neither the timeout nor a client that hangs up can cut a unit of work
/// half-way (the MongoDB protocols undo a partial allocation only when they run to the end).
async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let work = tokio::spawn(next.run(req));
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            let what = match e.try_into_panic() {
                Ok(cause) => panic_message(&cause),
                Err(_) => "the request task was cancelled".into(),
            };
            tracing::error!(panic = what, "handler panicked");
            ApiError::Panic.into_response()
        }
        Err(_) => ApiError::Timeout.into_response(),
    }
}

fn panic_message(cause: &Box<dyn Any + Send + 'static>) -> String {
    cause
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| cause.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".into())
}

fn panic_response(cause: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!(panic = panic_message(&cause), "handler panicked");
    ApiError::Panic.into_response()
}
