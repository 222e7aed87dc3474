//! Forecast requests on SQLite (`ipam_forecast_requests`): recording is one upsert on the
//! `(user, resource, days_ahead)` unique index; listing and pruning are range scans on the
//! `last_requested_at` index. Nothing deletes old rows but the recomputation job's prune.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::errors::db;
use super::rows::{corrupt, parse_ts, ts};
use crate::domain::statistics::forecast::{ForecastRequest, ForecastSubject};
use crate::domain::{ForecastRequestId, UserId};
use crate::error::Result;
use crate::storage::ForecastRequestStore;

type Row = (String, String, String, String, i64, String);

fn request((id, user, kind, resource_id, days, at): Row) -> Result<ForecastRequest> {
    let subject = ForecastSubject::from_stored(&kind, resource_id)
        .ok_or_else(|| corrupt(format!("forecast request {id}: resource_type '{kind}'")))?;
    let days_ahead = u32::try_from(days).map_err(|_| corrupt(format!("forecast request {id}: days_ahead {days}")))?;
    Ok(ForecastRequest {
        id: ForecastRequestId::from_stored(id),
        user_id: UserId::from_stored(user),
        subject,
        days_ahead,
        last_requested_at: parse_ts(&at)?,
    })
}

#[async_trait]
impl ForecastRequestStore for SqliteStore {
    async fn record_forecast_request(&self, r: &ForecastRequest) -> Result<()> {
        // Fixed-width timestamps: MAX on the text is MAX on the time, so a late, older
        // recording never moves the request back.
        sqlx::query(
            "INSERT INTO ipam_forecast_requests
                 (request_id, user_id, resource_type, resource_id, days_ahead, last_requested_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (user_id, resource_type, resource_id, days_ahead)
             DO UPDATE SET last_requested_at = MAX(last_requested_at, excluded.last_requested_at)",
        )
        .bind(r.id.as_str())
        .bind(r.user_id.as_str())
        .bind(r.subject.kind())
        .bind(r.subject.id())
        .bind(i64::from(r.days_ahead))
        .bind(ts(r.last_requested_at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn forecast_requests_since(
        &self,
        since: DateTime<Utc>,
        after: Option<&ForecastRequestId>,
        limit: u32,
    ) -> Result<Vec<ForecastRequest>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT request_id, user_id, resource_type, resource_id, days_ahead, last_requested_at
             FROM ipam_forecast_requests
             WHERE last_requested_at >= ?1 AND request_id > ?2
             ORDER BY request_id LIMIT ?3",
        )
        .bind(ts(since))
        .bind(after.map_or("", |a| a.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(request).collect()
    }

    async fn forget_forecast_request(&self, id: &ForecastRequestId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ipam_forecast_requests WHERE request_id = ?1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn prune_forecast_requests(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM ipam_forecast_requests WHERE request_id IN (
                 SELECT request_id FROM ipam_forecast_requests WHERE last_requested_at < ?1 LIMIT ?2)",
        )
        .bind(ts(cutoff))
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }
}
