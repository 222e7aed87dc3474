//! Capacity events of allocations. The counts come from the occupancy counters each claim
//! returns (`slots.rs`), never from scanning hosts or regions: every claim sees the counter
//! value it produced, so a threshold is crossed by exactly one claim even when allocations race.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::MongoStore;
use crate::domain::{Country, DomainEvent, EventType, Region, UserId};

/// Host addresses of a region (Z from 1 to 254).
pub(super) const HOSTS_PER_REGION: u64 = 254;

/// What fills up when hosts are allocated in `region`.
pub(super) fn region_resource(region: &Region) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), json!("region"));
    m.insert("region_id".into(), json!(region.id));
    m.insert("cidr".into(), json!(region.cidr()));
    m
}

/// What fills up when regions are allocated in country `c`.
pub(super) fn country_resource(c: &Country) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), json!("country"));
    m.insert("country_code".into(), json!(c.code));
    m.insert("country".into(), json!(c.name));
    m
}

/// The event of an allocation whose claims each took the usage of `resource` to one of
/// `counts` (so from one less): the highest threshold any of them crossed wins, as it does for
/// a single before/after pair.
pub(super) fn crossing(
    user: &UserId,
    resource: &Map<String, Value>,
    counts: &[u32],
    capacity: u64,
    at: DateTime<Utc>,
) -> Option<DomainEvent> {
    counts
        .iter()
        .filter_map(|&after| {
            let after = u64::from(after);
            DomainEvent::capacity_crossing(user, resource.clone(), (after.saturating_sub(1), after, capacity), at)
        })
        .max_by_key(|e| e.event_type == EventType::CapacityCritical)
}

impl MongoStore {
    /// Writes the capacity event of an allocation, if there is one. The allocation stands
    /// whatever happens here, so a failure is logged rather than returned.
    pub(super) async fn publish_crossing(&self, event: Option<DomainEvent>) {
        let Some(event) = event else { return };
        let events = std::slice::from_ref(&event);
        if let Err(e) = self.publish(events).await {
            tracing::error!(error = %e, event = %event.event_type, "could not write a capacity event to the outbox");
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{CountryCode, RegionId};

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    fn user() -> UserId {
        UserId::parse("u1").unwrap()
    }

    #[test]
    fn resources_name_what_filled_up() {
        let r = Region { id: RegionId::from_stored("R1".into()), ..super::super::documents::tests::region() };
        assert_eq!(
            Value::Object(region_resource(&r)),
            json!({ "kind": "region", "region_id": "R1", "cidr": "10.153.7.0/24" })
        );
        let c = Country {
            code: CountryCode::from_stored("USA".into()),
            name: "United States".into(),
            continent: "North America".into(),
            x_start: 153,
            x_end: 167,
            is_reserved: false,
        };
        assert_eq!(
            Value::Object(country_resource(&c)),
            json!({ "kind": "country", "country_code": "USA", "country": "United States" })
        );
    }

    #[test]
    fn only_the_claim_that_crossed_raises_the_event_and_the_highest_wins() {
        let res = Map::new();
        let kind = |counts: &[u32]| crossing(&user(), &res, counts, 100, at()).map(|e| e.event_type);
        assert_eq!(kind(&[79]), None);
        assert_eq!(kind(&[80]), Some(EventType::CapacityWarning));
        assert_eq!(kind(&[81, 82]), None, "a racing claim past the threshold does not repeat it");
        assert_eq!(kind(&[79, 80, 81]), Some(EventType::CapacityWarning));
        assert_eq!(kind(&[80, 95]), Some(EventType::CapacityCritical));
        let e = crossing(&user(), &res, &[204], HOSTS_PER_REGION, at()).unwrap();
        assert_eq!(e.data["resource"]["used"], json!(204));
        assert_eq!(e.data["resource"]["capacity"], json!(254));
    }
}
