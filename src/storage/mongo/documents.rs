//! Document shapes of every collection and their conversion to and from domain values.
//! Field names follow the original collections (`region_name`, `x_octet`, `ip_address`, …);
//! ids are the same ULID strings as on every backend, stored as `_id`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mongodb::bson::{self, Bson, DateTime as BsonDateTime, Document};
use serde::{Deserialize, Serialize};

use super::errors;
use crate::domain::{
    Application, AuditAction, AuditEvent, AuditId, AuditResource, Comment, CommentId, CommentTarget, CommentText,
    CostCenter, Country, CountryCode, Description, DeviceType, FieldChange, Host, HostDetails, HostId, HostStatus,
    Hostname, Notes, OsType, OwnerLabel, Purpose, QuotaUsage, Region, RegionId, RegionName, RegionStatus, SlotMap,
    Tags, UserId, Username,
};
use crate::error::IpamError;

/// Milliseconds since the epoch, as a BSON date.
pub(super) fn date(t: DateTime<Utc>) -> BsonDateTime {
    BsonDateTime::from_millis(t.timestamp_millis())
}

/// A BSON date back to chrono.
pub(super) fn time(d: BsonDateTime) -> Result<DateTime<Utc>, IpamError> {
    DateTime::<Utc>::from_timestamp_millis(d.timestamp_millis()).ok_or_else(|| corrupt("date out of range"))
}

pub(super) fn corrupt(what: impl std::fmt::Display) -> IpamError {
    IpamError::internal(format!("corrupt document in the database: {what}"))
}

fn octet(v: i32, what: &str) -> Result<u8, IpamError> {
    u8::try_from(v).map_err(|_| corrupt(format!("{what} = {v}")))
}

fn count(v: i32, what: &str) -> Result<u32, IpamError> {
    u32::try_from(v).map_err(|_| corrupt(format!("{what} = {v}")))
}

/// Serialises a document for insertion.
pub(super) fn to_document<T: Serialize>(value: &T) -> Result<Document, IpamError> {
    bson::to_document(value).map_err(errors::bson)
}

/// A country row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct CountryDoc {
    #[serde(rename = "_id")]
    pub(super) code: String,
    pub(super) country: String,
    /// Lower-cased name, unique: names match ignoring case.
    pub(super) country_key: String,
    pub(super) continent: String,
    pub(super) x_start: i32,
    pub(super) x_end: i32,
    pub(super) is_reserved: bool,
}

impl TryFrom<CountryDoc> for Country {
    type Error = IpamError;

    fn try_from(d: CountryDoc) -> Result<Self, IpamError> {
        Ok(Country {
            code: CountryCode::from_stored(d.code),
            name: d.country,
            continent: d.continent,
            x_start: octet(d.x_start, "x_start")?,
            x_end: octet(d.x_end, "x_end")?,
            is_reserved: d.is_reserved,
        })
    }
}

/// A region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RegionDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) owner_id: String,
    pub(super) owner: String,
    pub(super) country_code: String,
    pub(super) x_octet: i32,
    pub(super) y_octet: i32,
    pub(super) cidr: String,
    pub(super) region_name: String,
    pub(super) name_key: String,
    pub(super) description: String,
    pub(super) status: String,
    pub(super) tags: BTreeMap<String, String>,
    /// Z octets in use, as four 64-bit words (bit z of word z / 64).
    pub(super) host_slots: [i64; 4],
    pub(super) allocated_hosts: i32,
    /// Set while a retirement is in progress, so no host is allocated into a vanishing region.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) retiring: bool,
    pub(super) created_at: BsonDateTime,
    pub(super) updated_at: BsonDateTime,
    pub(super) created_by: String,
    pub(super) updated_by: String,
}

impl RegionDoc {
    pub(super) fn new(r: &Region) -> Self {
        Self {
            id: r.id.to_string(),
            user_id: r.user_id.to_string(),
            owner_id: r.owner_id.to_string(),
            owner: r.owner.to_string(),
            country_code: r.country_code.to_string(),
            x_octet: r.x.into(),
            y_octet: r.y.into(),
            cidr: r.cidr(),
            region_name: r.name.to_string(),
            name_key: r.name.key(),
            description: r.description.to_string(),
            status: r.status.as_str().to_owned(),
            tags: r.tags.as_map().clone(),
            host_slots: SlotMap::empty().to_words(),
            allocated_hosts: 0,
            retiring: false,
            created_at: date(r.created_at),
            updated_at: date(r.updated_at),
            created_by: r.created_by.to_string(),
            updated_by: r.updated_by.to_string(),
        }
    }

