//! How the enumerated settings are read: case-insensitively, accepting the spellings people
//! type (`IPAM_RATE_LIMITS=false` as well as `off`), and naming every valid value when a value
//! is not one of them (serde's derived message, "expected enum Switch", names none).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::{LogFormat, Switch};

/// Reads a word (a string, or a TOML/environment boolean, which figment has already parsed)
/// and maps it with `pick`; `expected` lists the valid values for the error.
struct Word<T> {
    expected: &'static str,
    pick: fn(&str) -> Option<T>,
}

impl<T> Visitor<'_> for Word<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.expected)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.pick)(&v.trim().to_ascii_lowercase())
            .ok_or_else(|| E::custom(format!("'{v}' is not valid: expected one of {}", self.expected)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        self.visit_str(if v { "true" } else { "false" })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}

impl<'de> Deserialize<'de> for Switch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Word {
            expected: "on, off (or true, false)",
            pick: |v| match v {
                "on" | "true" => Some(Self::On),
                "off" | "false" => Some(Self::Off),
                _ => None,
            },
        })
    }
}

impl<'de> Deserialize<'de> for LogFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Word {
            expected: "pretty, json",
            pick: |v| match v {
                "pretty" => Some(Self::Pretty),
                "json" => Some(Self::Json),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's error type is its own
mod tests {
    use super::super::Settings;
    use super::*;

    #[test]
    fn rate_limits_accept_on_off_true_and_false_in_any_case() {
        for (raw, expected) in [
            ("off", Switch::Off),
            ("false", Switch::Off),
            ("FALSE", Switch::Off),
            ("On", Switch::On),
            ("true", Switch::On),
        ] {
            figment::Jail::expect_with(|jail| {
                jail.set_env("IPAM_RATE_LIMITS", raw);
                let s = Settings::load(None).map_err(|e| e.to_string())?;
                assert_eq!(s.rate_limits, expected, "IPAM_RATE_LIMITS={raw}");
                Ok(())
            });
        }
    }

    #[test]
    fn a_bad_switch_or_log_format_names_the_valid_values() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("IPAM_RATE_LIMITS", "maybe");
            let e = Settings::load(None).unwrap_err().to_string();
            assert_eq!(
                e,
                "invalid configuration: IPAM_RATE_LIMITS: 'maybe' is not valid: expected one of on, off (or true, false)"
            );
            jail.set_env("IPAM_RATE_LIMITS", "off");
            jail.set_env("IPAM_LOG_FORMAT", "text");
            let e = Settings::load(None).unwrap_err().to_string();
            assert_eq!(e, "invalid configuration: IPAM_LOG_FORMAT: 'text' is not valid: expected one of pretty, json");
            jail.set_env("IPAM_LOG_FORMAT", "json");
            jail.create_file("ipam.toml", "worker_concurrency = \"many\"\n")?;
            let e = Settings::load(None).unwrap_err().to_string();
            assert!(e.starts_with("invalid configuration: `worker_concurrency` in "), "{e}");
            assert!(e.contains("ipam.toml: invalid type: found string \"many\", expected u32"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn a_misspelt_key_in_the_config_file_is_refused_by_name() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("ipam.toml", "rate_limts = \"off\"\n")?;
            let e = Settings::load(None).unwrap_err().to_string();
            assert_eq!(e, "unknown setting `rate_limts` in ipam.toml (did you mean `rate_limits`?)");
            jail.create_file("ipam.toml", "rate_limits = false\n")?;
            assert_eq!(Settings::load(None).map_err(|e| e.to_string())?.rate_limits, Switch::Off);
            Ok(())
        });
    }

    #[test]
    fn an_unknown_ipam_variable_is_reported_with_the_closest_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("IPAM_WORKER_ADR", "127.0.0.1:0");
            jail.set_env("IPAM_CONFIG_DIR", "x");
            // Only this test's variables: the test runner's own environment may hold others.
            let mut warnings: Vec<String> = super::super::unknown_environment_variables()
                .into_iter()
                .filter(|w| w.starts_with("IPAM_WORKER_ADR ") || w.starts_with("IPAM_CONFIG_DIR "))
                .collect();
            warnings.sort();
            assert_eq!(
                warnings,
                [
                    "IPAM_CONFIG_DIR is not an IPAM setting and is ignored",
                    "IPAM_WORKER_ADR is not an IPAM setting and is ignored (did you mean IPAM_WORKER_ADDR?)",
                ]
            );
            Ok(())
        });
    }

    #[test]
    fn the_body_limit_error_states_its_minimum() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("IPAM_MAX_BODY_BYTES", "100");
            let e = Settings::load(None).unwrap_err().to_string();
            assert_eq!(e, "IPAM_MAX_BODY_BYTES must be at least 1024 (bytes; got 100)");
            Ok(())
        });
    }
}
