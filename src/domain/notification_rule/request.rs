//! A client's rule as sent (`POST` and `PATCH /ipam/notifications/rules`), and its parsing into
//! a rule or a patch: every field is checked, and every problem is reported under its field.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Channels, Cooldown, NotificationRule, RuleConditions, RuleName, RulePatch};
use crate::domain::country::CountryCatalog;
use crate::domain::ids::{RuleId, UserId};
use crate::domain::notification::Severity;
use crate::error::{FieldErrors, Result};

/// The fields of a new rule as the client sent them.
#[derive(Debug, Clone, Copy)]
pub struct RuleRequest<'a> {
    /// 1..=100 characters.
    pub rule_name: &'a str,
    /// A threshold or an event list (see [`RuleConditions`]).
    pub conditions: &'a Value,
    /// `info`, `warning` or `critical`; default by conditions ([`RuleConditions::default_severity`]).
    pub severity: Option<&'a str>,
    /// `in_app` and/or `webhook`; default `[in_app]`.
    pub notification_channels: Option<&'a [String]>,
    /// 0..=10080; default 60.
    pub cooldown_minutes: Option<i64>,
    /// Default true.
    pub is_active: Option<bool>,
}

/// The fields of a rule change as the client sent them (absent = unchanged).
#[derive(Debug, Clone, Copy, Default)]
pub struct RulePatchRequest<'a> {
    /// New name.
    pub rule_name: Option<&'a str>,
    /// New conditions.
    pub conditions: Option<&'a Value>,
    /// New severity.
    pub severity: Option<&'a str>,
    /// New channels.
    pub notification_channels: Option<&'a [String]>,
    /// New cooldown.
    pub cooldown_minutes: Option<i64>,
    /// Enable or disable.
    pub is_active: Option<bool>,
}

impl NotificationRule {
    /// The rule `user` asks for at `now`, or a validation error naming every offending field.
    pub fn create(user: &UserId, req: &RuleRequest<'_>, catalog: &CountryCatalog, now: DateTime<Utc>) -> Result<Self> {
        let mut e = FieldErrors::new();
        let rule_name = e.check("rule_name", RuleName::parse(req.rule_name));
        let conditions = RuleConditions::parse(req.conditions, catalog, &mut e);
        let severity = req.severity.map(|s| e.check("severity", Severity::parse(s)));
        let channels = req.notification_channels.map(|c| e.check("notification_channels", Channels::parse(c)));
        let cooldown = req.cooldown_minutes.map(|m| e.check("cooldown_minutes", Cooldown::parse(m)));
        let (Some(rule_name), Some(conditions)) = (rule_name, conditions) else {
            return Err(crate::IpamError::Validation(e));
        };
        e.finish(|| Self {
            id: RuleId::generate(),
            user_id: user.clone(),
            rule_name,
            severity: severity.flatten().unwrap_or_else(|| conditions.default_severity()),
            conditions,
            channels: channels.flatten().unwrap_or_default(),
            cooldown: cooldown.flatten().unwrap_or_default(),
            is_active: req.is_active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        })
    }
}

