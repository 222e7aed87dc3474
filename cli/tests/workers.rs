//! `ipam worker` processes as operators run them: several against one queue, each cron tick
//! executed exactly once, and SIGTERM draining before exit. On the embedded SQLite queue, and on
//! Redis in a leg that is ignored unless asked for (`--ignored` with `IPAM_TEST_REDIS_URL`; CI does).

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn worker(dir: &Path, prefix: &str, redis: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipam"));
    cmd.arg("worker")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IPAM_DATA_DIR", dir.join("data"))
        .env("IPAM_WORKER_ADDR", "127.0.0.1:0")
        .env("IPAM_AUTO_MIGRATE", "false")
        .env("IPAM_QUEUE_PREFIX", prefix)
        .env("IPAM_LOG_LEVEL", "warn")
        // Every second, so a few seconds hold several ticks; the others stay out of the way.
        .env("IPAM_SCHEDULE_RESERVATION_EXPIRY", "* * * * * *")
        .env("IPAM_SCHEDULE_OUTBOX_RELAY", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_SHARE_EXPIRY", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_NOTIFICATION_CLEANUP", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_DELIVERY_PRUNING", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_RULE_CATCH_UP", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_FORECAST_RECOMPUTE", "0 0 0 1 1 *");
    if let Some(url) = redis {
        cmd.env("IPAM_REDIS_URL", url);
    }
    let log = std::fs::File::create(dir.join(format!("{}.log", ulid::Ulid::generate()))).unwrap();
    cmd.stdout(Stdio::null()).stderr(log.try_clone().unwrap()).stdout(log).spawn().expect("ipam worker starts")
}

/// (tick, attempts, outcome) of every recorded run of a schedule.
fn runs(dir: &Path, schedule: &str) -> Vec<(String, i64, Option<String>)> {
    let url = format!("sqlite://{}?mode=rw", dir.join("data/ipam.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = ipam_core::storage::sqlite::SqliteStore::connect(&url, 1).await.unwrap();
        sqlx::query_as("SELECT tick_at, attempts, outcome FROM ipam_schedule_runs WHERE schedule = ?1 ORDER BY tick_at")
            .bind(schedule)
            .fetch_all(store.pool())
            .await
            .unwrap()
    })
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "a worker did not stop within 60 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn with_three_worker_processes_on_the_sqlite_queue_each_cron_tick_runs_exactly_once_and_sigterm_stops_them() {
    three_workers(None);
}

#[test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
fn with_three_worker_processes_on_redis_each_cron_tick_runs_exactly_once_and_sigterm_stops_them() {
    three_workers(Some(&support::redis_url()));
}

fn three_workers(redis: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let migrate = Command::new(env!("CARGO_BIN_EXE_ipam"))
        .current_dir(dir.path())
        .env_clear()
        .env("IPAM_DATA_DIR", dir.path().join("data"))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let prefix = format!("test-{}", ulid::Ulid::generate());
    let mut workers: Vec<Child> = (0..3).map(|_| worker(dir.path(), &prefix, redis)).collect();

    // Wait (bounded) until several ticks have been run to completion.
    let deadline = Instant::now() + Duration::from_secs(120);
    let finished = loop {
        let all = runs(dir.path(), "reservation_expiry");
        let done = all.iter().filter(|r| r.2.is_some()).count();
        if done >= 5 {
            break all;
        }
        if Instant::now() > deadline {
            let logs = support::worker_logs(dir.path());
            panic!("only {done} ticks finished in 120 s: {all:?}\nworker logs:\n{}", logs);
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    for w in &mut workers {
        let status = terminate(w);
        if !status.success() {
            let logs = support::worker_logs(dir.path());
            panic!("a worker exited with {status} after SIGTERM; logs:\n{}", logs);
        }
    }
    // Each tick is one row (the claim), and a tick run twice would show two attempts.
    for (tick, attempts, outcome) in runs(dir.path(), "reservation_expiry") {
        if outcome.is_some() {
            assert_eq!(attempts, 1, "tick {tick} ran {attempts} times");
            assert_eq!(outcome.as_deref(), Some("succeeded"), "tick {tick}");
        }
    }
    let mut ticks: Vec<&String> = finished.iter().map(|r| &r.0).collect();
    ticks.dedup();
    assert_eq!(ticks.len(), finished.len(), "a tick was claimed twice");
}
