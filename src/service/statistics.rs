//! Statistics served from the result cache: the dashboard (more to come: forecasts, trends).
//!
//! A cached result is keyed by the user, the query and the user's data version
//! (`StatisticsStore::data_version`), which every audited unit of work moves in the same
//! transaction, whichever process made it: a change is never followed by a stale read, and
//! nothing ever has to be invalidated. What changes without an audit record (notifications
//! read or created) is read fresh on every request instead.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Ipam;
use crate::auth::Actor;
use crate::domain::statistics::Dashboard;
use crate::error::Result;

/// A result and whether it came from the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<T> {
    /// The result.
    pub value: T,
    /// True when it was served from the cache.
    pub cached: bool,
}

impl Ipam {
    /// The caller's dashboard: from the cache unless `fresh`, computed from the store's counts
    /// otherwise (and then cached for the dashboard TTL).
    pub async fn dashboard(&self, actor: &Actor, fresh: bool) -> Result<Fetched<Dashboard>> {
        let user = &actor.user_id;
        let now = self.now();
        let version = self.store.data_version(user).await?;
        let key = format!("dashboard:{user}:v{version}");
        let mut fetched = match self.cached::<Dashboard>("dashboard", &key, fresh).await {
            Some(value) => Fetched { value, cached: true },
            None => {
                let counts = self.store.dashboard_counts(user, now).await?;
                let value = Dashboard::new(&counts, &self.catalog, now);
                self.remember(&key, &value, self.cache_ttls.dashboard).await;
                Fetched { value, cached: false }
            }
        };
        if fetched.cached {
            // Not audited, so not in the data version: always read fresh.
            fetched.value.unread_notifications = self.store.unread_count(user, now).await?;
        }
        Ok(fetched)
    }

    /// The cached value under `key`, counted as a hit or a miss of `cache`; `None` when `fresh`
    /// (not counted: the cache was not asked), missing, unreadable, or when the cache fails
    /// (a cache is an optimisation: its failure is logged and the result computed).
    pub(super) async fn cached<T: DeserializeOwned>(&self, cache: &'static str, key: &str, fresh: bool) -> Option<T> {
        if fresh {
            return None;
        }
        let found = match self.cache.get(key).await {
            Ok(found) => found.and_then(|text| serde_json::from_str(&text).ok()),
            Err(e) => {
                tracing::warn!(cache, error = %e, "result cache unavailable; computing");
                None
            }
        };
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("ipam_cache_requests_total", "cache" => cache, "result" => result).increment(1);
        found
    }

    /// Stores `value` under `key` for `ttl` (failures are logged, never returned).
    pub(super) async fn remember<T: Serialize>(&self, key: &str, value: &T, ttl: std::time::Duration) {
        let Ok(text) = serde_json::to_string(value) else { return };
        if let Err(e) = self.cache.put(key, &text, ttl).await {
            tracing::warn!(error = %e, "result cache unavailable; result not cached");
        }
    }
}