impl RulePatch {
    /// The change a client asks for, or a validation error naming every offending field.
    pub fn parse(req: &RulePatchRequest<'_>, catalog: &CountryCatalog) -> Result<Self> {
        let mut e = FieldErrors::new();
        let patch = Self {
            rule_name: req.rule_name.and_then(|n| e.check("rule_name", RuleName::parse(n))),
            conditions: req.conditions.and_then(|c| RuleConditions::parse(c, catalog, &mut e)),
            severity: req.severity.and_then(|s| e.check("severity", Severity::parse(s))),
            channels: req.notification_channels.and_then(|c| e.check("notification_channels", Channels::parse(c))),
            cooldown: req.cooldown_minutes.and_then(|m| e.check("cooldown_minutes", Cooldown::parse(m))),
            is_active: req.is_active,
        };
        e.finish(|| patch)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::IpamError;
    use crate::domain::event::EventType;
    use crate::domain::notification_rule::{Channel, WatchedKind};

    fn create(body: Value) -> Result<NotificationRule> {
        let str_of = |k: &str| body.get(k).and_then(Value::as_str);
        let channels: Option<Vec<String>> =
            body.get("notification_channels").map(|v| serde_json::from_value(v.clone()).unwrap());
        let req = RuleRequest {
            rule_name: str_of("rule_name").unwrap_or_default(),
            conditions: body.get("conditions").unwrap_or(&Value::Null),
            severity: str_of("severity"),
            notification_channels: channels.as_deref(),
            cooldown_minutes: body.get("cooldown_minutes").and_then(Value::as_i64),
            is_active: body.get("is_active").and_then(Value::as_bool),
        };
        NotificationRule::create(&UserId::parse("u1").unwrap(), &req, &CountryCatalog::seed(), Utc::now())
    }

    fn problems(body: Value) -> Vec<(String, String)> {
        match create(body) {
            Err(IpamError::Validation(e)) => e.iter().map(|(f, p)| (f.to_owned(), p.to_owned())).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn fields(body: Value) -> Vec<String> {
        problems(body).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn a_minimal_threshold_rule_gets_the_documented_defaults() {
        let r = create(
            json!({"rule_name": " Busy ", "conditions": {"utilization_threshold": 80, "resource_type": "region"}}),
        )
        .unwrap();
        assert_eq!(r.rule_name.as_str(), "Busy");
        assert_eq!((r.severity, r.cooldown.minutes(), r.is_active), (Severity::Warning, 60, true));
        assert_eq!(r.channels, Channels::default());
        assert_eq!(r.created_at, r.updated_at);
        assert_eq!(r.conditions.to_json(), json!({"utilization_threshold": 80, "resource_type": "region"}));
    }

    #[test]
    fn every_field_is_taken_from_the_request_when_given() {
        let r = create(json!({
            "rule_name": "Events", "conditions": {"event_types": ["host.allocated", "host.retired", "HOST.ALLOCATED"]},
            "severity": "critical", "notification_channels": ["webhook", "in_app", "webhook"],
            "cooldown_minutes": 0, "is_active": false,
        }))
        .unwrap();
        assert_eq!(r.conditions, RuleConditions::Events(vec![EventType::HostAllocated, EventType::HostReleased]));
        assert_eq!((r.severity, r.cooldown.minutes(), r.is_active), (Severity::Critical, 0, false));
        assert_eq!(r.channels.names(), ["webhook", "in_app"]);
        assert!(r.channels.contains(Channel::Webhook));
        let events = create(json!({"rule_name": "E", "conditions": {"event_types": ["region.created"]}})).unwrap();
        assert_eq!(events.severity, Severity::Info, "event rules default to info");
    }

    #[test]
    fn every_invalid_field_is_reported_under_its_own_name() {
        let body = json!({
            "rule_name": "", "conditions": {"utilization_threshold": 0, "resource_type": "region"},
            "severity": "urgent", "notification_channels": [], "cooldown_minutes": -1,
        });
        assert_eq!(
            fields(body),
            ["conditions.utilization_threshold", "cooldown_minutes", "notification_channels", "rule_name", "severity"]
        );
        assert_eq!(
            fields(json!({"rule_name": "x".repeat(101), "conditions": {"event_types": ["ping"]}})),
            ["conditions.event_types", "rule_name"]
        );
        assert_eq!(
            fields(json!({"rule_name": "a", "conditions": {}, "cooldown_minutes": 10_081})),
            ["conditions", "cooldown_minutes"]
        );
    }

    #[test]
    fn email_is_refused_with_a_message_saying_it_is_not_supported() {
        let p = problems(json!({"rule_name": "a", "conditions": {"event_types": ["host.allocated"]},
                                "notification_channels": ["in_app", "email"]}));
        assert_eq!(p[0].0, "notification_channels");
        assert!(p[0].1.contains("'email' is not supported"), "{}", p[0].1);
        assert!(Channel::parse("sms").unwrap_err().contains("must be in_app or webhook"));
    }

    #[test]
    fn cooldowns_are_bounded_to_one_week() {
        assert_eq!(Cooldown::parse(10_080).unwrap().duration(), chrono::TimeDelta::days(7));
        assert!(Cooldown::parse(10_081).is_err() && Cooldown::parse(-1).is_err());
        assert_eq!(Cooldown::default().minutes(), 60);
    }

    #[test]
    fn a_patch_parses_only_the_given_fields_and_reports_each_bad_one() {
        let conditions = json!({"utilization_threshold": 90, "resource_type": "country", "resource_ids": ["usa"]});
        let req = RulePatchRequest { conditions: Some(&conditions), is_active: Some(false), ..Default::default() };
        let patch = RulePatch::parse(&req, &CountryCatalog::seed()).unwrap();
        let RuleConditions::Threshold(t) = patch.conditions.clone().unwrap() else { panic!("{patch:?}") };
        assert_eq!(t.resource_type, WatchedKind::Country);
        assert_eq!(t.resource_ids.unwrap()[0].id(), "USA");
        assert_eq!((patch.rule_name, patch.is_active), (None, Some(false)));

        let email = ["email".to_owned()];
        let bad = RulePatchRequest {
            rule_name: Some(" "),
            notification_channels: Some(&email),
            cooldown_minutes: Some(-5),
            ..Default::default()
        };
        let Err(IpamError::Validation(e)) = RulePatch::parse(&bad, &CountryCatalog::seed()) else { panic!() };
        let named: Vec<&str> = e.iter().map(|(f, _)| f).collect();
        assert_eq!(named, ["cooldown_minutes", "notification_channels", "rule_name"]);
    }
}
