//! The storage seam: one trait per aggregate, implemented by every backend.
//!
//! Mutations are whole units of work: each method validates the state it depends on, applies
//! the change and records its audit event atomically, so callers never see half a change.
//! Address choice happens inside the unit of work (the backend reads the occupancy bitmaps and
//! reservations and claims the lowest free slot), and the database's unique constraints stay
//! the final arbiter: a backend that loses a race retries or reports `Conflict`.

pub mod bulk;
pub(crate) mod conflicts;
pub mod filters;
pub mod forecast_requests;
pub mod jobs;
pub mod migrations;
pub mod mongo;
pub mod notifications;
pub mod notify;
pub mod queue_binding;
mod repair;
pub mod sqlite;
pub mod statistics;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

pub use bulk::{BulkJobStore, ProgressRecorded};
pub use filters::{AuditFilter, HostFilter, RegionFilter, ReservationFilter, SearchFilter, SearchHit, TimeRange};
pub use forecast_requests::ForecastRequestStore;
pub use jobs::{
    AttemptOutcome, DispatchReport, ExpiryStore, OutboxStore, RunOutcome, ScheduleRun, ScheduleStore, WebhookStore,
};
pub use notifications::{NotificationFilter, NotificationStore, RuleStore};
pub use queue_binding::QueueBindingStore;
pub use statistics::StatisticsStore;

use crate::auth::Actor;
use crate::configuration::Settings;
use crate::domain::{
    AuditEvent, AuditId, Comment, CommentTarget, Country, FilterId, Host, HostDetails, HostId, HostPatch, Hostname,
    HostnamePrefix, NewRegion, OwnerLabel, Page, PageRequest, Preferences, PreferencesPatch, QuotaDefaults, QuotaPatch,
    QuotaUsage, Reason, Region, RegionId, RegionPatch, Reservation, ReservationId, SavedFilter, Share, ShareId,
    ShareToken, Tags, TenAddress, UserId,
};
use crate::error::Result;

/// Where an allocation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement<'a> {
    /// The lowest free address not held by an active reservation.
    Lowest,
    /// The address of this active reservation of the caller, which is consumed (marked
    /// converted) in the same unit of work.
    Reserved(&'a ReservationId),
}

/// Allocate the lowest free region of a country (or a reserved block).
#[derive(Debug, Clone, Copy)]
pub struct AllocateRegion<'a> {
    /// Who asks (and whose namespace).
    pub actor: &'a Actor,
    /// Target country (not reserved).
    pub country: &'a Country,
    /// Fields of the new region.
    pub region: &'a NewRegion,
    /// Lowest free block, or a reserved one.
    pub placement: Placement<'a>,
    /// Quota limits for users without an override.
    pub quotas: QuotaDefaults,
    /// Creation time.
    pub now: DateTime<Utc>,
}

/// How the hosts of an allocation are named.
#[derive(Debug, Clone, Copy)]
pub enum HostNames<'a> {
    /// One host with this name.
    One(&'a Hostname),
    /// `count` hosts named `{prefix}-{NNN}`, numbered after the highest such name in the region.
    Batch {
        /// Name prefix.
        prefix: &'a HostnamePrefix,
        /// How many (1..=100).
        count: u32,
    },
}

impl HostNames<'_> {
    /// How many hosts the names ask for: one, or the batch's count.
    pub fn count(&self) -> u32 {
        match self {
            Self::One(_) => 1,
            Self::Batch { count, .. } => *count,
        }
    }
}

/// Allocate the lowest free host addresses of a region (all or nothing).
#[derive(Debug, Clone, Copy)]
pub struct AllocateHosts<'a> {
    /// Who asks.
    pub actor: &'a Actor,
    /// Parent region.
    pub region_id: &'a RegionId,
    /// Names.
    pub names: HostNames<'a>,
    /// Descriptive fields for every host.
    pub details: &'a HostDetails,
    /// Owner label (default: the caller's username).
    pub owner: Option<&'a OwnerLabel>,
    /// Tags for every host.
    pub tags: &'a Tags,
    /// Lowest free addresses, or a reserved one (single host only).
    pub placement: Placement<'a>,
    /// Quota limits for users without an override.
    pub quotas: QuotaDefaults,
    /// Creation time.
    pub now: DateTime<Utc>,
}

/// Outcome of retiring a region.
#[derive(Debug, Clone)]
pub struct RetiredRegion {
    /// The region as it was.
    pub region: Region,
    /// Hosts retired with it (cascade).
    pub hosts: Vec<Host>,
}

/// Outcome of a release attempt for one id.
#[derive(Debug, Clone)]
pub enum ReleaseOutcome {
    /// Released; the host as it was.
    Released(Box<Host>),
    /// No such host in the caller's namespace.
    NotFound(HostId),
}

