//! The queue the API and the workers share: apalis-redis when `IPAM_REDIS_URL` is set,
//! otherwise apalis-sqlite in `<data_dir>/jobs.db` (a file of its own: apalis' migrations
//! and its write traffic stay out of the data database).

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_core::backend::Vacuum;
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use ipam_core::configuration::Settings;
use secrecy::ExposeSecret;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::job::{Envelope, Lane};

/// Redis storage of our envelopes.
pub type RedisQueue = RedisStorage<Envelope>;
/// SQLite storage of our envelopes.
pub type SqliteQueue = SqliteStorage<Envelope>;

// One value per process, cloned only when a worker starts: the size difference is irrelevant.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum Backend {
    Redis { conn: ConnectionManager, jobs: RedisQueue, webhooks: RedisQueue, configs: [apalis_redis::Config; 2] },
    Sqlite { pool: SqlitePool, jobs: SqliteQueue, webhooks: SqliteQueue },
}

/// A handle on both queues; cheap to clone.
#[derive(Clone)]
pub struct JobQueue {
    backend: Backend,
    prefix: String,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue").field("backend", &self.backend_name()).field("prefix", &self.prefix).finish()
    }
}

/// The storage of `lane`, of the two.
fn pick<S: Clone>(lane: Lane, jobs: &S, webhooks: &S) -> S {
    match lane {
        Lane::Jobs => jobs.clone(),
        Lane::Webhooks => webhooks.clone(),
    }
}

/// The queues keep run times in whole seconds (and truncate "now"), so a delay is rounded up
/// and given one more second: a delayed job never starts before it is due, only up to two
/// seconds after.
fn whole_seconds_after(delay: Duration) -> Duration {
    let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    Duration::from_secs(secs + 1)
}

/// The queue name of a lane.
pub fn queue_name(prefix: &str, lane: Lane) -> String {
    format!("{prefix}:{}", lane.as_str())
}

