//! User preferences: free-form dashboard and notification settings, a theme, and up to 50
//! saved filters whose criteria can be applied to the region, host and search lists.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::ids::{FilterId, UserId};
pub use super::text::{FilterName, Theme};

/// Most saved filters per user.
pub const MAX_FILTERS: usize = 50;
/// Largest criteria object, as JSON bytes.
pub const MAX_CRITERIA_BYTES: usize = 10_000;
/// Largest preferences document (without filters), as JSON bytes.
pub const MAX_PREFERENCES_BYTES: usize = 51_200;

/// Criteria keys a saved filter may hold (besides `tag.<key>`): the union of what the region,
/// host and search lists accept. Each list applies the keys it supports.
pub const CRITERIA_KEYS: &[&str] = &[
    "country",
    "continent",
    "status",
    "owner",
    "name",
    "region_name",
    "region_id",
    "hostname",
    "device_type",
    "ip_address",
    "resource_type",
    "created_after",
    "created_before",
];

/// Saved criteria: an object of string values with supported keys, at most 10 KB. The values'
/// meaning is checked by the API (with the same parsers the lists use) before saving.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterCriteria(Map<String, Value>);

impl FilterCriteria {
    /// Parses the shape; returns the offending key and problem on failure.
    pub fn parse(raw: &Value) -> Result<Self, (String, String)> {
        let Value::Object(map) = raw else {
            return Err(("criteria".into(), "must be an object, e.g. {\"country\": \"USA\"}".into()));
        };
        let size = raw.to_string().len();
        if size > MAX_CRITERIA_BYTES {
            return Err((
                "criteria".into(),
                format!("must be at most {MAX_CRITERIA_BYTES} bytes of JSON (got {size})"),
            ));
        }
        for (k, v) in map {
            let known = CRITERIA_KEYS.contains(&k.as_str())
                || k.strip_prefix("tag.").is_some_and(|t| super::tags::check_key(t).is_ok());
            if !known {
                return Err((
                    format!("criteria.{}", super::address::shorten(k)),
                    format!("is not a supported filter (supported: {}, tag.<key>)", CRITERIA_KEYS.join(", ")),
                ));
            }
            if !v.is_string() {
                return Err((format!("criteria.{k}"), "must be a string".into()));
            }
        }
        Ok(Self(map.clone()))
    }

    /// Rebuilds criteria read back from storage (trusted).
    pub fn from_stored(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// Key → value pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

/// A saved filter.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedFilter {
    /// Identifier.
    pub id: FilterId,
    /// Name.
    pub name: FilterName,
    /// Criteria.
    pub criteria: FilterCriteria,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A user's preferences.
#[derive(Debug, Clone, PartialEq)]
pub struct Preferences {
    /// The user.
    pub user_id: UserId,
    /// Saved filters, oldest first.
    pub saved_filters: Vec<SavedFilter>,
    /// Free-form dashboard layout.
    pub dashboard_layout: Map<String, Value>,
    /// Free-form notification settings.
    pub notification_settings: Map<String, Value>,
    /// Theme, if chosen.
    pub theme_preference: Option<Theme>,
    /// Last change (`None` for a user who never saved anything).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Preferences {
    /// The defaults of a user who never saved anything.
    pub fn defaults(user: &UserId) -> Self {
        Self {
            user_id: user.clone(),
            saved_filters: vec![],
            dashboard_layout: Map::new(),
            notification_settings: Map::new(),
            theme_preference: None,
            updated_at: None,
        }
    }

    /// Size in bytes of the settings (layout, notification settings, theme) as JSON.
    pub fn settings_size(&self) -> usize {
        let theme = self.theme_preference.as_ref().map(Theme::as_str);
        serde_json::json!({
            "dashboard_layout": self.dashboard_layout,
            "notification_settings": self.notification_settings,
            "theme_preference": theme,
        })
        .to_string()
        .len()
    }

    /// Applies a patch: keys given replace the stored ones, the others are kept.
    pub fn apply(&mut self, patch: &PreferencesPatch) {
        if let Some(v) = &patch.dashboard_layout {
            self.dashboard_layout = v.clone();
        }
        if let Some(v) = &patch.notification_settings {
            self.notification_settings = v.clone();
        }
        if let Some(v) = &patch.theme_preference {
            self.theme_preference = v.clone();
        }
    }
}

/// A change of preferences; `None` keeps a key, `Some(None)` clears the theme.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreferencesPatch {
    /// New dashboard layout.
    pub dashboard_layout: Option<Map<String, Value>>,
    /// New notification settings.
    pub notification_settings: Option<Map<String, Value>>,
    /// New theme (or cleared).
    pub theme_preference: Option<Option<Theme>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn criteria_accept_supported_string_keys_only() {
        assert!(FilterCriteria::parse(&json!({"country": "USA", "tag.env": "prod"})).is_ok());
        assert_eq!(FilterCriteria::parse(&json!({"colour": "red"})).unwrap_err().0, "criteria.colour");
        assert_eq!(FilterCriteria::parse(&json!({"status": 1})).unwrap_err().0, "criteria.status");
        assert!(FilterCriteria::parse(&json!(["country"])).is_err());
        assert!(FilterCriteria::parse(&json!({"name": "x".repeat(10_001)})).is_err());
    }

    #[test]
    fn a_patch_replaces_given_keys_and_keeps_the_others() {
        let mut p = Preferences::defaults(&UserId::parse("u1").unwrap());
        p.theme_preference = Some(Theme::parse("dark").unwrap());
        let layout: Map<String, Value> = serde_json::from_value(json!({"widgets": ["a"]})).unwrap();
        p.apply(&PreferencesPatch { dashboard_layout: Some(layout.clone()), ..Default::default() });
        assert_eq!(p.dashboard_layout, layout);
        assert_eq!(p.theme_preference.as_ref().map(Theme::as_str), Some("dark"));
    }
}
