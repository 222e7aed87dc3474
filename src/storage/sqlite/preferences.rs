//! User preferences and saved filters (one row per user; filters as a JSON array).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::errors::db;
use super::rows::{corrupt, parse_ts, ts};
use crate::domain::{FilterCriteria, FilterId, FilterName, Preferences, PreferencesPatch, SavedFilter, Theme, UserId};
use crate::error::{ConflictKind, IpamError, Result};
use crate::storage::PreferencesStore;

/// A saved filter as stored inside the array.
#[derive(Debug, Serialize, Deserialize)]
struct FilterRecord {
    filter_id: String,
    name: String,
    criteria: Map<String, Value>,
    created_at: DateTime<Utc>,
}

impl From<&SavedFilter> for FilterRecord {
    fn from(f: &SavedFilter) -> Self {
        let criteria = match f.criteria.to_json() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Self { filter_id: f.id.to_string(), name: f.name.as_str().to_owned(), criteria, created_at: f.created_at }
    }
}

impl From<FilterRecord> for SavedFilter {
    fn from(r: FilterRecord) -> Self {
        SavedFilter {
            id: FilterId::from_stored(r.filter_id),
            name: FilterName::from_stored(r.name),
            criteria: FilterCriteria::from_stored(r.criteria),
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct PreferencesRow {
    user_id: String,
    saved_filters: String,
    dashboard_layout: String,
    notification_settings: String,
    theme_preference: Option<String>,
    updated_at: String,
}

impl TryFrom<PreferencesRow> for Preferences {
    type Error = IpamError;

    fn try_from(r: PreferencesRow) -> Result<Self> {
        let filters: Vec<FilterRecord> =
            serde_json::from_str(&r.saved_filters).map_err(|e| corrupt(format!("saved_filters: {e}")))?;
        let object = |s: &str, what: &str| -> Result<Map<String, Value>> {
            serde_json::from_str(s).map_err(|e| corrupt(format!("{what}: {e}")))
        };
        Ok(Preferences {
            user_id: UserId::from_stored(r.user_id),
            saved_filters: filters.into_iter().map(SavedFilter::from).collect(),
            dashboard_layout: object(&r.dashboard_layout, "dashboard_layout")?,
            notification_settings: object(&r.notification_settings, "notification_settings")?,
            theme_preference: r.theme_preference.map(Theme::from_stored),
            updated_at: Some(parse_ts(&r.updated_at)?),
        })
    }
}

/// The user's stored preferences, inside the caller's connection or transaction.
pub(super) async fn load(conn: &mut SqliteConnection, user: &UserId) -> Result<Option<Preferences>> {
    let row: Option<PreferencesRow> = sqlx::query_as(
        "SELECT user_id, saved_filters, dashboard_layout, notification_settings, theme_preference, updated_at
         FROM ipam_user_preferences WHERE user_id = ?1",
    )
    .bind(user.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Preferences::try_from).transpose()
}

async fn save(conn: &mut SqliteConnection, p: &Preferences, now: DateTime<Utc>) -> Result<()> {
    let filters: Vec<FilterRecord> = p.saved_filters.iter().map(FilterRecord::from).collect();
    sqlx::query(
        "INSERT INTO ipam_user_preferences (user_id, saved_filters, dashboard_layout, notification_settings,
             theme_preference, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id) DO UPDATE SET saved_filters = ?2, dashboard_layout = ?3, notification_settings = ?4,
             theme_preference = ?5, updated_at = ?6",
    )
    .bind(p.user_id.as_str())
    .bind(json!(filters).to_string())
    .bind(Value::Object(p.dashboard_layout.clone()).to_string())
    .bind(Value::Object(p.notification_settings.clone()).to_string())
    .bind(p.theme_preference.as_ref().map(Theme::as_str))
    .bind(ts(now))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl PreferencesStore for SqliteStore {
    async fn preferences(&self, user: &UserId) -> Result<Option<Preferences>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        load(&mut conn, user).await
    }

    async fn update_preferences(
        &self,
        user: &UserId,
        patch: &PreferencesPatch,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Preferences> {
        let mut tx = self.write().await?;
        let mut p = load(&mut tx, user).await?.unwrap_or_else(|| Preferences::defaults(user));
        p.apply(patch);
        let size = p.settings_size();
        if size > max_bytes {
            return Err(IpamError::invalid(
                "body",
                format!("preferences must total at most {max_bytes} bytes of JSON (would be {size})"),
            ));
        }
        save(&mut tx, &p, now).await?;
        tx.commit().await.map_err(db)?;
        p.updated_at = Some(now);
        Ok(p)
    }

    async fn add_filter(&self, user: &UserId, filter: &SavedFilter, max: usize, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        let mut p = load(&mut tx, user).await?.unwrap_or_else(|| Preferences::defaults(user));
        if p.saved_filters.len() >= max {
            return Err(IpamError::conflict(
                ConflictKind::Conflict,
                format!("at most {max} saved filters are allowed; delete one first"),
                json!({ "limit": max }),
            ));
        }
        p.saved_filters.push(filter.clone());
        save(&mut tx, &p, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn delete_filter(&self, user: &UserId, id: &FilterId, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.write().await?;
        let Some(mut p) = load(&mut tx, user).await? else { return Ok(false) };
        let before = p.saved_filters.len();
        p.saved_filters.retain(|f| &f.id != id);
        if p.saved_filters.len() == before {
            return Ok(false);
        }
        save(&mut tx, &p, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }
}
