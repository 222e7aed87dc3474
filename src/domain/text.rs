//! Constrained text: names, hostnames, and the bounded free-text fields.
//!
//! Every constructor trims surrounding whitespace, counts characters (not bytes) and refuses
//! control characters (free text may contain line breaks and tabs).

use std::fmt;

use crate::error::IpamError;
use serde::{Deserialize, Serialize};

fn check_chars(s: &str, multiline: bool) -> Result<(), String> {
    let bad = s.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')));
    if bad { Err("must not contain control characters".into()) } else { Ok(()) }
}

fn check_len(s: &str, min: usize, max: usize) -> Result<(), String> {
    let n = s.chars().count();
    if n < min || n > max {
        if min <= 1 {
            if n == 0 {
                Err("must not be empty".into())
            } else {
                Err(format!("must be at most {max} characters (got {n})"))
            }
        } else {
            Err(format!("must be {min} to {max} characters (got {n})"))
        }
    } else {
        Ok(())
    }
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Rebuilds a value read back from storage (trusted).
            pub fn from_stored(raw: String) -> Self {
                Self(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, multiline = $ml:expr) => {
        text_newtype!($(#[$doc])* $name);

        impl $name {
            /// Smallest accepted length in characters (after trimming).
            pub const MIN: usize = $min;
            /// Largest accepted length in characters (after trimming).
            pub const MAX: usize = $max;

            /// Parses client text.
            pub fn parse(raw: &str) -> Result<Self, String> {
                let s = raw.trim();
                check_len(s, Self::MIN, Self::MAX)?;
                check_chars(s, $ml)?;
                Ok(Self(s.to_owned()))
            }

            /// Parses an optional field: empty or blank text means "no value".
            pub fn parse_optional(raw: &str) -> Result<Option<Self>, String> {
                if raw.trim().is_empty() { Ok(None) } else { Self::parse(raw).map(Some) }
            }
        }
    };
}

bounded_text!(
    /// A region or free-form description (up to 500 characters; may be empty).
    Description, 0, 500, multiline = true
);
bounded_text!(
    /// A human owner label (a person or team), 1..=100 characters.
    OwnerLabel, 1, 100, multiline = false
);
bounded_text!(
    /// Operating system of a host, 1..=100 characters.
    OsType, 1, 100, multiline = false
);
bounded_text!(
    /// Application running on a host, 1..=200 characters.
    Application, 1, 200, multiline = false
);
bounded_text!(
    /// Cost center of a host, 1..=100 characters.
    CostCenter, 1, 100, multiline = false
);
bounded_text!(
    /// Purpose of a host, 1..=500 characters.
    Purpose, 1, 500, multiline = true
);
bounded_text!(
    /// Free-form notes on a host, 1..=2000 characters.
    Notes, 1, 2000, multiline = true
);
bounded_text!(
    /// A comment on a region or host, 1..=2000 characters.
    CommentText, 1, 2000, multiline = true
);
bounded_text!(
    /// Why something was retired or released (kept in the audit trail), 5..=500 characters.
    Reason, 5, 500, multiline = true
);
bounded_text!(
    /// The caller's username (the token's `username`), 1..=100 characters.
    Username, 1, 100, multiline = false
);
bounded_text!(
    /// The name of a saved filter, 1..=100 characters.
    FilterName, 1, 100, multiline = false
);
bounded_text!(
    /// The name of a notification rule, 1..=100 characters.
    RuleName, 1, 100, multiline = false
);
bounded_text!(
    /// A UI theme name, 1..=50 characters.
    Theme, 1, 50, multiline = false
);
bounded_text!(
    /// Why an address is reserved, 1..=500 characters.
    ReservationReason, 1, 500, multiline = true
);

impl Description {
    /// The empty description.
    pub fn empty() -> Self {
        Self(String::new())
    }
}

text_newtype!(
    /// A region name: 2..=100 characters, without markup characters (`< > & " '`).
    /// Unique per user and country, ignoring case.
    RegionName
);

impl RegionName {
    /// Parses a region name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        check_len(s, 2, 100)?;
        check_chars(s, false)?;
        if let Some(c) = s.chars().find(|c| matches!(c, '<' | '>' | '&' | '"' | '\'')) {
            return Err(format!("must not contain the character '{c}'"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The key uniqueness is checked on (case-insensitive).
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

text_newtype!(
    /// An RFC 1123 hostname, lower-cased: 1..=253 characters of dot-separated labels, each
    /// 1..=63 of `a-z 0-9 -`, not starting or ending with `-`. Unique per region.
    Hostname
);

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("must not contain empty labels (e.g. '..' or a leading/trailing dot)".into());
    }
    if label.len() > 63 {
        return Err(format!("label '{}' is longer than 63 characters", super::address::shorten(label)));
    }
    if let Some(c) = label.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(format!("may only contain letters, digits, '-' and '.' (found '{c}')"));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("label '{label}' must not start or end with '-'"));
    }
    Ok(())
}

impl Hostname {
    /// Parses a hostname; upper-case letters are folded to lower case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > 253 {
            return Err(format!("must be at most 253 characters (got {})", s.chars().count()));
        }
        for label in s.split('.') {
            check_label(label)?;
        }
        Ok(Self(s))
    }
}

text_newtype!(
    /// The prefix of batch-created hostnames (`{prefix}-{NNN}`): one label of 1..=59 characters
    /// of `a-z 0-9 -`, lower-cased, not starting or ending with `-`.
    HostnamePrefix
);

impl HostnamePrefix {
    /// Parses a prefix.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > 59 {
            return Err(format!(
                "must be at most 59 characters so that '{{prefix}}-NNN' stays a valid hostname label (got {})",
                s.chars().count()
            ));
        }
        if s.contains('.') {
            return Err("must be a single label (no '.')".into());
        }
        check_label(&s)?;
        Ok(Self(s))
    }

    /// The hostname `{prefix}-{n:03}`.
    pub fn hostname(&self, n: u32) -> Result<Hostname, String> {
        Hostname::parse(&format!("{}-{n:03}", self.0))
    }

    /// The sequence number of `hostname` when it has the form `{prefix}-{digits}`.
    pub fn sequence_of(&self, hostname: &str) -> Option<u32> {
        let rest = hostname.strip_prefix(self.0.as_str())?.strip_prefix('-')?;
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest.parse().ok()
    }

    /// The names of a batch of `count` hosts: numbered on from the highest sequence number among
    /// the `existing` hostnames of the region (names of another form are ignored).
    pub fn batch_after<'a>(
        &self,
        existing: impl IntoIterator<Item = &'a str>,
        count: u32,
    ) -> Result<Vec<Hostname>, IpamError> {
        let highest = existing.into_iter().filter_map(|h| self.sequence_of(h)).max().unwrap_or(0);
        (1..=count)
            .map(|i| self.hostname(highest.saturating_add(i)).map_err(|e| IpamError::invalid("hostname_prefix", e)))
            .collect()
    }
}

