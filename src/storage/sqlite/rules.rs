//! Notification rules (`ipam_notification_rules`) and the per-(rule, resource) state of
//! threshold rules (`ipam_notification_rule_state`): rows and the `RuleStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::errors::db;
use super::filters::user_page;
use super::notify_unit::SqliteUnit;
use super::rows::{corrupt, parse_ts, ts};
use crate::domain::{
    Channels, Cooldown, NotificationCreated, NotificationRule, Page, PageRequest, ResourceKey, RuleConditions, RuleId,
    RuleName, RulePatch, RuleState, Severity, UserId,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::too_many_rules;
use crate::storage::{RuleStore, notify};

macro_rules! rule_columns {
    () => {
        "rule_id, user_id, rule_name, conditions, notification_channels, severity, cooldown_minutes, is_active, \
         created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    rule_id: String,
    user_id: String,
    rule_name: String,
    conditions: String,
    notification_channels: String,
    severity: String,
    cooldown_minutes: i64,
    is_active: bool,
    created_at: String,
    updated_at: String,
}

impl TryFrom<RuleRow> for NotificationRule {
    type Error = IpamError;

    fn try_from(r: RuleRow) -> Result<Self> {
        let conditions: serde_json::Value =
            serde_json::from_str(&r.conditions).map_err(|e| corrupt(format!("conditions: {e}")))?;
        let channels: Vec<String> = serde_json::from_str(&r.notification_channels)
            .map_err(|e| corrupt(format!("notification_channels: {e}")))?;
        Ok(NotificationRule {
            conditions: RuleConditions::from_stored(&conditions)
                .ok_or_else(|| corrupt(format!("conditions of rule {}: {conditions}", r.rule_id)))?,
            id: RuleId::from_stored(r.rule_id),
            user_id: UserId::from_stored(r.user_id),
            rule_name: RuleName::from_stored(r.rule_name),
            severity: Severity::from_stored(&r.severity)
                .ok_or_else(|| corrupt(format!("severity '{}'", r.severity)))?,
            channels: Channels::from_stored(&channels),
            cooldown: Cooldown::from_stored(
                u32::try_from(r.cooldown_minutes)
                    .map_err(|_| corrupt(format!("cooldown_minutes = {}", r.cooldown_minutes)))?,
            ),
            is_active: r.is_active,
            created_at: parse_ts(&r.created_at)?,
            updated_at: parse_ts(&r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct StateRow {
    rule_id: String,
    resource_key: String,
    above: bool,
    crossings: i64,
    last_fired_at: Option<String>,
}

impl TryFrom<StateRow> for RuleState {
    type Error = IpamError;

    fn try_from(r: StateRow) -> Result<Self> {
        Ok(RuleState {
            rule_id: RuleId::from_stored(r.rule_id),
            resource_key: ResourceKey::from_stored(r.resource_key),
            above: r.above,
            crossings: u32::try_from(r.crossings).map_err(|_| corrupt(format!("crossings = {}", r.crossings)))?,
            last_fired_at: r.last_fired_at.as_deref().map(parse_ts).transpose()?,
        })
    }
}

fn channels_text(c: &Channels) -> String {
    serde_json::to_string(&c.names()).unwrap_or_else(|_| "[]".into())
}

async fn fetch_rule(conn: &mut SqliteConnection, user: &UserId, id: &RuleId) -> Result<Option<NotificationRule>> {
    let row: Option<RuleRow> = sqlx::query_as(concat!(
        "SELECT ",
        rule_columns!(),
        " FROM ipam_notification_rules WHERE rule_id = ?1 AND user_id = ?2"
    ))
    .bind(id.as_str())
    .bind(user.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(NotificationRule::try_from).transpose()
}

/// The user's active rules, oldest first.
pub(super) async fn active(conn: &mut SqliteConnection, user: &UserId) -> Result<Vec<NotificationRule>> {
    let rows: Vec<RuleRow> = sqlx::query_as(concat!(
        "SELECT ",
        rule_columns!(),
        " FROM ipam_notification_rules WHERE user_id = ?1 AND is_active = 1 ORDER BY created_at, rule_id"
    ))
    .bind(user.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter().map(NotificationRule::try_from).collect()
}

/// The stored state of a rule for one resource.
pub(super) async fn state(conn: &mut SqliteConnection, rule: &RuleId, key: &ResourceKey) -> Result<Option<RuleState>> {
    let row: Option<StateRow> = sqlx::query_as(
        "SELECT rule_id, resource_key, above, crossings, last_fired_at FROM ipam_notification_rule_state
         WHERE rule_id = ?1 AND resource_key = ?2",
    )
    .bind(rule.as_str())
    .bind(key.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(RuleState::try_from).transpose()
}

/// Stores a rule's state for one resource; false when the rule is gone.
pub(super) async fn save_state(conn: &mut SqliteConnection, s: &RuleState, now: DateTime<Utc>) -> Result<bool> {
    // The owner is the rule's: taken from the rule row in the same statement, so a state is
    // never written for a rule deleted meanwhile (the SELECT then yields no row).
    let done = sqlx::query(
        "INSERT INTO ipam_notification_rule_state
             (rule_id, user_id, resource_key, above, crossings, last_fired_at, updated_at)
         SELECT rule_id, user_id, ?2, ?3, ?4, ?5, ?6 FROM ipam_notification_rules WHERE rule_id = ?1
         ON CONFLICT (rule_id, resource_key) DO UPDATE SET above = excluded.above,
             crossings = excluded.crossings, last_fired_at = excluded.last_fired_at,
             updated_at = excluded.updated_at",
    )
    .bind(s.rule_id.as_str())
    .bind(s.resource_key.as_str())
    .bind(s.above)
    .bind(i64::from(s.crossings))
    .bind(s.last_fired_at.map(ts))
    .bind(ts(now))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl RuleStore for SqliteStore {
    async fn create_rule(&self, rule: &NotificationRule, max: u32) -> Result<()> {
        let mut tx = self.write().await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ipam_notification_rules WHERE user_id = ?1")
            .bind(rule.user_id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if n >= i64::from(max) {
            return Err(too_many_rules(max));
        }
        sqlx::query(concat!(
            "INSERT INTO ipam_notification_rules (",
            rule_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))
        .bind(rule.id.as_str())
        .bind(rule.user_id.as_str())
        .bind(rule.rule_name.as_str())
        .bind(rule.conditions.to_json().to_string())
        .bind(channels_text(&rule.channels))
        .bind(rule.severity.as_str())
        .bind(i64::from(rule.cooldown.minutes()))
        .bind(rule.is_active)
        .bind(ts(rule.created_at))
        .bind(ts(rule.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn rule(&self, user: &UserId, id: &RuleId) -> Result<Option<NotificationRule>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch_rule(&mut conn, user, id).await
    }

    async fn list_rules(&self, user: &UserId, page: PageRequest) -> Result<Page<NotificationRule>> {
        user_page::<RuleRow, NotificationRule>(
            &self.pool,
            ("ipam_notification_rules", rule_columns!(), "rule_id"),
            user,
            page,
        )
        .await
    }

    async fn update_rule(
        &self,
        user: &UserId,
        id: &RuleId,
        patch: &RulePatch,
        now: DateTime<Utc>,
    ) -> Result<Option<NotificationRule>> {
        let mut tx = self.write().await?;
        let Some(before) = fetch_rule(&mut tx, user, id).await? else { return Ok(None) };
        let after = before.patched(patch, now);
        sqlx::query(
            "UPDATE ipam_notification_rules SET rule_name = ?2, conditions = ?3, notification_channels = ?4,
                 severity = ?5, cooldown_minutes = ?6, is_active = ?7, updated_at = ?8
             WHERE rule_id = ?1",
        )
        .bind(id.as_str())
        .bind(after.rule_name.as_str())
        .bind(after.conditions.to_json().to_string())
        .bind(channels_text(&after.channels))
        .bind(after.severity.as_str())
        .bind(i64::from(after.cooldown.minutes()))
        .bind(after.is_active)
        .bind(ts(after.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if before.rearmed_by(patch) {
            sqlx::query("UPDATE ipam_notification_rule_state SET above = 0, updated_at = ?2 WHERE rule_id = ?1")
                .bind(id.as_str())
                .bind(ts(now))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(Some(after))
    }

    async fn delete_rule(&self, user: &UserId, id: &RuleId) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM ipam_notification_rules WHERE rule_id = ?1 AND user_id = ?2")
            .bind(id.as_str())
            .bind(user.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM ipam_notification_rule_state WHERE rule_id = ?1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn active_rules(&self, user: &UserId) -> Result<Vec<NotificationRule>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        active(&mut conn, user).await
    }

    async fn rule_state(&self, rule: &RuleId, resource: &ResourceKey) -> Result<Option<RuleState>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        state(&mut conn, rule, resource).await
    }

    async fn save_rule_state(&self, s: &RuleState, now: DateTime<Utc>) -> Result<bool> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        save_state(&mut conn, s, now).await
    }

    async fn threshold_rule_owners(&self, after: Option<&UserId>, limit: u32) -> Result<Vec<UserId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM ipam_notification_rules
             WHERE is_active = 1 AND json_extract(conditions, '$.utilization_threshold') IS NOT NULL
               AND user_id > ?1
             ORDER BY user_id LIMIT ?2",
        )
        .bind(after.map_or("", UserId::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(ids.into_iter().map(UserId::from_stored).collect())
    }

    async fn catch_up_rules(&self, user: &UserId, now: DateTime<Utc>) -> Result<Vec<NotificationCreated>> {
        let mut tx = self.write().await?;
        let created = notify::catch_up(&mut SqliteUnit(&mut tx), user, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(created)
    }
}