impl JobQueue {
    /// Opens the configured queue backend.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let prefix = settings.queue_prefix.clone();
        let heartbeat = Duration::from_secs(settings.worker_heartbeat_secs);
        let batch = usize::try_from(settings.worker_concurrency).unwrap_or(4);
        let backend = match &settings.redis_url {
            Some(url) => {
                // The client retries a refused connection for about ten seconds before giving up:
                // say what it waits for, so a silent start is not mistaken for a hang.
                let endpoint = ipam_core::configuration::redis_endpoint(url);
                tracing::info!(redis = %endpoint, "waiting for Redis (IPAM_REDIS_URL) for the job queue");
                let conn = apalis_redis::connect(url.expose_secret()).await.with_context(|| {
                    format!("cannot connect to Redis at {endpoint} (IPAM_REDIS_URL) for the job queue; is it running?")
                })?;
                let config = |lane| {
                    apalis_redis::Config::default()
                        .queue(queue_name(&prefix, lane))
                        .heartbeat_interval(heartbeat)
                        .missed_heartbeats(3)
                        .batch_size(batch)
                };
                let configs = [config(Lane::Jobs), config(Lane::Webhooks)];
                Backend::Redis {
                    jobs: RedisStorage::new(conn.clone()).with_config(configs[0].clone()),
                    webhooks: RedisStorage::new(conn.clone()).with_config(configs[1].clone()),
                    conn,
                    configs,
                }
            }
            None => {
                let path = settings.data_dir.join("jobs.db");
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
                }
                // Our own options rather than apalis' `setup()`, which turns durability off.
                let options = SqliteConnectOptions::from_str(&format!("sqlite://{}?mode=rwc", path.display()))?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .context("cannot open the job queue database")?;
                // Several processes starting at once race for apalis' migrations; the losers see a
                // locked or half-recorded migration and simply try again.
                let mut tries = 0;
                loop {
                    match SqliteStorage::<()>::migrations().run(&pool).await {
                        Ok(()) => break,
                        Err(e) if tries < 10 => {
                            tries += 1;
                            tracing::debug!(error = %e, tries, "job queue migration raced another process; retrying");
                            tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                        }
                        Err(e) => return Err(anyhow::Error::new(e).context("cannot migrate the job queue")),
                    }
                }
                let config = |lane| {
                    apalis_sqlite::Config::default()
                        .queue(queue_name(&prefix, lane))
                        .heartbeat_interval(heartbeat)
                        .missed_heartbeats(3)
                        .batch_size(batch)
                };
                Backend::Sqlite {
                    jobs: SqliteStorage::new(&pool).with_config(config(Lane::Jobs)),
                    webhooks: SqliteStorage::new(&pool).with_config(config(Lane::Webhooks)),
                    pool,
                }
            }
        };
        Ok(Self { backend, prefix })
    }

    /// `redis` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Redis { .. } => "redis",
            Backend::Sqlite { .. } => "sqlite",
        }
    }

    /// This queue as the database records it (backend and prefix).
    pub fn binding(&self) -> ipam_core::domain::QueueBinding {
        ipam_core::domain::QueueBinding { backend: self.backend_name().into(), prefix: self.prefix.clone() }
    }

    /// Records this queue as the deployment's when none is recorded yet, and refuses (naming
    /// both) when the database records another: a process on a queue nobody else reads would
    /// look healthy and silently never see the other processes' jobs.
    pub async fn ensure_shared(
        &self,
        store: &dyn ipam_core::storage::Store,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<()> {
        let ours = self.binding();
        let recorded = store.record_queue_binding(&ours, now).await.context("cannot read the recorded job queue")?;
        ours.agrees_with(&recorded).map_err(anyhow::Error::msg)
    }

    /// The queue name prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Enqueues a job to run now.
    pub async fn push(&self, envelope: Envelope) -> anyhow::Result<()> {
        self.push_after(envelope, Duration::ZERO).await
    }

    /// Enqueues a job to run after `delay`.
    pub async fn push_after(&self, envelope: Envelope, delay: Duration) -> anyhow::Result<()> {
        let lane = envelope.job.lane();
        // apalis-sqlite decodes task ids as ULIDs; an id of any other shape poisons the queue.
        let mut builder = TaskBuilder::new(envelope).task_id(TaskId::from_ulid(ulid::Ulid::generate()));
        if !delay.is_zero() {
            builder = builder.run_after(whole_seconds_after(delay));
        }
        let task = builder.build();
        if let Some(mut s) = self.redis(lane) {
            s.push_task(task).await.map_err(|e| anyhow::anyhow!("cannot enqueue on Redis: {e}"))?;
        } else if let Some(mut s) = self.sqlite(lane) {
            s.push_task(task).await.map_err(|e| anyhow::anyhow!("cannot enqueue on SQLite: {e}"))?;
        }
        Ok(())
    }

    /// Jobs waiting (due or scheduled) per queue name.
    pub async fn depth(&self) -> anyhow::Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        match &self.backend {
            Backend::Redis { conn, configs, .. } => {
                for (config, lane) in configs.iter().zip(Lane::ALL) {
                    let mut c = conn.clone();
                    let (active, scheduled): (u64, u64) = redis::pipe()
                        .cmd("LLEN")
                        .arg(config.active_jobs_list())
                        .cmd("ZCARD")
                        .arg(config.scheduled_jobs_set())
                        .query_async(&mut c)
                        .await?;
                    out.push((queue_name(&self.prefix, lane), active + scheduled));
                }
            }
            Backend::Sqlite { pool, .. } => {
                for lane in Lane::ALL {
                    let name = queue_name(&self.prefix, lane);
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM Jobs WHERE job_type = ?1 AND status IN ('Pending', 'Queued')",
                    )
                    .bind(&name)
                    .fetch_one(pool)
                    .await?;
                    out.push((name, u64::try_from(n).unwrap_or(0)));
                }
            }
        }
        Ok(out)
    }

    /// Deletes finished tasks (done or killed) older than `age` from both queues; apalis keeps
    /// them forever otherwise (on Redis, in memory). Returns how many.
    pub async fn vacuum(&self, age: Duration) -> anyhow::Result<usize> {
        let mut n = 0;
        for lane in Lane::ALL {
            if let Some(mut s) = self.redis(lane) {
                n += s.vacuum_before(age).await.map_err(|e| anyhow::anyhow!("cannot vacuum the Redis queue: {e}"))?;
            }
            if let Some(mut s) = self.sqlite(lane) {
                n += s.vacuum_before(age).await.map_err(|e| anyhow::anyhow!("cannot vacuum the SQLite queue: {e}"))?;
            }
        }
        Ok(n)
    }

    /// Checks the queue backend answers.
    pub async fn ping(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Redis { conn, .. } => {
                let mut c = conn.clone();
                let _: String = redis::cmd("PING").query_async(&mut c).await?;
            }
            Backend::Sqlite { pool, .. } => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// The Redis storage of a lane (worker wiring).
    pub(crate) fn redis(&self, lane: Lane) -> Option<RedisQueue> {
        match &self.backend {
            Backend::Redis { jobs, webhooks, .. } => Some(pick(lane, jobs, webhooks)),
            Backend::Sqlite { .. } => None,
        }
    }

    /// The SQLite storage of a lane (worker wiring).
    pub(crate) fn sqlite(&self, lane: Lane) -> Option<SqliteQueue> {
        match &self.backend {
            Backend::Sqlite { jobs, webhooks, .. } => Some(pick(lane, jobs, webhooks)),
            Backend::Redis { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_rounded_up_to_whole_seconds_plus_one() {
        assert_eq!(whole_seconds_after(Duration::from_millis(1)), Duration::from_secs(2));
        assert_eq!(whole_seconds_after(Duration::from_secs(2)), Duration::from_secs(3));
        assert_eq!(whole_seconds_after(Duration::from_millis(2_001)), Duration::from_secs(4));
    }
}
