//! Webhooks: a user's subscription of a URL to event types, its target and signing secret.
//! The deliveries of events to it, and what their attempts do to it, are in `delivery.rs`.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;

use super::event::EventType;
use super::ids::{UserId, WebhookId};
use super::text::Description;

/// Where a webhook posts: an absolute `http`/`https` URL of at most 500 characters, with a
/// host and no credentials. (Whether its host resolves to a public address is checked at
/// creation and again at every delivery, since DNS answers change.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses a URL given by a client.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().count() > 500 {
            return Err(format!("must be at most 500 characters (got {})", raw.chars().count()));
        }
        let url = url::Url::parse(raw).map_err(|e| format!("must be an absolute http(s) URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must start with http:// or https://".into());
        }
        if url.host().is_none() {
            return Err("must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials (user:password@); authenticate with the signature".into());
        }
        Ok(Self(url))
    }

    /// Rebuilds a URL read back from storage (trusted).
    pub fn from_stored(raw: &str) -> Option<Self> {
        url::Url::parse(raw).ok().map(Self)
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host and port to resolve.
    pub fn host_port(&self) -> (String, u16) {
        let host = match self.0.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => String::new(),
        };
        (host, self.0.port_or_known_default().unwrap_or(80))
    }
}

/// True for addresses a webhook must not reach unless private targets are allowed: loopback,
/// private, link-local (cloud metadata lives at 169.254.169.254), shared (CGNAT),
/// unspecified, broadcast, multicast, documentation and unique-local ranges.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if v6.is_loopback() || v6.is_unspecified() {
                return true;
            }
            // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms.
            if let Some(v4) = v6.to_ipv4() {
                return is_non_public(IpAddr::V4(v4));
            }
            // NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16) carry an IPv4 address
            // that a gateway will reach: judge that address.
            let embedded =
                |hi: u16, lo: u16| IpAddr::V4(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
            if seg[0] == 0x0064 && seg[1] == 0xff9b && (seg[2..6] == [0; 4] || seg[2] == 1) {
                return seg[2] == 1 || is_non_public(embedded(seg[6], seg[7]));
            }
            if seg[0] == 0x2002 {
                return is_non_public(embedded(seg[1], seg[2]));
            }
            v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xffc0) == 0xfec0
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
        }
    }
}

/// The event types of a subscription: 1 to 10 distinct ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvents(Vec<EventType>);

impl WebhookEvents {
    /// Most event types one webhook can subscribe to.
    pub const MAX: usize = 10;

    /// Parses the names a client gave (duplicates collapse; `host.retired` means `host.released`).
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        let mut events = Vec::new();
        for name in raw {
            let e = EventType::parse_subscribable(name.as_ref())?;
            if !events.contains(&e) {
                events.push(e);
            }
        }
        if events.is_empty() {
            return Err("must list at least one event".into());
        }
        if events.len() > Self::MAX {
            return Err(format!("must list at most {} events (got {})", Self::MAX, events.len()));
        }
        Ok(Self(events))
    }

    /// Rebuilds a list read back from storage (unknown names are skipped).
    pub fn from_stored<S: AsRef<str>>(raw: &[S]) -> Self {
        Self(raw.iter().filter_map(|s| EventType::from_stored(s.as_ref())).collect())
    }

    /// The event types.
    pub fn as_slice(&self) -> &[EventType] {
        &self.0
    }

    /// Wire names.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.as_str()).collect()
    }

    /// True when events of `t` go to this webhook (`ping` always does).
    pub fn includes(&self, t: EventType) -> bool {
        t == EventType::Ping || self.0.contains(&t)
    }
}