    pub(super) fn slots(&self) -> SlotMap {
        SlotMap::from_words(self.host_slots)
    }
}

impl TryFrom<RegionDoc> for Region {
    type Error = IpamError;

    fn try_from(d: RegionDoc) -> Result<Self, IpamError> {
        Ok(Region {
            id: RegionId::from_stored(d.id),
            user_id: UserId::from_stored(d.user_id),
            owner_id: UserId::from_stored(d.owner_id),
            owner: OwnerLabel::from_stored(d.owner),
            country_code: CountryCode::from_stored(d.country_code),
            x: octet(d.x_octet, "x_octet")?,
            y: octet(d.y_octet, "y_octet")?,
            name: RegionName::from_stored(d.region_name),
            description: Description::from_stored(d.description),
            status: RegionStatus::from_text(&d.status).ok_or_else(|| corrupt(format!("status {}", d.status)))?,
            tags: Tags::from_stored(d.tags),
            allocated_hosts: count(d.allocated_hosts, "allocated_hosts")?,
            created_at: time(d.created_at)?,
            updated_at: time(d.updated_at)?,
            created_by: UserId::from_stored(d.created_by),
            updated_by: UserId::from_stored(d.updated_by),
        })
    }
}

/// The Y octets in use of one (user, X).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SlotsDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) x_octet: i32,
    pub(super) y_slots: [i64; 4],
    pub(super) used_count: i32,
}

impl SlotsDoc {
    /// The document id of a user's X.
    pub(super) fn id(user: &UserId, x: u8) -> String {
        format!("{user}:{x}")
    }
}

/// A host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct HostDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) region_id: String,
    pub(super) x_octet: i32,
    pub(super) y_octet: i32,
    pub(super) z_octet: i32,
    pub(super) ip_address: String,
    pub(super) hostname: String,
    pub(super) device_type: Option<String>,
    pub(super) os_type: Option<String>,
    pub(super) application: Option<String>,
    pub(super) cost_center: Option<String>,
    pub(super) purpose: Option<String>,
    pub(super) notes: Option<String>,
    pub(super) owner: String,
    pub(super) owner_id: String,
    pub(super) status: String,
    pub(super) tags: BTreeMap<String, String>,
    pub(super) created_at: BsonDateTime,
    pub(super) updated_at: BsonDateTime,
    pub(super) created_by: String,
    pub(super) updated_by: String,
}

impl HostDoc {
    pub(super) fn new(h: &Host) -> Self {
        let text = |v: Option<&str>| v.map(str::to_owned);
        Self {
            id: h.id.to_string(),
            user_id: h.user_id.to_string(),
            region_id: h.region_id.to_string(),
            x_octet: h.x.into(),
            y_octet: h.y.into(),
            z_octet: h.z.into(),
            ip_address: h.ip_address(),
            hostname: h.hostname.to_string(),
            device_type: h.details.device_type.map(|d| d.as_str().to_owned()),
            os_type: text(h.details.os_type.as_ref().map(|v| v.as_str())),
            application: text(h.details.application.as_ref().map(|v| v.as_str())),
            cost_center: text(h.details.cost_center.as_ref().map(|v| v.as_str())),
            purpose: text(h.details.purpose.as_ref().map(|v| v.as_str())),
            notes: text(h.details.notes.as_ref().map(|v| v.as_str())),
            owner: h.owner.to_string(),
            owner_id: h.owner_id.to_string(),
            status: h.status.as_str().to_owned(),
            tags: h.tags.as_map().clone(),
            created_at: date(h.created_at),
            updated_at: date(h.updated_at),
            created_by: h.created_by.to_string(),
            updated_by: h.updated_by.to_string(),
        }
    }
}

impl TryFrom<HostDoc> for Host {
    type Error = IpamError;

