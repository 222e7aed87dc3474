//! The expiry sweeps of the scheduled jobs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::errors::db;
use super::{SqliteStore, reservations, shares};
use crate::error::Result;
use crate::storage::ExpiryStore;

#[async_trait]
impl ExpiryStore for SqliteStore {
    async fn expire_reservations(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        let mut tx = self.write().await?;
        let n = reservations::expire_overdue(&mut tx, now, limit).await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    async fn expire_shares(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        let mut tx = self.write().await?;
        let n = shares::expire_overdue(&mut tx, now, limit).await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }
}
