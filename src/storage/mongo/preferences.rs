//! User preferences and saved filters: one document per user (`_id` = user id) with the
//! filters embedded, as the seed's schema has it. The 50-filter cap is enforced by the `$push`
//! filter itself (`saved_filters.49` must not exist), so racing additions cannot exceed it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{self, Bson, DateTime as BsonDateTime, Document, doc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::documents::{date, time};
use super::{MongoStore, errors};
use crate::domain::{FilterCriteria, FilterId, FilterName, Preferences, PreferencesPatch, SavedFilter, Theme, UserId};
use crate::error::{ConflictKind, IpamError, Result};
use crate::storage::PreferencesStore;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct FilterDoc {
    filter_id: String,
    name: String,
    criteria: Document,
    created_at: BsonDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PreferencesDoc {
    #[serde(rename = "_id")]
    user_id: String,
    saved_filters: Vec<FilterDoc>,
    dashboard_layout: Document,
    notification_settings: Document,
    theme_preference: Option<String>,
    updated_at: BsonDateTime,
}

fn object(d: Document) -> Map<String, Value> {
    match Bson::Document(d).into_relaxed_extjson() {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn document(m: &Map<String, Value>) -> Result<Document> {
    bson::to_document(m).map_err(errors::bson)
}

impl FilterDoc {
    pub(super) fn new(f: &SavedFilter) -> Result<Self> {
        let criteria = match f.criteria.to_json() {
            Value::Object(m) => document(&m)?,
            _ => Document::new(),
        };
        Ok(Self {
            filter_id: f.id.to_string(),
            name: f.name.as_str().to_owned(),
            criteria,
            created_at: date(f.created_at),
        })
    }
}

impl TryFrom<PreferencesDoc> for Preferences {
    type Error = IpamError;

    fn try_from(d: PreferencesDoc) -> Result<Self> {
        let saved_filters = d
            .saved_filters
            .into_iter()
            .map(|f| {
                Ok(SavedFilter {
                    id: FilterId::from_stored(f.filter_id),
                    name: FilterName::from_stored(f.name),
                    criteria: FilterCriteria::from_stored(object(f.criteria)),
                    created_at: time(f.created_at)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Preferences {
            user_id: UserId::from_stored(d.user_id),
            saved_filters,
            dashboard_layout: object(d.dashboard_layout),
            notification_settings: object(d.notification_settings),
            theme_preference: d.theme_preference.map(Theme::from_stored),
            updated_at: Some(time(d.updated_at)?),
        })
    }
}

/// The `$setOnInsert` defaults of a new preferences document, leaving out the keys `$set` sets.
pub(super) fn defaults_except(set: &Document) -> Document {
    let mut d = doc! {
        "saved_filters": [], "dashboard_layout": {}, "notification_settings": {}, "theme_preference": Bson::Null,
    };
    for key in set.keys() {
        d.remove(key);
    }
    d
}

impl MongoStore {
    pub(super) fn preferences_coll(&self) -> mongodb::Collection<PreferencesDoc> {
        self.db.collection("ipam_user_preferences")
    }

    async fn ensure_preferences(&self, user: &UserId, now: DateTime<Utc>) -> Result<()> {
        let insert = doc! { "$setOnInsert": {
            "saved_filters": [], "dashboard_layout": {}, "notification_settings": {}, "theme_preference": Bson::Null,
            "updated_at": date(now),
        }};
        match self.preferences_coll().update_one(doc! { "_id": user.as_str() }, insert).upsert(true).await {
            Ok(_) => Ok(()),
            Err(e) if errors::duplicate_index(&e).is_some() => Ok(()),
            Err(e) => Err(errors::db(e)),
        }
    }
}

#[async_trait]
impl PreferencesStore for MongoStore {
    async fn preferences(&self, user: &UserId) -> Result<Option<Preferences>> {
        let found = self.preferences_coll().find_one(doc! { "_id": user.as_str() }).await.map_err(errors::db)?;
        found.map(Preferences::try_from).transpose()
    }

    async fn update_preferences(
        &self,
        user: &UserId,
        patch: &PreferencesPatch,
        max_bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Preferences> {
        let mut merged = self.preferences(user).await?.unwrap_or_else(|| Preferences::defaults(user));
        merged.apply(patch);
        let size = merged.settings_size();
        if size > max_bytes {
            return Err(IpamError::invalid(
                "body",
                format!("preferences must total at most {max_bytes} bytes of JSON (would be {size})"),
            ));
        }
        let mut set = Document::new();
        if let Some(v) = &patch.dashboard_layout {
            set.insert("dashboard_layout", document(v)?);
        }
        if let Some(v) = &patch.notification_settings {
            set.insert("notification_settings", document(v)?);
        }
        if let Some(v) = &patch.theme_preference {
            set.insert("theme_preference", v.as_ref().map(|t| t.as_str().to_owned()));
        }
        let on_insert = defaults_except(&set);
        set.insert("updated_at", date(now));
        let update = doc! { "$set": set, "$setOnInsert": on_insert };
        match self.preferences_coll().update_one(doc! { "_id": user.as_str() }, update).upsert(true).await {
            Ok(_) => {}
            // Two first writes raced on the upsert: the loser applies its change to the winner's.
            Err(e) if errors::duplicate_index(&e).is_some() => {
                return Box::pin(self.update_preferences(user, patch, max_bytes, now)).await;
            }
            Err(e) => return Err(errors::db(e)),
        }
        self.preferences(user).await?.ok_or_else(|| IpamError::internal("preferences vanished after the update"))
    }

    async fn add_filter(&self, user: &UserId, filter: &SavedFilter, max: usize, now: DateTime<Utc>) -> Result<()> {
        self.ensure_preferences(user, now).await?;
        let full = format!("saved_filters.{}", max.saturating_sub(1));
        let entry = bson::to_bson(&FilterDoc::new(filter)?).map_err(errors::bson)?;
        let r = self
            .preferences_coll()
            .update_one(
                doc! { "_id": user.as_str(), full: { "$exists": false } },
                doc! { "$push": { "saved_filters": entry }, "$set": { "updated_at": date(now) } },
            )
            .await
            .map_err(errors::db)?;
        if r.modified_count == 1 {
            Ok(())
        } else {
            Err(IpamError::conflict(
                ConflictKind::Conflict,
                format!("at most {max} saved filters are allowed; delete one first"),
                json!({ "limit": max }),
            ))
        }
    }

    async fn delete_filter(&self, user: &UserId, id: &FilterId, now: DateTime<Utc>) -> Result<bool> {
        let r = self
            .preferences_coll()
            .update_one(
                doc! { "_id": user.as_str(), "saved_filters.filter_id": id.as_str() },
                doc! { "$pull": { "saved_filters": { "filter_id": id.as_str() } }, "$set": { "updated_at": date(now) } },
            )
            .await
            .map_err(errors::db)?;
        Ok(r.modified_count == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_writes_fill_only_the_keys_not_being_set() {
        let set = doc! { "theme_preference": "dark" };
        let d = defaults_except(&set);
        assert!(!d.contains_key("theme_preference"));
        assert_eq!(d.get_array("saved_filters").unwrap().len(), 0);
    }

    #[test]
    fn preferences_round_trip_through_bson() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 25, 10, 0, 0).unwrap();
        let filter = SavedFilter {
            id: FilterId::generate(),
            name: FilterName::parse("prod in USA").unwrap(),
            criteria: FilterCriteria::parse(&json!({"country": "USA", "tag.env": "prod"})).unwrap(),
            created_at: now,
        };
        let doc = PreferencesDoc {
            user_id: "u1".into(),
            saved_filters: vec![FilterDoc::new(&filter).unwrap()],
            dashboard_layout: doc! { "widgets": ["map"] },
            notification_settings: doc! {},
            theme_preference: Some("dark".into()),
            updated_at: date(now),
        };
        let raw = bson::to_document(&doc).unwrap();
        let back: PreferencesDoc = bson::from_document(raw).unwrap();
        let p = Preferences::try_from(back).unwrap();
        assert_eq!(p.saved_filters, vec![filter]);
        assert_eq!(p.dashboard_layout["widgets"], json!(["map"]));
    }
}
