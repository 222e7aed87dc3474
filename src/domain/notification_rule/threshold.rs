//! Threshold rules in motion: the state kept per (rule, resource), and what observing a
//! resource's utilisation does to it. A rule fires when the resource crosses its threshold
//! upward, never again while it stays above, and again on a fresh crossing unless it fired for
//! that resource less than its cooldown ago. Both the event dispatcher and the catch-up job
//! decide here; the backends only persist the state and the notification. (What is watched,
//! and how it is observed, is `watched.rs`.)

use chrono::{DateTime, Utc};

use super::watched::{ObservedResource, ResourceKey, WatchedKind};
use super::{NotificationRule, RuleConditions, Threshold};
use crate::domain::ids::RuleId;
use crate::domain::notification::{About, Notification, NotificationResource, NotificationType};

/// What a threshold rule remembers about one resource (`ipam_notification_rule_state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleState {
    /// The rule.
    pub rule_id: RuleId,
    /// The resource.
    pub resource_key: ResourceKey,
    /// True while the resource is at or above the threshold (as last observed).
    pub above: bool,
    /// Upward crossings seen, fired or suppressed by the cooldown; numbers each crossing.
    pub crossings: u32,
    /// When the rule last fired for this resource.
    pub last_fired_at: Option<DateTime<Utc>>,
}

impl RuleState {
    /// The state of a resource the rule has never seen above its threshold.
    pub fn unseen(rule_id: &RuleId, resource_key: ResourceKey) -> Self {
        Self { rule_id: rule_id.clone(), resource_key, above: false, crossings: 0, last_fired_at: None }
    }
}

/// What observing a resource decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The state to keep.
    pub state: RuleState,
    /// False when `state` is what was stored (or, for a resource never seen above, nothing
    /// needs storing): the backend writes nothing.
    pub changed: bool,
    /// The notification, when the rule fired.
    pub fire: Option<Notification>,
}

impl NotificationRule {
    /// What observing `seen` at `now` does, given the stored state for this rule and resource
    /// (`None` if there is none); `None` when the rule does not watch it (inactive, an event
    /// rule, another kind or another user's resource, or not among its `resource_ids`).
    ///
    /// The dedup key names the rule, the resource and the crossing's number, so two workers
    /// that observe the same crossing from the same stored state build the same notification.
    pub fn observe(
        &self,
        prior: Option<&RuleState>,
        seen: &ObservedResource,
        now: DateTime<Utc>,
    ) -> Option<Observation> {
        let RuleConditions::Threshold(t) = &self.conditions else { return None };
        if !self.watches(seen) {
            return None;
        }
        let key = ResourceKey::of(&seen.resource);
        let before = prior.cloned().unwrap_or_else(|| RuleState::unseen(&self.id, key.clone()));
        let mut state = before.clone();
        let mut fire = None;
        if !t.utilization_threshold.reached(seen.used, seen.capacity) {
            state.above = false;
        } else if !before.above {
            state.above = true;
            state.crossings = before.crossings.saturating_add(1);
            let cooling = before.last_fired_at.is_some_and(|last| now < last + self.cooldown.duration());
            if !cooling {
                state.last_fired_at = Some(now);
                fire = Some(self.threshold_notification(t, seen, &key, state.crossings, now));
            }
        }
        Some(Observation { changed: state != before, state, fire })
    }

    /// True when this is an active threshold rule of `seen`'s owner that watches it (its kind,
    /// and among its `resource_ids` when it lists some).
    pub fn watches(&self, seen: &ObservedResource) -> bool {
        matches!(&self.conditions, RuleConditions::Threshold(t)
            if self.is_active && seen.user_id == self.user_id && t.watches(&seen.resource))
    }

    /// True when this is an active threshold rule watching resources of `kind`.
    pub fn watches_kind(&self, kind: WatchedKind) -> bool {
        matches!(&self.conditions, RuleConditions::Threshold(t) if self.is_active && t.resource_type == kind)
    }