    fn try_from(d: HostDoc) -> Result<Self, IpamError> {
        let device_type = match d.device_type {
            Some(t) => Some(DeviceType::from_text(&t).ok_or_else(|| corrupt(format!("device_type {t}")))?),
            None => None,
        };
        Ok(Host {
            id: HostId::from_stored(d.id),
            user_id: UserId::from_stored(d.user_id),
            region_id: RegionId::from_stored(d.region_id),
            x: octet(d.x_octet, "x_octet")?,
            y: octet(d.y_octet, "y_octet")?,
            z: octet(d.z_octet, "z_octet")?,
            hostname: Hostname::from_stored(d.hostname),
            details: HostDetails {
                device_type,
                os_type: d.os_type.map(OsType::from_stored),
                application: d.application.map(Application::from_stored),
                cost_center: d.cost_center.map(CostCenter::from_stored),
                purpose: d.purpose.map(Purpose::from_stored),
                notes: d.notes.map(Notes::from_stored),
            },
            owner: OwnerLabel::from_stored(d.owner),
            owner_id: UserId::from_stored(d.owner_id),
            status: HostStatus::from_text(&d.status).ok_or_else(|| corrupt(format!("status {}", d.status)))?,
            tags: Tags::from_stored(d.tags),
            created_at: time(d.created_at)?,
            updated_at: time(d.updated_at)?,
            created_by: UserId::from_stored(d.created_by),
            updated_by: UserId::from_stored(d.updated_by),
        })
    }
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct CommentDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) resource_type: String,
    pub(super) resource_id: String,
    pub(super) text: String,
    pub(super) author_id: String,
    pub(super) author_username: String,
    pub(super) created_at: BsonDateTime,
}

impl CommentDoc {
    pub(super) fn new(c: &Comment) -> Self {
        Self {
            id: c.id.to_string(),
            user_id: c.user_id.to_string(),
            resource_type: c.target.kind().to_owned(),
            resource_id: c.target.id().to_owned(),
            text: c.text.to_string(),
            author_id: c.author_id.to_string(),
            author_username: c.author.to_string(),
            created_at: date(c.created_at),
        }
    }
}

impl TryFrom<CommentDoc> for Comment {
    type Error = IpamError;

    fn try_from(d: CommentDoc) -> Result<Self, IpamError> {
        let target = match d.resource_type.as_str() {
            "region" => CommentTarget::Region(RegionId::from_stored(d.resource_id)),
            "host" => CommentTarget::Host(HostId::from_stored(d.resource_id)),
            other => return Err(corrupt(format!("comment resource_type {other}"))),
        };
        Ok(Comment {
            id: CommentId::from_stored(d.id),
            user_id: UserId::from_stored(d.user_id),
            target,
            text: CommentText::from_stored(d.text),
            author_id: UserId::from_stored(d.author_id),
            author: Username::from_stored(d.author_username),
            created_at: time(d.created_at)?,
        })
    }
}

/// An audit event. `snapshot`, `changes` and `metadata` are stored as BSON documents so they
/// can be queried in the shell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct AuditDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) actor_id: String,
    pub(super) actor_username: String,
    pub(super) action_type: String,
    pub(super) resource_type: String,
    pub(super) resource_id: String,
    pub(super) ip_address: Option<String>,
    pub(super) cidr: Option<String>,
    pub(super) x_octet: Option<i32>,
    pub(super) y_octet: Option<i32>,
    pub(super) z_octet: Option<i32>,
    pub(super) snapshot: Bson,
    pub(super) changes: Vec<Document>,
    pub(super) reason: Option<String>,
    pub(super) metadata: Bson,
    pub(super) timestamp: BsonDateTime,
}

impl AuditDoc {
    pub(super) fn new(e: &AuditEvent) -> Result<Self, IpamError> {
        let changes = e
            .changes
            .iter()
            .map(|c| {
                Ok(bson::doc! {
                    "field": &c.field,
                    "old_value": bson::to_bson(&c.old_value).map_err(errors::bson)?,
                    "new_value": bson::to_bson(&c.new_value).map_err(errors::bson)?,
                })
            })
            .collect::<Result<Vec<_>, IpamError>>()?;
        Ok(Self {
            id: e.id.to_string(),
            user_id: e.user_id.to_string(),
            actor_id: e.actor_id.to_string(),
            actor_username: e.actor_username.to_string(),
            action_type: e.action.as_str().to_owned(),
            resource_type: e.resource_type.as_str().to_owned(),
            resource_id: e.resource_id.clone(),
            ip_address: e.ip_address.clone(),
            cidr: e.cidr.clone(),
            x_octet: e.x.map(i32::from),
            y_octet: e.y.map(i32::from),
            z_octet: e.z.map(i32::from),
            snapshot: bson::to_bson(&e.snapshot).map_err(errors::bson)?,
            changes,
            reason: e.reason.clone(),
            metadata: bson::to_bson(&e.metadata).map_err(errors::bson)?,
            timestamp: date(e.timestamp),
        })
    }
}

