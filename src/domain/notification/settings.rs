//! A user's notification settings (read from the free-form `notification_settings` of their
//! preferences) and where a notification goes: into the in-app inbox, to the user's webhooks
//! as a `notification.created` event, both or neither.

use serde_json::{Map, Value};

use super::Severity;
use crate::domain::notification_rule::{Channel, Channels};

/// The settings that govern a user's in-app inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationSettings {
    /// False: nothing is stored in the inbox (default true).
    pub in_app_enabled: bool,
    /// Notifications below this severity are not stored in the inbox (default info).
    pub severity_threshold: Severity,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self { in_app_enabled: true, severity_threshold: Severity::Info }
    }
}

impl NotificationSettings {
    /// Reads the settings from preferences. The map is free-form (clients store what they
    /// like there), so a missing, mistyped or unknown value means its default, never an error:
    /// `{"in_app_enabled": "no"}` keeps the inbox on, `{"severity_threshold": "loud"}` admits
    /// everything.
    pub fn from_preferences(settings: &Map<String, Value>) -> Self {
        let default = Self::default();
        Self {
            in_app_enabled: settings.get("in_app_enabled").and_then(Value::as_bool).unwrap_or(default.in_app_enabled),
            severity_threshold: Severity::parse_or_default(
                settings.get("severity_threshold"),
                default.severity_threshold,
            ),
        }
    }

    /// True when a notification of `severity` is kept in the inbox.
    pub fn admits(&self, severity: Severity) -> bool {
        self.in_app_enabled && severity >= self.severity_threshold
    }
}

/// Where one notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routing {
    /// Store it in the user's inbox.
    pub in_app: bool,
    /// Raise a `notification.created` event (delivered to the user's webhooks subscribed to it).
    pub webhook: bool,
}

impl Routing {
    /// Where a rule's notification of `severity` goes. The inbox follows the rule's `in_app`
    /// channel and the user's settings; the `webhook` channel follows the rule alone: the
    /// settings govern the inbox, and a rule that names `webhook` is an explicit request for
    /// those events (which the user's webhooks still have to subscribe to).
    pub fn of_rule(channels: &Channels, settings: &NotificationSettings, severity: Severity) -> Self {
        Self {
            in_app: channels.contains(Channel::InApp) && settings.admits(severity),
            webhook: channels.contains(Channel::Webhook),
        }
    }

    /// Where a notification of the system's own (a disabled webhook, a reservation) goes: the
    /// inbox only, as the settings allow. It never raises `notification.created`, so a
    /// notification about a failing webhook cannot feed that webhook more deliveries.
    pub fn of_system(settings: &NotificationSettings, severity: Severity) -> Self {
        Self { in_app: settings.admits(severity), webhook: false }
    }

    /// True when the notification goes nowhere (a rule's state still records the firing).
    pub fn is_dropped(&self) -> bool {
        !self.in_app && !self.webhook
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings(v: Value) -> NotificationSettings {
        NotificationSettings::from_preferences(v.as_object().unwrap())
    }

    #[test]
    fn settings_default_to_an_inbox_that_admits_everything() {
        let s = settings(json!({}));
        assert_eq!(s, NotificationSettings { in_app_enabled: true, severity_threshold: Severity::Info });
        assert!(Severity::ALL.into_iter().all(|sev| s.admits(sev)));
    }

    #[test]
    fn unknown_or_mistyped_settings_fall_back_to_their_defaults() {
        let s = settings(json!({"in_app_enabled": "no", "severity_threshold": "loud", "email": true}));
        assert_eq!(s, NotificationSettings::default());
        let s = settings(json!({"in_app_enabled": null, "severity_threshold": ["critical"]}));
        assert_eq!(s, NotificationSettings::default());
    }

    #[test]
    fn the_inbox_can_be_switched_off_or_raised_to_a_severity() {
        let off = settings(json!({"in_app_enabled": false, "severity_threshold": "info"}));
        assert!(!off.admits(Severity::Critical));
        let warn = settings(json!({"severity_threshold": "WARNING"}));
        assert!(!warn.admits(Severity::Info));
        assert!(warn.admits(Severity::Warning) && warn.admits(Severity::Critical));
    }

    #[test]
    fn the_webhook_channel_is_independent_of_the_inbox_settings() {
        let off = settings(json!({"in_app_enabled": false}));
        let both = Channels::parse(&["in_app", "webhook"]).unwrap();
        assert_eq!(Routing::of_rule(&both, &off, Severity::Info), Routing { in_app: false, webhook: true });
        let on = NotificationSettings::default();
        assert_eq!(Routing::of_rule(&both, &on, Severity::Info), Routing { in_app: true, webhook: true });
        let in_app = Channels::default();
        let dropped = Routing::of_rule(&in_app, &off, Severity::Critical);
        assert!(dropped.is_dropped());
        let critical_only = settings(json!({"severity_threshold": "critical"}));
        assert!(!Routing::of_rule(&in_app, &critical_only, Severity::Warning).in_app);
    }

    #[test]
    fn system_notifications_go_to_the_inbox_only() {
        let on = NotificationSettings::default();
        assert_eq!(Routing::of_system(&on, Severity::Critical), Routing { in_app: true, webhook: false });
        let off = settings(json!({"in_app_enabled": false}));
        assert!(Routing::of_system(&off, Severity::Critical).is_dropped());
    }
}