text_newtype!(
    /// Text to look for inside names (literal, case-insensitive): 1..=100 characters, lower-cased.
    SearchText
);

impl SearchText {
    /// Parses a search string. It is matched literally: `.`, `*` or `%` have no special meaning.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        check_len(s, 1, 100)?;
        check_chars(s, false)?;
        Ok(Self(s.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_are_trimmed_and_bounded() {
        assert_eq!(RegionName::parse("  US East  ").unwrap().as_str(), "US East");
        assert!(RegionName::parse("x").is_err());
        assert!(RegionName::parse(&"x".repeat(101)).is_err());
        assert!(RegionName::parse(&"é".repeat(100)).is_ok(), "length counts characters");
    }

    #[test]
    fn region_names_refuse_markup_and_control_characters() {
        for bad in ["<script>", "a&b", "say \"hi\"", "it's", "tab\there", "line\nbreak"] {
            assert!(RegionName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(RegionName::parse("Prod-EU (West)").unwrap().key(), "prod-eu (west)");
    }

    #[test]
    fn hostnames_follow_rfc_1123_and_are_lower_cased() {
        assert_eq!(Hostname::parse("Web-01.Example.COM").unwrap().as_str(), "web-01.example.com");
        for good in ["a", "web-001", "db1.prod", &"a".repeat(63)] {
            assert!(Hostname::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-web", "web-", "web..prod", ".web", "web_1", "wëb", "web 1", &"a".repeat(64)] {
            assert!(Hostname::parse(bad).is_err(), "{bad}");
        }
        let long = vec!["a".repeat(63); 4].join(".");
        assert!(Hostname::parse(&long).is_err(), "255 characters is too long");
    }

    #[test]
    fn prefixes_build_numbered_hostnames() {
        let p = HostnamePrefix::parse("Web").unwrap();
        assert_eq!(p.hostname(7).unwrap().as_str(), "web-007");
        assert_eq!(p.hostname(1234).unwrap().as_str(), "web-1234");
        assert_eq!(p.sequence_of("web-012"), Some(12));
        assert_eq!(p.sequence_of("web-db-012"), None);
        assert_eq!(p.sequence_of("web-"), None);
        assert_eq!(p.sequence_of("webx-001"), None);
        let batch = p.batch_after(["web-002", "web-010", "web-db-099", "db-050"], 2).unwrap();
        assert_eq!(batch.iter().map(Hostname::as_str).collect::<Vec<_>>(), ["web-011", "web-012"]);
        assert_eq!(p.batch_after([], 1).unwrap()[0].as_str(), "web-001");
        assert!(HostnamePrefix::parse("a.b").is_err());
        assert!(HostnamePrefix::parse("web-").is_err());
        assert!(HostnamePrefix::parse(&"a".repeat(60)).is_err());
    }

    #[test]
    fn bounded_text_counts_characters_and_allows_line_breaks_where_multiline() {
        assert!(Notes::parse("line one\nline two").is_ok());
        assert!(OwnerLabel::parse("team\nplatform").is_err());
        assert!(Reason::parse("nope").is_err(), "reasons need at least 5 characters");
        assert!(Reason::parse("decommissioned").is_ok());
        assert_eq!(Purpose::parse_optional("   ").unwrap(), None);
        assert!(CommentText::parse(&"x".repeat(2001)).is_err());
        assert!(CommentText::parse(&"x".repeat(2000)).is_ok());
        assert!(Description::parse("").is_ok());
    }

    #[test]
    fn search_text_is_lower_cased_and_bounded() {
        assert_eq!(SearchText::parse(" Web.* ").unwrap().as_str(), "web.*");
        assert!(SearchText::parse("").is_err());
        assert!(SearchText::parse(&"x".repeat(101)).is_err());
    }
}
