//! The recorded job queue (`ipam_queue_binding`, one row): `INSERT … ON CONFLICT DO NOTHING`
//! lets the first process record it; everyone then reads the row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::errors::db;
use super::rows::ts;
use crate::domain::QueueBinding;
use crate::error::Result;
use crate::storage::queue_binding::QueueBindingStore;

#[async_trait]
impl QueueBindingStore for SqliteStore {
    async fn record_queue_binding(&self, ours: &QueueBinding, now: DateTime<Utc>) -> Result<QueueBinding> {
        sqlx::query(
            "INSERT INTO ipam_queue_binding (id, backend, prefix, recorded_at) VALUES ('queue', ?1, ?2, ?3)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&ours.backend)
        .bind(&ours.prefix)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        let (backend, prefix): (String, String) =
            sqlx::query_as("SELECT backend, prefix FROM ipam_queue_binding WHERE id = 'queue'")
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        Ok(QueueBinding { backend, prefix })
    }
}
