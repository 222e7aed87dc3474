//! Notifications: what the system tells a user, kept in their in-app inbox for 90 days. Only
//! the system creates them, each for one closed-set cause (`causes.rs` for the system's own,
//! `notification_rule` for the user's rules), each with a deterministic `dedup_key` so that
//! processing a cause twice (delivery is at-least-once) never shows it twice. Whether a user
//! keeps one is decided in `settings.rs` from their preferences.

use chrono::{DateTime, TimeDelta, Utc};

mod causes;
mod settings;

pub use causes::EXPIRY_NOTICE;
pub use settings::{NotificationSettings, Routing};

use super::ids::{NotificationId, UserId};

/// One notification that went somewhere (stored in the inbox, raised to webhooks or both),
/// reported so the job that caused it can count it and time it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationCreated {
    /// Its type.
    pub notification_type: NotificationType,
    /// Its severity.
    pub severity: Severity,
    /// From the commit of its cause (the event, or the recorded change) to its own; zero when
    /// the clock says otherwise.
    pub latency: TimeDelta,
}

impl NotificationCreated {
    /// The report of `n`, caused at `caused_at`.
    pub fn of(n: &Notification, caused_at: DateTime<Utc>) -> Self {
        Self {
            notification_type: n.notification_type,
            severity: n.severity,
            latency: (n.created_at - caused_at).max(TimeDelta::zero()),
        }
    }
}

/// How long a notification is kept: `expires_at` is its creation plus this.
pub const RETENTION: TimeDelta = TimeDelta::days(90);

/// How much a notification matters, ordered `info < warning < critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Something happened; nothing to do.
    Info,
    /// Something needs attention soon.
    Warning,
    /// Something is broken or about to be.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 3] = [Self::Info, Self::Warning, Self::Critical];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    /// Parses a client's name (case-insensitive).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == wanted)
            .ok_or_else(|| "must be one of: info, warning, critical".to_owned())
    }

    /// Parses a stored name.
    pub fn from_stored(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// A free-form preference value as a severity: `default` unless it is one of the names
    /// (preferences are free-form JSON, so a missing, mistyped or unknown value is not an error).
    pub fn parse_or_default(raw: Option<&serde_json::Value>, default: Self) -> Self {
        raw.and_then(|v| v.as_str()).and_then(|s| Self::parse(s).ok()).unwrap_or(default)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a notification exists: a closed set, so metrics labels stay bounded and clients can
/// filter on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationType {
    /// A threshold rule: a region's or country's utilisation crossed the rule's threshold upward.
    CapacityThreshold,
    /// An event rule: an event the rule lists happened.
    EventRule,
    /// A webhook was disabled after too many consecutive failed deliveries.
    WebhookDisabled,
    /// A reservation expires within [`EXPIRY_NOTICE`].
    ReservationExpiring,
    /// A reservation expired and no longer holds its address.
    ReservationExpired,
    /// A bulk job finished (completed, or failed); see `domain::bulk`.
    BulkJobFinished,
}

impl NotificationType {
    /// Every type.
    pub const ALL: [NotificationType; 6] = [
        Self::CapacityThreshold,
        Self::EventRule,
        Self::WebhookDisabled,
        Self::ReservationExpiring,
        Self::ReservationExpired,
        Self::BulkJobFinished,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CapacityThreshold => "capacity_threshold",
            Self::EventRule => "event_rule",
            Self::WebhookDisabled => "webhook_disabled",
            Self::ReservationExpiring => "reservation_expiring",
            Self::ReservationExpired => "reservation_expired",
            Self::BulkJobFinished => "bulk_job_finished",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// Parses a client's name (a list filter).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|t| t.as_str() == wanted).ok_or_else(|| {
            format!("must be one of: {}", Self::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))
        })
    }
}

/// What a notification is about, when it is about one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationResource {
    /// A region (`resource_id` is its region id).
    Region,
    /// A host (its host id).
    Host,
    /// A country (its code).
    Country,
    /// A reservation (its reservation id).
    Reservation,
    /// A webhook (its webhook id).
    Webhook,
    /// A bulk job (its job id).
    BulkJob,
}

impl NotificationResource {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Host => "host",
            Self::Country => "country",
            Self::Reservation => "reservation",
            Self::Webhook => "webhook",
            Self::BulkJob => "bulk_job",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(raw: &str) -> Option<Self> {
        [Self::Region, Self::Host, Self::Country, Self::Reservation, Self::Webhook, Self::BulkJob]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }

    /// The API path of the resource `id` of this kind, e.g. `/ipam/regions/{id}`.
    pub fn link(self, id: &str) -> String {
        let collection = match self {
            Self::Region => "regions",
            Self::Host => "hosts",
            Self::Country => "countries",
            Self::Reservation => "reservations",
            Self::Webhook => "webhooks",
            Self::BulkJob => "bulk/jobs",
        };
        format!("/ipam/{collection}/{id}")
    }
}

