//! Capacity events: a region or a country crossing a utilisation threshold upward. Both
//! backends build them here, from the usage counts their allocations produced.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{CAPACITY_CRITICAL_PERCENT, CAPACITY_WARNING_PERCENT, DomainEvent, EventType};
use crate::domain::country::{Country, HOSTS_PER_REGION};
use crate::domain::ids::{EventId, UserId};
use crate::domain::region::Region;

impl DomainEvent {
    /// The capacity event raised when usage of a region or country goes from `before` to
    /// `after` units of `capacity`, if that crosses a threshold upward (the highest one
    /// crossed wins). `resource` names what filled up, e.g. `{"region_id": …, "cidr": …}`.
    pub fn capacity_crossing(
        user: &UserId,
        mut resource: Map<String, Value>,
        (before, after, capacity): (u64, u64, u64),
        at: DateTime<Utc>,
    ) -> Option<Self> {
        if capacity == 0 || after <= before {
            return None;
        }
        let pct = |n: u64| n as f64 * 100.0 / capacity as f64;
        let (b, a) = (pct(before), pct(after));
        let (event_type, threshold) = if b < CAPACITY_CRITICAL_PERCENT && a >= CAPACITY_CRITICAL_PERCENT {
            (EventType::CapacityCritical, CAPACITY_CRITICAL_PERCENT)
        } else if b < CAPACITY_WARNING_PERCENT && a >= CAPACITY_WARNING_PERCENT {
            (EventType::CapacityWarning, CAPACITY_WARNING_PERCENT)
        } else {
            return None;
        };
        resource.insert("used".into(), json!(after));
        resource.insert("capacity".into(), json!(capacity));
        let data = json!({
            "resource": Value::Object(resource),
            "utilization": (a * 100.0).round() / 100.0,
            "threshold": threshold,
        });
        Some(Self { id: EventId::generate(), event_type, user_id: user.clone(), occurred_at: at, data })
    }

    /// The capacity event of allocation claims that each raised the usage of `resource` by one,
    /// to the values in `counts` (the counter as each claim left it). The highest threshold any
    /// claim crossed wins, exactly as for one before/after pair.
    ///
    /// Built from each claim's own count, rather than from a count read afterwards, a threshold
    /// is crossed by exactly one claim even when allocations race: every value of an atomic
    /// counter is produced by one claim only.
    fn claims_crossing(
        user: &UserId,
        resource: Map<String, Value>,
        counts: impl IntoIterator<Item = u32>,
        capacity: u64,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        counts
            .into_iter()
            .filter_map(|after| {
                let after = u64::from(after);
                Self::capacity_crossing(user, resource.clone(), (after.saturating_sub(1), after, capacity), at)
            })
            .max_by_key(|e| e.event_type == EventType::CapacityCritical)
    }

    /// The capacity event of host allocations in `region`, whose claims each left the region's
    /// host count at one of `counts` (e.g. `before + 1..=after` for one unit of work).
    pub fn region_capacity(region: &Region, counts: impl IntoIterator<Item = u32>, at: DateTime<Utc>) -> Option<Self> {
        let mut resource = Map::new();
        resource.insert("kind".into(), json!("region"));
        resource.insert("region_id".into(), json!(region.id));
        resource.insert("region_name".into(), json!(region.name));
        resource.insert("cidr".into(), json!(region.cidr()));
        Self::claims_crossing(&region.user_id, resource, counts, u64::from(HOSTS_PER_REGION), at)
    }

