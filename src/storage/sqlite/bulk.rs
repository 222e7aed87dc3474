//! [`BulkJobStore`] on SQLite: one row per job in `ipam_bulk_jobs` (inputs as JSON text), one row
//! per processed resource in `ipam_bulk_job_results`, keyed by the job and the id's position.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection};

use super::SqliteStore;
use super::errors::db;
use super::filters::user_page;
use super::notify_unit::SqliteUnit;
use super::rows::{corrupt, parse_ts, tags_text, ts};
use crate::domain::{
    BulkInputs, BulkItemResult, BulkJob, BulkJobId, BulkJobStatus, BulkResourceType, BulkTarget, Notification,
    NotificationCreated, Page, PageRequest, TagChange, TagOperation, Tags, UserId, Username,
};
use crate::error::Result;
use crate::storage::bulk::{BulkJobStore, ProgressRecorded, after};
use crate::storage::notify::system_notice;

const COLUMNS: &str = "job_id, user_id, username, resource_type, operation, tags, resource_ids, status, total_items, \
     cursor, processed_items, successful_items, failed_items, created_at, started_at, completed_at";

#[derive(FromRow)]
struct JobRow {
    job_id: String,
    user_id: String,
    username: Option<String>,
    resource_type: Option<String>,
    operation: Option<String>,
    tags: Option<String>,
    resource_ids: Option<String>,
    status: String,
    total_items: i64,
    cursor: i64,
    processed_items: i64,
    successful_items: i64,
    failed_items: i64,
    created_at: String,
    started_at: Option<String>,
    completed_at: Option<String>,
}

fn count(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| corrupt(format!("bulk job count {v}")))
}

fn inputs(r: &JobRow) -> Result<Option<BulkInputs>> {
    let (Some(kind), Some(op), Some(tags), Some(ids)) = (&r.resource_type, &r.operation, &r.tags, &r.resource_ids)
    else {
        return Ok(None);
    };
    let tags: BTreeMap<String, String> = serde_json::from_str(tags).map_err(|e| corrupt(format!("bulk tags: {e}")))?;
    let ids: Vec<String> = serde_json::from_str(ids).map_err(|e| corrupt(format!("bulk ids: {e}")))?;
    Ok(Some(BulkInputs {
        resource_type: BulkResourceType::parse(kind).map_err(corrupt)?,
        resource_ids: ids.into_iter().map(BulkTarget::from_stored).collect(),
        change: TagChange { operation: TagOperation::parse(op).map_err(corrupt)?, tags: Tags::from_stored(tags) },
    }))
}

impl TryFrom<JobRow> for BulkJob {
    type Error = crate::error::IpamError;

    fn try_from(r: JobRow) -> Result<Self> {
        let inputs = inputs(&r)?;
        let username = r.username.clone().unwrap_or_else(|| r.user_id.clone());
        Ok(Self {
            id: BulkJobId::from_stored(r.job_id),
            user_id: UserId::from_stored(r.user_id),
            username: Username::from_stored(username),
            inputs,
            status: BulkJobStatus::from_stored(&r.status).ok_or_else(|| corrupt(format!("status '{}'", r.status)))?,
            total: count(r.total_items)?,
            cursor: count(r.cursor)?,
            processed: count(r.processed_items)?,
            successful: count(r.successful_items)?,
            failed: count(r.failed_items)?,
            created_at: parse_ts(&r.created_at)?,
            started_at: r.started_at.as_deref().map(parse_ts).transpose()?,
            completed_at: r.completed_at.as_deref().map(parse_ts).transpose()?,
        })
    }
}

async fn fetch(conn: &mut SqliteConnection, id: &BulkJobId) -> Result<Option<BulkJob>> {
    let sql = format!("SELECT {COLUMNS} FROM ipam_bulk_jobs WHERE job_id = ?1");
    let row: Option<JobRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(conn).await.map_err(db)?;
    row.map(BulkJob::try_from).transpose()
}

/// Notifies the owner of a job that just finished, inside the caller's transaction.
async fn announce(
    conn: &mut SqliteConnection,
    job: &BulkJob,
    now: DateTime<Utc>,
) -> Result<Option<NotificationCreated>> {
    match Notification::bulk_job_finished(job, now) {
        Some(n) => system_notice(&mut SqliteUnit(conn), &n, now).await,
        None => Ok(None),
    }
}

