//! The in-process result cache: a moka cache bounded by the bytes it holds, with expiry decided
//! by the injected clock.
//!
//! Why bytes rather than entries: a search result is a few hundred bytes, a dashboard or a
//! forecast can be tens of kilobytes, so an entry count bounds nothing useful; a weigher by key
//! and value length keeps the whole cache under [`DEFAULT_CAPACITY_BYTES`] whatever the mix.
//!
//! Expiry: every entry carries `expires_at` computed from [`Clock::now`](crate::clock::Clock),
//! and an entry at or after it is a miss, so tests move a `ManualClock` and get deterministic
//! answers. moka additionally drops each entry after its own time to live in real time (a
//! per-entry expiry policy), which only frees memory: with the system clock both agree.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use moka::Expiry;
use moka::sync::Cache;

use super::ResultCache;
use crate::clock::SharedClock;
use crate::error::Result;

/// Bytes of keys and values the in-process cache holds at most (64 MiB).
pub const DEFAULT_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// Longest time moka keeps an entry in memory, whatever its TTL (moka refuses absurd durations).
const MAX_RESIDENCE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Per-entry bookkeeping charged on top of key and value bytes by the weigher.
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// A stored value and when it stops being served.
#[derive(Debug, Clone)]
struct Entry {
    value: Arc<str>,
    expires_at: DateTime<Utc>,
    ttl: Duration,
}

/// moka's per-entry expiry: each entry leaves memory after its own TTL (reset on overwrite).
struct OwnTtl;

impl Expiry<String, Entry> for OwnTtl {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _created_at: Instant) -> Option<Duration> {
        Some(entry.ttl.min(MAX_RESIDENCE))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl.min(MAX_RESIDENCE))
    }
}

/// The in-process [`ResultCache`] (used when no Redis is configured).
#[derive(Clone)]
pub struct MemoryCache {
    entries: Cache<String, Entry>,
    clock: SharedClock,
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache").field("weighted_size", &self.entries.weighted_size()).finish()
    }
}

impl MemoryCache {
    /// A cache holding at most [`DEFAULT_CAPACITY_BYTES`].
    pub fn new(clock: SharedClock) -> Self {
        Self::with_capacity_bytes(clock, DEFAULT_CAPACITY_BYTES)
    }

    /// A cache holding at most `capacity` bytes of keys and values (plus a fixed per-entry charge).
    pub fn with_capacity_bytes(clock: SharedClock, capacity: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(capacity)
            .weigher(|key: &String, entry: &Entry| {
                u32::try_from(key.len() + entry.value.len() + ENTRY_OVERHEAD_BYTES).unwrap_or(u32::MAX)
            })
            .expire_after(OwnTtl)
            .build();
        Self { entries, clock }
    }

    /// Bytes currently charged against the capacity, after moka has applied pending evictions.
    pub fn weighted_size(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }
}

#[async_trait]
impl ResultCache for MemoryCache {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> Result<Option<String>> {
        // An expired entry is left for moka to drop: removing it here could race with a
        // concurrent `put` of a fresh value under the same key.
        Ok(self
            .entries
            .get(key)
            .filter(|entry| self.clock.now() < entry.expires_at)
            .map(|entry| entry.value.to_string()))
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<()> {
        let now = self.clock.now();
        let expires_at = TimeDelta::from_std(ttl)
            .ok()
            .and_then(|ttl| now.checked_add_signed(ttl))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.entries.insert(key.to_owned(), Entry { value: Arc::from(value), expires_at, ttl });
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::clock::ManualClock;

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap()))
    }

    #[tokio::test]
    async fn a_stored_value_is_served_until_its_ttl_has_passed_on_the_injected_clock() {
        let clock = clock();
        let cache = MemoryCache::new(clock.clone());
        cache.put("u1:dashboard:v3", r#"{"regions":2}"#, Duration::from_secs(300)).await.unwrap();

        assert_eq!(cache.get("u1:dashboard:v3").await.unwrap().as_deref(), Some(r#"{"regions":2}"#));
        clock.advance(TimeDelta::seconds(299) + TimeDelta::milliseconds(999));
        assert!(cache.get("u1:dashboard:v3").await.unwrap().is_some(), "still fresh 1 ms before its TTL");
        clock.advance(TimeDelta::milliseconds(1));
        assert_eq!(cache.get("u1:dashboard:v3").await.unwrap(), None, "an entry at its expiry instant is a miss");
    }

    #[tokio::test]
    async fn a_key_never_stored_is_a_miss() {
        let cache = MemoryCache::new(clock());
        cache.put("u1:search:a", "[]", Duration::from_secs(300)).await.unwrap();
        assert_eq!(cache.get("u1:search:b").await.unwrap(), None);
        assert_eq!(cache.get("u2:search:a").await.unwrap(), None, "keys of another user are distinct");
    }

    #[tokio::test]
    async fn an_overwrite_replaces_the_value_and_restarts_its_ttl() {
        let clock = clock();
        let cache = MemoryCache::new(clock.clone());
        cache.put("k", "old", Duration::from_secs(60)).await.unwrap();
        clock.advance(TimeDelta::seconds(50));
        cache.put("k", "new", Duration::from_secs(60)).await.unwrap();
        clock.advance(TimeDelta::seconds(30));
        assert_eq!(
            cache.get("k").await.unwrap().as_deref(),
            Some("new"),
            "80 s after the first put, 30 s after the second"
        );
        clock.advance(TimeDelta::seconds(30));
        assert_eq!(cache.get("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn each_entry_keeps_the_ttl_its_caller_chose() {
        let clock = clock();
        let cache = MemoryCache::new(clock.clone());
        cache.put("search", "s", super::super::SEARCH_TTL).await.unwrap();
        cache.put("forecast", "f", super::super::FORECAST_TTL).await.unwrap();
        clock.advance(TimeDelta::minutes(6));
        assert_eq!(cache.get("search").await.unwrap(), None, "a search result is gone after 5 minutes");
        assert_eq!(cache.get("forecast").await.unwrap().as_deref(), Some("f"), "a forecast lasts 24 hours");
        clock.advance(TimeDelta::hours(24));
        assert_eq!(cache.get("forecast").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_zero_ttl_stores_nothing_servable() {
        let cache = MemoryCache::new(clock());
        cache.put("k", "v", Duration::ZERO).await.unwrap();
        assert_eq!(cache.get("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_cache_never_holds_more_bytes_than_its_capacity() {
        let capacity = 10 * 1024;
        let cache = MemoryCache::with_capacity_bytes(clock(), capacity);
        let value = "x".repeat(1024);
        for i in 0..100 {
            cache.put(&format!("key-{i}"), &value, Duration::from_secs(300)).await.unwrap();
        }
        let held = cache.weighted_size();
        assert!(held <= capacity, "holds {held} bytes, capacity {capacity}");
        let mut kept = 0;
        for i in 0..100 {
            kept += usize::from(cache.get(&format!("key-{i}")).await.unwrap().is_some());
        }
        assert!((1..10).contains(&kept), "10 KiB hold fewer than ten 1 KiB values, but some: kept {kept}");
    }

    #[tokio::test]
    async fn memory_is_always_reachable() {
        let cache = MemoryCache::new(clock());
        assert_eq!(cache.backend(), "memory");
        cache.ping().await.unwrap();
    }
}