    /// The capacity event of region allocations in `country`, whose claims each left `user`'s
    /// region count of the country at one of `counts`.
    pub fn country_capacity(
        user: &UserId,
        country: &Country,
        counts: impl IntoIterator<Item = u32>,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        let mut resource = Map::new();
        resource.insert("kind".into(), json!("country"));
        resource.insert("country_code".into(), json!(country.code));
        resource.insert("country".into(), json!(country.name));
        Self::claims_crossing(user, resource, counts, u64::from(country.region_capacity()), at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_events_fire_only_when_a_threshold_is_crossed_upward() {
        let u = UserId::parse("u1").unwrap();
        let at = Utc::now();
        let crossing = |b, a| DomainEvent::capacity_crossing(&u, Map::new(), (b, a, 100), at).map(|e| e.event_type);
        assert_eq!(crossing(79, 80), Some(EventType::CapacityWarning));
        assert_eq!(crossing(80, 81), None);
        assert_eq!(crossing(94, 95), Some(EventType::CapacityCritical));
        assert_eq!(crossing(10, 99), Some(EventType::CapacityCritical));
        assert_eq!(crossing(96, 95), None);
        let e = DomainEvent::capacity_crossing(&u, Map::new(), (202, 204, 254), at).unwrap();
        assert_eq!(e.data["threshold"], json!(80.0));
        assert_eq!(e.data["utilization"], json!(80.31));
    }

    #[test]
    fn only_the_claim_that_crossed_raises_the_event_and_the_highest_wins() {
        let u = UserId::parse("u1").unwrap();
        let at = Utc::now();
        let kind = |counts: &[u32]| {
            DomainEvent::claims_crossing(&u, Map::new(), counts.iter().copied(), 100, at).map(|e| e.event_type)
        };
        assert_eq!(kind(&[]), None);
        assert_eq!(kind(&[79]), None);
        assert_eq!(kind(&[80]), Some(EventType::CapacityWarning));
        assert_eq!(kind(&[81, 82]), None, "a racing claim past the threshold does not repeat it");
        assert_eq!(kind(&[79, 80, 81]), Some(EventType::CapacityWarning));
        assert_eq!(kind(&[80, 95]), Some(EventType::CapacityCritical));
        assert_eq!(kind(&[95, 80]), Some(EventType::CapacityCritical), "whatever the order of the claims");
    }

    fn region() -> Region {
        let actor = crate::auth::Actor {
            user_id: UserId::parse("u1").unwrap(),
            username: crate::domain::Username::parse("alice").unwrap(),
            permissions: crate::auth::Permissions::of(&[crate::auth::Permission::Allocate]),
        };
        let new = crate::domain::NewRegion {
            name: crate::domain::RegionName::parse("dc-east").unwrap(),
            description: crate::domain::Description::empty(),
            owner: None,
            tags: crate::domain::Tags::empty(),
        };
        let usa = crate::domain::CountryCode::from_stored("USA".into());
        Region::allocated(&actor, &usa, &new, (153, 7), Utc::now())
    }

    #[test]
    fn a_region_capacity_event_names_the_region_and_counts_its_254_hosts() {
        let r = region();
        assert_eq!(DomainEvent::region_capacity(&r, 200..=202, Utc::now()), None);
        let e = DomainEvent::region_capacity(&r, 203..=204, Utc::now()).unwrap();
        assert_eq!(e.event_type, EventType::CapacityWarning);
        assert_eq!(e.user_id, r.user_id);
        assert_eq!(
            e.data,
            json!({
                "resource": { "kind": "region", "region_id": r.id, "region_name": "dc-east", "cidr": "10.153.7.0/24",
                              "used": 204, "capacity": 254 },
                "utilization": 80.31,
                "threshold": 80.0,
            })
        );
    }

    #[test]
    fn a_country_capacity_event_names_the_country_and_counts_its_blocks() {
        let c = Country {
            code: crate::domain::CountryCode::from_stored("ARE".into()),
            name: "United Arab Emirates".into(),
            continent: "Asia".into(),
            x_start: 40,
            x_end: 40,
            is_reserved: false,
        };
        let u = UserId::parse("u1").unwrap();
        assert_eq!(DomainEvent::country_capacity(&u, &c, [243], Utc::now()), None);
        let e = DomainEvent::country_capacity(&u, &c, [244], Utc::now()).unwrap();
        assert_eq!(e.event_type, EventType::CapacityCritical);
        assert_eq!(
            e.data["resource"],
            json!({ "kind": "country", "country_code": "ARE", "country": "United Arab Emirates", "used": 244,
                    "capacity": 256 })
        );
    }
}
