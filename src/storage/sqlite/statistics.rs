//! Statistics on SQLite: the data version, the dashboard's counts and the allocation history,
//! each one indexed query, and the regions' utilisation ranking (regions are grouped or ranked
//! by their maintained host counts; hosts are never read).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use super::errors::db;
use super::rows::{RegionRow, corrupt, parse_ts, region_columns, ts};
use crate::domain::statistics::{
    ActivityQuery, CountryUsage, DailyActivity, DashboardCounts, HourlyActivity, RECENT_ACTIVITY, warning_hosts,
};
use crate::domain::{CountryCode, Region, UserId};
use crate::error::Result;
use crate::storage::{NotificationStore, StatisticsStore};

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[async_trait]
impl StatisticsStore for SqliteStore {
    async fn data_version(&self, user: &UserId) -> Result<u64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT data_version FROM ipam_user_stats WHERE user_id = ?1")
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(v.map_or(0, count))
    }

    async fn dashboard_counts(&self, user: &UserId, now: DateTime<Utc>) -> Result<DashboardCounts> {
        let u = user.as_str();
        // One read transaction: every count sees the same snapshot.
        let mut tx = self.pool.begin().await.map_err(db)?;
        let countries: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT country_code, COUNT(*), SUM(allocated_hosts) FROM ipam_regions WHERE user_id = ?1
             GROUP BY country_code",
        )
        .bind(u)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let (retired_regions, released_hosts): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(MAX(retired_regions), 0), COALESCE(MAX(released_hosts), 0) FROM ipam_user_stats
             WHERE user_id = ?1",
        )
        .bind(u)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ipam_audit_history WHERE user_id = ?1 AND action_type = 'create'
               AND timestamp >= ?2 AND resource_type IN ('region', 'host')",
        )
        .bind(u)
        .bind(ts(now - RECENT_ACTIVITY))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let warnings: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM ipam_regions WHERE user_id = ?1 AND allocated_hosts >= ?2")
                .bind(u)
                .bind(i64::from(warning_hosts()))
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        let reservations: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ipam_reservations WHERE user_id = ?1 AND status = 'active'
               AND (expires_at IS NULL OR expires_at > ?2)",
        )
        .bind(u)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let shares: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ipam_shares WHERE user_id = ?1 AND is_active = 1 AND expires_at > ?2",
        )
        .bind(u)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(DashboardCounts {
            countries: countries
                .into_iter()
                .map(|(code, regions, hosts)| CountryUsage {
                    country_code: CountryCode::from_stored(code),
                    regions: count(regions),
                    hosts: count(hosts),
                })
                .collect(),
            retired_regions: count(retired_regions),
            released_hosts: count(released_hosts),
            recent_allocations: count(recent),
            capacity_warnings: count(warnings),
            active_reservations: count(reservations),
            active_shares: count(shares),
            unread_notifications: self.unread_count(user, now).await?,
        })
    }

    async fn daily_activity(&self, user: &UserId, q: &ActivityQuery) -> Result<Vec<DailyActivity>> {
        self.activity(user, q, DAY_PREFIX)
            .await?
            .into_iter()
            .map(|(day, allocations, releases)| {
                Ok(DailyActivity {
                    day: NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| corrupt(format!("audit day: {e}")))?,
                    allocations: count(allocations),
                    releases: count(releases),
                })
            })
            .collect()
    }

    async fn hourly_activity(&self, user: &UserId, q: &ActivityQuery) -> Result<Vec<HourlyActivity>> {
        self.activity(user, q, HOUR_PREFIX)
            .await?
            .into_iter()
            .map(|(hour, allocations, releases)| {
                Ok(HourlyActivity {
                    hour: parse_ts(&format!("{hour}:00:00Z"))?,
                    allocations: count(allocations),
                    releases: count(releases),
                })
            })
            .collect()
    }

    async fn most_utilized_regions(&self, user: &UserId, limit: u32) -> Result<Vec<Region>> {
        // No index of its own: `user_xy_unique_idx` finds the user's regions, and SQLite keeps
        // the top `limit` of them with a bounded sorter. A user holds at most their region quota
        // (1,000 by default), so that is a small in-memory pass; an index on
        // (user_id, allocated_hosts) would serve the LIMIT directly but be rewritten by every
        // host allocation and release, to speed up a read the result cache already absorbs.
        let rows: Vec<RegionRow> = sqlx::query_as(concat!(
            "SELECT ",
            region_columns!(),
            " FROM ipam_regions WHERE user_id = ?1 ORDER BY allocated_hosts DESC, x_octet, y_octet LIMIT ?2"
        ))
        .bind(user.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(Region::try_from).collect()
    }
}

/// Stored times are RFC 3339 UTC text (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), so a prefix of it is the
/// UTC day or hour, and text order is time order.
const DAY_PREFIX: u32 = 10;
/// `YYYY-MM-DDTHH`.
const HOUR_PREFIX: u32 = 13;

impl SqliteStore {
    /// Allocations and releases matching `q`, grouped by the first `prefix` characters of their
    /// timestamp, oldest first: `(prefix, allocations, releases)`.
    async fn activity(&self, user: &UserId, q: &ActivityQuery, prefix: u32) -> Result<Vec<(String, i64, i64)>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT substr(timestamp, 1, ");
        qb.push_bind(i64::from(prefix));
        qb.push(
            ") AS period,
                    SUM(CASE WHEN action_type = 'create' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN action_type IN ('release', 'retire') THEN 1 ELSE 0 END)
             FROM ipam_audit_history WHERE user_id = ",
        );
        qb.push_bind(user.to_string());
        qb.push(" AND action_type IN ('create', 'release', 'retire')");
        match q.resource {
            Some(r) => qb.push(" AND resource_type = ").push_bind(r.as_str()),
            None => qb.push(" AND resource_type IN ('region', 'host')"),
        };
        if let Some((lo, hi)) = q.x {
            qb.push(" AND x_octet BETWEEN ").push_bind(i64::from(lo)).push(" AND ").push_bind(i64::from(hi));
        }
        if let Some(y) = q.y {
            qb.push(" AND y_octet = ").push_bind(i64::from(y));
        }
        qb.push(" AND timestamp >= ").push_bind(ts(q.from));
        qb.push(" AND timestamp < ").push_bind(ts(q.to));
        qb.push(" GROUP BY period ORDER BY period");
        qb.build_query_as().fetch_all(&self.pool).await.map_err(db)
    }
}
