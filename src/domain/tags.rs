//! Tags: a flat map of string keys to string values on regions and hosts, and exact-match tag
//! filters (`tag.<key>=<value>`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// At most this many tags per resource.
pub const MAX_TAGS: usize = 50;
const MAX_KEY: usize = 100;
const MAX_VALUE: usize = 500;

/// Validated tags: ≤ 50 entries; keys `[A-Za-z0-9_-]{1,100}`; values ≤ 500 characters without
/// control characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tags(BTreeMap<String, String>);

/// Checks a tag key.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(format!("tag keys must be 1 to {MAX_KEY} characters"));
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(format!(
            "tag key '{}' may only contain letters, digits, '_' and '-'",
            super::address::shorten(key)
        ));
    }
    Ok(())
}

fn check_value(key: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_VALUE {
        return Err(format!("value of tag '{key}' must be at most {MAX_VALUE} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("value of tag '{key}' must not contain control characters"));
    }
    Ok(())
}

impl Tags {
    /// No tags.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a JSON object of string values.
    pub fn parse(raw: &Value) -> Result<Self, String> {
        let Value::Object(map) = raw else {
            return Err("must be an object of string values, e.g. {\"env\": \"prod\"}".into());
        };
        if map.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tags are allowed (got {})", map.len()));
        }
        let mut tags = BTreeMap::new();
        for (key, value) in map {
            check_key(key)?;
            let Value::String(value) = value else {
                return Err(format!("value of tag '{key}' must be a string"));
            };
            check_value(key, value)?;
            tags.insert(key.clone(), value.clone());
        }
        Ok(Self(tags))
    }

    /// Rebuilds tags read back from storage (trusted).
    pub fn from_stored(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }

    /// The entries.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// True when there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

/// Tag conditions that must all hold (exact key and value match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagFilter(Vec<(String, String)>);

impl TagFilter {
    /// Adds the condition `key = value`.
    pub fn push(&mut self, key: &str, value: &str) -> Result<(), String> {
        check_key(key)?;
        check_value(key, value)?;
        if self.0.len() >= MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tag conditions are allowed"));
        }
        self.0.push((key.to_owned(), value.to_owned()));
        Ok(())
    }

    /// The conditions.
    pub fn conditions(&self) -> &[(String, String)] {
        &self.0
    }

    /// True when there is no condition.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `tags` satisfies every condition.
    pub fn matches(&self, tags: &Tags) -> bool {
        self.0.iter().all(|(k, v)| tags.0.get(k) == Some(v))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_from_the_original_rules() {
        for good in ["environment", "env_type", "cost-center", "team123"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["env@type", "cost.center", "team#1", "env type", ""] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_must_be_an_object_of_strings() {
        assert_eq!(Tags::parse(&json!({})).unwrap(), Tags::empty());
        assert!(Tags::parse(&json!({"env": "prod", "tier": "web 1.2"})).is_ok());
        assert!(Tags::parse(&json!({"env": 1})).unwrap_err().contains("must be a string"));
        assert!(Tags::parse(&json!(["env"])).is_err());
        assert!(Tags::parse(&json!("env=prod")).is_err());
        assert!(Tags::parse(&json!({"env": "x".repeat(501)})).is_err());
    }

    #[test]
    fn at_most_fifty_tags() {
        let many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(Tags::parse(&Value::Object(many)).unwrap_err().contains("at most 50"));
    }

    #[test]
    fn filters_match_all_conditions() {
        let tags = Tags::parse(&json!({"env": "prod", "team": "net"})).unwrap();
        let mut f = TagFilter::default();
        f.push("env", "prod").unwrap();
        assert!(f.matches(&tags));
        f.push("team", "web").unwrap();
        assert!(!f.matches(&tags));
    }
}
