//! [`NotifyUnit`] over a SQLite connection inside a write transaction: what notification work
//! reads and writes in the unit of work that dispatches an event, records a delivery attempt,
//! announces expiring reservations or catches rules up.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::errors::db;
use super::rows::{RegionRow, region_columns};
use super::{notifications, outbox, preferences, regions, reservations, rules};
use crate::domain::notification_rule::{ObservedResource, ResourceKey, RuleState, WatchedKind, WatchedResource};
use crate::domain::{
    CountryCatalog, CountryCode, DomainEvent, Notification, NotificationRule, NotificationSettings, Region,
    Reservation, ReservationId, RuleId, UserId,
};
use crate::error::Result;
use crate::storage::notify::NotifyUnit;

/// The caller's transaction, seen as a [`NotifyUnit`].
pub(super) struct SqliteUnit<'c>(pub(super) &'c mut SqliteConnection);

/// How many of the user's regions each country holds.
async fn regions_per_country(conn: &mut SqliteConnection, user: &UserId) -> Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT country_code, COUNT(*) FROM ipam_regions WHERE user_id = ?1 GROUP BY country_code")
        .bind(user.as_str())
        .fetch_all(conn)
        .await
        .map_err(db)
}

fn held(counts: &[(String, i64)], code: &CountryCode) -> u32 {
    counts.iter().find(|(c, _)| c == code.as_str()).map_or(0, |(_, n)| u32::try_from(*n).unwrap_or(u32::MAX))
}

#[async_trait]
impl NotifyUnit for SqliteUnit<'_> {
    async fn active_rules(&mut self, user: &UserId) -> Result<Vec<NotificationRule>> {
        rules::active(self.0, user).await
    }

    async fn settings(&mut self, user: &UserId) -> Result<NotificationSettings> {
        let prefs = preferences::load(self.0, user).await?;
        Ok(prefs.map(|p| NotificationSettings::from_preferences(&p.notification_settings)).unwrap_or_default())
    }

    async fn observe(&mut self, user: &UserId, what: &WatchedResource) -> Result<Option<ObservedResource>> {
        match what {
            WatchedResource::Region(id) => {
                Ok(regions::fetch_region(self.0, user, id).await?.map(|(r, _)| ObservedResource::region(&r)))
            }
            WatchedResource::Country(code) => {
                let Some(c) = CountryCatalog::seed().by_code(code).cloned() else { return Ok(None) };
                let counts = regions_per_country(self.0, user).await?;
                Ok(Some(ObservedResource::country(user, &c, held(&counts, code))))
            }
        }
    }

    async fn observe_all(&mut self, user: &UserId, kind: WatchedKind) -> Result<Vec<ObservedResource>> {
        match kind {
            WatchedKind::Region => {
                let rows: Vec<RegionRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    region_columns!(),
                    " FROM ipam_regions WHERE user_id = ?1 ORDER BY x_octet, y_octet"
                ))
                .bind(user.as_str())
                .fetch_all(&mut *self.0)
                .await
                .map_err(db)?;
                rows.into_iter().map(|r| Region::try_from(r).map(|r| ObservedResource::region(&r))).collect()
            }
            WatchedKind::Country => {
                let counts = regions_per_country(self.0, user).await?;
                let catalog = CountryCatalog::seed();
                Ok(catalog
                    .all()
                    .iter()
                    .filter(|c| !c.is_reserved)
                    .map(|c| ObservedResource::country(user, c, held(&counts, &c.code)))
                    .collect())
            }
        }
    }

    async fn rule_state(&mut self, rule: &RuleId, key: &ResourceKey) -> Result<Option<RuleState>> {
        rules::state(self.0, rule, key).await
    }

    async fn save_rule_state(&mut self, _user: &UserId, state: &RuleState, now: DateTime<Utc>) -> Result<()> {
        // The owner is taken from the rule's row by the statement itself (see `save_state`).
        rules::save_state(self.0, state, now).await.map(|_| ())
    }

    async fn insert_notification(&mut self, n: &Notification) -> Result<bool> {
        notifications::insert(self.0, n).await
    }

    async fn publish(&mut self, event: &DomainEvent) -> Result<()> {
        outbox::insert_event(self.0, event).await
    }

    async fn reservation(&mut self, user: &UserId, id: &ReservationId) -> Result<Option<Reservation>> {
        reservations::fetch(self.0, user, id).await
    }
}
