//! Identifiers. Resource ids are server-generated ULIDs (26 characters, time-ordered), the same
//! format on every backend; user ids and usernames come from the bearer token.

use std::fmt;
use std::sync::Mutex;

pub use super::text::Username;
use serde::{Deserialize, Serialize};

/// One process-wide monotonic generator: ids made in the same millisecond still sort in the
/// order they were made, so "newest first" is exact within a process.
static GENERATOR: Mutex<Option<ulid::Generator>> = Mutex::new(None);

fn next_ulid() -> ulid::Ulid {
    // The lock is never held across a panic point, so poisoning cannot occur; recover anyway.
    let mut guard = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
    let generator = guard.get_or_insert_with(ulid::Generator::new);
    match generator.generate() {
        Ok(id) => id,
        // 2^80 ids in one millisecond: move on with fresh randomness.
        Err(overflow) => overflow.commit_overflow_random(),
    }
}

/// An id a client names (in a URL, a query or a body): what it identifies, as "… not found"
/// messages name it, and how the client's text becomes the id.
pub trait ResourceId: Sized {
    /// The resource it identifies, e.g. `region` or `saved filter`.
    const RESOURCE: &'static str;

    /// Parses the client's text; `None` when it cannot name one of these resources.
    fn parse_id(raw: &str) -> Option<Self>;
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $resource:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(next_ulid().to_string())
            }

            /// Parses an id given by a client; `None` when it cannot be one of ours.
            pub fn parse(raw: &str) -> Option<Self> {
                ulid::Ulid::from_string(raw.trim()).ok().map(|u| Self(u.to_string()))
            }

            /// Rebuilds an id read back from storage (trusted).
            pub fn from_stored(raw: String) -> Self {
                Self(raw)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
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

        impl ResourceId for $name {
            const RESOURCE: &'static str = $resource;

            fn parse_id(raw: &str) -> Option<Self> {
                Self::parse(raw)
            }
        }
    };
}

ulid_id!(
    /// Identifies a region (`10.X.Y.0/24`).
    RegionId,
    "region"
);
ulid_id!(
    /// Identifies a host (`10.X.Y.Z`).
    HostId,
    "host"
);
ulid_id!(
    /// Identifies an audit event.
    AuditId,
    "audit event"
);
ulid_id!(
    /// Identifies a comment.
    CommentId,
    "comment"
);
ulid_id!(
    /// Identifies a reservation.
    ReservationId,
    "reservation"
);
ulid_id!(
    /// Identifies a share (not its secret token).
    ShareId,
    "share"
);
ulid_id!(
    /// Identifies a saved filter.
    FilterId,
    "saved filter"
);
ulid_id!(
    /// Identifies a domain event (the outbox record and the `event_id` receivers see).
    EventId,
    "event"
);
ulid_id!(
    /// Identifies a webhook subscription.
    WebhookId,
    "webhook"
);
ulid_id!(
    /// Identifies one delivery of one event to one webhook (stable across its retries).
    DeliveryId,
    "delivery"
);

ulid_id!(
    /// Identifies a notification.
    NotificationId,
    "notification"
);
ulid_id!(
    /// Identifies a notification rule.
    RuleId,
    "notification rule"
);
ulid_id!(
    /// Identifies a recorded forecast request (the recomputation job pages by it).
    ForecastRequestId,
    "forecast request"
);
ulid_id!(
    /// Identifies a bulk operation job.
    BulkJobId,
    "bulk job"
);

/// The caller's user id (the token's `sub`): 1..=128 visible characters, no whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Parses a user id.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.chars().count() <= 128
            && raw.chars().all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control() && !c.is_whitespace()));
        if ok { Ok(Self(raw.to_owned())) } else { Err("must be 1 to 128 visible characters without spaces".into()) }
    }

    /// Rebuilds a user id read back from storage (trusted).
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ResourceId for UserId {
    const RESOURCE: &'static str = "user";

    fn parse_id(raw: &str) -> Option<Self> {
        Self::parse(raw).ok()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_to_themselves() {
        let id = RegionId::generate();
        assert_eq!(RegionId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(RegionId::parse(&id.as_str().to_lowercase()), Some(id));
    }

    #[test]
    fn ids_made_in_a_burst_sort_in_creation_order() {
        let ids: Vec<HostId> = (0..1000).map(|_| HostId::generate()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn foreign_id_formats_are_rejected() {
        for raw in ["", "abc", "507f1f77bcf86cd799439011", "preview-next", "01ARZ3NDEKTSV4RRFFQ69G5FA!"] {
            assert_eq!(HostId::parse(raw), None, "{raw}");
        }
    }

    #[test]
    fn ids_name_their_resource_and_parse_like_their_type() {
        let id = FilterId::generate();
        assert_eq!(<FilterId as ResourceId>::parse_id(id.as_str()), Some(id));
        assert_eq!(FilterId::RESOURCE, "saved filter");
        assert_eq!(AuditId::RESOURCE, "audit event");
        assert_eq!(<WebhookId as ResourceId>::parse_id("not-an-id"), None);
        assert_eq!(<UserId as ResourceId>::parse_id("a b"), None);
        assert_eq!(UserId::RESOURCE, "user");
        assert_eq!(NotificationId::RESOURCE, "notification");
        assert_eq!(RuleId::RESOURCE, "notification rule");
    }

    #[test]
    fn user_ids_reject_whitespace_and_overlong_values() {
        assert!(UserId::parse("u1").is_ok());
        assert!(UserId::parse("507f1f77bcf86cd799439011").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a b").is_err());
        assert!(UserId::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn usernames_are_trimmed() {
        assert_eq!(Username::parse("  alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("   ").is_err());
    }
}
