//! Document shapes of notifications, notification rules and rule states
//! (`ipam_notifications`, `ipam_notification_rules`, `ipam_notification_rule_state`) and their
//! conversion to and from domain values. Field names are those of the migration-7 validators.

use mongodb::bson::{self, Bson, DateTime as BsonDateTime, Document};
use serde::{Deserialize, Serialize};

use super::documents::{corrupt, date, time};
use super::errors;
use crate::domain::{
    Channels, Cooldown, Notification, NotificationId, NotificationResource, NotificationRule, NotificationType,
    ResourceKey, RuleConditions, RuleId, RuleName, RuleState, Severity, UserId,
};
use crate::error::{IpamError, Result};

/// A notification in a user's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct NotificationDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) notification_type: String,
    pub(super) severity: String,
    pub(super) message: String,
    pub(super) resource_type: Option<String>,
    pub(super) resource_id: Option<String>,
    pub(super) resource_link: Option<String>,
    pub(super) is_read: bool,
    pub(super) read_at: Option<BsonDateTime>,
    pub(super) created_at: BsonDateTime,
    /// The TTL index deletes the document at this instant (within a minute or so).
    pub(super) expires_at: BsonDateTime,
    pub(super) dedup_key: String,
}

impl NotificationDoc {
    /// The document of a notification.
    pub(super) fn new(n: &Notification) -> Self {
        Self {
            id: n.id.to_string(),
            user_id: n.user_id.to_string(),
            notification_type: n.notification_type.as_str().to_owned(),
            severity: n.severity.as_str().to_owned(),
            message: n.message.clone(),
            resource_type: n.resource_type.map(|r| r.as_str().to_owned()),
            resource_id: n.resource_id.clone(),
            resource_link: n.resource_link.clone(),
            is_read: n.is_read,
            read_at: n.read_at.map(date),
            created_at: date(n.created_at),
            expires_at: date(n.expires_at),
            dedup_key: n.dedup_key.clone(),
        }
    }
}

impl TryFrom<NotificationDoc> for Notification {
    type Error = IpamError;

    fn try_from(d: NotificationDoc) -> Result<Self> {
        let resource_type = d
            .resource_type
            .map(|t| NotificationResource::from_stored(&t).ok_or_else(|| corrupt(format!("resource_type '{t}'"))))
            .transpose()?;
        Ok(Notification {
            notification_type: NotificationType::from_stored(&d.notification_type)
                .ok_or_else(|| corrupt(format!("notification_type '{}'", d.notification_type)))?,
            severity: Severity::from_stored(&d.severity)
                .ok_or_else(|| corrupt(format!("severity '{}'", d.severity)))?,
            id: NotificationId::from_stored(d.id),
            user_id: UserId::from_stored(d.user_id),
            message: d.message,
            resource_type,
            resource_id: d.resource_id,
            resource_link: d.resource_link,
            is_read: d.is_read,
            read_at: d.read_at.map(time).transpose()?,
            created_at: time(d.created_at)?,
            expires_at: time(d.expires_at)?,
            dedup_key: d.dedup_key,
        })
    }
}

/// A notification rule. Documents written before migration 7 may also carry `last_triggered`,
/// which nothing reads any more (serde skips it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RuleDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) user_id: String,
    pub(super) rule_name: String,
    /// The conditions in the client's shape (`RuleConditions::to_json`).
    pub(super) conditions: Document,
    /// Wire names of the channels.
    pub(super) notification_channels: Vec<String>,
    pub(super) severity: String,
    pub(super) cooldown_minutes: i64,
    pub(super) is_active: bool,
    pub(super) created_at: BsonDateTime,
    pub(super) updated_at: BsonDateTime,
}

impl RuleDoc {
    /// The document of a rule.
    pub(super) fn new(r: &NotificationRule) -> Result<Self> {
        Ok(Self {
            id: r.id.to_string(),
            user_id: r.user_id.to_string(),
            rule_name: r.rule_name.to_string(),
            conditions: conditions_document(&r.conditions)?,
            notification_channels: r.channels.names().into_iter().map(str::to_owned).collect(),
            severity: r.severity.as_str().to_owned(),
            cooldown_minutes: i64::from(r.cooldown.minutes()),
            is_active: r.is_active,
            created_at: date(r.created_at),
            updated_at: date(r.updated_at),
        })
    }
}

