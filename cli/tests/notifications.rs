//! Notification rules evaluated by real processes: an API that only enqueues, two `ipam worker`
//! processes sharing one SQLite database and one queue (the embedded SQLite queue, and Redis in
//! a leg ignored unless asked for: `--ignored` with `IPAM_TEST_REDIS_URL`, as CI does), and 200
//! `host.allocated` events matched by one event rule. Every event is fanned out by exactly one
//! dispatcher and every host gets exactly one notification.

mod support;

use support::Proc;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECRET: &str = "notifications-test-secret-0123456789";
/// Hosts allocated: half before the workers start (a backlog they race for), half while they run.
const HOSTS: usize = 200;
/// Client threads allocating at once.
const CLIENTS: usize = 4;

/// An `ipam` command on the test's data directory and queue, logging JSON.
fn ipam(dir: &Path, prefix: &str, redis: Option<&str>) -> Command {
    let mut cmd = support::ipam(dir, SECRET, prefix, redis);
    cmd.env("IPAM_WORKER_HEARTBEAT_SECS", "1")
        .env("IPAM_WORKER_POLL_MS", "100")
        .env("IPAM_LOG_FORMAT", "json")
        .env("IPAM_LOG_LEVEL", "info")
        // The relay dispatches too, every second: one more dispatcher racing the kicked ones.
        .env("IPAM_SCHEDULE_OUTBOX_RELAY", "* * * * * *")
        .env("IPAM_SCHEDULE_RESERVATION_EXPIRY", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_SHARE_EXPIRY", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_NOTIFICATION_CLEANUP", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_DELIVERY_PRUNING", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_RULE_CATCH_UP", "0 0 0 1 1 *")
        .env("IPAM_SCHEDULE_FORECAST_RECOMPUTE", "0 0 0 1 1 *");
    cmd
}

/// The API (`serve --no-workers`) and the port it printed.
fn api(dir: &Path, prefix: &str, redis: Option<&str>) -> (Proc, u16) {
    support::api(ipam(dir, prefix, redis))
}

/// An `ipam worker` writing its log to `worker-{n}.log`.
fn worker(dir: &Path, prefix: &str, redis: Option<&str>, n: usize) -> Proc {
    let log = std::fs::File::create(dir.join(format!("worker-{n}.log"))).unwrap();
    Proc(ipam(dir, prefix, redis).arg("worker").stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap())
}

