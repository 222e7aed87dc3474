//! Which setting names exist, so that a misspelt key in the TOML file stops the start with its
//! name (figment would otherwise ignore it and the default would silently stay in force), and a
//! misspelt `IPAM_*` variable can at least be warned about.

use std::path::Path;

use figment::Provider;
use figment::providers::{Format, Toml};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::Settings;

/// `IPAM_*` variables read outside [`Settings`]' fields.
const OTHER_VARIABLES: &[&str] = &["config"];

/// The field names of [`Settings`], as serde's derive lists them (the source of truth: a new
/// setting is known here the moment it is declared).
pub(super) fn setting_names() -> &'static [&'static str] {
    let mut names = Names(&[]);
    let _ = Settings::deserialize(&mut names);
    names.0
}

/// Refuses a TOML file holding a key that is no setting, naming it (and the closest setting).
pub(super) fn check_file(file: &Path) -> anyhow::Result<()> {
    let data = Toml::file_exact(file)
        .data()
        .map_err(|e| anyhow::anyhow!("invalid configuration file {}: {e}", file.display()))?;
    let names = setting_names();
    for key in data.values().flat_map(|dict| dict.keys()) {
        if !names.contains(&key.as_str()) {
            let hint = closest(key, names).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
            anyhow::bail!("unknown setting `{key}` in {}{hint}", file.display());
        }
    }
    Ok(())
}

/// Says which variable or file key holds a bad value, in the spelling the operator typed
/// (`IPAM_RATE_LIMITS`, or `rate_limits` in ./ipam.toml), then what is wrong with it.
pub(super) fn explain(errors: figment::Error) -> anyhow::Error {
    let problems: Vec<String> = errors
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let place = match &e.metadata {
                _ if key.is_empty() => "configuration".to_owned(),
                Some(m) if m.name.contains("environment") => format!("IPAM_{}", key.to_ascii_uppercase()),
                Some(m) => match &m.source {
                    Some(source) => format!("`{key}` in {source}"),
                    None => format!("`{key}`"),
                },
                None => format!("`{key}`"),
            };
            format!("{place}: {}", e.kind)
        })
        .collect();
    anyhow::anyhow!("invalid configuration: {}", problems.join("; "))
}

/// One message per `IPAM_*` environment variable that no setting reads, naming it (and the
/// closest setting, when one is close).
pub fn unknown_environment_variables() -> Vec<String> {
    let names = setting_names();
    std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter_map(|k| {
            let key = k.strip_prefix("IPAM_")?.to_ascii_lowercase();
            let known = names.contains(&key.as_str()) || OTHER_VARIABLES.contains(&key.as_str());
            let hint = closest(&key, names).map(|n| format!(" (did you mean IPAM_{}?)", n.to_ascii_uppercase()));
            (!known).then(|| format!("{k} is not an IPAM setting and is ignored{}", hint.unwrap_or_default()))
        })
        .collect()
}

/// The setting within two edits of `key`, if any.
fn closest<'a>(key: &str, names: &[&'a str]) -> Option<&'a str> {
    names.iter().map(|n| (distance(key, n), *n)).filter(|(d, _)| *d <= 2).min().map(|(_, n)| n)
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diag + usize::from(ca != *cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// A deserializer that only records the field names a derived struct asks for.
struct Names(&'static [&'static str]);

impl<'de> Deserializer<'de> for &mut Names {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only structs are introspected"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_settings_field_is_a_known_name() {
        let names = setting_names();
        assert!(names.contains(&"bind_addr") && names.contains(&"rate_limits") && names.contains(&"worker_addr"));
        assert_eq!(closest("rate_limts", names), Some("rate_limits"));
        assert_eq!(closest("colour", names), None);
    }
}
