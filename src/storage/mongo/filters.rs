//! Translation of the backend-neutral filters into MongoDB query documents. User text is
//! always escaped before it reaches a `$regex`, so it matches literally.

use mongodb::bson::{Bson, Document, doc};

use super::documents::date;
use crate::domain::{OctetRange, SearchText, TagFilter, UserId};
use crate::storage::{AuditFilter, HostFilter, RegionFilter, TimeRange};

/// `needle` as a regex that matches it literally anywhere.
pub(super) fn literal_regex(needle: &SearchText) -> Document {
    let mut escaped = String::with_capacity(needle.as_str().len() * 2);
    for c in needle.as_str().chars() {
        if "\\^$.|?*+()[]{}/-#&~ ".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    doc! { "$regex": escaped }
}

fn push_tags(d: &mut Document, tags: &TagFilter) {
    // One `$and` clause per condition: two conditions on one key (`role=web`, `role=db`) must
    // both hold, and a document cannot hold a key twice. Keys are restricted to
    // [A-Za-z0-9_-]: no '.' or '$' can reach the path.
    let clauses: Vec<Bson> =
        tags.conditions().iter().map(|(key, value)| doc! { format!("tags.{key}"): value.clone() }.into()).collect();
    if clauses.is_empty() {
        return;
    }
    match d.get_array_mut("$and") {
        Ok(and) => and.extend(clauses),
        Err(_) => {
            d.insert("$and", clauses);
        }
    }
}

fn range(lo: u8, hi: u8) -> Document {
    doc! { "$gte": i32::from(lo), "$lte": i32::from(hi) }
}

fn push_time(d: &mut Document, field: &str, t: &TimeRange) {
    let mut cond = Document::new();
    if let Some(from) = t.from {
        cond.insert("$gte", date(from));
    }
    if let Some(to) = t.to {
        cond.insert("$lte", date(to));
    }
    if !cond.is_empty() {
        d.insert(field, cond);
    }
}

fn push_octets(d: &mut Document, r: &OctetRange, with_z: bool) {
    d.insert("x_octet", range(r.x.0, r.x.1));
    d.insert("y_octet", range(r.y.0, r.y.1));
    if with_z {
        d.insert("z_octet", range(r.z.0, r.z.1));
    }
}

fn owner(label: &str) -> Bson {
    Bson::Array(vec![doc! { "owner": label }.into(), doc! { "owner_id": label }.into()])
}

/// Regions of `user` matching `f`.
pub(super) fn region_filter(user: &UserId, f: &RegionFilter) -> Document {
    let mut d = doc! { "user_id": user.as_str() };
    if let Some(codes) = &f.country_codes {
        d.insert("country_code", doc! { "$in": codes.iter().map(|c| c.to_string()).collect::<Vec<_>>() });
    }
    if let Some(status) = f.status {
        d.insert("status", status.as_str());
    }
    if let Some(o) = &f.owner {
        d.insert("$or", owner(o.as_str()));
    }
    if let Some(needle) = &f.name_contains {
        d.insert("name_key", literal_regex(needle));
    }
    push_tags(&mut d, &f.tags);
    push_time(&mut d, "created_at", &f.created);
    if let Some(r) = &f.within {
        push_octets(&mut d, r, false);
    }
    d
}

/// Hosts of `user` matching `f`; `region_ids` are the regions whose name matched
/// `region_name_contains` (resolved by the caller with a first query).
pub(super) fn host_filter(user: &UserId, f: &HostFilter, region_ids: Option<Vec<String>>) -> Document {
    let mut d = doc! { "user_id": user.as_str() };
    match (&f.region_id, region_ids) {
        (Some(id), Some(ids)) => {
            let ok = ids.iter().any(|r| r == id.as_str());
            d.insert("region_id", if ok { Bson::String(id.to_string()) } else { doc! { "$in": [] }.into() });
        }
        (Some(id), None) => {
            d.insert("region_id", id.as_str());
        }
        (None, Some(ids)) => {
            d.insert("region_id", doc! { "$in": ids });
        }
        (None, None) => {}
    }
    if let Some(ranges) = &f.x_ranges {
        let any: Vec<Bson> = ranges.iter().map(|(lo, hi)| doc! { "x_octet": range(*lo, *hi) }.into()).collect();
        // An empty $or is an error on the server; no range means no host matches.
        let cond = if any.is_empty() {
            doc! { "_id": { "$in": [] } }
        } else {
            doc! { "$or": any }
        };
        d.insert("$and", vec![Bson::Document(cond)]);
    }
    if let Some(status) = f.status {
        d.insert("status", status.as_str());
    }
    if let Some(needle) = &f.hostname_contains {
        d.insert("hostname", literal_regex(needle));
    }
    if let Some(device) = f.device_type {
        d.insert("device_type", device.as_str());
    }
    if let Some(o) = &f.owner {
        d.insert("$or", owner(o.as_str()));
    }
    push_tags(&mut d, &f.tags);
    push_time(&mut d, "created_at", &f.created);
    if let Some(r) = &f.within {
        push_octets(&mut d, r, true);
    }
    d
}

/// Audit events of `user` matching `f`.
pub(super) fn audit_filter(user: &UserId, f: &AuditFilter) -> Document {
    let mut d = doc! { "user_id": user.as_str() };
    if let Some(action) = f.action {
        d.insert("action_type", action.as_str());
    }
    if let Some(kind) = f.resource_type {
        d.insert("resource_type", kind.as_str());
    }
    if let Some(id) = &f.resource_id {
        d.insert("resource_id", id.as_str());
    }
    if let Some(r) = &f.within {
        push_octets(&mut d, r, false);
        // Region events (no Z) match when their block overlaps; host events when inside.
        d.insert(
            "$or",
            vec![Bson::Document(doc! { "z_octet": Bson::Null }), doc! { "z_octet": range(r.z.0, r.z.1) }.into()],
        );
    }
    push_time(&mut d, "timestamp", &f.time);
    d
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::{CountryCode, HostStatus, OwnerLabel, RegionId, RegionStatus};

    fn user() -> UserId {
        UserId::parse("u1").unwrap()
    }

    #[test]
    fn an_empty_filter_is_scoped_to_the_user() {
        assert_eq!(region_filter(&user(), &RegionFilter::default()), doc! { "user_id": "u1" });
        assert_eq!(host_filter(&user(), &HostFilter::default(), None), doc! { "user_id": "u1" });
        assert_eq!(audit_filter(&user(), &AuditFilter::default()), doc! { "user_id": "u1" });
    }

    #[test]
    fn region_conditions_become_fields() {
        let mut tags = TagFilter::default();
        tags.push("env", "prod").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 1, 31, 0, 0, 0).unwrap();
        let f = RegionFilter {
            country_codes: Some(vec![CountryCode::from_stored("USA".into())]),
            status: Some(RegionStatus::Reserved),
            owner: Some(OwnerLabel::parse("team-a").unwrap()),
            name_contains: Some(SearchText::parse("east").unwrap()),
            tags,
            created: TimeRange { from: Some(at), to: None },
            within: Some(OctetRange::parse("10.153.0.0/16").unwrap()),
        };
        assert_eq!(
            region_filter(&user(), &f),
            doc! {
                "user_id": "u1",
                "country_code": { "$in": ["USA"] },
                "status": "Reserved",
                "$or": [{ "owner": "team-a" }, { "owner_id": "team-a" }],
                "name_key": { "$regex": "east" },
                "$and": [{ "tags.env": "prod" }],
                "created_at": { "$gte": date(at) },
                "x_octet": { "$gte": 153, "$lte": 153 },
                "y_octet": { "$gte": 0, "$lte": 255 },
            }
        );
    }

    #[test]
    fn two_conditions_on_one_tag_key_must_both_hold() {
        let mut tags = TagFilter::default();
        tags.push("role", "web").unwrap();
        tags.push("role", "db").unwrap();
        let f = RegionFilter { tags, ..RegionFilter::default() };
        assert_eq!(
            region_filter(&user(), &f),
            doc! { "user_id": "u1", "$and": [{ "tags.role": "web" }, { "tags.role": "db" }] }
        );
    }

    #[test]
    fn user_text_never_acts_as_a_pattern() {
        let needle = SearchText::parse("web.*(1)%_").unwrap();
        assert_eq!(literal_regex(&needle), doc! { "$regex": "web\\.\\*\\(1\\)%_" });
    }

    #[test]
    fn host_conditions_include_ranges_and_resolved_regions() {
        let region = RegionId::generate();
        let f = HostFilter {
            x_ranges: Some(vec![(153, 167), (138, 152)]),
            status: Some(HostStatus::Active),
            within: Some(OctetRange::parse("10.153.0.64/26").unwrap()),
            ..HostFilter::default()
        };
        let d = host_filter(&user(), &f, Some(vec![region.to_string()]));
        assert_eq!(d.get_document("region_id").unwrap(), &doc! { "$in": [region.to_string()] });
        assert_eq!(
            d.get_array("$and").unwrap()[0],
            Bson::Document(doc! { "$or": [
                { "x_octet": { "$gte": 153, "$lte": 167 } },
                { "x_octet": { "$gte": 138, "$lte": 152 } },
            ]})
        );
        assert_eq!(d.get_document("z_octet").unwrap(), &doc! { "$gte": 64, "$lte": 127 });
        assert_eq!(d.get_str("status").unwrap(), "Active");
    }

    #[test]
    fn a_region_filter_that_excludes_the_requested_region_matches_nothing() {
        let f = HostFilter { region_id: Some(RegionId::generate()), ..HostFilter::default() };
        let d = host_filter(&user(), &f, Some(vec![]));
        assert_eq!(d.get_document("region_id").unwrap(), &doc! { "$in": [] });
    }

    #[test]
    fn no_country_ranges_match_no_host_instead_of_an_invalid_or() {
        let f = HostFilter { x_ranges: Some(vec![]), ..HostFilter::default() };
        let d = host_filter(&user(), &f, None);
        assert_eq!(d.get_array("$and").unwrap()[0], Bson::Document(doc! { "_id": { "$in": [] } }));
    }

    #[test]
    fn audit_address_filters_keep_region_events() {
        let f = AuditFilter { within: Some(OctetRange::parse("10.5.23.7").unwrap()), ..AuditFilter::default() };
        let d = audit_filter(&user(), &f);
        assert_eq!(
            d.get_array("$or").unwrap(),
            &vec![
                Bson::Document(doc! { "z_octet": Bson::Null }),
                Bson::Document(doc! { "z_octet": { "$gte": 7, "$lte": 7 } })
            ]
        );
    }
}
