//! What a migration run reports, the same for every backend.

use chrono::{DateTime, Utc};
use ipam_migrations::{ExpectedCollection, Migration};

/// An alteration of an existing collection, as reports of a migration name it.
pub use ipam_migrations::AlterSpec;

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

/// An index as found in a live database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveIndex {
    /// Name.
    pub name: String,
    /// Keys as `field: direction, …` (MongoDB) or the column list (SQLite).
    pub keys: String,
    /// Unique constraint.
    pub unique: bool,
    /// TTL in seconds (MongoDB; SQLite has no TTL, so always `None` there).
    pub expire_after_secs: Option<u64>,
}

/// How one collection's live indexes compare with the expected ones.
#[derive(Debug, Clone)]
pub struct IndexReport {
    /// The collection (table).
    pub collection: &'static str,
    /// Whether the collection exists at all.
    pub exists: bool,
    /// Expected indexes that are absent (or differ).
    pub missing: Vec<ipam_migrations::IndexSpec>,
    /// Live indexes nobody expects.
    pub extra: Vec<LiveIndex>,
    /// How many indexes were expected.
    pub expected: usize,
}

impl IndexReport {
    /// True when nothing is missing.
    pub fn is_ok(&self) -> bool {
        self.exists && self.missing.is_empty()
    }
}

/// Compares a collection's live indexes with what the latest schema expects of it (the indexes
/// it was created with plus those later alterations added). `keys_match` decides whether a
/// live index with the right name also has the right keys (backends describe keys
/// differently) and, where the backend has them, the right options such as a TTL.
pub fn compare(
    expected: &ExpectedCollection,
    exists: bool,
    live: &[LiveIndex],
    keys_match: impl Fn(&ipam_migrations::IndexSpec, &LiveIndex) -> bool,
) -> IndexReport {
    let missing = expected
        .indexes
        .iter()
        .filter(|want| !live.iter().any(|l| l.name == want.name && l.unique == want.unique && keys_match(want, l)))
        .copied()
        .collect();
    let extra = live.iter().filter(|l| !expected.indexes.iter().any(|want| want.name == l.name)).cloned().collect();
    IndexReport { collection: expected.name, exists, missing, extra, expected: expected.indexes.len() }
}

/// Every collection of the latest schema, in migration order, with the indexes every
/// alteration added.
pub fn expected_collections() -> impl Iterator<Item = ExpectedCollection> {
    ipam_migrations::latest_schema().into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_changed_index_is_reported_and_extras_are_listed() {
        let spec = expected_collections().find(|c| c.name == "ipam_regions").unwrap();
        let mut live: Vec<LiveIndex> = spec
            .indexes
            .iter()
            .map(|i| LiveIndex { name: i.name.into(), keys: i.keys_text(), unique: i.unique, expire_after_secs: None })
            .collect();
        assert!(compare(&spec, true, &live, |_, _| true).is_ok());
        live.remove(0);
        live[0].unique = false;
        live.push(LiveIndex { name: "by_hand".into(), keys: "x: 1".into(), unique: false, expire_after_secs: None });
        let report = compare(&spec, true, &live, |_, _| true);
        let missing: Vec<_> = report.missing.iter().map(|i| i.name).collect();
        assert_eq!(missing, ["user_xy_unique_idx", "user_country_region_unique_idx"]);
        assert_eq!(report.extra.len(), 1);
        assert!(!compare(&spec, false, &[], |_, _| true).is_ok());
    }
}
