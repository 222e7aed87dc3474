//! Unit tests of a rule's fields and its patch.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::fixtures::{event_rule, threshold_rule};
use super::*;
use crate::domain::country::CountryCatalog;
use crate::error::FieldErrors;

fn conditions(v: serde_json::Value) -> RuleConditions {
    RuleConditions::parse(&v, &CountryCatalog::seed(), &mut FieldErrors::new()).unwrap()
}

#[test]
fn channels_are_distinct_non_empty_and_default_to_in_app() {
    assert_eq!(Channels::default().names(), ["in_app"]);
    assert_eq!(Channels::parse(&["WEBHOOK", "webhook"]).unwrap().names(), ["webhook"]);
    assert!(Channels::parse::<&str>(&[]).unwrap_err().contains("at least one"));
    assert_eq!(Channels::from_stored(&["in_app", "email", "webhook"]).names(), ["in_app", "webhook"]);
}

#[test]
fn a_patch_changes_the_given_fields_and_stamps_updated_at() {
    let rule = threshold_rule(json!({"utilization_threshold": 50, "resource_type": "region"}));
    let now = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::hours(1);
    let patch = RulePatch {
        rule_name: Some(RuleName::parse("Renamed").unwrap()),
        severity: Some(Severity::Critical),
        cooldown: Some(Cooldown::parse(5).unwrap()),
        ..Default::default()
    };
    let after = rule.patched(&patch, now);
    assert_eq!(after.rule_name.as_str(), "Renamed");
    assert_eq!((after.severity, after.cooldown.minutes(), after.updated_at), (Severity::Critical, 5, now));
    assert_eq!(
        (&after.conditions, &after.channels, after.created_at),
        (&rule.conditions, &rule.channels, rule.created_at)
    );
    assert_eq!(rule.patched(&RulePatch::default(), now).updated_at, now, "an empty patch still stamps it");
}

#[test]
fn new_conditions_or_re_enabling_re_arm_the_states_but_other_changes_do_not() {
    let rule = threshold_rule(json!({"utilization_threshold": 50, "resource_type": "region"}));
    let lowered = RulePatch {
        conditions: Some(conditions(json!({"utilization_threshold": 40, "resource_type": "region"}))),
        ..Default::default()
    };
    assert!(rule.rearmed_by(&lowered));
    let same = RulePatch { conditions: Some(rule.conditions.clone()), ..Default::default() };
    assert!(!rule.rearmed_by(&same), "resending the same conditions");
    let renamed = RulePatch { rule_name: Some(RuleName::parse("x").unwrap()), ..Default::default() };
    assert!(!rule.rearmed_by(&renamed));
    let enable = RulePatch { is_active: Some(true), ..Default::default() };
    assert!(!rule.rearmed_by(&enable), "already active");
    let off = rule.patched(&RulePatch { is_active: Some(false), ..Default::default() }, rule.created_at);
    assert!(off.rearmed_by(&enable));
}

#[test]
fn default_severity_is_warning_for_thresholds_and_info_for_events() {
    assert_eq!(
        threshold_rule(json!({"utilization_threshold": 1, "resource_type": "country"})).severity,
        Severity::Warning
    );
    assert_eq!(event_rule(&["region.created"]).severity, Severity::Info);
}