/// The signing secret of a webhook (shown to its owner once, at creation).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// A fresh secret: `whsec_` and 43 random alphanumerics (≈ 256 bits).
    pub fn generate() -> Self {
        let random: String = rand::rng().sample_iter(&Alphanumeric).take(43).map(char::from).collect();
        Self(format!("whsec_{random}"))
    }

    /// Rebuilds a secret read back from storage (trusted).
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The secret (the HMAC key is its UTF-8 bytes).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Identifier.
    pub id: WebhookId,
    /// Owner (only their events reach it).
    pub user_id: UserId,
    /// Target.
    pub url: WebhookUrl,
    /// Signing secret.
    pub secret: WebhookSecret,
    /// Subscribed event types.
    pub events: WebhookEvents,
    /// Free text.
    pub description: Option<Description>,
    /// Inactive webhooks get no deliveries.
    pub is_active: bool,
    /// Consecutive failed deliveries (reset by a success or by re-enabling).
    pub failure_count: u32,
    /// Last successful delivery.
    pub last_delivery_at: Option<DateTime<Utc>>,
    /// Why it was disabled automatically, if it was.
    pub disabled_reason: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    /// A new active webhook with a fresh secret.
    pub fn new(
        user_id: UserId,
        url: WebhookUrl,
        events: WebhookEvents,
        description: Option<Description>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: WebhookId::generate(),
            user_id,
            url,
            secret: WebhookSecret::generate(),
            events,
            description,
            is_active: true,
            failure_count: 0,
            last_delivery_at: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The webhook after `patch`. Re-enabling a disabled webhook gives it a clean slate (no
    /// failures, no disabled reason); `is_active: true` on one that is already active changes
    /// nothing, so a client that resends the whole object never hides a run of failures.
    pub fn patched(&self, patch: &WebhookPatch, now: DateTime<Utc>) -> Self {
        let mut w = self.clone();
        if let Some(active) = patch.is_active {
            if active && !w.is_active {
                w.failure_count = 0;
                w.disabled_reason = None;
            }
            w.is_active = active;
        }
        if let Some(events) = &patch.events {
            w.events = events.clone();
        }
        if let Some(description) = &patch.description {
            w.description = description.clone();
        }
        w.updated_at = now;
        w
    }
}

/// A change to a webhook (`None` = leave as is).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookPatch {
    /// Enable (re-enabling a disabled webhook resets its failure count) or disable.
    pub is_active: Option<bool>,
    /// New subscription.
    pub events: Option<WebhookEvents>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<Description>>,
}

/// Webhooks in a given state, for the unit tests of what decides on them.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A webhook of `u1` to `https://hooks.example.com/` for `host.allocated`, created at
    /// `created`, with `failures` consecutive failures, active or not.
    pub(crate) fn webhook(active: bool, failures: u32, created: DateTime<Utc>) -> Webhook {
        let url = WebhookUrl::parse("https://hooks.example.com/").unwrap();
        let events = WebhookEvents::parse(&["host.allocated"]).unwrap();
        let mut w = Webhook::new(UserId::parse("u1").unwrap(), url, events, None, created);
        w.is_active = active;
        w.failure_count = failures;
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing_webhook(is_active: bool) -> Webhook {
        let mut w = fixtures::webhook(is_active, 3, DateTime::<Utc>::UNIX_EPOCH);
        w.disabled_reason = (!is_active).then(|| "disabled after 3 consecutive failed deliveries".to_owned());
        w
    }

    #[test]
    fn re_enabling_a_disabled_webhook_clears_its_failures_but_enabling_an_active_one_does_not() {
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::hours(1);
        let enable = WebhookPatch { is_active: Some(true), ..Default::default() };

        let revived = failing_webhook(false).patched(&enable, now);
        assert!(revived.is_active);
        assert_eq!((revived.failure_count, revived.disabled_reason), (0, None));

        let active = failing_webhook(true).patched(&enable, now);
        assert_eq!(active.failure_count, 3, "resending is_active: true hides no failures");
        assert_eq!(active.updated_at, now);

        let disable = WebhookPatch { is_active: Some(false), description: Some(None), ..Default::default() };
        let off = failing_webhook(true).patched(&disable, now);
        assert!(!off.is_active);
        assert_eq!(off.failure_count, 3, "disabling keeps the count");
    }

    #[test]
    fn webhook_urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(WebhookUrl::parse("https://hooks.example.com/ipam?x=1").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:8080/h").is_ok());
        for bad in ["", "ftp://x.example", "example.com/hook", "https://user:pw@x.example/", "http://"] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://x.example/{}", "a".repeat(490));
        assert!(WebhookUrl::parse(&long).unwrap_err().contains("500"));
    }

    #[test]
    fn private_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::"] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn subscriptions_hold_one_to_ten_distinct_events() {
        assert_eq!(WebhookEvents::parse(&["host.allocated", "HOST.ALLOCATED"]).unwrap().as_slice().len(), 1);
        assert!(WebhookEvents::parse::<&str>(&[]).is_err());
        let all: Vec<&str> = EventType::SUBSCRIBABLE.iter().map(|e| e.as_str()).collect();
        assert!(WebhookEvents::parse(&all).unwrap_err().contains("at most 10"));
        assert!(WebhookEvents::parse(&["host.allocated"]).unwrap().includes(EventType::Ping));
    }

    #[test]
    fn secrets_are_prefixed_and_random() {
        let (a, b) = (WebhookSecret::generate(), WebhookSecret::generate());
        assert!(a.expose().starts_with("whsec_") && a.expose().len() == 49);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "WebhookSecret(..)");
    }
}
