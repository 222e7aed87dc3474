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
            // Notifications must never hold up webhook deliveries (nor every event behind this
            // one): if they cannot be made (say a rule or preferences row is unreadable), their
            // writes are rolled back to the savepoint, the error is logged, and the event is
            // still marked dispatched with its deliveries. The write lock is held since BEGIN
            // IMMEDIATE, so no transient "busy" error can land here.
            sqlx::query("SAVEPOINT notify").execute(&mut *tx).await.map_err(db)?;
            match notify::on_event(&mut SqliteUnit(&mut tx), &event, now).await {
                Ok(created) => report.notifications.extend(created),
                Err(e) => {
                    tracing::error!(event = %event.id, error = %e, "notifications of an event failed; skipped");
                    sqlx::query("ROLLBACK TO notify").execute(&mut *tx).await.map_err(db)?;
                }
            }
            sqlx::query("RELEASE notify").execute(&mut *tx).await.map_err(db)?;
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn an_event_whose_notifications_cannot_be_made_is_still_dispatched() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("ipam.db").display());
        let store = SqliteStore::connect(&url, 1).await.unwrap();
        store.prepare().await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap();
        // A rule row no one can read (written behind the API's back), and an event of its owner.
        sqlx::query(
            "INSERT INTO ipam_notification_rules (rule_id, user_id, rule_name, conditions, notification_channels,
                 severity, cooldown_minutes, is_active, created_at, updated_at)
             VALUES ('r1', 'u1', 'broken', '{\"bogus\": 1}', '[\"in_app\"]', 'info', 60, 1, ?1, ?1)",
        )
        .bind(ts(now))
        .execute(store.pool())
        .await
        .unwrap();
        let user = UserId::parse("u1").unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        insert_event(&mut conn, &DomainEvent::ping(&user, "W1", now)).await.unwrap();
        let event = DomainEvent {
            event_type: EventType::RegionCreated,
            data: json!({"region_id": "R1", "country_code": "USA"}),
            ..DomainEvent::ping(&user, "W1", now)
        };
        insert_event(&mut conn, &event).await.unwrap();
        drop(conn);

        let report = store.dispatch_events(10, now).await.expect("the pass goes on");
        assert_eq!((report.events, report.notifications.len()), (2, 0));
        assert_eq!(store.outbox_backlog().await.unwrap(), (0, None), "nothing is left to stall the outbox");
    }
}