fn json(b: Bson) -> serde_json::Value {
    b.into_relaxed_extjson()
}

impl TryFrom<AuditDoc> for AuditEvent {
    type Error = IpamError;

    fn try_from(d: AuditDoc) -> Result<Self, IpamError> {
        let changes = d
            .changes
            .into_iter()
            .map(|c| {
                let field = c.get_str("field").map_err(|e| corrupt(format!("change field: {e}")))?.to_owned();
                let get = |k: &str| c.get(k).cloned().map(json).unwrap_or(serde_json::Value::Null);
                Ok(FieldChange { old_value: get("old_value"), new_value: get("new_value"), field })
            })
            .collect::<Result<Vec<_>, IpamError>>()?;
        let opt_octet = |v: Option<i32>, what: &str| v.map(|v| octet(v, what)).transpose();
        Ok(AuditEvent {
            id: AuditId::from_stored(d.id),
            user_id: UserId::from_stored(d.user_id),
            actor_id: UserId::from_stored(d.actor_id),
            actor_username: Username::from_stored(d.actor_username),
            action: AuditAction::parse(&d.action_type).map_err(corrupt)?,
            resource_type: AuditResource::parse(&d.resource_type).map_err(corrupt)?,
            resource_id: d.resource_id,
            ip_address: d.ip_address,
            cidr: d.cidr,
            x: opt_octet(d.x_octet, "x_octet")?,
            y: opt_octet(d.y_octet, "y_octet")?,
            z: opt_octet(d.z_octet, "z_octet")?,
            snapshot: json(d.snapshot),
            changes,
            reason: d.reason,
            metadata: json(d.metadata),
            timestamp: time(d.timestamp)?,
        })
    }
}

/// A user's quota record (`_id` is the user id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct QuotaDoc {
    #[serde(rename = "_id")]
    pub(super) user_id: String,
    pub(super) region_quota: Option<i32>,
    pub(super) host_quota: Option<i32>,
    pub(super) region_count: i32,
    pub(super) host_count: i32,
    pub(super) last_updated: BsonDateTime,
}

impl TryFrom<QuotaDoc> for QuotaUsage {
    type Error = IpamError;

