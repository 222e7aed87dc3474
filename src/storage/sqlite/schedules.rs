//! Cron tick claims: the primary key (schedule, tick) lets exactly one process insert each.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::errors::{Unique, db, unique_violation};
use super::rows::{corrupt, parse_ts, ts};
use crate::error::Result;
use crate::storage::{RunOutcome, ScheduleRun, ScheduleStore};

macro_rules! run_columns {
    () => {
        "schedule, tick_at, claimed_by, claimed_at, finished_at, outcome, detail, attempts"
    };
}

#[derive(sqlx::FromRow)]
struct RunRow {
    schedule: String,
    tick_at: String,
    claimed_by: String,
    claimed_at: String,
    finished_at: Option<String>,
    outcome: Option<String>,
    detail: Option<String>,
    attempts: i64,
}

impl TryFrom<RunRow> for ScheduleRun {
    type Error = crate::error::IpamError;

    fn try_from(r: RunRow) -> Result<Self> {
        Ok(ScheduleRun {
            schedule: r.schedule,
            tick_at: parse_ts(&r.tick_at)?,
            claimed_by: r.claimed_by,
            claimed_at: parse_ts(&r.claimed_at)?,
            finished_at: r.finished_at.as_deref().map(parse_ts).transpose()?,
            outcome: r
                .outcome
                .as_deref()
                .map(|o| RunOutcome::from_stored(o).ok_or_else(|| corrupt("outcome")))
                .transpose()?,
            detail: r.detail,
            attempts: u32::try_from(r.attempts).map_err(|_| corrupt("attempts"))?,
        })
    }
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn claim_tick(&self, schedule: &str, tick: DateTime<Utc>, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO ipam_schedule_runs (schedule, tick_at, claimed_by, claimed_at, attempts) VALUES (?1, ?2, ?3, ?4, 0)",
        )
        .bind(schedule)
        .bind(ts(tick))
        .bind(worker)
        .bind(ts(now))
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if unique_violation(&e) == Some(Unique::ScheduleTick) => Ok(false),
            Err(e) => Err(db(e)),
        }
    }

    async fn finish_tick(
        &self,
        schedule: &str,
        tick: DateTime<Utc>,
        outcome: RunOutcome,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE ipam_schedule_runs SET finished_at = ?3, outcome = ?4, detail = ?5, attempts = attempts + 1
             WHERE schedule = ?1 AND tick_at = ?2",
        )
        .bind(schedule)
        .bind(ts(tick))
        .bind(ts(now))
        .bind(outcome.as_str())
        .bind(detail)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn latest_ticks(&self) -> Result<Vec<ScheduleRun>> {
        let rows: Vec<RunRow> = sqlx::query_as(concat!(
            "SELECT ",
            run_columns!(),
            " FROM ipam_schedule_runs r
             WHERE tick_at = (SELECT MAX(tick_at) FROM ipam_schedule_runs WHERE schedule = r.schedule)
             ORDER BY schedule"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(ScheduleRun::try_from).collect()
    }

    async fn ticks(&self, schedule: &str, limit: u32) -> Result<Vec<ScheduleRun>> {
        let rows: Vec<RunRow> = sqlx::query_as(concat!(
            "SELECT ",
            run_columns!(),
            " FROM ipam_schedule_runs WHERE schedule = ?1 ORDER BY tick_at DESC LIMIT ?2"
        ))
        .bind(schedule)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(ScheduleRun::try_from).collect()
    }

    async fn prune_ticks(&self, before: DateTime<Utc>) -> Result<u64> {
        self.delete_in_batches(
            "DELETE FROM ipam_schedule_runs WHERE rowid IN (SELECT rowid FROM ipam_schedule_runs
                 WHERE claimed_at < ?1 LIMIT ?2)",
            ts(before),
        )
        .await
    }
}
