//! The Redis result cache: `SET key value EX ttl` / `GET` under `{queue_prefix}:cache:`, over a
//! reconnecting connection manager, so every API process of a deployment shares one cache.
//!
//! Redis decides expiry (by its own clock). Errors never carry the URL (it may hold a password):
//! they say which command failed and why, as an internal error.

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError};
use anyhow::Context;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::ResultCache;
use crate::error::{IpamError, Result};

/// The shared [`ResultCache`] (used when `IPAM_REDIS_URL` is set).
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    namespace: String,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl RedisCache {
    /// Connects to `url`; keys go under `{prefix}:cache:`. The connection manager reconnects by
    /// itself, but briefly (see [`connection_config`]).
    pub async fn connect(url: &SecretString, prefix: &str) -> anyhow::Result<Self> {
        let client = Client::open(url.expose_secret()).map_err(|e| anyhow::anyhow!("invalid IPAM_REDIS_URL: {e}"))?;
        let conn = ConnectionManager::new_with_config(client, connection_config()).await.with_context(|| {
            format!(
                "cannot connect to Redis at {} (IPAM_REDIS_URL) for the cache",
                crate::configuration::redis_endpoint(url)
            )
        })?;
        Ok(Self { conn, namespace: format!("{prefix}:cache:") })
    }

    /// The Redis key of a cache key.
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.namespace)
    }
}

/// A cache must fail fast: a request waiting seconds for it would be better off computing the
/// result. So: 1 s per connection attempt, 500 ms per response (the redis crate's defaults, made
/// explicit) and two quick retries instead of six exponential ones (which take ~10 s to give up).
fn connection_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_millis(500)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(200))
}

/// An internal error naming the command that failed (never the URL).
fn unavailable(command: &str, e: RedisError) -> IpamError {
    IpamError::internal(format!("result cache: Redis {command} failed: {e}"))
}

#[async_trait]
impl ResultCache for RedisCache {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> Result<Option<String>> {
        let mut conn = self.conn.clone();
        ::redis::cmd("GET").arg(self.redis_key(key)).query_async(&mut conn).await.map_err(|e| unavailable("GET", e))
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<()> {
        let mut conn = self.conn.clone();
        // EX takes whole seconds and refuses 0: a sub-second TTL lives one second.
        let seconds = ttl.as_secs().max(1);
        ::redis::cmd("SET")
            .arg(self.redis_key(key))
            .arg(value)
            .arg("EX")
            .arg(seconds)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| unavailable("SET", e))
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = ::redis::cmd("PING").query_async(&mut conn).await.map_err(|e| unavailable("PING", e))?;
        Ok(())
    }
}
