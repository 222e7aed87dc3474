//! The result cache: computed results (JSON text) kept for a while under keys the caller builds.
//!
//! One trait, [`ResultCache`], two backends chosen once at start-up by [`open`]: Redis when
//! `IPAM_REDIS_URL` is set (shared by every API process, keys under the deployment's
//! `queue_prefix`), an in-process, size-bounded [`MemoryCache`] otherwise. The caller decides
//! the key (user, query and the user's data version, so a write never has to invalidate
//! anything) and the time to live of each entry ([`DASHBOARD_TTL`], [`FORECAST_TTL`],
//! [`SEARCH_TTL`]).
//!
//! A cache is an optimisation: callers treat an error from it as a miss and compute the result.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::memory::{DEFAULT_CAPACITY_BYTES, MemoryCache};
pub use self::redis::RedisCache;

use crate::clock::SharedClock;
use crate::configuration::Settings;
use crate::error::Result;

/// How long a dashboard result is served from the cache.
pub const DASHBOARD_TTL: Duration = Duration::from_secs(5 * 60);
/// How long a forecast result is served from the cache.
pub const FORECAST_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a search result is served from the cache.
pub const SEARCH_TTL: Duration = Duration::from_secs(5 * 60);

/// A cache of computed results (JSON text) under keys the caller builds (they embed the user,
/// the query and the user's data version).
#[async_trait]
pub trait ResultCache: Send + Sync {
    /// `"redis"` or `"memory"` (health output; metrics label values stay bounded).
    fn backend(&self) -> &'static str;
    /// The value stored under `key`, unless missing or expired.
    async fn get(&self, key: &str) -> Result<Option<String>>;
    /// Stores `value` under `key` for `ttl`, replacing any value already there.
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<()>;
    /// Probes the backend (for `/health`): Redis `PING`; memory is always `Ok`.
    async fn ping(&self) -> Result<()>;
}

/// Opens the configured cache: Redis when `redis_url` is set (failing when it cannot be
/// reached), the in-process cache otherwise. `clock` decides expiry in the in-process cache.
pub async fn open(settings: &Settings, clock: SharedClock) -> anyhow::Result<Arc<dyn ResultCache>> {
    Ok(match &settings.redis_url {
        Some(url) => Arc::new(RedisCache::connect(url, &settings.queue_prefix).await?),
        None => Arc::new(MemoryCache::new(clock)),
    })
}
