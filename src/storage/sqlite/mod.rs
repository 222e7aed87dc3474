//! The embedded backend: one SQLite file in WAL mode (busy timeout, foreign keys on).
//!
//! Every mutation runs in a `BEGIN IMMEDIATE` transaction: SQLite admits one writer at a time,
//! so taking the write lock up front means a unit of work never fails half-way on a snapshot
//! conflict. Concurrent writers queue on the lock (bounded by the busy timeout) instead of
//! retrying; the unique indexes still reject anything that slips past the occupancy bitmaps.

mod audit;
mod bulk;
mod comments;
mod countries;
mod errors;
mod expiry;
mod filters;
mod forecast_requests;
mod hosts;
pub mod migrate;
mod notifications;
mod notify_unit;
mod outbox;
mod preferences;
mod queue_binding;
mod quotas;
mod regions;
mod repair;
mod reservations;
mod rows;
mod rules;
mod schedules;
mod search;
mod shares;
mod statistics;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::error::Result;
use crate::storage::Store;

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path?mode=rwc`).
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| "IPAM_DATABASE_URL is not a valid sqlite:// URL")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create database directory {}", dir.display()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options)
            .await
            .context("cannot open the SQLite database")?;
        Ok(Self { pool })
    }

    /// The connection pool (shared with the embedded job queue).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Applies pending migrations and seeds the reference data.
    pub async fn prepare(&self) -> anyhow::Result<Vec<migrate::Applied>> {
        let applied = migrate::apply_pending(&self.pool).await?;
        countries::seed(&self.pool).await?;
        Ok(applied)
    }

    /// Runs a `DELETE … LIMIT`-style statement (cutoff bound as `?1`, batch size as `?2`) until
    /// it deletes nothing: each batch is a short write, so pruning a large backlog never holds
    /// the write lock for long. Returns how many rows went.
    async fn delete_in_batches(&self, statement: &'static str, cutoff: String) -> Result<u64> {
        const BATCH: i64 = 1_000;
        let mut total = 0;
        loop {
            let done =
                sqlx::query(statement).bind(&cutoff).bind(BATCH).execute(&self.pool).await.map_err(errors::db)?;
            total += done.rows_affected();
            if done.rows_affected() < u64::try_from(BATCH).unwrap_or(u64::MAX) {
                return Ok(total);
            }
        }
    }

    /// Starts a write transaction holding the database's write lock.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(errors::db)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(errors::db)?;
        Ok(())
    }

    async fn repair(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        mode: crate::storage::RepairMode,
    ) -> Result<crate::storage::RepairReport> {
        repair::repair(&self.pool, now, mode).await
    }
}
