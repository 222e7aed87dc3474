//! A rule's conditions: a utilisation threshold on regions or countries (optionally only some
//! of them), or a list of event types. Parsed from the client's JSON object, every problem
//! reported under the field it concerns (`conditions.<key>`).

use serde_json::{Map, Value, json};

use super::watched::{UtilizationThreshold, WatchedKind, WatchedResource};
use crate::domain::country::{CountryCatalog, CountryCode};
use crate::domain::event::EventType;
use crate::domain::ids::RegionId;
use crate::error::FieldErrors;

/// Most resources one threshold rule can name.
pub const MAX_RESOURCE_IDS: usize = 100;

const KNOWN_KEYS: &[&str] = &["utilization_threshold", "resource_type", "resource_ids", "event_types"];
const SHAPES: &str = "must be an object: {\"utilization_threshold\": 80, \"resource_type\": \"region\"} or \
                      {\"event_types\": [\"host.allocated\"]}";

/// The condition of a threshold rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    /// The utilisation that fires the rule when crossed upward.
    pub utilization_threshold: UtilizationThreshold,
    /// What it watches.
    pub resource_type: WatchedKind,
    /// Only these resources (`None`: every resource of the kind); all of `resource_type`.
    pub resource_ids: Option<Vec<WatchedResource>>,
}

impl Threshold {
    /// True when the rule watches `r`.
    pub fn watches(&self, r: &WatchedResource) -> bool {
        r.kind() == self.resource_type && self.resource_ids.as_ref().is_none_or(|ids| ids.contains(r))
    }
}

/// What makes a rule fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleConditions {
    /// A region's or country's utilisation crossing a threshold upward.
    Threshold(Threshold),
    /// Any of these events (distinct, at least one, never `notification.created`).
    Events(Vec<EventType>),
}

impl RuleConditions {
    /// Parses the client's `conditions`, recording each problem in `e` under its field;
    /// country ids are resolved by code or name through `catalog`.
    pub fn parse(raw: &Value, catalog: &CountryCatalog, e: &mut FieldErrors) -> Option<Self> {
        parse(raw, e, &|key: &str| catalog.find(key).filter(|c| !c.is_reserved).map(|c| c.code.clone()))
    }

    /// Rebuilds conditions read back from storage; `None` when they are not valid conditions.
    pub fn from_stored(raw: &Value) -> Option<Self> {
        let mut e = FieldErrors::new();
        parse(raw, &mut e, &|code: &str| Some(CountryCode::from_stored(code.to_owned()))).filter(|_| e.is_empty())
    }

    /// As stored and shown: the client's shape, with ids and names normalised.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Threshold(t) => {
                let mut m = Map::new();
                m.insert("utilization_threshold".into(), json!(t.utilization_threshold.percent()));
                m.insert("resource_type".into(), json!(t.resource_type.as_str()));
                if let Some(ids) = &t.resource_ids {
                    m.insert("resource_ids".into(), json!(ids.iter().map(WatchedResource::id).collect::<Vec<_>>()));
                }
                Value::Object(m)
            }
            Self::Events(events) => json!({ "event_types": events.iter().map(|e| e.as_str()).collect::<Vec<_>>() }),
        }
    }
}

fn parse(raw: &Value, e: &mut FieldErrors, country: &dyn Fn(&str) -> Option<CountryCode>) -> Option<RuleConditions> {
    let Value::Object(map) = raw else {
        e.add("conditions", SHAPES);
        return None;
    };
    for key in map.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        e.add(
            format!("conditions.{}", crate::domain::address::shorten(key)),
            format!("is not a condition (known: {})", KNOWN_KEYS.join(", ")),
        );
    }
    match (map.get("utilization_threshold"), map.get("event_types")) {
        (Some(_), Some(_)) => {
            e.add("conditions", "must have either utilization_threshold or event_types, not both");
            None
        }
        (Some(threshold), None) => parse_threshold(threshold, map, e, country).map(RuleConditions::Threshold),
        (None, Some(events)) => {
            for key in ["resource_type", "resource_ids"].into_iter().filter(|k| map.contains_key(*k)) {
                e.add(format!("conditions.{key}"), "only applies with utilization_threshold");
            }
            e.check("conditions.event_types", parse_events(events)).map(RuleConditions::Events)
        }
        (None, None) => {
            e.add("conditions", SHAPES);
            None
        }
    }
}

