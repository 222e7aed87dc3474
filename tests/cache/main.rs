//! The result cache against its backends as configured: `open()` picks the in-process cache
//! without `redis_url`, and the Redis cache stores, serves and expires values under the
//! deployment's key prefix.
//!
//! The Redis tests are ignored unless asked for (`--ignored` with `IPAM_TEST_REDIS_URL`, as CI
//! does); each uses its own random prefix, so runs sharing one Redis never see each other's keys.

use std::sync::Arc;
use std::time::Duration;

use ipam_core::cache::{self, ResultCache};
use ipam_core::clock::SystemClock;
use ipam_core::configuration::Settings;
use secrecy::SecretString;

/// The Redis server of the Redis tests.
fn redis_url() -> String {
    std::env::var("IPAM_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .expect("set IPAM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the Redis tests")
}

/// Settings pointing at the test Redis under a fresh prefix, and that prefix.
fn redis_settings() -> (Settings, String) {
    let prefix = format!("test-cache-{}", ulid::Ulid::generate().to_string().to_lowercase());
    let settings = Settings {
        redis_url: Some(SecretString::from(redis_url())),
        queue_prefix: prefix.clone(),
        ..Settings::default()
    };
    (settings, prefix)
}

/// The cache `open()` builds from `settings`.
async fn open(settings: &Settings) -> Arc<dyn ResultCache> {
    cache::open(settings, Arc::new(SystemClock)).await.expect("open the result cache")
}

/// A plain connection to the test Redis, to look behind the cache.
async fn raw_redis() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).expect("a valid Redis URL");
    client.get_multiplexed_async_connection().await.expect("connect to the test Redis")
}

#[tokio::test]
async fn without_a_redis_url_the_cache_is_in_process() {
    let cache = open(&Settings::default()).await;
    assert_eq!(cache.backend(), "memory");
    cache.put("u1:search:q", "[1]", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("u1:search:q").await.unwrap().as_deref(), Some("[1]"));
    cache.ping().await.expect("the in-process cache is always healthy");
}

#[tokio::test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
async fn with_a_redis_url_a_stored_value_comes_back_from_redis() {
    let (settings, _) = redis_settings();
    let cache = open(&settings).await;
    assert_eq!(cache.backend(), "redis");
    let value = r#"{"regions":[{"id":"r1","utilisation":0.5}],"note":"ünïcode"}"#;
    cache.put("u1:dashboard:v7", value, Duration::from_secs(300)).await.unwrap();
    assert_eq!(cache.get("u1:dashboard:v7").await.unwrap().as_deref(), Some(value));
}

#[tokio::test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
async fn a_key_never_stored_in_redis_is_a_miss() {
    let (settings, _) = redis_settings();
    let cache = open(&settings).await;
    cache.put("u1:search:a", "[]", Duration::from_secs(300)).await.unwrap();
    assert_eq!(cache.get("u1:search:b").await.unwrap(), None);
    assert_eq!(cache.get("u2:search:a").await.unwrap(), None, "another user's key is distinct");
}

#[tokio::test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
async fn a_redis_entry_lands_under_the_deployment_prefix_with_the_given_ttl() {
    let (settings, prefix) = redis_settings();
    let cache = open(&settings).await;
    cache.put("u1:forecast:v2", "{}", Duration::from_secs(24 * 60 * 60)).await.unwrap();

    let mut raw = raw_redis().await;
    let key = format!("{prefix}:cache:u1:forecast:v2");
    let stored: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut raw).await.unwrap();
    assert_eq!(stored.as_deref(), Some("{}"), "the value is stored under {key}");
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut raw).await.unwrap();
    assert!((1..=24 * 60 * 60).contains(&ttl), "{key} expires within the 24 h given, TTL was {ttl}");
    let bare: bool = redis::cmd("EXISTS").arg("u1:forecast:v2").query_async(&mut raw).await.unwrap();
    assert!(!bare, "nothing is written outside the prefix");
}

#[tokio::test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
async fn a_sub_second_redis_ttl_still_stores_for_one_second() {
    let (settings, prefix) = redis_settings();
    let cache = open(&settings).await;
    cache.put("k", "v", Duration::from_millis(200)).await.expect("EX 0 would be refused by Redis");

    let mut raw = raw_redis().await;
    let ttl: i64 = redis::cmd("TTL").arg(format!("{prefix}:cache:k")).query_async(&mut raw).await.unwrap();
    assert!((0..=1).contains(&ttl), "TTL was {ttl}");
}

#[tokio::test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
async fn an_entry_redis_has_expired_is_a_miss() {
    let (settings, prefix) = redis_settings();
    let cache = open(&settings).await;
    cache.put("k", "v", Duration::from_secs(300)).await.unwrap();
    assert!(cache.get("k").await.unwrap().is_some(), "stored");
    // An expiry instant in the past expires the key at once: the cache defers to Redis' expiry
    // and keeps no copy of its own.
    let mut raw = raw_redis().await;
    let expired: bool =
        redis::cmd("PEXPIREAT").arg(format!("{prefix}:cache:k")).arg(1).query_async(&mut raw).await.unwrap();
    assert!(expired, "the key existed");
    assert_eq!(cache.get("k").await.unwrap(), None);
}

#[tokio::test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
async fn a_reachable_redis_answers_the_health_probe() {
    let (settings, _) = redis_settings();
    open(&settings).await.ping().await.expect("PING");
}

#[tokio::test]
async fn an_unreachable_redis_fails_to_open_without_showing_the_url() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let settings =
        Settings { redis_url: Some(SecretString::from("redis://:hunter2@127.0.0.1:1")), ..Settings::default() };
    let error = match cache::open(&settings, Arc::new(SystemClock)).await {
        Ok(_) => panic!("opened a cache on a port nobody listens on"),
        Err(e) => format!("{e:#}"),
    };
    assert!(!error.contains("hunter2"), "the error shows the password: {error}");
    assert!(error.contains("IPAM_REDIS_URL"), "the error names the setting: {error}");
}
