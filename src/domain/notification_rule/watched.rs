//! What threshold rules watch: regions and countries, how their rule states key them, their
//! utilisation as observed at one moment, and which of them an event moved.

use serde_json::Value;

use crate::domain::country::{Country, CountryCode, HOSTS_PER_REGION};
use crate::domain::event::{DomainEvent, EventType};
use crate::domain::ids::{RegionId, UserId};
use crate::domain::region::Region;

/// The kinds of resource a threshold rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchedKind {
    /// Regions: utilisation is allocated hosts of the region's 254.
    Region,
    /// Countries: utilisation is the user's regions of the country's blocks.
    Country,
}

impl WatchedKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Country => "country",
        }
    }

    pub(super) fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "region" => Ok(Self::Region),
            "country" => Ok(Self::Country),
            _ => Err("must be region or country".into()),
        }
    }
}

/// One region or country a threshold rule can watch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WatchedResource {
    /// A region.
    Region(RegionId),
    /// A country of the user's namespace.
    Country(CountryCode),
}

impl WatchedResource {
    /// Its kind.
    pub fn kind(&self) -> WatchedKind {
        match self {
            Self::Region(_) => WatchedKind::Region,
            Self::Country(_) => WatchedKind::Country,
        }
    }

    /// Its id (region id or country code).
    pub fn id(&self) -> &str {
        match self {
            Self::Region(id) => id.as_str(),
            Self::Country(code) => code.as_str(),
        }
    }
}

/// A utilisation threshold in whole percent, 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtilizationThreshold(u8);

impl UtilizationThreshold {
    /// Parses a JSON number (`80` or `80.0`; not `80.5`, not `"80"`).
    pub fn parse(raw: &Value) -> Result<Self, String> {
        let problem = || "must be a whole number of percent from 1 to 100".to_owned();
        let n = raw.as_f64().ok_or_else(problem)?;
        if n.fract() != 0.0 || !(1.0..=100.0).contains(&n) {
            return Err(problem());
        }
        // In 1..=100 and whole, so the conversion is exact.
        Ok(Self(n as u8))
    }

    /// The percentage.
    pub fn percent(self) -> u8 {
        self.0
    }

    /// True when `used` of `capacity` is at or above the threshold (exact, in integers).
    pub fn reached(self, used: u64, capacity: u64) -> bool {
        capacity > 0 && u128::from(used) * 100 >= u128::from(self.0) * u128::from(capacity)
    }
}

/// Names one watched resource in rule states: `region:{region_id}` or `country:{code}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey(String);

impl ResourceKey {
    /// The key of `r`.
    pub fn of(r: &WatchedResource) -> Self {
        Self(format!("{}:{}", r.kind().as_str(), r.id()))
    }

    /// Rebuilds a key read back from storage (trusted).
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A resource's utilisation as read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedResource {
    /// Whose namespace it is in.
    pub user_id: UserId,
    /// Which resource.
    pub resource: WatchedResource,
    /// How notifications name it, e.g. `dc-east (10.1.2.0/24)`.
    pub name: String,
    /// Units in use (hosts of a region, the user's regions of a country).
    pub used: u64,
    /// Units it holds.
    pub capacity: u64,
}

impl ObservedResource {
    /// A region: its allocated hosts of 254.
    pub fn region(r: &Region) -> Self {
        Self {
            user_id: r.user_id.clone(),
            resource: WatchedResource::Region(r.id.clone()),
            name: format!("{} ({})", r.name, r.cidr()),
            used: u64::from(r.allocated_hosts),
            capacity: u64::from(HOSTS_PER_REGION),
        }
    }

    /// A country of `user`'s namespace, where they hold `regions` of its blocks.
    pub fn country(user: &UserId, c: &Country, regions: u32) -> Self {
        Self {
            user_id: user.clone(),
            resource: WatchedResource::Country(c.code.clone()),
            name: format!("{} ({})", c.name, c.code),
            used: u64::from(regions),
            capacity: u64::from(c.region_capacity()),
        }
    }

    /// What `used` and `capacity` count: hosts (a region) or regions (a country).
    pub(super) fn units(&self) -> &'static str {
        match self.resource.kind() {
            WatchedKind::Region => "hosts",
            WatchedKind::Country => "regions",
        }
    }
}

impl WatchedResource {
    /// The resources whose utilisation `event` changed, to observe for threshold rules: a
    /// host's region, a region's country. (Anything no event covers, e.g. a rule created while a
    /// resource is already above, is left to the scheduled catch-up.)
    pub fn moved_by(event: &DomainEvent) -> Option<Self> {
        let text = |key: &str| event.data.get(key).and_then(Value::as_str);
        match event.event_type {
            EventType::HostAllocated | EventType::HostReleased => {
                text("region_id").and_then(RegionId::parse).map(Self::Region)
            }
            EventType::RegionCreated | EventType::RegionRetired => {
                text("country_code").map(|c| Self::Country(CountryCode::from_stored(c.to_owned())))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::notification_rule::fixtures::{alice, host_event};

    #[test]
    fn thresholds_are_whole_percentages_from_1_to_100() {
        for ok in [json!(1), json!(100), json!(80.0)] {
            assert!(UtilizationThreshold::parse(&ok).is_ok(), "{ok}");
        }
        for bad in [json!(0), json!(101), json!(80.5), json!("80"), json!(-5), Value::Null] {
            assert!(UtilizationThreshold::parse(&bad).unwrap_err().contains("1 to 100"), "{bad}");
        }
        let t = UtilizationThreshold::parse(&json!(80)).unwrap();
        assert!(!t.reached(203, 254) && t.reached(204, 254) && !t.reached(0, 0));
    }

    #[test]
    fn host_and_region_events_name_the_resource_whose_utilisation_moved() {
        let e = host_event(&alice(), EventType::HostReleased);
        let region_id = RegionId::parse(e.data["region_id"].as_str().unwrap()).unwrap();
        assert_eq!(WatchedResource::moved_by(&e), Some(WatchedResource::Region(region_id)));
        let mut created = host_event(&alice(), EventType::RegionCreated);
        created.data = json!({"region_id": "R", "country_code": "USA"});
        assert_eq!(
            WatchedResource::moved_by(&created),
            Some(WatchedResource::Country(CountryCode::from_stored("USA".into())))
        );
        assert_eq!(WatchedResource::moved_by(&host_event(&alice(), EventType::HostUpdated)), None);
    }
}