    fn try_from(d: QuotaDoc) -> Result<Self, IpamError> {
        Ok(QuotaUsage {
            user_id: UserId::from_stored(d.user_id),
            region_quota: d.region_quota.map(|q| count(q, "region_quota")).transpose()?,
            host_quota: d.host_quota.map(|q| count(q, "host_quota")).transpose()?,
            region_count: count(d.region_count, "region_count")?,
            host_count: count(d.host_count, "host_count")?,
            last_updated: Some(time(d.last_updated)?),
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use chrono::TimeZone;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::*;
    use crate::auth::{Actor, Permissions};
    use crate::domain::{AuditAction, FieldChange};

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 30, 15).unwrap() + chrono::Duration::milliseconds(123)
    }

    fn user() -> UserId {
        UserId::parse("u1").unwrap()
    }

    /// Through BSON bytes and back, as the driver does.
    fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> (Document, T) {
        let doc = to_document(value).unwrap();
        let mut bytes = Vec::new();
        doc.to_writer(&mut bytes).unwrap();
        let read = Document::from_reader(&mut bytes.as_slice()).unwrap();
        (doc, bson::from_document(read).unwrap())
    }

    /// A region document's worth of data (other modules' tests use it too).
    pub(in crate::storage::mongo) fn region() -> Region {
        Region {
            id: RegionId::generate(),
            user_id: user(),
            owner_id: user(),
            owner: OwnerLabel::parse("team-a").unwrap(),
            country_code: CountryCode::from_stored("USA".into()),
            x: 153,
            y: 7,
            name: RegionName::parse("US East").unwrap(),
            description: Description::parse("primary").unwrap(),
            status: RegionStatus::Reserved,
            tags: Tags::parse(&json!({"env": "prod"})).unwrap(),
            allocated_hosts: 0,
            created_at: at(),
            updated_at: at(),
            created_by: user(),
            updated_by: user(),
        }
    }

    fn host() -> Host {
        Host {
            id: HostId::generate(),
            user_id: user(),
            region_id: RegionId::generate(),
            x: 153,
            y: 7,
            z: 200,
            hostname: Hostname::parse("web-01").unwrap(),
            details: HostDetails {
                device_type: Some(DeviceType::Vm),
                os_type: Some(OsType::parse("linux").unwrap()),
                notes: None,
                ..HostDetails::default()
            },
            owner: OwnerLabel::parse("alice").unwrap(),
            owner_id: user(),
            status: HostStatus::Active,
            tags: Tags::empty(),
            created_at: at(),
            updated_at: at(),
            created_by: user(),
            updated_by: user(),
        }
    }

    #[test]
    fn regions_round_trip_and_use_the_original_field_names() {
        let r = region();
        let (doc, back) = round_trip(&RegionDoc::new(&r));
        assert_eq!(doc.get_str("_id").unwrap(), r.id.as_str());
        assert_eq!(doc.get_str("cidr").unwrap(), "10.153.7.0/24");
        assert_eq!(doc.get_str("name_key").unwrap(), "us east");
        assert_eq!(doc.get_i32("x_octet").unwrap(), 153);
        assert_eq!(doc.get_datetime("created_at").unwrap().timestamp_millis(), at().timestamp_millis());
        assert_eq!(doc.get_document("tags").unwrap(), &bson::doc! { "env": "prod" });
        assert!(!doc.contains_key("retiring"), "the flag is only written while retiring");
        assert_eq!(doc.get_array("host_slots").unwrap(), &vec![Bson::Int64(0); 4]);
        assert_eq!(Region::try_from(back).unwrap(), r);
    }

    #[test]
    fn hosts_round_trip_with_absent_details_as_null() {
        let h = host();
        let (doc, back) = round_trip(&HostDoc::new(&h));
        assert_eq!(doc.get_str("ip_address").unwrap(), "10.153.7.200");
        assert_eq!(doc.get_str("device_type").unwrap(), "VM");
        assert_eq!(doc.get("notes"), Some(&Bson::Null));
        assert_eq!(Host::try_from(back).unwrap(), h);
    }

    #[test]
    fn audit_events_round_trip_with_structured_snapshots_and_changes() {
        let actor =
            Actor { user_id: user(), username: Username::parse("alice").unwrap(), permissions: Permissions::none() };
        let changes = vec![FieldChange::new("status", json!("Active"), json!("Reserved"))];
        let e = AuditEvent::region(AuditAction::Update, &region(), &actor, Some("maintenance".into()), changes, at());
        let (doc, back) = round_trip(&AuditDoc::new(&e).unwrap());
        assert_eq!(doc.get_document("snapshot").unwrap().get_str("cidr").unwrap(), "10.153.7.0/24");
        assert_eq!(doc.get_array("changes").unwrap().len(), 1);
        assert_eq!(doc.get("z_octet"), Some(&Bson::Null));
        assert_eq!(AuditEvent::try_from(back).unwrap(), e);
    }

    #[test]
    fn comments_quotas_and_countries_round_trip() {
        let c = Comment {
            id: CommentId::generate(),
            user_id: user(),
            target: CommentTarget::Host(HostId::generate()),
            text: CommentText::parse("rebooted").unwrap(),
            author_id: user(),
            author: Username::parse("alice").unwrap(),
            created_at: at(),
        };
        let (_, back) = round_trip(&CommentDoc::new(&c));
        assert_eq!(Comment::try_from(back).unwrap(), c);

        let q = QuotaDoc {
            user_id: "u1".into(),
            region_quota: None,
            host_quota: Some(50),
            region_count: 3,
            host_count: 7,
            last_updated: date(at()),
        };
        let (doc, back) = round_trip(&q);
        assert_eq!(doc.get("region_quota"), Some(&Bson::Null));
        let usage = QuotaUsage::try_from(back).unwrap();
        assert_eq!((usage.region_quota, usage.host_quota, usage.host_count), (None, Some(50), 7));

        let country = CountryDoc {
            code: "USA".into(),
            country: "United States".into(),
            country_key: "united states".into(),
            continent: "North America".into(),
            x_start: 153,
            x_end: 167,
            is_reserved: false,
        };
        let (doc, back) = round_trip(&country);
        assert_eq!(doc.get_str("_id").unwrap(), "USA");
        assert_eq!(Country::try_from(back).unwrap().region_capacity(), 3840);
    }

    #[test]
    fn corrupt_documents_are_internal_errors_not_panics() {
        let mut d = RegionDoc::new(&region());
        d.x_octet = 300;
        assert!(matches!(Region::try_from(d), Err(IpamError::Internal(_))));
        let mut h = HostDoc::new(&host());
        h.status = "Retired".into();
        assert!(matches!(Host::try_from(h), Err(IpamError::Internal(_))));
    }
}