/// Countries and per-X region counts.
#[async_trait]
pub trait CountryStore: Send + Sync {
    /// The country table.
    async fn countries(&self) -> Result<Vec<Country>>;
    /// For each X in `lo..=hi` holding at least one of `user`'s regions: how many.
    async fn regions_per_x(&self, user: &UserId, lo: u8, hi: u8) -> Result<Vec<(u8, u32)>>;
}

/// Regions.
#[async_trait]
pub trait RegionStore: Send + Sync {
    /// Allocates the lowest free `10.X.Y.0/24` of the country (quota and names checked).
    async fn allocate_region(&self, req: AllocateRegion<'_>) -> Result<Region>;
    /// The block [`allocate_region`](Self::allocate_region) would pick now, if any.
    async fn next_free_region(&self, user: &UserId, country: &Country, now: DateTime<Utc>) -> Result<Option<(u8, u8)>>;
    /// One region.
    async fn region(&self, user: &UserId, id: &RegionId) -> Result<Option<Region>>;
    /// The region at `10.X.Y.0/24`.
    async fn region_at(&self, user: &UserId, x: u8, y: u8) -> Result<Option<Region>>;
    /// A page of regions, newest first.
    async fn list_regions(&self, user: &UserId, filter: &RegionFilter, page: PageRequest) -> Result<Page<Region>>;
    /// Applies a patch (audited when something changed).
    async fn update_region(
        &self,
        actor: &Actor,
        id: &RegionId,
        patch: &RegionPatch,
        reason: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Result<Region>;
    /// Hard-deletes a region (and with `cascade` its hosts), freeing the block.
    async fn retire_region(
        &self,
        actor: &Actor,
        id: &RegionId,
        cascade: bool,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<RetiredRegion>;
}

/// Hosts.
#[async_trait]
pub trait HostStore: Send + Sync {
    /// Allocates hosts at the lowest free addresses of a region.
    async fn allocate_hosts(&self, req: AllocateHosts<'_>) -> Result<Vec<Host>>;
    /// The region and the Z [`allocate_hosts`](Self::allocate_hosts) would pick now.
    async fn next_free_host(
        &self,
        user: &UserId,
        region: &RegionId,
        now: DateTime<Utc>,
    ) -> Result<Option<(Region, Option<u8>)>>;
    /// One host.
    async fn host(&self, user: &UserId, id: &HostId) -> Result<Option<Host>>;
    /// Hosts at these addresses (missing ones are simply absent).
    async fn hosts_at(&self, user: &UserId, addresses: &[TenAddress]) -> Result<Vec<Host>>;
    /// A page of hosts, newest first.
    async fn list_hosts(&self, user: &UserId, filter: &HostFilter, page: PageRequest) -> Result<Page<Host>>;
    /// Applies a patch (audited when something changed).
    async fn update_host(
        &self,
        actor: &Actor,
        id: &HostId,
        patch: &HostPatch,
        reason: Option<&Reason>,
        now: DateTime<Utc>,
    ) -> Result<Host>;
    /// Hard-deletes hosts, freeing their addresses; one outcome per id, in the order given.
    ///
    /// The ids must be distinct: the service removes repeats (keeping the first), so backends
    /// do not. A repeated id would be released once and then reported as not found.
    async fn release_hosts(
        &self,
        actor: &Actor,
        ids: &[HostId],
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReleaseOutcome>>;
}

/// Comments.
#[async_trait]
pub trait CommentStore: Send + Sync {
    /// Adds a comment (audited); `NotFound` when the target is not the caller's.
    async fn add_comment(&self, actor: &Actor, comment: &Comment) -> Result<()>;
    /// A page of a target's comments, newest first; `None` when the target does not exist.
    async fn comments(&self, user: &UserId, target: &CommentTarget, page: PageRequest)
    -> Result<Option<Page<Comment>>>;
}

/// The audit trail (append-only).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// A page of events, newest first.
    async fn audit_events(&self, user: &UserId, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEvent>>;
    /// One event.
    async fn audit_event(&self, user: &UserId, id: &AuditId) -> Result<Option<AuditEvent>>;
}

/// Quotas.
#[async_trait]
pub trait QuotaStore: Send + Sync {
    /// A user's usage (zero usage when they never allocated).
    async fn quota(&self, user: &UserId) -> Result<QuotaUsage>;
    /// Every user with a quota record, ordered by user id.
    async fn quotas(&self, page: PageRequest) -> Result<Page<QuotaUsage>>;
    /// Changes a user's limits (audited in their namespace).
    async fn update_quota(
        &self,
        actor: &Actor,
        user: &UserId,
        patch: &QuotaPatch,
        now: DateTime<Utc>,
    ) -> Result<QuotaUsage>;
}

/// Reservations.
#[async_trait]
pub trait ReservationStore: Send + Sync {
    /// Stores a new active reservation (audited); `Conflict` naming the address when it is
    /// allocated or actively reserved. Overdue reservations of the address expire first.
    async fn create_reservation(&self, actor: &Actor, reservation: &Reservation, now: DateTime<Utc>) -> Result<()>;
    /// One reservation.
    async fn reservation(&self, user: &UserId, id: &ReservationId) -> Result<Option<Reservation>>;
    /// A page of reservations, newest first; the status filter uses the status at `now`.
    async fn list_reservations(
        &self,
        user: &UserId,
        filter: &ReservationFilter,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page<Reservation>>;
    /// Deletes a reservation (audited); `NotFound` when it is not the caller's.
    async fn cancel_reservation(&self, actor: &Actor, id: &ReservationId, now: DateTime<Utc>) -> Result<Reservation>;
}

/// User preferences and saved filters.
#[async_trait]
pub trait PreferencesStore: Send + Sync {
    /// The user's stored preferences (`None`: never saved anything).
    async fn preferences(&self, user: &UserId) -> Result<Option<Preferences>>;
    /// Applies a patch (creating the record if needed) and returns the result; fails with a
    /// validation error, changing nothing, when the result would exceed `max_bytes` of JSON.
    async fn update_preferences(
        &self,
        user: &UserId,
        patch: &PreferencesPatch,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Preferences>;
    /// Appends a saved filter; `Conflict` when the user already has `max` of them.
    async fn add_filter(&self, user: &UserId, filter: &SavedFilter, max: usize, now: DateTime<Utc>) -> Result<()>;
    /// Deletes a saved filter; false when there is none with that id.
    async fn delete_filter(&self, user: &UserId, id: &FilterId, now: DateTime<Utc>) -> Result<bool>;
}

/// Shareable links.
#[async_trait]
pub trait ShareStore: Send + Sync {
    /// Stores a new share (audited).
    async fn create_share(&self, actor: &Actor, share: &Share) -> Result<()>;
    /// A page of the user's live shares (active and unexpired at `now`), newest first.
    async fn live_shares(&self, user: &UserId, page: PageRequest, now: DateTime<Utc>) -> Result<Page<Share>>;
    /// Revokes a live share of the actor (audited); false when there is none with that id.
    async fn revoke_share(&self, actor: &Actor, id: &ShareId, now: DateTime<Utc>) -> Result<bool>;
    /// The share of `token` if it is live at `now` (nothing is counted).
    async fn live_share(&self, token: &ShareToken, now: DateTime<Utc>) -> Result<Option<Share>>;
    /// Counts a successful read of a live share: the count and last access are updated in the
    /// same write that checks it is still live. `None` when it stopped being live.
    async fn record_view(&self, id: &ShareId, now: DateTime<Utc>) -> Result<Option<Share>>;
}

/// Search across regions and hosts.
#[async_trait]
pub trait SearchStore: Send + Sync {
    /// A page of matches of both kinds, newest first, with the real total.
    async fn search(&self, user: &UserId, filter: &SearchFilter, page: PageRequest) -> Result<Page<SearchHit>>;
}

/// What `ipam repair` found and fixed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Regions whose host bitmap or host count disagreed with their hosts.
    pub regions_fixed: u64,
    /// (user, X) block bitmaps that disagreed with the regions.
    pub block_maps_fixed: u64,
    /// Users whose quota counters disagreed with what they hold.
    pub quotas_fixed: u64,
    /// Regions left flagged "being retired" by a process that died mid-retirement (MongoDB),
    /// which refused new hosts until cleared.
    pub retirements_cleared: u64,
    /// Users whose retired-region or released-host counters disagreed with their audit history
    /// (on MongoDB, history written before migration 8 started them at 0).
    pub counters_fixed: u64,
}

impl RepairReport {
    /// True when nothing disagreed.
    pub fn is_consistent(&self) -> bool {
        *self == Self::default()
    }
}

/// Whether `ipam repair` writes what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairMode {
    /// Rewrite what disagrees, and move the data version of every user whose derived data
    /// changed (so no cached result computed from the wrong data is served again).
    Apply,
    /// Only report (`--check`): nothing is written.
    Check,
}

/// A complete storage backend.
#[async_trait]
pub trait Store:
    CountryStore
    + RegionStore
    + HostStore
    + CommentStore
    + AuditStore
    + QuotaStore
    + SearchStore
    + ReservationStore
    + ShareStore
    + PreferencesStore
    + OutboxStore
    + WebhookStore
    + ScheduleStore
    + ExpiryStore
    + NotificationStore
    + RuleStore
    + StatisticsStore
    + ForecastRequestStore
    + BulkJobStore
    + QueueBindingStore
{
    /// Short backend name for health output, e.g. `sqlite`.
    fn backend(&self) -> &'static str;
    /// Checks the database answers.
    async fn ping(&self) -> Result<()>;
    /// Rebuilds the derived data (occupancy bitmaps, host counts, quota counters) from the
    /// regions and hosts themselves. Nothing is needed on SQLite, where every unit of work is
    /// atomic; on MongoDB a process that died half-way through an allocation can leave a claimed
    /// bit or a taken quota unit behind, and this gives them back.
    async fn repair(&self, now: DateTime<Utc>, mode: RepairMode) -> Result<RepairReport>;
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://…`
    Sqlite,
    /// `mongodb://…` or `mongodb+srv://…`
    Mongo,
}

impl Backend {
    /// The backend of `url`.
    pub fn of(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
            Ok(Self::Mongo)
        } else {
            anyhow::bail!("IPAM_DATABASE_URL must start with sqlite:// or mongodb://")
        }
    }
}

/// Schema administration, the same on every backend: what `ipam migrate` (and its `--status`
/// and `--rollback`) and `ipam verify-indexes` do. Each backend implements it in its `migrate`
/// module.
#[async_trait]
pub trait SchemaAdmin: Send + Sync {
    /// Applies pending migrations and seeds the reference data; returns what was applied.
    async fn prepare(&self) -> anyhow::Result<Vec<migrations::Applied>>;

    /// Every migration and whether it is applied.
    async fn migration_status(&self) -> anyhow::Result<Vec<migrations::MigrationState>>;

    /// Rolls back the most recent migration in force (`None` when none is).
    async fn rollback_latest(&self) -> anyhow::Result<Option<ipam_migrations::Migration>>;

    /// Compares live indexes with the expected ones.
    async fn verify_indexes(&self) -> anyhow::Result<Vec<migrations::IndexReport>>;
}

/// A connected database, whichever backend `IPAM_DATABASE_URL` names: its store and its
/// schema administration (the same connection behind both).
#[derive(Clone)]
pub struct Database {
    store: Arc<dyn Store>,
    schema: Arc<dyn SchemaAdmin>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("backend", &self.backend()).finish_non_exhaustive()
    }
}

/// Connects to the database `IPAM_DATABASE_URL` names (the one place that tells the backends
/// apart). `max_connections` applies to SQLite; MongoDB's driver sizes its own pool.
pub async fn connect(settings: &Settings, max_connections: u32) -> anyhow::Result<Database> {
    let url = settings.database_url();
    let url = url.expose_secret();
    match Backend::of(url)? {
        Backend::Sqlite => Ok(Database::new(Arc::new(sqlite::SqliteStore::connect(url, max_connections).await?))),
        Backend::Mongo => Ok(Database::new(Arc::new(mongo::MongoStore::connect(url).await?))),
    }
}

impl Database {
    fn new<B: Store + SchemaAdmin + 'static>(backend: Arc<B>) -> Self {
        Self { store: backend.clone(), schema: backend }
    }

    /// `sqlite` or `mongodb`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Applies pending migrations and seeds the reference data (`ipam migrate`).
    pub async fn prepare(&self) -> anyhow::Result<Vec<migrations::Applied>> {
        self.schema.prepare().await
    }

    /// Every migration and whether it is applied (`ipam migrate --status`).
    pub async fn migration_status(&self) -> anyhow::Result<Vec<migrations::MigrationState>> {
        self.schema.migration_status().await
    }

    /// Rolls back the most recent migration in force (`ipam migrate --rollback`).
    pub async fn rollback_latest(&self) -> anyhow::Result<Option<ipam_migrations::Migration>> {
        self.schema.rollback_latest().await
    }

    /// Compares live indexes with the expected ones (`ipam verify-indexes`).
    pub async fn verify_indexes(&self) -> anyhow::Result<Vec<migrations::IndexReport>> {
        self.schema.verify_indexes().await
    }
}

/// Opens the store named by `IPAM_DATABASE_URL`, applying migrations when `auto_migrate` is on.
pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let db = connect(settings, settings.database_max_connections).await?;
    if settings.auto_migrate {
        db.prepare().await?;
    } else if db.migration_status().await?.iter().any(|m| m.applied_at.is_none()) {
        anyhow::bail!("the database schema is not up to date: run `ipam migrate` (or set IPAM_AUTO_MIGRATE=true)");
    }
    Ok(db.store())
}
