//! Shareable links: an unguessable token that lets anyone read an allow-listed view of one
//! country, region or host until it expires or is revoked.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use super::ids::{ShareId, UserId, Username};
use super::text::Description;

/// Longest share lifetime.
pub const MAX_DAYS: u32 = 90;

/// What a share shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShareKind {
    /// A country and the owner's use of it.
    Country,
    /// A region.
    Region,
    /// A host.
    Host,
}

impl ShareKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Country => "country",
            Self::Region => "region",
            Self::Host => "host",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "country" => Ok(Self::Country),
            "region" => Ok(Self::Region),
            "host" => Ok(Self::Host),
            _ => Err("must be one of: country, region, host".into()),
        }
    }
}

/// The secret part of a share URL: 32 random bytes, base64url (43 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShareToken(String);

impl ShareToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // 256 random bits, 6 bits per character (the last character carries 4).
        let mut bits: u32 = 0;
        let mut n = 0;
        let mut out = String::with_capacity(43);
        for b in bytes {
            bits = (bits << 8) | u32::from(b);
            n += 8;
            while n >= 6 {
                n -= 6;
                out.push(char::from(ALPHABET[usize::try_from((bits >> n) & 63).unwrap_or(0)]));
            }
        }
        if n > 0 {
            out.push(char::from(ALPHABET[usize::try_from((bits << (6 - n)) & 63).unwrap_or(0)]));
        }
        Self(out)
    }

    /// A token from a URL; `None` when it cannot be one of ours (so it is simply not found).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok =
            (16..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    /// Rebuilds a token read back from storage (trusted).
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored share.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// Identifier (used to revoke it).
    pub id: ShareId,
    /// The secret in the URL.
    pub token: ShareToken,
    /// Owner (namespace of the shared resource).
    pub user_id: UserId,
    /// What is shared.
    pub kind: ShareKind,
    /// Country code, region id or host id.
    pub resource_id: String,
    /// Optional note.
    pub description: Option<Description>,
    /// After this the link stops working.
    pub expires_at: DateTime<Utc>,
    /// Successful public reads.
    pub view_count: u64,
    /// Last successful public read.
    pub last_accessed: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Username of the creator.
    pub created_by: Username,
    /// False once revoked.
    pub is_active: bool,
}

impl Share {
    /// A new active share of `resource_id` valid for `days`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        user: &UserId,
        by: &Username,
        kind: ShareKind,
        resource_id: String,
        days: u32,
        description: Option<Description>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ShareId::generate(),
            token: ShareToken::generate(),
            user_id: user.clone(),
            kind,
            resource_id,
            description,
            expires_at: now + Duration::days(i64::from(days)),
            view_count: 0,
            last_accessed: None,
            created_at: now,
            created_by: by.clone(),
            is_active: true,
        }
    }

    /// True when the link works at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.is_active && self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_long_and_distinct() {
        let a = ShareToken::generate();
        let b = ShareToken::generate();
        assert_eq!(a.as_str().len(), 43);
        assert_ne!(a, b);
        assert_eq!(ShareToken::parse(a.as_str()), Some(a));
        assert_eq!(ShareToken::parse("../../etc/passwd"), None);
        assert_eq!(ShareToken::parse("short"), None);
    }

    #[test]
    fn a_share_works_until_it_expires_or_is_revoked() {
        let now = Utc::now();
        let mut s = Share::new(
            &UserId::parse("u1").unwrap(),
            &Username::parse("alice").unwrap(),
            ShareKind::Country,
            "USA".into(),
            7,
            None,
            now,
        );
        assert!(s.is_live(now + Duration::days(6)));
        assert!(!s.is_live(now + Duration::days(7)));
        s.is_active = false;
        assert!(!s.is_live(now));
    }
}
