//! The event outbox: events are inserted by the unit of work that caused them (same
//! transaction), and fanned out to webhook deliveries and notifications one event per
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::errors::db;
use super::notify_unit::SqliteUnit;
use super::rows::{corrupt, parse_ts, ts};
use super::webhooks::{active_subscribers, insert_delivery};
use crate::domain::{Delivery, DomainEvent, EventId, EventType, UserId};
use crate::error::Result;
use crate::storage::notify;
use crate::storage::{DispatchReport, OutboxStore};

/// Stores an event (inside the caller's transaction).
pub(super) async fn insert_event(conn: &mut SqliteConnection, e: &DomainEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO ipam_event_outbox (event_id, event_type, user_id, occurred_at, data, dispatched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
    )
    .bind(e.id.as_str())
    .bind(e.event_type.as_str())
    .bind(e.user_id.as_str())
    .bind(ts(e.occurred_at))
    .bind(e.data.to_string())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EventRow {
    event_id: String,
    event_type: String,
    user_id: String,
    occurred_at: String,
    data: String,
}

impl TryFrom<EventRow> for DomainEvent {
    type Error = crate::error::IpamError;

    fn try_from(r: EventRow) -> Result<Self> {
        Ok(DomainEvent {
            id: EventId::from_stored(r.event_id),
            event_type: EventType::from_stored(&r.event_type).ok_or_else(|| corrupt("event type"))?,
            user_id: UserId::from_stored(r.user_id),
            occurred_at: parse_ts(&r.occurred_at)?,
            data: serde_json::from_str(&r.data).map_err(|e| corrupt(format!("event data: {e}")))?,
        })
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn dispatch_events(&self, limit: u32, now: DateTime<Utc>) -> Result<DispatchReport> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT event_id FROM ipam_event_outbox WHERE dispatched_at IS NULL ORDER BY occurred_at, event_id LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut report = DispatchReport::default();
        for id in ids {
            let mut tx = self.write().await?;
            // Claimed by the conditional update: a concurrent dispatcher that got here first
            // has already fanned this event out, and this one skips it.
            let row: Option<EventRow> = sqlx::query_as(
                "UPDATE ipam_event_outbox SET dispatched_at = ?2 WHERE event_id = ?1 AND dispatched_at IS NULL
                 RETURNING event_id, event_type, user_id, occurred_at, data",
            )
            .bind(&id)
            .bind(ts(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let Some(row) = row else { continue };
            let event = match DomainEvent::try_from(row) {
                Ok(event) => event,
                Err(e) => {
                    // One unreadable row must not stall every event behind it: it stays marked
                    // dispatched (nobody can be sent it) and the error is logged.
                    tracing::error!(event = %id, error = %e, "outbox event cannot be read; skipped");
                    tx.commit().await.map_err(db)?;
                    continue;
                }
            };
            let body = event.body();
            for webhook in active_subscribers(&mut tx, &event.user_id, event.event_type).await? {
                let d = Delivery::new(&webhook, &event.id, event.event_type, body.clone(), event.occurred_at, now);
                insert_delivery(&mut tx, &d).await?;
                report.deliveries.push(d.id);
            }
            report.notifications.extend(notify::on_event(&mut SqliteUnit(&mut tx), &event, now).await?);
            tx.commit().await.map_err(db)?;
            report.events += 1;
        }
        Ok(report)
    }

    async fn outbox_backlog(&self) -> Result<(u64, Option<DateTime<Utc>>)> {
        let (n, oldest): (i64, Option<String>) =
            sqlx::query_as("SELECT COUNT(*), MIN(occurred_at) FROM ipam_event_outbox WHERE dispatched_at IS NULL")
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        Ok((u64::try_from(n).unwrap_or(0), oldest.as_deref().map(parse_ts).transpose()?))
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        self.delete_in_batches(
            "DELETE FROM ipam_event_outbox WHERE rowid IN (SELECT rowid FROM ipam_event_outbox
                 WHERE dispatched_at IS NOT NULL AND occurred_at < ?1 LIMIT ?2)",
            ts(before),
        )
        .await
    }
}
