//! What a migration run reports, the same for every backend.

use chrono::{DateTime, Utc};
use ipam_migrations::Migration;

/// A migration applied by this run.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The migration.
    pub migration: Migration,
    /// How long it took.
    pub duration_ms: u64,
}

/// The state of one migration.
#[derive(Debug, Clone)]
pub struct MigrationState {
    /// The migration.
    pub migration: Migration,
    /// When it was (last) applied, if it is in force.
    pub applied_at: Option<DateTime<Utc>>,
}