fn parse_threshold(
    threshold: &Value,
    map: &Map<String, Value>,
    e: &mut FieldErrors,
    country: &dyn Fn(&str) -> Option<CountryCode>,
) -> Option<Threshold> {
    let threshold = e.check("conditions.utilization_threshold", UtilizationThreshold::parse(threshold));
    let kind = match map.get("resource_type") {
        None | Some(Value::Null) => Err("is required with utilization_threshold: region or country".to_owned()),
        Some(Value::String(s)) => WatchedKind::parse(s),
        Some(_) => Err("must be region or country".to_owned()),
    };
    let kind = e.check("conditions.resource_type", kind)?;
    let ids = match map.get("resource_ids") {
        None | Some(Value::Null) => Ok(None),
        Some(ids) => parse_ids(ids, kind, country).map(Some),
    };
    let resource_ids = e.check("conditions.resource_ids", ids)?;
    Some(Threshold { utilization_threshold: threshold?, resource_type: kind, resource_ids })
}

fn parse_ids(
    raw: &Value,
    kind: WatchedKind,
    country: &dyn Fn(&str) -> Option<CountryCode>,
) -> Result<Vec<WatchedResource>, String> {
    let Value::Array(items) = raw else {
        return Err(format!("must be a list of {} ids", kind.as_str()));
    };
    if items.is_empty() {
        return Err(format!("must name at least one {0}; leave it out to watch every {0}", kind.as_str()));
    }
    let mut ids = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let text = item.as_str().unwrap_or_default();
        let id = match kind {
            WatchedKind::Region => RegionId::parse(text).map(WatchedResource::Region),
            WatchedKind::Country => country(text).map(WatchedResource::Country),
        };
        let Some(id) = id else {
            let what =
                if kind == WatchedKind::Region { "a region id" } else { "an allocatable country's code or name" };
            return Err(format!(
                "item {} ('{}') is not {what}",
                i + 1,
                crate::domain::address::shorten(&item_text(item))
            ));
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_RESOURCE_IDS {
        return Err(format!("must name at most {MAX_RESOURCE_IDS} resources (got {})", ids.len()));
    }
    Ok(ids)
}

fn item_text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn parse_events(raw: &Value) -> Result<Vec<EventType>, String> {
    let Value::Array(items) = raw else {
        return Err("must be a list of event names, e.g. [\"host.allocated\"]".into());
    };
    let mut events = Vec::new();
    for item in items {
        let name = item.as_str().ok_or_else(|| format!("'{}' is not an event name", item_text(item)))?;
        let event = EventType::parse_rule_event(name)?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err("must list at least one event".into());
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<RuleConditions, Vec<(String, String)>> {
        let mut e = FieldErrors::new();
        let parsed = RuleConditions::parse(&v, &CountryCatalog::seed(), &mut e);
        match parsed {
            Some(c) if e.is_empty() => Ok(c),
            _ => Err(e.iter().map(|(f, p)| (f.to_owned(), p.to_owned())).collect()),
        }
    }

    fn fields(v: Value) -> Vec<String> {
        parse(v).unwrap_err().into_iter().map(|(f, _)| f).collect()
    }

    fn threshold(v: Value) -> Threshold {
        match parse(v) {
            Ok(RuleConditions::Threshold(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_threshold_needs_a_resource_type_and_reports_each_problem_under_its_key() {
        let t = threshold(json!({"utilization_threshold": 50, "resource_type": "Region"}));
        assert_eq!(
            (t.utilization_threshold.percent(), t.resource_type, t.resource_ids),
            (50, WatchedKind::Region, None)
        );
        assert_eq!(fields(json!({"utilization_threshold": 50})), ["conditions.resource_type"]);
        assert_eq!(fields(json!({"utilization_threshold": 50, "resource_type": "host"})), ["conditions.resource_type"]);
        assert_eq!(
            fields(json!({"utilization_threshold": 500, "resource_type": "region", "colour": "red"})),
            ["conditions.colour", "conditions.utilization_threshold"]
        );
    }

    #[test]
    fn resource_ids_are_parsed_as_the_resource_type_says() {
        let (a, b) = (RegionId::generate(), RegionId::generate());
        let t = threshold(json!({"utilization_threshold": 50, "resource_type": "region", "resource_ids": [a, b, a]}));
        assert_eq!(t.resource_ids, Some(vec![WatchedResource::Region(a.clone()), WatchedResource::Region(b)]));
        assert!(t.watches(&WatchedResource::Region(a.clone())));
        assert!(!t.watches(&WatchedResource::Region(RegionId::generate())));

        let c = threshold(json!({"utilization_threshold": 50, "resource_type": "country",
                                 "resource_ids": ["usa", "uae", "United States"]}));
        let codes: Vec<&str> = c.resource_ids.as_ref().unwrap().iter().map(WatchedResource::id).collect();
        assert_eq!(codes, ["USA", "ARE"], "United States is USA again: merged");
        assert!(!c.watches(&WatchedResource::Region(a.clone())), "a country rule never watches regions");

        let every = threshold(json!({"utilization_threshold": 50, "resource_type": "region", "resource_ids": null}));
        assert!(every.watches(&WatchedResource::Region(a)));
    }

    #[test]
    fn bad_resource_ids_are_named_by_position() {
        let problems = |ids: Value, kind: &str| {
            parse(json!({"utilization_threshold": 50, "resource_type": kind, "resource_ids": ids})).unwrap_err()
        };
        let p = problems(json!(["nope"]), "region");
        assert_eq!(p[0].0, "conditions.resource_ids");
        assert!(p[0].1.contains("item 1 ('nope') is not a region id"), "{}", p[0].1);
        assert!(problems(json!(["USA", "Atlantis"]), "country")[0].1.contains("item 2 ('Atlantis')"));
        assert!(problems(json!(["ZZZ"]), "country")[0].1.contains("not an allocatable country"), "reserved block");
        assert!(problems(json!([]), "region")[0].1.contains("leave it out to watch every region"));
        assert!(problems(json!("USA"), "country")[0].1.contains("must be a list"));
        let many: Vec<RegionId> = (0..=MAX_RESOURCE_IDS).map(|_| RegionId::generate()).collect();
        assert!(problems(json!(many), "region")[0].1.contains("at most 100"));
    }

    #[test]
    fn event_lists_are_distinct_non_empty_and_never_name_notification_created() {
        let e = parse(json!({"event_types": ["host.allocated", "host.retired", "host.released"]})).unwrap();
        assert_eq!(e, RuleConditions::Events(vec![EventType::HostAllocated, EventType::HostReleased]));
        let p = parse(json!({"event_types": ["notification.created"]})).unwrap_err();
        assert_eq!(p[0].0, "conditions.event_types");
        assert!(p[0].1.contains("cannot trigger a rule"), "{}", p[0].1);
        assert!(parse(json!({"event_types": []})).unwrap_err()[0].1.contains("at least one"));
        assert!(parse(json!({"event_types": [1]})).unwrap_err()[0].1.contains("not an event name"));
        assert!(parse(json!({"event_types": "host.allocated"})).unwrap_err()[0].1.contains("must be a list"));
        assert_eq!(
            fields(json!({"event_types": ["host.allocated"], "resource_type": "region"})),
            ["conditions.resource_type"]
        );
    }

    #[test]
    fn conditions_must_take_exactly_one_of_the_two_shapes() {
        assert_eq!(fields(json!([])), ["conditions"]);
        assert_eq!(fields(json!({})), ["conditions"]);
        let both = parse(json!({"utilization_threshold": 50, "resource_type": "region", "event_types": ["ping"]}));
        assert!(both.unwrap_err()[0].1.contains("not both"));
    }

    #[test]
    fn stored_conditions_read_back_as_written() {
        let ids = [RegionId::generate()];
        for raw in [
            json!({"utilization_threshold": 75, "resource_type": "region", "resource_ids": ids}),
            json!({"utilization_threshold": 75, "resource_type": "country"}),
            json!({"event_types": ["capacity.warning", "region.created"]}),
        ] {
            let c = parse(raw.clone()).unwrap();
            assert_eq!(c.to_json(), raw);
            assert_eq!(RuleConditions::from_stored(&c.to_json()), Some(c));
        }
        assert_eq!(RuleConditions::from_stored(&json!({"threshold": 5})), None);
    }
}