/// One notification in a user's inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Identifier.
    pub id: NotificationId,
    /// Whose inbox it is in.
    pub user_id: UserId,
    /// Why it exists.
    pub notification_type: NotificationType,
    /// How much it matters.
    pub severity: Severity,
    /// Human-readable text.
    pub message: String,
    /// Kind of resource it is about, if any.
    pub resource_type: Option<NotificationResource>,
    /// Id of that resource.
    pub resource_id: Option<String>,
    /// API path of that resource (absent when the resource is gone, e.g. a retired region).
    pub resource_link: Option<String>,
    /// True once the user read it.
    pub is_read: bool,
    /// When it was read (only while `is_read`).
    pub read_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When cleanup deletes it: `created_at` + [`RETENTION`].
    pub expires_at: DateTime<Utc>,
    /// Names its cause exactly (unique per user's store): a second notification for the same
    /// cause is never stored.
    pub dedup_key: String,
}

/// What a notification is about: kind, id, and whether the resource still exists to link to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct About {
    pub(crate) kind: NotificationResource,
    pub(crate) id: String,
    pub(crate) linked: bool,
}

impl About {
    /// An existing resource (linked).
    pub(crate) fn live(kind: NotificationResource, id: impl Into<String>) -> Self {
        Self { kind, id: id.into(), linked: true }
    }
}

impl Notification {
    /// An unread notification created `now`, every constructor of a cause ends here.
    pub(crate) fn unread(
        user_id: &UserId,
        (notification_type, severity): (NotificationType, Severity),
        message: String,
        about: Option<About>,
        dedup_key: String,
        now: DateTime<Utc>,
    ) -> Self {
        let resource_link = about.as_ref().filter(|a| a.linked).map(|a| a.kind.link(&a.id));
        Self {
            id: NotificationId::generate(),
            user_id: user_id.clone(),
            notification_type,
            severity,
            message,
            resource_type: about.as_ref().map(|a| a.kind),
            resource_id: about.map(|a| a.id),
            resource_link,
            is_read: false,
            read_at: None,
            created_at: now,
            expires_at: now + RETENTION,
            dedup_key,
        }
    }

    /// The notification marked read (`true`) or unread (`false`) at `now`. Marking unread
    /// clears `read_at`; marking read an already read notification keeps the time it was first
    /// read, so a retried request changes nothing.
    pub fn mark(&self, is_read: bool, now: DateTime<Utc>) -> Self {
        let mut n = self.clone();
        n.read_at = if is_read { self.read_at.filter(|_| self.is_read).or(Some(now)) } else { None };
        n.is_read = is_read;
        n
    }

    /// True when cleanup may delete it at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(now: DateTime<Utc>) -> Notification {
        Notification::unread(
            &UserId::parse("u1").unwrap(),
            (NotificationType::EventRule, Severity::Info),
            "hello".into(),
            Some(About::live(NotificationResource::Region, "R1")),
            "k".into(),
            now,
        )
    }

    #[test]
    fn severities_are_ordered_and_parse_case_insensitively() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        assert_eq!(Severity::parse(" CRITICAL "), Ok(Severity::Critical));
        assert_eq!(Severity::parse("urgent").unwrap_err(), "must be one of: info, warning, critical");
    }

    #[test]
    fn a_preference_severity_falls_back_to_its_default_when_missing_mistyped_or_unknown() {
        let d = Severity::Warning;
        assert_eq!(Severity::parse_or_default(None, d), d);
        assert_eq!(Severity::parse_or_default(Some(&serde_json::json!(3)), d), d);
        assert_eq!(Severity::parse_or_default(Some(&serde_json::json!("loud")), d), d);
        assert_eq!(Severity::parse_or_default(Some(&serde_json::json!("critical")), d), Severity::Critical);
    }

    #[test]
    fn notification_types_are_a_closed_set_of_wire_names() {
        for t in NotificationType::ALL {
            assert_eq!(NotificationType::parse(t.as_str()), Ok(t));
            assert_eq!(NotificationType::from_stored(t.as_str()), Some(t));
        }
        for s in Severity::ALL {
            assert_eq!(Severity::from_stored(s.as_str()), Some(s));
        }
        let err = NotificationType::parse("capacity_warning").unwrap_err();
        assert!(err.contains("capacity_threshold") && err.contains("bulk_job_finished"), "{err}");
    }

    #[test]
    fn a_new_notification_is_unread_links_its_resource_and_expires_after_90_days() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let n = sample(now);
        assert!(!n.is_read && n.read_at.is_none());
        assert_eq!(n.resource_link.as_deref(), Some("/ipam/regions/R1"));
        assert_eq!(n.expires_at, now + TimeDelta::days(90));
        assert!(!n.is_expired(now + TimeDelta::days(89)));
        assert!(n.is_expired(now + TimeDelta::days(90)));
        assert_eq!(NotificationResource::from_stored("webhook"), Some(NotificationResource::Webhook));
    }

    #[test]
    fn marking_read_sets_read_at_once_and_marking_unread_clears_it() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let (t1, t2) = (t0 + TimeDelta::minutes(1), t0 + TimeDelta::minutes(2));
        let read = sample(t0).mark(true, t1);
        assert_eq!((read.is_read, read.read_at), (true, Some(t1)));
        assert_eq!(read.mark(true, t2).read_at, Some(t1), "read again: first read time kept");
        let unread = read.mark(false, t2);
        assert_eq!((unread.is_read, unread.read_at), (false, None));
        assert_eq!(unread.mark(true, t2).read_at, Some(t2));
    }
}
