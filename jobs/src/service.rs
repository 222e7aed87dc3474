//! The application service, built the same way by every process: the API (`ipam serve`) and
//! a worker (`ipam worker`) each open the configured result cache once and give the same
//! [`Ipam`] to their handlers and their jobs. So the jobs that warm the cache (the forecast
//! recomputation) write where the API reads: the process's in-process cache in `ipam serve`,
//! Redis whenever `IPAM_REDIS_URL` is set.

use std::sync::Arc;

use ipam_core::clock::SharedClock;
use ipam_core::configuration::Settings;
use ipam_core::service::{Ipam, WebhookRules};
use ipam_core::storage::Store;

use crate::target::PublicTargets;

/// Builds the service over `store` with the configured cache, quotas and limits.
pub async fn open_service(settings: &Settings, store: Arc<dyn Store>, clock: SharedClock) -> anyhow::Result<Arc<Ipam>> {
    let webhook_rules = WebhookRules {
        targets: Arc::new(PublicTargets { allow_private: settings.webhook_allow_private_targets }),
        max_per_user: settings.webhook_max_per_user,
    };
    let cache = ipam_core::cache::open(settings, clock.clone()).await?;
    let ipam = Ipam::new(store, clock, settings.quota_defaults(), webhook_rules)
        .await?
        .with_rule_limit(settings.notification_rules_max_per_user)
        .with_cache(cache, settings.cache_ttls());
    Ok(Arc::new(ipam))
}
