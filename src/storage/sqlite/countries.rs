//! The country table and per-X region counts.

use async_trait::async_trait;
use sqlx::SqlitePool;

use super::SqliteStore;
use super::errors::db;
use super::rows::corrupt;
use crate::domain::country_table::COUNTRY_TABLE;
use crate::domain::{Country, CountryCode, UserId};
use crate::error::Result;
use crate::storage::CountryStore;

/// Inserts the countries of the table that are missing (first start).
pub(super) async fn seed(pool: &SqlitePool) -> anyhow::Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for c in COUNTRY_TABLE {
        sqlx::query(
            "INSERT OR IGNORE INTO continent_country_mapping (country_code, country, continent, x_start, x_end, is_reserved)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(c.code)
        .bind(c.name)
        .bind(c.continent)
        .bind(i64::from(c.x_start))
        .bind(i64::from(c.x_end))
        .bind(c.is_reserved)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[async_trait]
impl CountryStore for SqliteStore {
    async fn countries(&self) -> Result<Vec<Country>> {
        let rows: Vec<(String, String, String, i64, i64, bool)> = sqlx::query_as(
            "SELECT country_code, country, continent, x_start, x_end, is_reserved
             FROM continent_country_mapping ORDER BY x_start",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(code, name, continent, x_start, x_end, is_reserved)| {
                Ok(Country {
                    code: CountryCode::from_stored(code),
                    name,
                    continent,
                    x_start: u8::try_from(x_start).map_err(|_| corrupt("x_start"))?,
                    x_end: u8::try_from(x_end).map_err(|_| corrupt("x_end"))?,
                    is_reserved,
                })
            })
            .collect()
    }

    async fn regions_per_x(&self, user: &UserId, lo: u8, hi: u8) -> Result<Vec<(u8, u32)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT x_octet, used_count FROM ipam_region_slots
             WHERE user_id = ?1 AND x_octet BETWEEN ?2 AND ?3 AND used_count > 0 ORDER BY x_octet",
        )
        .bind(user.as_str())
        .bind(i64::from(lo))
        .bind(i64::from(hi))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(x, n)| {
                Ok((
                    u8::try_from(x).map_err(|_| corrupt("x_octet"))?,
                    u32::try_from(n).map_err(|_| corrupt("used_count"))?,
                ))
            })
            .collect()
    }
}
