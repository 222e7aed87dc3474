//! Settings: built-in defaults ← optional TOML file ← `IPAM_*` environment variables.
//!
//! With nothing configured the service runs on its embedded defaults: a SQLite file in
//! `./data`, the in-process queue and cache, and a JWT secret generated once and kept in the
//! data directory.

mod endpoints;
mod keys;
mod secrets;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use endpoints::redis_endpoint;
pub use keys::unknown_environment_variables;
pub use secrets::resolve_jwt_secret;

use crate::domain::QuotaDefaults;

/// Log output format (read by `values.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-friendly, for terminals.
    #[default]
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Whether rate limits are enforced: `on`/`true` or `off`/`false` (read by `values.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Switch {
    /// Enforced.
    #[default]
    On,
    /// Not enforced (benchmarks, some tests).
    Off,
}

/// The smallest `IPAM_MAX_BODY_BYTES`: below it even an ordinary request body would be refused.
pub const MIN_BODY_BYTES: usize = 1024;

/// Every setting. Each field is read from the environment as `IPAM_<FIELD NAME IN CAPITALS>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address the HTTP API listens on (`IPAM_BIND_ADDR`).
    pub bind_addr: SocketAddr,
    /// Directory for the embedded database, queue and generated secret (`IPAM_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `mongodb://…`; default: `ipam.db` in the data directory.
    pub database_url: Option<SecretString>,
    /// `redis://…` for the shared queue and cache; unset: embedded queue and in-process cache.
    pub redis_url: Option<SecretString>,
    /// HS256 secret (≥ 16 characters); unset: generated once into `<data_dir>/jwt_secret`.
    pub jwt_secret: Option<SecretString>,
    /// Absolute base URL used in links the API hands out (default `http://localhost:<port>`).
    pub public_base_url: Option<String>,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// `tracing` filter directive, e.g. `info` or `ipam_api=debug,info`.
    pub log_level: String,
    /// `on` or `off`.
    pub rate_limits: Switch,
    /// Core reads per user per minute.
    pub rate_limit_core_reads: u32,
    /// Core writes per user per minute.
    pub rate_limit_core_writes: u32,
    /// Enhancement endpoints per user per minute.
    pub rate_limit_standard: u32,
    /// Dashboard requests per user per minute.
    pub rate_limit_dashboard: u32,
    /// Bulk operations per user per hour.
    pub rate_limit_bulk: u32,
    /// Public share reads per minute, all callers together.
    pub rate_limit_public_shares: u32,
    /// Region limit for users without an override.
    pub default_region_quota: u32,
    /// Host limit for users without an override.
    pub default_host_quota: u32,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Requests taking longer are answered with 503.
    pub request_timeout_secs: u64,
    /// How long shutdown waits for in-flight work.
    pub shutdown_timeout_secs: u64,
    /// Apply pending schema migrations at start-up.
    pub auto_migrate: bool,
    /// Size of the database connection pool.
    pub database_max_connections: u32,
    /// Prefix of every queue name and Redis key, so deployments (and test runs) sharing one
    /// Redis never see each other's jobs.
    pub queue_prefix: String,
    /// Where `ipam worker` serves `/health` and `/metrics`.
    pub worker_addr: SocketAddr,
    /// Jobs one worker process runs at once, per queue.
    pub worker_concurrency: u32,
    /// How often an idle worker looks for new jobs, in milliseconds.
    pub worker_poll_ms: u64,
    /// Worker heartbeat in seconds; a worker silent for three heartbeats is presumed dead and
    /// its jobs go back to the queue.
    pub worker_heartbeat_secs: u64,
    /// Attempts of a failing job (scheduled sweeps, event dispatch) before it is dead.
    pub job_max_attempts: u32,
    /// First retry delay of a failing job, in milliseconds (doubling each time, with jitter).
    pub job_backoff_base_ms: u64,
    /// Cron expression (with seconds) of the reservation expiry sweep.
    pub schedule_reservation_expiry: String,
    /// Cron expression of the share expiry sweep.
    pub schedule_share_expiry: String,
    /// Cron expression of the notification cleanup.
    pub schedule_notification_cleanup: String,
    /// Cron expression of the webhook delivery-log pruning.
    pub schedule_delivery_pruning: String,
    /// Cron expression of the outbox relay (re-dispatches events and re-queues deliveries
    /// whose job was lost).
    pub schedule_outbox_relay: String,
    /// Cron expression of the notification rules' catch-up (threshold crossings no event covers).
    pub schedule_rule_catch_up: String,
    /// Cron expression of the forecast recomputation (warms the forecasts asked for in the
    /// last 7 days; just after UTC midnight, when every forecast's key changes with the day).
    pub schedule_forecast_recompute: String,
    /// Resources a bulk tag job processes between two progress records (1..=1000).
    pub bulk_batch_size: u32,
    /// Seconds a worker holds a bulk job per batch; a job whose holder stays silent longer (or
    /// that nobody picked up that long after its creation) is queued again by the outbox relay.
    pub bulk_lease_secs: u64,
    /// Seconds a dashboard result is served from the cache.
    pub cache_dashboard_ttl_secs: u64,
    /// Seconds a capacity forecast is served from the cache.
    pub cache_forecast_ttl_secs: u64,
    /// Seconds a search result is served from the cache.
    pub cache_search_ttl_secs: u64,
    /// Attempts per webhook delivery before it is dead.
    pub webhook_max_attempts: u32,
    /// First webhook retry delay in milliseconds (then ×2 per attempt, with jitter).
    pub webhook_backoff_base_ms: u64,
    /// Time a receiver has to answer, in milliseconds.
    pub webhook_timeout_ms: u64,
    /// Consecutive dead deliveries that disable a webhook.
    pub webhook_disable_after_failures: u32,
    /// Allow webhook targets on loopback, private, link-local or metadata addresses.
    pub webhook_allow_private_targets: bool,
    /// Webhooks one user may hold.
    pub webhook_max_per_user: u32,
    /// Notification rules one user may hold.
    pub notification_rules_max_per_user: u32,
}