/// SIGTERM, then the exit status (in-flight jobs finish first).
fn terminate(p: &mut Proc) -> std::process::ExitStatus {
    assert!(Command::new("kill").args(["-TERM", &p.0.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = p.0.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "a worker did not stop within 60 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Events fanned out and notifications created, summed over the finished dispatch and relay
/// jobs a worker logged (their summaries say "N events dispatched, .., M notifications created").
fn dispatched(log: &Path) -> (u64, u64) {
    let count = |summary: &str, what: &str| -> u64 {
        summary.split_once(what).and_then(|(before, _)| before.rsplit(' ').next()?.parse().ok()).unwrap_or(0)
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "job done")
        .filter_map(|l| l["fields"]["summary"].as_str().map(str::to_owned))
        .fold((0, 0), |(e, n), s| (e + count(&s, " events dispatched"), n + count(&s, " notifications created")))
}

/// (events in the outbox, of which not yet dispatched).
fn outbox(dir: &Path) -> (i64, i64) {
    let url = format!("sqlite://{}?mode=rw", dir.join("data/ipam.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = ipam_core::storage::sqlite::SqliteStore::connect(&url, 1).await.unwrap();
        sqlx::query_as("SELECT COUNT(*), COUNT(*) - COUNT(dispatched_at) FROM ipam_event_outbox")
            .fetch_one(store.pool())
            .await
            .unwrap()
    })
}

struct Client {
    http: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Client {
    fn post(&self, path: &str, body: Value) -> Value {
        let r = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().unwrap();
        assert_eq!(r.status(), 201, "POST {path} {body}");
        r.json().unwrap()
    }

    fn get(&self, path: &str) -> Value {
        let r = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().unwrap()
    }

    /// Allocates hosts `from..to` named `h-{n}`, from several threads at once; their ids.
    fn allocate(&self, region: &str, from: usize, to: usize) -> Vec<String> {
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..CLIENTS)
                .map(|t| {
                    s.spawn(move || {
                        (from + t..to)
                            .step_by(CLIENTS)
                            .map(|n| {
                                let h = self
                                    .post("/ipam/hosts", json!({"region_id": region, "hostname": format!("h-{n}")}));
                                h["host_id"].as_str().expect("a host id").to_owned()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
        })
    }

    /// Every notification, page by page.
    fn notifications(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let r = self.get(&format!("/ipam/notifications?page_size=100&page={page}"));
            all.extend(r["results"].as_array().unwrap().iter().cloned());
            if r["pagination"]["has_next"] != true {
                return all;
            }
        }
        unreachable!()
    }
}

#[test]
fn two_workers_on_the_sqlite_queue_create_one_notification_per_event_for_200_events() {
    two_workers(None);
}

#[test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
fn two_workers_on_redis_create_one_notification_per_event_for_200_events() {
    two_workers(Some(support::redis_url()));
}

fn two_workers(redis: Option<String>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (dir, redis) = (dir.path(), redis.as_deref());
    let prefix = format!("test-{}", ulid::Ulid::generate());
    let out = ipam(dir, &prefix, redis).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = ipam(dir, &prefix, redis)
        .args(["token", "--user", "u1", "--username", "u1", "--permissions", "ipam:admin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (_api, port) = api(dir, &prefix, redis);
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let c = Client { http, base: format!("http://127.0.0.1:{port}"), token };

    c.post(
        "/ipam/notifications/rules",
        json!({"rule_name": "every host", "conditions": {"event_types": ["host.allocated"]}}),
    );
    let region = c.post("/ipam/regions", json!({"country": "USA", "region_name": "r-notify"}));
    let region = region["region_id"].as_str().expect("a region id").to_owned();
    // The first half waits in the outbox, its dispatch jobs queued, until both workers start.
    let mut hosts = c.allocate(&region, 0, HOSTS / 2);
    let mut workers = [worker(dir, &prefix, redis, 1), worker(dir, &prefix, redis, 2)];
    hosts.extend(c.allocate(&region, HOSTS / 2, HOSTS));
    let written = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let total = c.get("/ipam/notifications?page_size=1")["pagination"]["total_count"].as_u64().unwrap();
        if total >= HOSTS as u64 && outbox(dir).1 == 0 {
            break;
        }
        if Instant::now() > deadline {
            let logs = support::worker_logs(dir);
            panic!("{total} notifications, outbox {:?} after 120 s; worker logs:\n{logs}", outbox(dir));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let settled = started.elapsed();
    // Stopped with SIGTERM, each worker finishes its jobs and logs their summaries.
    for w in &mut workers {
        let status = terminate(w);
        assert!(status.success(), "a worker exited with {status}; logs:\n{}", support::worker_logs(dir));
    }

    let all = c.notifications();
    assert_eq!(all.len(), HOSTS, "one notification per host.allocated event: {all:#?}");
    let ids: HashSet<&str> = all.iter().map(|n| n["notification_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), HOSTS, "no notification is listed twice");
    let about: HashSet<&str> = all.iter().filter_map(|n| n["resource_id"].as_str()).collect();
    let expected: HashSet<&str> = hosts.iter().map(String::as_str).collect();
    assert_eq!(expected.len(), HOSTS);
    assert_eq!(about, expected, "each host has its notification");
    for n in &all {
        assert_eq!(n["notification_type"], "event_rule", "{n}");
        assert_eq!(n["resource_type"], "host", "{n}");
    }

    // No event was fanned out twice: the dispatchers' counts add up to the outbox, exactly.
    let per_worker: Vec<(u64, u64)> = (1..=2).map(|n| dispatched(&dir.join(format!("worker-{n}.log")))).collect();
    let (events, created) = per_worker.iter().fold((0, 0), |(e, n), w| (e + w.0, n + w.1));
    let (in_outbox, pending) = outbox(dir);
    assert_eq!(pending, 0);
    assert_eq!(
        events as i64,
        in_outbox,
        "events dispatched per worker {per_worker:?} against {in_outbox} in the outbox; logs:\n{}",
        support::worker_logs(dir)
    );
    assert_eq!(created, HOSTS as u64, "notifications created per worker: {per_worker:?}");
    eprintln!(
        "{HOSTS} events written in {written:?}, all notified after {settled:?}; (events, notifications) per worker: {per_worker:?}"
    );
}
