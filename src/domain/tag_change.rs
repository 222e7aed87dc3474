//! How a patch changes a resource's tags: replace them, add (merge) some, or remove some keys.
//! The new tags are computed from the tags read inside the unit of work that writes them, so an
//! `add` or `remove` never loses a concurrent edit of other tags.

use std::collections::BTreeMap;

use super::tags::{MAX_TAGS, Tags};

/// The three bulk tag operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagOperation {
    /// Merge the given tags into the existing ones (given values win).
    Add,
    /// Remove the given keys (their values are ignored).
    Remove,
    /// Replace every tag with the given ones.
    Replace,
}

impl TagOperation {
    /// Every operation.
    pub const ALL: [TagOperation; 3] = [Self::Add, Self::Remove, Self::Replace];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Remove => "remove",
            Self::Replace => "replace",
        }
    }

    /// Parses a client's name (exact, lowercase).
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|o| o.as_str() == raw).ok_or_else(|| "must be one of: add, remove, replace".into())
    }
}

/// A change of a resource's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    /// What to do.
    pub operation: TagOperation,
    /// With which tags (for `remove`, only the keys count).
    pub tags: Tags,
}

impl TagChange {
    /// Replace the tags with `tags` (what a region or host PATCH does).
    pub fn replace(tags: Tags) -> Self {
        Self { operation: TagOperation::Replace, tags }
    }

    /// The tags `current` becomes; an error (naming the limit) when the result would hold more
    /// than [`MAX_TAGS`] tags.
    pub fn apply_to(&self, current: &Tags) -> Result<Tags, String> {
        let next: BTreeMap<String, String> = match self.operation {
            TagOperation::Replace => self.tags.as_map().clone(),
            TagOperation::Add => {
                let mut merged = current.as_map().clone();
                merged.extend(self.tags.as_map().iter().map(|(k, v)| (k.clone(), v.clone())));
                merged
            }
            TagOperation::Remove => {
                current.as_map().iter().filter(|(k, _)| !self.tags.as_map().contains_key(*k)).map(clone_pair).collect()
            }
        };
        if next.len() > MAX_TAGS {
            return Err(format!("adding these tags would give {} tags; at most {MAX_TAGS} are allowed", next.len()));
        }
        Ok(Tags::from_stored(next))
    }
}

fn clone_pair((k, v): (&String, &String)) -> (String, String) {
    (k.clone(), v.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tags(v: serde_json::Value) -> Tags {
        Tags::parse(&v).unwrap()
    }

    fn change(op: TagOperation, v: serde_json::Value) -> TagChange {
        TagChange { operation: op, tags: tags(v) }
    }

    #[test]
    fn add_merges_remove_drops_keys_and_replace_replaces() {
        let current = tags(json!({"env": "dev", "team": "net"}));
        let added = change(TagOperation::Add, json!({"env": "prod", "tier": "1"})).apply_to(&current).unwrap();
        assert_eq!(added, tags(json!({"env": "prod", "team": "net", "tier": "1"})));
        let removed = change(TagOperation::Remove, json!({"env": "ignored", "nope": ""})).apply_to(&current).unwrap();
        assert_eq!(removed, tags(json!({"team": "net"})));
        let replaced = change(TagOperation::Replace, json!({"a": "b"})).apply_to(&current).unwrap();
        assert_eq!(replaced, tags(json!({"a": "b"})));
    }

    #[test]
    fn applying_twice_gives_the_same_tags() {
        let current = tags(json!({"env": "dev"}));
        for op in TagOperation::ALL {
            let c = change(op, json!({"env": "prod", "x": "y"}));
            let once = c.apply_to(&current).unwrap();
            assert_eq!(c.apply_to(&once).unwrap(), once, "{op:?}");
        }
    }

    #[test]
    fn adding_past_the_limit_is_refused() {
        let many: serde_json::Map<String, serde_json::Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
        let current = tags(serde_json::Value::Object(many));
        let err = change(TagOperation::Add, json!({"extra": "1"})).apply_to(&current).unwrap_err();
        assert!(err.contains("51 tags"), "{err}");
        assert!(change(TagOperation::Add, json!({"k1": "w"})).apply_to(&current).is_ok(), "overwriting adds nothing");
    }

    #[test]
    fn operations_parse_exactly() {
        assert_eq!(TagOperation::parse("add"), Ok(TagOperation::Add));
        assert!(TagOperation::parse("ADD").is_err());
        assert!(TagOperation::parse("merge").is_err());
    }
}