impl Default for Settings {
    fn default() -> Self {
        let quotas = QuotaDefaults::default();
        Self {
            bind_addr: SocketAddr::from(([0, 0, 0, 0], 8000)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            jwt_secret: None,
            public_base_url: None,
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            rate_limits: Switch::On,
            rate_limit_core_reads: 1_200,
            rate_limit_core_writes: 600,
            rate_limit_standard: 100,
            rate_limit_dashboard: 60,
            rate_limit_bulk: 10,
            rate_limit_public_shares: 1_000,
            default_region_quota: quotas.regions,
            default_host_quota: quotas.hosts,
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_timeout_secs: 30,
            auto_migrate: true,
            database_max_connections: 8,
            queue_prefix: "ipam".into(),
            worker_addr: SocketAddr::from(([0, 0, 0, 0], 9091)),
            worker_concurrency: 4,
            worker_poll_ms: 200,
            worker_heartbeat_secs: 5,
            job_max_attempts: 5,
            job_backoff_base_ms: 1_000,
            schedule_reservation_expiry: "0 0 * * * *".into(),
            schedule_share_expiry: "0 5 * * * *".into(),
            schedule_notification_cleanup: "0 30 3 * * *".into(),
            schedule_delivery_pruning: "0 45 3 * * *".into(),
            schedule_outbox_relay: "*/30 * * * * *".into(),
            schedule_rule_catch_up: "0 */15 * * * *".into(),
            schedule_forecast_recompute: "0 15 0 * * *".into(),
            bulk_batch_size: 50,
            bulk_lease_secs: 60,
            cache_dashboard_ttl_secs: 300,
            cache_forecast_ttl_secs: 86_400,
            cache_search_ttl_secs: 300,
            webhook_max_attempts: 5,
            webhook_backoff_base_ms: 2_000,
            webhook_timeout_ms: 10_000,
            webhook_disable_after_failures: 10,
            webhook_allow_private_targets: false,
            webhook_max_per_user: 25,
            notification_rules_max_per_user: crate::service::DEFAULT_MAX_RULES_PER_USER,
        }
    }
}

impl Settings {
    /// Loads settings: defaults, then `config_file` (or `$IPAM_CONFIG`, or `./ipam.toml` when it
    /// exists), then the environment.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Self> {
        let file = config_file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("IPAM_CONFIG").map(PathBuf::from))
            .or_else(|| Path::new("ipam.toml").exists().then(|| PathBuf::from("ipam.toml")));
        let mut figment = Figment::new();
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "configuration file {} does not exist", file.display());
            keys::check_file(&file)?;
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("IPAM_").ignore(&["config", "database_url", "redis_url", "jwt_secret"]));
        let mut settings: Self = figment.extract().map_err(keys::explain)?;
        // figment parses environment values (a numeric secret would become a number and a
        // leading zero would be lost), so the secret-bearing strings are taken verbatim.
        for (var, field) in [
            ("IPAM_DATABASE_URL", &mut settings.database_url),
            ("IPAM_REDIS_URL", &mut settings.redis_url),
            ("IPAM_JWT_SECRET", &mut settings.jwt_secret),
        ] {
            if let Ok(value) = std::env::var(var) {
                *field = (!value.is_empty()).then(|| SecretString::from(value));
            }
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(secret) = &self.jwt_secret {
            anyhow::ensure!(
                secret.expose_secret().chars().count() >= 16,
                "IPAM_JWT_SECRET must be at least 16 characters"
            );
        }
        if let Some(url) = &self.public_base_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "IPAM_PUBLIC_BASE_URL must start with http:// or https://"
            );
        }
        anyhow::ensure!(
            self.max_body_bytes >= MIN_BODY_BYTES,
            "IPAM_MAX_BODY_BYTES must be at least {MIN_BODY_BYTES} (bytes; got {})",
            self.max_body_bytes
        );
        anyhow::ensure!(self.database_max_connections >= 1, "IPAM_DATABASE_MAX_CONNECTIONS must be at least 1");
        anyhow::ensure!(
            !self.queue_prefix.is_empty()
                && self.queue_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c)),
            "IPAM_QUEUE_PREFIX must be letters, digits and - _ : . only"
        );
        anyhow::ensure!((1..=256).contains(&self.worker_concurrency), "IPAM_WORKER_CONCURRENCY must be 1 to 256");
        anyhow::ensure!((1..=100).contains(&self.job_max_attempts), "IPAM_JOB_MAX_ATTEMPTS must be 1 to 100");
        anyhow::ensure!((1..=100).contains(&self.webhook_max_attempts), "IPAM_WEBHOOK_MAX_ATTEMPTS must be 1 to 100");
        anyhow::ensure!(self.webhook_timeout_ms >= 100, "IPAM_WEBHOOK_TIMEOUT_MS must be at least 100");
        anyhow::ensure!(
            self.webhook_disable_after_failures >= 1,
            "IPAM_WEBHOOK_DISABLE_AFTER_FAILURES must be at least 1"
        );
        anyhow::ensure!(self.worker_heartbeat_secs >= 1, "IPAM_WORKER_HEARTBEAT_SECS must be at least 1");
        anyhow::ensure!((1..=1000).contains(&self.bulk_batch_size), "IPAM_BULK_BATCH_SIZE must be 1 to 1000");
        anyhow::ensure!((1..=3600).contains(&self.bulk_lease_secs), "IPAM_BULK_LEASE_SECS must be 1 to 3600");
        for (name, secs) in [
            ("IPAM_CACHE_DASHBOARD_TTL_SECS", self.cache_dashboard_ttl_secs),
            ("IPAM_CACHE_FORECAST_TTL_SECS", self.cache_forecast_ttl_secs),
            ("IPAM_CACHE_SEARCH_TTL_SECS", self.cache_search_ttl_secs),
        ] {
            // A week at most: a cached result is never stale after a change, but it does age.
            anyhow::ensure!((1..=604_800).contains(&secs), "{name} must be 1 to 604800 (seconds)");
        }
        Ok(())
    }

    /// The database URL in force.
    pub fn database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(format!("sqlite://{}?mode=rwc", self.data_dir.join("ipam.db").display())),
        }
    }

    /// The base of absolute links, without a trailing slash.
    pub fn public_base_url(&self, port: u16) -> String {
        match &self.public_base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://localhost:{port}"),
        }
    }

    /// Quota limits for users without an override.
    pub fn quota_defaults(&self) -> QuotaDefaults {
        QuotaDefaults { regions: self.default_region_quota, hosts: self.default_host_quota }
    }

    /// How long each kind of cached result is served.
    pub fn cache_ttls(&self) -> crate::service::CacheTtls {
        let secs = std::time::Duration::from_secs;
        crate::service::CacheTtls {
            dashboard: secs(self.cache_dashboard_ttl_secs),
            forecast: secs(self.cache_forecast_ttl_secs),
            search: secs(self.cache_search_ttl_secs),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's error type is its own
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("IPAM_BIND_ADDR", "127.0.0.1:9000");
            jail.set_env("IPAM_RATE_LIMITS", "off");
            jail.set_env("IPAM_JWT_SECRET", "012345678901234567890");
            jail.set_env("IPAM_LOG_FORMAT", "json");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.bind_addr.port(), 9000);
            assert_eq!(s.rate_limits, Switch::Off);
            assert_eq!(s.jwt_secret.unwrap().expose_secret(), "012345678901234567890");
            assert_eq!(s.log_format, LogFormat::Json);
            Ok(())
        });
    }

    #[test]
    fn a_config_file_sits_between_defaults_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("ipam.toml", "data_dir = \"/srv/ipam\"\nrate_limit_bulk = 3\n")?;
            jail.set_env("IPAM_RATE_LIMIT_BULK", "7");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.data_dir, PathBuf::from("/srv/ipam"));
            assert_eq!(s.rate_limit_bulk, 7);
            Ok(())
        });
    }

    #[test]
    fn short_secrets_and_bad_urls_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("IPAM_JWT_SECRET", "short");
            assert!(Settings::load(None).is_err());
            jail.set_env("IPAM_JWT_SECRET", "long-enough-secret-value");
            jail.set_env("IPAM_PUBLIC_BASE_URL", "ftp://x");
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn the_default_database_lives_in_the_data_directory() {
        let s = Settings { data_dir: PathBuf::from("/tmp/x"), ..Settings::default() };
        assert_eq!(s.database_url().expose_secret(), "sqlite:///tmp/x/ipam.db?mode=rwc");
        assert_eq!(s.public_base_url(8000), "http://localhost:8000");
    }
}