/// A rule's conditions as a BSON subdocument.
pub(super) fn conditions_document(c: &RuleConditions) -> Result<Document> {
    bson::to_document(&c.to_json()).map_err(errors::bson)
}

impl TryFrom<RuleDoc> for NotificationRule {
    type Error = IpamError;

    fn try_from(d: RuleDoc) -> Result<Self> {
        let conditions = Bson::Document(d.conditions).into_relaxed_extjson();
        let cooldown = u32::try_from(d.cooldown_minutes)
            .map_err(|_| corrupt(format!("cooldown_minutes = {}", d.cooldown_minutes)))?;
        Ok(NotificationRule {
            conditions: RuleConditions::from_stored(&conditions)
                .ok_or_else(|| corrupt(format!("conditions of rule {}: {conditions}", d.id)))?,
            severity: Severity::from_stored(&d.severity)
                .ok_or_else(|| corrupt(format!("severity '{}'", d.severity)))?,
            id: RuleId::from_stored(d.id),
            user_id: UserId::from_stored(d.user_id),
            rule_name: RuleName::from_stored(d.rule_name),
            channels: Channels::from_stored(&d.notification_channels),
            cooldown: Cooldown::from_stored(cooldown),
            is_active: d.is_active,
            created_at: time(d.created_at)?,
            updated_at: time(d.updated_at)?,
        })
    }
}

/// What a threshold rule remembers about one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RuleStateDoc {
    /// `{rule_id}:{resource_key}`, see [`RuleStateDoc::id`].
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) rule_id: String,
    pub(super) user_id: String,
    pub(super) resource_key: String,
    pub(super) above: bool,
    pub(super) crossings: i64,
    pub(super) last_fired_at: Option<BsonDateTime>,
    pub(super) updated_at: BsonDateTime,
}

impl RuleStateDoc {
    /// The `_id` of a rule's state for a resource: derived from the pair the unique index
    /// holds, so two workers upserting the first state of a pair name the same document.
    pub(super) fn id(rule: &RuleId, resource: &ResourceKey) -> String {
        format!("{rule}:{}", resource.as_str())
    }
}

impl TryFrom<RuleStateDoc> for RuleState {
    type Error = IpamError;

