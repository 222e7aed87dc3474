//! Webhook subscriptions and their deliveries (attempts kept as a JSON array on the delivery).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::errors::db;
use super::filters::{total, user_page};
use super::notify_unit::SqliteUnit;
use super::rows::{corrupt, parse_ts, ts};
use crate::domain::{
    AttemptRecorded, Delivery, DeliveryAttempt, DeliveryId, DeliveryState, Description, EventId, EventType,
    Notification, Page, PageRequest, UserId, Webhook, WebhookEvents, WebhookId, WebhookPatch, WebhookSecret,
    WebhookUrl,
};
use crate::error::{IpamError, Result};
use crate::storage::conflicts::{delivery_not_dead, too_many_webhooks};
use crate::storage::notify::system_notice;
use crate::storage::{AttemptOutcome, WebhookStore};

macro_rules! webhook_columns {
    () => {
        "webhook_id, user_id, webhook_url, secret_key, events, description, is_active, \
     failure_count, last_delivery, disabled_reason, created_at, updated_at"
    };
}
macro_rules! delivery_columns {
    () => {
        "delivery_id, webhook_id, user_id, event_id, event_type, body, state, attempts, \
     round_start, next_attempt_at, event_at, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    webhook_id: String,
    user_id: String,
    webhook_url: String,
    secret_key: String,
    events: String,
    description: Option<String>,
    is_active: bool,
    failure_count: i64,
    last_delivery: Option<String>,
    disabled_reason: Option<String>,
    created_at: String,
    updated_at: String,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = IpamError;

    fn try_from(r: WebhookRow) -> Result<Self> {
        let events: Vec<String> = serde_json::from_str(&r.events).map_err(|e| corrupt(format!("events: {e}")))?;
        Ok(Webhook {
            id: WebhookId::from_stored(r.webhook_id),
            user_id: UserId::from_stored(r.user_id),
            url: WebhookUrl::from_stored(&r.webhook_url).ok_or_else(|| corrupt("webhook_url"))?,
            secret: WebhookSecret::from_stored(r.secret_key),
            events: WebhookEvents::from_stored(&events),
            description: r.description.map(Description::from_stored),
            is_active: r.is_active,
            failure_count: u32::try_from(r.failure_count).map_err(|_| corrupt("failure_count"))?,
            last_delivery_at: r.last_delivery.as_deref().map(parse_ts).transpose()?,
            disabled_reason: r.disabled_reason,
            created_at: parse_ts(&r.created_at)?,
            updated_at: parse_ts(&r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    delivery_id: String,
    webhook_id: String,
    user_id: String,
    event_id: String,
    event_type: String,
    body: String,
    state: String,
    attempts: String,
    round_start: i64,
    next_attempt_at: Option<String>,
    event_at: String,
    created_at: String,
    updated_at: String,
}

fn attempt_json(a: &DeliveryAttempt) -> Value {
    json!({
        "attempt": a.attempt,
        "status_code": a.status_code,
        "response_time_ms": a.response_time_ms,
        "error": a.error,
        "attempted_at": ts(a.attempted_at),
        "next_retry_at": a.next_retry_at.map(ts),
    })
}

fn attempt_from_json(v: &Value) -> Result<DeliveryAttempt> {
    let time = |key: &str| v[key].as_str().map(parse_ts).transpose();
    Ok(DeliveryAttempt {
        attempt: v["attempt"].as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| corrupt("attempt"))?,
        status_code: v["status_code"].as_u64().and_then(|n| u16::try_from(n).ok()),
        response_time_ms: v["response_time_ms"].as_u64().unwrap_or(0),
        error: v["error"].as_str().map(str::to_owned),
        attempted_at: time("attempted_at")?.ok_or_else(|| corrupt("attempted_at"))?,
        next_retry_at: time("next_retry_at")?,
    })
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = IpamError;

    fn try_from(r: DeliveryRow) -> Result<Self> {
        let attempts: Vec<Value> = serde_json::from_str(&r.attempts).map_err(|e| corrupt(format!("attempts: {e}")))?;
        Ok(Delivery {
            id: DeliveryId::from_stored(r.delivery_id),
            webhook_id: WebhookId::from_stored(r.webhook_id),
            user_id: UserId::from_stored(r.user_id),
            event_id: EventId::from_stored(r.event_id),
            event_type: EventType::from_stored(&r.event_type).ok_or_else(|| corrupt("event_type"))?,
            body: r.body,
            state: DeliveryState::from_stored(&r.state).ok_or_else(|| corrupt("delivery state"))?,
            attempts: attempts.iter().map(attempt_from_json).collect::<Result<Vec<_>>>()?,
            round_start: u32::try_from(r.round_start).map_err(|_| corrupt("round_start"))?,
            next_attempt_at: r.next_attempt_at.as_deref().map(parse_ts).transpose()?,
            event_at: parse_ts(&r.event_at)?,
            created_at: parse_ts(&r.created_at)?,
            updated_at: parse_ts(&r.updated_at)?,
        })
    }
}

fn events_text(e: &WebhookEvents) -> String {
    serde_json::to_string(&e.names()).unwrap_or_else(|_| "[]".into())
}

/// The user's active webhooks subscribed to `event_type`.
pub(super) async fn active_subscribers(
    conn: &mut SqliteConnection,
    user: &UserId,
    event_type: EventType,
) -> Result<Vec<Webhook>> {
    let rows: Vec<WebhookRow> = sqlx::query_as(concat!(
        "SELECT ",
        webhook_columns!(),
        " FROM ipam_webhooks WHERE user_id = ?1 AND is_active = 1"
    ))
    .bind(user.as_str())
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let hooks = rows.into_iter().map(Webhook::try_from).collect::<Result<Vec<_>>>()?;
    Ok(hooks.into_iter().filter(|w| w.events.includes(event_type)).collect())
}

/// Stores a new delivery (inside the caller's transaction).
pub(super) async fn insert_delivery(conn: &mut SqliteConnection, d: &Delivery) -> Result<()> {
    sqlx::query(
        "INSERT INTO ipam_webhook_deliveries (delivery_id, webhook_id, user_id, event_id, event_type, body, state,
             attempts, round_start, next_attempt_at, lease_until, event_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?12, ?13)",
    )
    .bind(d.id.as_str())
    .bind(d.webhook_id.as_str())
    .bind(d.user_id.as_str())
    .bind(d.event_id.as_str())
    .bind(d.event_type.as_str())
    .bind(&d.body)
    .bind(d.state.as_str())
    .bind(Value::Array(d.attempts.iter().map(attempt_json).collect()).to_string())
    .bind(i64::from(d.round_start))
    .bind(d.next_attempt_at.map(ts))
    .bind(ts(d.event_at))
    .bind(ts(d.created_at))
    .bind(ts(d.updated_at))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

async fn fetch_webhook(conn: &mut SqliteConnection, id: &WebhookId) -> Result<Option<Webhook>> {
    let row: Option<WebhookRow> =
        sqlx::query_as(concat!("SELECT ", webhook_columns!(), " FROM ipam_webhooks WHERE webhook_id = ?1"))
            .bind(id.as_str())
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    row.map(Webhook::try_from).transpose()
}

async fn fetch_delivery(conn: &mut SqliteConnection, id: &DeliveryId) -> Result<Option<Delivery>> {
    let row: Option<DeliveryRow> =
        sqlx::query_as(concat!("SELECT ", delivery_columns!(), " FROM ipam_webhook_deliveries WHERE delivery_id = ?1"))
            .bind(id.as_str())
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    row.map(Delivery::try_from).transpose()
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, w: &Webhook, max: u32) -> Result<()> {
        let mut tx = self.write().await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ipam_webhooks WHERE user_id = ?1")
            .bind(w.user_id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if n >= i64::from(max) {
            return Err(too_many_webhooks(max));
        }
        sqlx::query(
            "INSERT INTO ipam_webhooks (webhook_id, user_id, webhook_url, secret_key, events, description, is_active,
                 failure_count, last_delivery, disabled_reason, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .bind(w.id.as_str())
        .bind(w.user_id.as_str())
        .bind(w.url.as_str())
        .bind(w.secret.expose())
        .bind(events_text(&w.events))
        .bind(w.description.as_ref().map(|d| d.as_str()))
        .bind(w.is_active)
        .bind(i64::from(w.failure_count))
        .bind(w.last_delivery_at.map(ts))
        .bind(&w.disabled_reason)
        .bind(ts(w.created_at))
        .bind(ts(w.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn webhook(&self, user: &UserId, id: &WebhookId) -> Result<Option<Webhook>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(fetch_webhook(&mut conn, id).await?.filter(|w| &w.user_id == user))
    }

    async fn list_webhooks(&self, user: &UserId, page: PageRequest) -> Result<Page<Webhook>> {
        user_page::<WebhookRow, Webhook>(&self.pool, ("ipam_webhooks", webhook_columns!(), "webhook_id"), user, page)
            .await
    }

    async fn update_webhook(
        &self,
        user: &UserId,
        id: &WebhookId,
        patch: &WebhookPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<Webhook>> {
        let mut tx = self.write().await?;
        let Some(before) = fetch_webhook(&mut tx, id).await?.filter(|w| &w.user_id == user) else {
            return Ok(None);
        };
        let w = before.patched(patch, now);
        sqlx::query(
            "UPDATE ipam_webhooks SET is_active = ?2, failure_count = ?3, disabled_reason = ?4, events = ?5,
                 description = ?6, updated_at = ?7
             WHERE webhook_id = ?1",
        )
        .bind(id.as_str())
        .bind(w.is_active)
        .bind(i64::from(w.failure_count))
        .bind(&w.disabled_reason)
        .bind(events_text(&w.events))
        .bind(w.description.as_ref().map(|d| d.as_str()))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(w))
    }

    async fn delete_webhook(&self, user: &UserId, id: &WebhookId) -> Result<bool> {
        let mut tx = self.write().await?;
        // Deliveries go with it (ON DELETE CASCADE; said explicitly for clarity).
        sqlx::query(
            "DELETE FROM ipam_webhook_deliveries WHERE webhook_id = ?1
               AND EXISTS (SELECT 1 FROM ipam_webhooks WHERE webhook_id = ?1 AND user_id = ?2)",
        )
        .bind(id.as_str())
        .bind(user.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let done = sqlx::query("DELETE FROM ipam_webhooks WHERE webhook_id = ?1 AND user_id = ?2")
            .bind(id.as_str())
            .bind(user.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_deliveries(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        page: PageRequest,
    ) -> Result<Option<Page<Delivery>>> {
        if self.webhook(user, webhook).await?.is_none() {
            return Ok(None);
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ipam_webhook_deliveries WHERE webhook_id = ?1")
            .bind(webhook.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM ipam_webhook_deliveries WHERE webhook_id = ?1
             ORDER BY created_at DESC, delivery_id DESC LIMIT ?2 OFFSET ?3"
        ))
        .bind(webhook.as_str())
        .bind(i64::try_from(page.limit()).unwrap_or(i64::MAX))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let items = rows.into_iter().map(Delivery::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Some(Page { items, total: total(n), request: page }))
    }

    async fn create_delivery(&self, d: &Delivery) -> Result<()> {
        let mut tx = self.write().await?;
        insert_delivery(&mut tx, d).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn requeue_delivery(
        &self,
        user: &UserId,
        webhook: &WebhookId,
        id: &DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Delivery> {
        let mut tx = self.write().await?;
        let Some(mut d) = fetch_delivery(&mut tx, id).await?.filter(|d| &d.user_id == user && &d.webhook_id == webhook)
        else {
            return Err(IpamError::not_found("delivery", id.as_str()));
        };
        if d.state != DeliveryState::Dead {
            return Err(delivery_not_dead(&d.id, d.state.as_str()));
        }
        d.state = DeliveryState::Pending;
        d.round_start = u32::try_from(d.attempts.len()).unwrap_or(u32::MAX);
        d.next_attempt_at = Some(now);
        d.updated_at = now;
        sqlx::query(
            "UPDATE ipam_webhook_deliveries SET state = 'pending', round_start = ?2, next_attempt_at = ?3,
                 lease_until = NULL, lease_holder = NULL, updated_at = ?3
             WHERE delivery_id = ?1",
        )
        .bind(id.as_str())
        .bind(i64::from(d.round_start))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(d)
    }

    async fn claim_delivery(
        &self,
        id: &DeliveryId,
        holder: &str,
        now: DateTime<Utc>,
        early: Duration,
        lease: Duration,
    ) -> Result<Option<(Delivery, Webhook)>> {
        let mut tx = self.write().await?;
        let due = now + chrono::Duration::from_std(early).unwrap_or_default();
        let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        let claimed = sqlx::query(
            "UPDATE ipam_webhook_deliveries SET lease_until = ?4, lease_holder = ?5
             WHERE delivery_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2
               AND (lease_until IS NULL OR lease_until <= ?3)",
        )
        .bind(id.as_str())
        .bind(ts(due))
        .bind(ts(now))
        .bind(ts(until))
        .bind(holder)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if claimed.rows_affected() == 0 {
            return Ok(None);
        }
        let Some(d) = fetch_delivery(&mut tx, id).await? else { return Ok(None) };
        let Some(w) = fetch_webhook(&mut tx, &d.webhook_id).await? else {
            // Its webhook is gone: so is the delivery (it would otherwise be re-queued forever).
            sqlx::query("DELETE FROM ipam_webhook_deliveries WHERE delivery_id = ?1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            return Ok(None);
        };
        tx.commit().await.map_err(db)?;
        Ok(Some((d, w)))
    }

    async fn record_attempt(
        &self,
        id: &DeliveryId,
        holder: &str,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<AttemptRecorded>> {
        let mut tx = self.write().await?;
        let held: Option<String> =
            sqlx::query_scalar("SELECT lease_holder FROM ipam_webhook_deliveries WHERE delivery_id = ?1")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .flatten();
        if held.as_deref() != Some(holder) {
            return Ok(None);
        }
        let Some(mut d) = fetch_delivery(&mut tx, id).await?.filter(|d| d.state == DeliveryState::Pending) else {
            return Ok(None);
        };
        let Some(w) = fetch_webhook(&mut tx, &d.webhook_id).await? else { return Ok(None) };
        d.attempts.push(attempt.clone());
        let step = outcome.delivery_step();
        sqlx::query(
            "UPDATE ipam_webhook_deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, lease_until = NULL,
                 lease_holder = NULL, updated_at = ?5
             WHERE delivery_id = ?1",
        )
        .bind(id.as_str())
        .bind(step.state.as_str())
        .bind(Value::Array(d.attempts.iter().map(attempt_json).collect()).to_string())
        .bind(step.next_attempt_at.map(ts))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let after = outcome.webhook_after(&w, disable_after, now);
        let hook = &after.webhook;
        sqlx::query(
            "UPDATE ipam_webhooks SET failure_count = ?2, last_delivery = ?3, is_active = ?4, disabled_reason = ?5,
                 updated_at = ?6
             WHERE webhook_id = ?1",
        )
        .bind(hook.id.as_str())
        .bind(i64::from(hook.failure_count))
        .bind(hook.last_delivery_at.map(ts))
        .bind(hook.is_active)
        .bind(&hook.disabled_reason)
        .bind(ts(hook.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let mut recorded = AttemptRecorded::new(step, Some(&after));
        if let Some(n) = Notification::webhook_disabled(&after, id, attempt.attempt, now) {
            recorded.notice = system_notice(&mut SqliteUnit(&mut tx), &n, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(Some(recorded))
    }

    async fn overdue_deliveries(&self, due_before: DateTime<Utc>, limit: u32) -> Result<Vec<DeliveryId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT delivery_id FROM ipam_webhook_deliveries
             WHERE state = 'pending' AND next_attempt_at < ?1 AND (lease_until IS NULL OR lease_until <= ?1)
             ORDER BY next_attempt_at LIMIT ?2",
        )
        .bind(ts(due_before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(ids.into_iter().map(DeliveryId::from_stored).collect())
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        self.delete_in_batches(
            "DELETE FROM ipam_webhook_deliveries WHERE rowid IN (SELECT rowid FROM ipam_webhook_deliveries
                 WHERE state IN ('succeeded', 'dead') AND updated_at < ?1 LIMIT ?2)",
            ts(before),
        )
        .await
    }
}
