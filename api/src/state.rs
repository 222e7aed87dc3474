//! The state every handler shares (cheap to clone).

use std::sync::Arc;

use ipam_core::auth::TokenKeys;
use ipam_core::configuration::Settings;
use ipam_core::service::Ipam;
use ipam_jobs::Platform;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::rate_limit::RateLimits;

/// Shared handles of the running API.
#[derive(Clone)]
pub struct AppState {
    /// The IPAM service.
    pub ipam: Arc<Ipam>,
    /// Token verification keys.
    pub tokens: Arc<TokenKeys>,
    /// Per-class rate limiters.
    pub(crate) limits: Arc<RateLimits>,
    /// Prometheus exposition.
    pub(crate) metrics: PrometheusHandle,
    /// Settings in force.
    pub settings: Arc<Settings>,
    /// Base of absolute links handed out.
    pub public_base_url: Arc<str>,
    /// The job platform (queue, schedules); the API enqueues through it.
    pub platform: Arc<Platform>,
}
