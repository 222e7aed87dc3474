//! The use cases every front end calls. Inputs arrive as domain types (parsed at the edge);
//! the service resolves references (countries), applies the rules that need no transaction
//! (reserved countries, permissions on ownership), and delegates each unit of work to the store.

mod audit;
mod bulk;
mod comments;
mod countries;
mod forecast;
mod forecast_recompute;
mod hosts;
mod interpret;
mod notifications;
mod preferences;
mod quotas;
mod regions;
mod reservations;
mod search;
mod shares;
mod statistics;
mod trends;
mod utilization;
mod velocity;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use bulk::{BulkTagOutcome, apply_bulk_tag, bulk_reason, job_actor};
pub use countries::{CountryUtilization, XUsage};
pub use forecast_recompute::Recomputed;
pub use hosts::{BatchRequest, BulkLookupItem, HostQuery};
pub use interpret::{Interpretation, InterpretationStatus};
pub use notifications::{DEFAULT_MAX_RULES_PER_USER, NotificationList, RECENT_UNREAD, UnreadSummary};
pub use quotas::QuotaView;
pub use regions::{NextHost, NextRegion, RegionQuery, RegionUtilization};
pub use search::{SearchKind, SearchQuery};
pub use shares::SharedResource;
pub use statistics::Fetched;
pub use webhooks::{TargetPolicy, WebhookRequest, WebhookRules};

use crate::cache::{DASHBOARD_TTL, FORECAST_TTL, MemoryCache, ResultCache, SEARCH_TTL};
use crate::clock::SharedClock;
use crate::domain::{CountryCatalog, QuotaDefaults};
use crate::error::Result;
use crate::storage::Store;

/// The IPAM application service.
pub struct Ipam {
    store: Arc<dyn Store>,
    catalog: CountryCatalog,
    clock: SharedClock,
    quotas: QuotaDefaults,
    webhook_rules: WebhookRules,
    max_rules_per_user: u32,
    cache: Arc<dyn ResultCache>,
    cache_ttls: CacheTtls,
}

/// How long each kind of cached result is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTtls {
    /// Dashboard statistics (`IPAM_CACHE_DASHBOARD_TTL_SECS`).
    pub dashboard: Duration,
    /// Capacity forecasts (`IPAM_CACHE_FORECAST_TTL_SECS`).
    pub forecast: Duration,
    /// Search results (`IPAM_CACHE_SEARCH_TTL_SECS`).
    pub search: Duration,
}

impl Default for CacheTtls {
    fn default() -> Self {
        Self { dashboard: DASHBOARD_TTL, forecast: FORECAST_TTL, search: SEARCH_TTL }
    }
}

impl std::fmt::Debug for Ipam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipam").field("backend", &self.store.backend()).finish_non_exhaustive()
    }
}

impl Ipam {
    /// Builds the service, loading the country table from the store.
    pub async fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        quotas: QuotaDefaults,
        webhook_rules: WebhookRules,
    ) -> Result<Self> {
        let catalog = CountryCatalog::new(store.countries().await?);
        Ok(Self {
            store,
            catalog,
            cache: Arc::new(MemoryCache::new(clock.clone())),
            clock,
            quotas,
            webhook_rules,
            max_rules_per_user: DEFAULT_MAX_RULES_PER_USER,
            cache_ttls: CacheTtls::default(),
        })
    }

    /// The service with `cache` for its results, kept as long as `ttls` say (default: an
    /// in-process cache with the seed's TTLs).
    pub fn with_cache(mut self, cache: Arc<dyn ResultCache>, ttls: CacheTtls) -> Self {
        self.cache = cache;
        self.cache_ttls = ttls;
        self
    }

    /// The result cache (for health checks).
    pub fn cache(&self) -> &Arc<dyn ResultCache> {
        &self.cache
    }

    /// The service with `max` as the most notification rules one user may hold (default
    /// [`DEFAULT_MAX_RULES_PER_USER`]).
    pub fn with_rule_limit(mut self, max: u32) -> Self {
        self.max_rules_per_user = max;
        self
    }

    /// The store (for health checks and jobs).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The country table.
    pub fn catalog(&self) -> &CountryCatalog {
        &self.catalog
    }

    /// Quota limits for users without an override.
    pub fn quota_defaults(&self) -> QuotaDefaults {
        self.quotas
    }

    /// The current time according to the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The service's clock (the job platform runs on the same one).
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }
}