    fn try_from(d: RuleStateDoc) -> Result<Self> {
        Ok(RuleState {
            rule_id: RuleId::from_stored(d.rule_id),
            resource_key: ResourceKey::from_stored(d.resource_key),
            above: d.above,
            crossings: u32::try_from(d.crossings).map_err(|_| corrupt(format!("crossings = {}", d.crossings)))?,
            last_fired_at: d.last_fired_at.map(time).transpose()?,
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    /// An unread notification of user `u1` about a region.
    pub(crate) fn sample(now: DateTime<Utc>) -> Notification {
        Notification {
            id: NotificationId::generate(),
            user_id: UserId::parse("u1").unwrap(),
            notification_type: NotificationType::CapacityThreshold,
            severity: Severity::Warning,
            message: "region dc-east is at 80%".into(),
            resource_type: Some(NotificationResource::Region),
            resource_id: Some("G1".into()),
            resource_link: Some("/ipam/regions/G1".into()),
            is_read: false,
            read_at: None,
            created_at: now,
            expires_at: now + crate::domain::notification::RETENTION,
            dedup_key: "rule:R1:region:G1:1".into(),
        }
    }

    /// An active 50 % region rule of `u1`'s, default severity, channels and cooldown.
    pub(crate) fn threshold_rule(now: DateTime<Utc>) -> NotificationRule {
        NotificationRule {
            id: RuleId::generate(),
            user_id: UserId::parse("u1").unwrap(),
            rule_name: RuleName::parse("Watch").unwrap(),
            conditions: RuleConditions::from_stored(&json!({"utilization_threshold": 50, "resource_type": "region"}))
                .unwrap(),
            severity: Severity::Warning,
            channels: Channels::default(),
            cooldown: Cooldown::default(),
            is_active: true,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn notifications_round_trip_with_and_without_a_resource_and_a_read_time() {
        let n = sample(now());
        let doc = bson::to_document(&NotificationDoc::new(&n)).unwrap();
        assert_eq!(doc.get_str("dedup_key").unwrap(), "rule:R1:region:G1:1");
        assert_eq!(doc.get_str("notification_type").unwrap(), "capacity_threshold");
        assert_eq!(doc.get("read_at"), Some(&Bson::Null), "the validator takes a null read_at");
        let back: NotificationDoc = bson::from_document(doc).unwrap();
        assert_eq!(Notification::try_from(back).unwrap(), n);

        let mut bare = n.mark(true, now());
        (bare.resource_type, bare.resource_id, bare.resource_link) = (None, None, None);
        let back: NotificationDoc =
            bson::from_document(bson::to_document(&NotificationDoc::new(&bare)).unwrap()).unwrap();
        assert_eq!(Notification::try_from(back).unwrap(), bare);
    }

    #[test]
    fn an_unknown_stored_type_or_severity_is_reported_as_corrupt() {
        let mut d = NotificationDoc::new(&sample(now()));
        d.notification_type = "capacity_warning".into();
        assert!(Notification::try_from(d.clone()).is_err());
        d.notification_type = "event_rule".into();
        d.severity = "loud".into();
        assert!(Notification::try_from(d).is_err());
    }

    #[test]
    fn rules_round_trip_with_their_conditions_as_a_subdocument() {
        let mut rule = threshold_rule(now());
        rule.channels = Channels::parse(&["webhook", "in_app"]).unwrap();
        rule.cooldown = Cooldown::parse(0).unwrap();
        rule.severity = Severity::Critical;
        let doc = bson::to_document(&RuleDoc::new(&rule).unwrap()).unwrap();
        assert_eq!(doc.get_document("conditions").unwrap().get_str("resource_type").unwrap(), "region");
        assert_eq!(doc.get_array("notification_channels").unwrap(), &vec![Bson::from("webhook"), Bson::from("in_app")]);
        let back: RuleDoc = bson::from_document(doc).unwrap();
        assert_eq!(NotificationRule::try_from(back).unwrap(), rule);

        let events = NotificationRule {
            conditions: RuleConditions::from_stored(&json!({"event_types": ["host.allocated"]})).unwrap(),
            ..threshold_rule(now())
        };
        let back: RuleDoc = bson::from_document(bson::to_document(&RuleDoc::new(&events).unwrap()).unwrap()).unwrap();
        assert_eq!(NotificationRule::try_from(back).unwrap(), events);
    }

    #[test]
    fn a_rule_written_before_migration_7_reads_with_its_last_triggered_ignored() {
        let mut doc = bson::to_document(&RuleDoc::new(&threshold_rule(now())).unwrap()).unwrap();
        doc.insert("last_triggered", date(now()));
        let conditions = doc.get_document_mut("conditions").unwrap();
        conditions.insert("utilization_threshold", 50.0_f64); // a double, as other writers store numbers
        let back: RuleDoc = bson::from_document(doc).unwrap();
        let rule = NotificationRule::try_from(back).unwrap();
        assert_eq!(rule.conditions, threshold_rule(now()).conditions);
    }

    #[test]
    fn states_read_back_exactly_and_their_id_names_the_pair() {
        let rule = RuleId::from_stored("R1".into());
        let key = ResourceKey::from_stored("country:USA".into());
        assert_eq!(RuleStateDoc::id(&rule, &key), "R1:country:USA");
        let d = RuleStateDoc {
            id: RuleStateDoc::id(&rule, &key),
            rule_id: "R1".into(),
            user_id: "u1".into(),
            resource_key: "country:USA".into(),
            above: true,
            crossings: 3,
            last_fired_at: Some(date(now())),
            updated_at: date(now()),
        };
        let back: RuleStateDoc = bson::from_document(bson::to_document(&d).unwrap()).unwrap();
        assert_eq!(
            RuleState::try_from(back).unwrap(),
            RuleState { rule_id: rule, resource_key: key, above: true, crossings: 3, last_fired_at: Some(now()) }
        );
        assert!(RuleState::try_from(RuleStateDoc { crossings: -1, ..d }).is_err());
    }
}