    fn threshold_notification(
        &self,
        t: &Threshold,
        seen: &ObservedResource,
        key: &ResourceKey,
        crossing: u32,
        now: DateTime<Utc>,
    ) -> Notification {
        let percent = seen.used as f64 * 100.0 / seen.capacity as f64;
        let message = format!(
            "Rule '{}': {} {} is at {percent:.1}% ({} of {} {}), at or above its {}% threshold",
            self.rule_name,
            seen.resource.kind().as_str(),
            seen.name,
            seen.used,
            seen.capacity,
            seen.units(),
            t.utilization_threshold.percent()
        );
        let kind = match seen.resource.kind() {
            WatchedKind::Region => NotificationResource::Region,
            WatchedKind::Country => NotificationResource::Country,
        };
        Notification::unread(
            &self.user_id,
            (NotificationType::CapacityThreshold, self.severity),
            message,
            Some(About::live(kind, seen.resource.id())),
            format!("rule:{}:{}:{crossing}", self.id, key.as_str()),
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;
    use crate::domain::country::{Country, CountryCode};
    use crate::domain::ids::{RegionId, UserId};
    use crate::domain::notification::Severity;
    use crate::domain::notification_rule::fixtures::{alice, region, threshold_rule};

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::minutes(minutes)
    }

    /// Observes `used` hosts of region `id` at each minute given, carrying the state along;
    /// returns how many hosts each firing saw.
    fn run(rule: &NotificationRule, id: &RegionId, steps: &[(i64, u64)]) -> (Vec<u64>, Option<RuleState>) {
        let mut state: Option<RuleState> = None;
        let mut fired = vec![];
        for &(minute, used) in steps {
            let o = rule.observe(state.as_ref(), &region(id, used), at(minute)).expect("watched");
            if o.fire.is_some() {
                fired.push(used);
            }
            if o.changed {
                state = Some(o.state);
            }
        }
        (fired, state)
    }

    fn half_full_rule() -> NotificationRule {
        threshold_rule(json!({"utilization_threshold": 50, "resource_type": "region"}))
    }

    #[test]
    fn a_rule_fires_once_on_the_upward_crossing_and_not_while_the_resource_stays_above() {
        let id = RegionId::generate();
        let (fired, state) = run(&half_full_rule(), &id, &[(0, 126), (1, 127), (2, 128), (3, 200), (4, 254)]);
        assert_eq!(fired, [127], "127 of 254 is exactly 50 %");
        let state = state.unwrap();
        assert_eq!((state.above, state.crossings, state.last_fired_at), (true, 1, Some(at(1))));
        assert_eq!(state.resource_key.as_str(), format!("region:{id}"));
    }

    #[test]
    fn a_fresh_crossing_fires_again_once_the_cooldown_has_passed() {
        let id = RegionId::generate();
        let (fired, state) = run(&half_full_rule(), &id, &[(0, 130), (10, 100), (70, 131)]);
        assert_eq!(fired, [130, 131], "60 minutes after the first firing");
        assert_eq!(state.unwrap().crossings, 2);
    }

    #[test]
    fn a_fresh_crossing_within_the_cooldown_is_suppressed_and_consumed() {
        let id = RegionId::generate();
        let steps = [(0, 130), (10, 100), (20, 131), (90, 140), (100, 100), (110, 132)];
        let (fired, state) = run(&half_full_rule(), &id, &steps);
        assert_eq!(fired, [130, 132], "the crossing at minute 20 is silent, and staying above after it too");
        let state = state.unwrap();
        assert_eq!((state.crossings, state.last_fired_at), (3, Some(at(110))));
    }

    #[test]
    fn a_zero_cooldown_lets_every_fresh_crossing_fire() {
        let mut rule = half_full_rule();
        rule.cooldown = crate::domain::notification_rule::Cooldown::parse(0).unwrap();
        let (fired, _) = run(&rule, &RegionId::generate(), &[(0, 130), (0, 1), (0, 131)]);
        assert_eq!(fired, [130, 131]);
    }

    #[test]
    fn the_notification_names_the_rule_the_resource_and_its_crossing() {
        let rule = half_full_rule();
        let id = RegionId::generate();
        let o = rule.observe(None, &region(&id, 204), at(0)).unwrap();
        let n = o.fire.unwrap();
        assert_eq!((n.notification_type, n.severity), (NotificationType::CapacityThreshold, Severity::Warning));
        assert_eq!(
            n.message,
            "Rule 'Watch': region dc-east (10.1.2.0/24) is at 80.3% (204 of 254 hosts), at or above its 50% threshold"
        );
        assert_eq!(n.resource_link, Some(format!("/ipam/regions/{id}")));
        assert_eq!(n.dedup_key, format!("rule:{}:region:{id}:1", rule.id));
        let again = rule.observe(None, &region(&id, 204), at(5)).unwrap().fire.unwrap();
        assert_eq!(
            again.dedup_key, n.dedup_key,
            "the same crossing seen from the same state twice is one notification"
        );
    }

    #[test]
    fn a_resource_below_the_threshold_with_no_state_needs_nothing_stored() {
        let o = half_full_rule().observe(None, &region(&RegionId::generate(), 3), at(0)).unwrap();
        assert!(!o.changed && o.fire.is_none() && !o.state.above);
    }

    #[test]
    fn rules_ignore_resources_they_do_not_watch() {
        let (watched, other) = (RegionId::generate(), RegionId::generate());
        let rule =
            threshold_rule(json!({"utilization_threshold": 50, "resource_type": "region", "resource_ids": [watched]}));
        assert!(rule.observe(None, &region(&watched, 200), at(0)).unwrap().fire.is_some());
        assert_eq!(rule.observe(None, &region(&other, 200), at(0)), None, "not among resource_ids");

        let country_rule = threshold_rule(json!({"utilization_threshold": 50, "resource_type": "country"}));
        assert_eq!(country_rule.observe(None, &region(&watched, 200), at(0)), None, "another kind");

        let mut foreign = region(&watched, 200);
        foreign.user_id = UserId::parse("mallory").unwrap();
        assert_eq!(half_full_rule().observe(None, &foreign, at(0)), None, "another user's region");

        let mut off = half_full_rule();
        off.is_active = false;
        assert_eq!(off.observe(None, &region(&watched, 200), at(0)), None, "inactive");
        assert!(!off.watches_kind(WatchedKind::Region) && half_full_rule().watches_kind(WatchedKind::Region));
        assert!(!half_full_rule().watches_kind(WatchedKind::Country) && !country_rule.watches(&region(&watched, 1)));
    }

    #[test]
    fn countries_are_observed_in_regions_of_their_blocks() {
        // One X octet: 256 regions.
        let c = Country {
            code: CountryCode::from_stored("ARE".into()),
            name: "UAE".into(),
            continent: "Asia".into(),
            x_start: 30,
            x_end: 30,
            is_reserved: false,
        };
        let rule =
            threshold_rule(json!({"utilization_threshold": 95, "resource_type": "country", "resource_ids": ["ARE"]}));
        assert_eq!(rule.observe(None, &ObservedResource::country(&alice(), &c, 243), at(0)).unwrap().fire, None);
        let n = rule.observe(None, &ObservedResource::country(&alice(), &c, 244), at(0)).unwrap().fire.unwrap();
        assert!(n.message.contains("(244 of 256 regions)"), "{}", n.message);
        assert_eq!(n.resource_link.as_deref(), Some("/ipam/countries/ARE"));
        assert_eq!(n.dedup_key, format!("rule:{}:country:ARE:1", rule.id));
    }
}
