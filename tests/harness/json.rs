//! Reading JSON responses in assertions, with messages that show the whole value on failure.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The text at `key` of a JSON object.
pub fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("`{key}` is not a string in {v}")).to_owned()
}

/// The time at `key` of a JSON object.
pub fn time(v: &Value, key: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&text(v, key))
        .unwrap_or_else(|e| panic!("`{key}` is not RFC 3339 in {v}: {e}"))
        .with_timezone(&Utc)
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect();
    k.sort();
    k
}

/// `names`, sorted, as owned strings.
pub fn sorted(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    k.sort();
    k
}