#[async_trait]
impl BulkJobStore for SqliteStore {
    async fn create_bulk_job(&self, job: &BulkJob, pickup_by: DateTime<Utc>) -> Result<()> {
        let inputs = job.inputs.as_ref().ok_or_else(|| crate::error::IpamError::internal("a new job has inputs"))?;
        let ids: Vec<&str> = inputs.resource_ids.iter().map(BulkTarget::as_str).collect();
        let ids = serde_json::to_string(&ids).map_err(crate::error::IpamError::internal)?;
        sqlx::query(
            "INSERT INTO ipam_bulk_jobs (job_id, user_id, username, operation_type, resource_type, operation, tags,
                 resource_ids, status, total_items, cursor, processed_items, successful_items, failed_items, results,
                 created_at, lease_until)
             VALUES (?1, ?2, ?3, 'bulk_tag_update', ?4, ?5, ?6, ?7, ?8, ?9, 0, 0, 0, 0, '[]', ?10, ?11)",
        )
        .bind(job.id.as_str())
        .bind(job.user_id.as_str())
        .bind(job.username.as_str())
        .bind(inputs.resource_type.as_str())
        .bind(inputs.change.operation.as_str())
        .bind(tags_text(&inputs.change.tags))
        .bind(ids)
        .bind(job.status.as_str())
        .bind(i64::from(job.total))
        .bind(ts(job.created_at))
        .bind(ts(pickup_by))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn bulk_job(&self, user: &UserId, id: &BulkJobId) -> Result<Option<BulkJob>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(fetch(&mut conn, id).await?.filter(|j| &j.user_id == user))
    }

    async fn bulk_job_results(
        &self,
        user: &UserId,
        id: &BulkJobId,
        page: PageRequest,
    ) -> Result<Option<Page<BulkItemResult>>> {
        let Some(job) = self.bulk_job(user, id).await? else { return Ok(None) };
        let rows: Vec<(i64, String, bool, String)> = sqlx::query_as(
            "SELECT position, resource_id, success, message FROM ipam_bulk_job_results WHERE job_id = ?1
             ORDER BY position LIMIT ?2 OFFSET ?3",
        )
        .bind(id.as_str())
        .bind(i64::try_from(page.limit()).unwrap_or(i64::MAX))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let items = rows
            .into_iter()
            .map(|(position, resource_id, success, message)| {
                Ok(BulkItemResult {
                    position: count(position)?,
                    resource_id: BulkTarget::from_stored(resource_id),
                    success,
                    message,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Page { items, total: u64::from(job.processed), request: page }))
    }

    async fn list_bulk_jobs(&self, user: &UserId, page: PageRequest) -> Result<Page<BulkJob>> {
        user_page::<JobRow, BulkJob>(&self.pool, ("ipam_bulk_jobs", COLUMNS, "job_id"), user, page).await
    }

    async fn cancel_bulk_job(
        &self,
        user: &UserId,
        id: &BulkJobId,
        now: DateTime<Utc>,
    ) -> Result<Option<(BulkJob, bool)>> {
        let mut tx = self.write().await?;
        let cancelled = sqlx::query(
            "UPDATE ipam_bulk_jobs SET status = 'cancelled', completed_at = ?1
             WHERE job_id = ?2 AND user_id = ?3 AND status IN ('pending', 'processing')",
        )
        .bind(ts(now))
        .bind(id.as_str())
        .bind(user.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let job = fetch(&mut tx, id).await?.filter(|j| &j.user_id == user);
        tx.commit().await.map_err(db)?;
        Ok(job.map(|j| (j, cancelled.rows_affected() == 1)))
    }

    async fn bulk_job_status(&self, id: &BulkJobId) -> Result<Option<BulkJobStatus>> {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM ipam_bulk_jobs WHERE job_id = ?1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(status.as_deref().and_then(BulkJobStatus::from_stored))
    }

    async fn claim_bulk_job(
        &self,
        id: &BulkJobId,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<BulkJob>> {
        let mut tx = self.write().await?;
        let taken = sqlx::query(
            "UPDATE ipam_bulk_jobs SET status = 'processing', started_at = COALESCE(started_at, ?1),
                 lease_holder = ?2, lease_until = ?3
             WHERE job_id = ?4 AND status IN ('pending', 'processing')
               AND (lease_holder IS NULL OR lease_until IS NULL OR lease_until < ?1)",
        )
        .bind(ts(now))
        .bind(holder)
        .bind(ts(after(now, lease)))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let job = if taken.rows_affected() == 1 { fetch(&mut tx, id).await? } else { None };
        tx.commit().await.map_err(db)?;
        Ok(job)
    }

    async fn record_bulk_progress(
        &self,
        id: &BulkJobId,
        holder: &str,
        from: u32,
        results: &[BulkItemResult],
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<ProgressRecorded>> {
        let mut tx = self.write().await?;
        let Some(job) = fetch(&mut tx, id).await? else { return Ok(None) };
        let held: Option<String> = sqlx::query_scalar("SELECT lease_holder FROM ipam_bulk_jobs WHERE job_id = ?1")
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let live = matches!(job.status, BulkJobStatus::Processing | BulkJobStatus::Cancelled);
        if held.as_deref() != Some(holder) || job.cursor != from || !live {
            return Ok(None);
        }
        for r in results {
            sqlx::query(
                "INSERT INTO ipam_bulk_job_results (job_id, position, resource_id, success, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(id.as_str())
            .bind(i64::from(r.position))
            .bind(r.resource_id.as_str())
            .bind(r.success)
            .bind(&r.message)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        let n = u32::try_from(results.len()).unwrap_or(u32::MAX);
        let ok = u32::try_from(results.iter().filter(|r| r.success).count()).unwrap_or(u32::MAX);
        let cursor = from + n;
        let status = job.status_at(cursor);
        let finished_now = status == BulkJobStatus::Completed;
        sqlx::query(
            "UPDATE ipam_bulk_jobs SET cursor = ?1, processed_items = ?1, successful_items = successful_items + ?2,
                 failed_items = failed_items + ?3, status = ?4, completed_at = CASE WHEN ?5 THEN ?6 ELSE completed_at END,
                 lease_holder = NULL, lease_until = ?7
             WHERE job_id = ?8",
        )
        .bind(i64::from(cursor))
        .bind(i64::from(ok))
        .bind(i64::from(n - ok))
        .bind(status.as_str())
        .bind(finished_now)
        .bind(ts(now))
        .bind(ts(after(now, lease)))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let job = fetch(&mut tx, id).await?.ok_or_else(|| corrupt("bulk job vanished in its own transaction"))?;
        let notice = if finished_now { announce(&mut tx, &job, now).await? } else { None };
        tx.commit().await.map_err(db)?;
        Ok(Some(ProgressRecorded { job, notice }))
    }

    async fn fail_bulk_job(&self, id: &BulkJobId, holder: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.write().await?;
        let failed = sqlx::query(
            "UPDATE ipam_bulk_jobs SET status = 'failed', completed_at = ?1, lease_holder = NULL, lease_until = NULL
             WHERE job_id = ?2 AND lease_holder = ?3 AND status = 'processing'",
        )
        .bind(ts(now))
        .bind(id.as_str())
        .bind(holder)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if failed.rows_affected() == 1
            && let Some(job) = fetch(&mut tx, id).await?
        {
            announce(&mut tx, &job, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(failed.rows_affected() == 1)
    }

    async fn stalled_bulk_jobs(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<BulkJobId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT job_id FROM ipam_bulk_jobs WHERE status IN ('pending', 'processing') AND lease_until < ?1
             ORDER BY lease_until LIMIT ?2",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(ids.into_iter().map(BulkJobId::from_stored).collect())
    }

    async fn prune_bulk_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        // Results first (a job never loses its results while it is still listed), in short
        // batches like every other pruning.
        self.delete_in_batches(
            "DELETE FROM ipam_bulk_job_results WHERE (job_id, position) IN (SELECT r.job_id, r.position
                 FROM ipam_bulk_job_results r
                 JOIN ipam_bulk_jobs j ON j.job_id = r.job_id
                 WHERE j.completed_at IS NOT NULL AND j.completed_at < ?1 LIMIT ?2)",
            ts(before),
        )
        .await?;
        let n = self
            .delete_in_batches(
                "DELETE FROM ipam_bulk_jobs WHERE rowid IN (SELECT rowid FROM ipam_bulk_jobs
                     WHERE completed_at IS NOT NULL AND completed_at < ?1 LIMIT ?2)",
                ts(before),
            )
            .await?;
        Ok(n)
    }
}
