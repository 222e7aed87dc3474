//! Notification rules: a user's standing request to be told when a region or country crosses a
//! utilisation threshold (`threshold.rs`, with its per-resource state; what is watched is
//! `watched.rs`) or when listed events
//! happen (`events.rs`). A rule's fields and their parsing are here and in `conditions.rs` and
//! `request.rs`; what a rule's notification becomes for the user is `notification::Routing`.

use chrono::{DateTime, TimeDelta, Utc};

mod conditions;
mod events;
mod request;
mod threshold;
mod watched;

pub use conditions::{MAX_RESOURCE_IDS, RuleConditions, Threshold};
pub use request::{RulePatchRequest, RuleRequest};
pub use threshold::{Observation, RuleState};
pub use watched::{ObservedResource, ResourceKey, UtilizationThreshold, WatchedKind, WatchedResource};

use super::ids::{RuleId, UserId};
use super::notification::Severity;
pub use super::text::RuleName;

/// Where a rule's notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The user's in-app inbox (subject to their notification settings).
    InApp,
    /// A `notification.created` event to the user's webhooks that subscribe to it.
    Webhook,
}

impl Channel {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InApp => "in_app",
            Self::Webhook => "webhook",
        }
    }

    /// Parses a client's name. `email` is refused: no e-mail is ever sent.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "in_app" => Ok(Self::InApp),
            "webhook" => Ok(Self::Webhook),
            "email" => Err("'email' is not supported: use in_app or webhook (a webhook receiver can forward \
                            notifications by e-mail)"
                .into()),
            _ => Err(format!("unknown channel '{}': must be in_app or webhook", super::address::shorten(raw.trim()))),
        }
    }
}

/// A rule's channels: at least one, each once. Default `[in_app]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels(Vec<Channel>);

impl Default for Channels {
    fn default() -> Self {
        Self(vec![Channel::InApp])
    }
}

impl Channels {
    /// Parses the names a client gave (duplicates collapse).
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        let mut channels = Vec::new();
        for name in raw {
            let c = Channel::parse(name.as_ref())?;
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
        if channels.is_empty() {
            return Err("must list at least one channel: in_app or webhook".into());
        }
        Ok(Self(channels))
    }

    /// Rebuilds channels read back from storage (unknown names are skipped).
    pub fn from_stored<S: AsRef<str>>(raw: &[S]) -> Self {
        Self(raw.iter().filter_map(|s| Channel::parse(s.as_ref()).ok()).collect())
    }

    /// True when `c` is one of them.
    pub fn contains(&self, c: Channel) -> bool {
        self.0.contains(&c)
    }

    /// Wire names.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|c| c.as_str()).collect()
    }
}

/// How long after a threshold rule fired for a resource a fresh crossing of that resource stays
/// silent: whole minutes, 0 (every crossing fires) to one week. Default 60.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cooldown(u32);

impl Default for Cooldown {
    fn default() -> Self {
        Self(Self::DEFAULT_MINUTES)
    }
}

impl Cooldown {
    /// The default, in minutes.
    pub const DEFAULT_MINUTES: u32 = 60;
    /// The longest, in minutes (one week).
    pub const MAX_MINUTES: u32 = 10_080;

    /// Parses a client's number of minutes.
    pub fn parse(minutes: i64) -> Result<Self, String> {
        u32::try_from(minutes)
            .ok()
            .filter(|m| *m <= Self::MAX_MINUTES)
            .map(Self)
            .ok_or_else(|| format!("must be 0 to {} minutes (one week)", Self::MAX_MINUTES))
    }

    /// Rebuilds a value read back from storage (trusted).
    pub fn from_stored(minutes: u32) -> Self {
        Self(minutes)
    }

    /// Minutes.
    pub fn minutes(self) -> u32 {
        self.0
    }

    /// As a duration.
    pub fn duration(self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.0))
    }
}

/// A notification rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRule {
    /// Identifier.
    pub id: RuleId,
    /// Owner: only their resources and events are matched, only their inbox is written.
    pub user_id: UserId,
    /// Name, shown in its notifications.
    pub rule_name: RuleName,
    /// What makes it fire.
    pub conditions: RuleConditions,
    /// The severity of its notifications.
    pub severity: Severity,
    /// Where its notifications go.
    pub channels: Channels,
    /// Quiet period per resource after a threshold firing.
    pub cooldown: Cooldown,
    /// Inactive rules are not evaluated.
    pub is_active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A change to a rule (`None` = leave as is).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulePatch {
    /// New name.
    pub rule_name: Option<RuleName>,
    /// New conditions.
    pub conditions: Option<RuleConditions>,
    /// New severity.
    pub severity: Option<Severity>,
    /// New channels.
    pub channels: Option<Channels>,
    /// New cooldown.
    pub cooldown: Option<Cooldown>,
    /// Enable or disable.
    pub is_active: Option<bool>,
}

impl RuleConditions {
    /// The severity of a rule created without one: `warning` for a threshold (a resource is
    /// filling up, as the original's `capacity_warning`), `info` for events (something happened).
    pub fn default_severity(&self) -> Severity {
        match self {
            Self::Threshold(_) => Severity::Warning,
            Self::Events(_) => Severity::Info,
        }
    }
}

impl NotificationRule {
    /// The rule after `patch`, changed at `now` (an empty patch still stamps `updated_at`).
    pub fn patched(&self, patch: &RulePatch, now: DateTime<Utc>) -> Self {
        let mut r = self.clone();
        if let Some(name) = &patch.rule_name {
            r.rule_name = name.clone();
        }
        if let Some(conditions) = &patch.conditions {
            r.conditions = conditions.clone();
        }
        if let Some(severity) = patch.severity {
            r.severity = severity;
        }
        if let Some(channels) = &patch.channels {
            r.channels = channels.clone();
        }
        if let Some(cooldown) = patch.cooldown {
            r.cooldown = cooldown;
        }
        if let Some(active) = patch.is_active {
            r.is_active = active;
        }
        r.updated_at = now;
        r
    }

    /// True when `patch` re-arms the rule's per-resource states (every `above` becomes false,
    /// crossings and last firings are kept): its conditions change, or it is re-enabled. The
    /// states described the old conditions (or went unobserved while the rule was off), so a
    /// resource above the new threshold is a fresh crossing, as for a new rule; the cooldown
    /// still holds.
    pub fn rearmed_by(&self, patch: &RulePatch) -> bool {
        patch.conditions.as_ref().is_some_and(|c| *c != self.conditions)
            || (patch.is_active == Some(true) && !self.is_active)
    }
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests;
