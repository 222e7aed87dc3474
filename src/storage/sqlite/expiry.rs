//! The expiry sweeps of the scheduled jobs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::errors::db;
use super::notify_unit::SqliteUnit;
use super::rows::ts;
use super::{SqliteStore, reservations, shares};
use crate::domain::notification::EXPIRY_NOTICE;
use crate::domain::{Notification, NotificationCreated};
use crate::error::Result;
use crate::storage::ExpiryStore;
use crate::storage::notify::system_notice;

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

    async fn announce_expiring_reservations(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<NotificationCreated>> {
        let mut created = Vec::new();
        let mut cursor = None;
        loop {
            // One short write per batch; the dedup key makes a reservation announced by an
            // earlier run (or a concurrent one) a no-op.
            let mut tx = self.write().await?;
            let batch = reservations::expiring(&mut tx, (now, now + EXPIRY_NOTICE), cursor.as_ref(), limit).await?;
            for r in &batch {
                if let Some(n) = Notification::reservation_expiring(r, now) {
                    created.extend(system_notice(&mut SqliteUnit(&mut tx), &n, now).await?);
                }
            }
            tx.commit().await.map_err(db)?;
            match batch.last() {
                Some(last) if batch.len() == limit as usize => {
                    cursor = Some((last.expires_at.map(ts).unwrap_or_default(), last.id.to_string()));
                }
                _ => return Ok(created),
            }
        }
    }
}
