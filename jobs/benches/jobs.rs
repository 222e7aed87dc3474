//! Job platform benchmark: `cargo bench -p ipam-jobs`.
//!
//! For each queue backend (SQLite always; Redis when `IPAM_BENCH_REDIS_URL` is set, or a Redis
//! answers on 127.0.0.1:6379) it prints:
//! - jobs/s: N scheduled-job runs pushed at once and drained by one in-process worker set;
//! - event → delivery latency percentiles: regions allocated through the service one after the
//!   other, each `region.created` event dispatched and POSTed to a local receiver; latency is
//!   the event's commit time to the receiver getting the request.
//!
//! Figures, not assertions: run it on a quiet machine and compare runs on the same machine.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use ipam_core::auth::{Actor, Permission, Permissions};
use ipam_core::clock::SystemClock;
use ipam_core::configuration::{Settings, Switch};
use ipam_core::domain::{
    Description, NewRegion, RegionName, Tags, UserId, Username, Webhook, WebhookEvents, WebhookUrl,
};
use ipam_core::service::{Ipam, WebhookRules};
use ipam_jobs::target::PublicTargets;
use ipam_jobs::{Envelope, Job, JobQueue, Platform, ScheduleName, start_workers};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JOBS: usize = 2_000;
const EVENTS: usize = 200;

fn settings(dir: &std::path::Path, redis: Option<&str>) -> Settings {
    Settings {
        data_dir: dir.to_path_buf(),
        rate_limits: Switch::Off,
        redis_url: redis.map(|u| SecretString::from(u.to_owned())),
        queue_prefix: format!("bench-{}", ulid::Ulid::generate()),
        worker_concurrency: 8,
        worker_poll_ms: 20,
        webhook_allow_private_targets: true,
        ..Settings::default()
    }
}

/// A receiver that answers 200 and records, per request, the latency from the body's
/// `timestamp` (the event's commit time) to arrival.
async fn receiver(latencies: Arc<Mutex<Vec<Duration>>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            let latencies = latencies.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read until the JSON body is complete (headers, then one JSON object).
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.ends_with(b"}") {
                        break;
                    }
                }
                let arrived = Utc::now();
                let text = String::from_utf8_lossy(&buf);
                if let Some(start) = text.find("\r\n\r\n")
                    && let Ok(body) = serde_json::from_str::<serde_json::Value>(&text[start + 4..])
                    && let Some(ts) = body["timestamp"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                {
                    let l = (arrived - ts.with_timezone(&Utc)).to_std().unwrap_or_default();
                    latencies.lock().unwrap().push(l);
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            });
        }
    });
    port
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn bench(backend: &str, redis: Option<&str>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = settings(dir.path(), redis);
    let store = ipam_core::storage::open(&settings).await?;
    let queue = JobQueue::open(&settings).await?;
    let clock = Arc::new(SystemClock);
    let service = ipam_jobs::open_service(&settings, store.clone(), clock.clone()).await?;
    let platform = Arc::new(Platform::new(service, queue.clone(), Arc::new(settings.clone()))?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = start_workers(platform.clone(), async move {
        let _ = stopped.await;
    });

    // 1. Throughput: N claimed ticks of a no-op schedule, pushed at once.
    let base = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let ticks: Vec<DateTime<Utc>> = (0..JOBS).map(|i| base + chrono::Duration::seconds(i as i64)).collect();
    for t in &ticks {
        store.claim_tick("notification_cleanup", *t, "bench", Utc::now()).await?;
    }
    let started = Instant::now();
    for t in &ticks {
        queue.push(Envelope::new(Job::Scheduled { schedule: ScheduleName::NotificationCleanup, tick: *t })).await?;
    }
    let pushed = started.elapsed();
    // Completion: every job records its tick's outcome (under its schedule's name).
    loop {
        let runs = store.ticks("notification_cleanup", u32::MAX).await?;
        let done = runs.iter().filter(|r| r.outcome.is_some()).count();
        if done >= JOBS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    println!(
        "{backend:>6}: {JOBS} jobs pushed in {:.0} ms ({:.0}/s), processed in {:.2} s → {:.0} jobs/s",
        pushed.as_secs_f64() * 1000.0,
        JOBS as f64 / pushed.as_secs_f64(),
        took.as_secs_f64(),
        JOBS as f64 / took.as_secs_f64()
    );

    // 2. Event → delivery latency.
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let port = receiver(latencies.clone()).await;
    let user = UserId::parse("bench").unwrap();
    let url = WebhookUrl::parse(&format!("http://127.0.0.1:{port}/hook")).unwrap();
    let webhook = Webhook::new(user.clone(), url, WebhookEvents::parse(&["region.created"]).unwrap(), None, Utc::now());
    store.create_webhook(&webhook, 10).await?;
    let rules = WebhookRules {
        targets: Arc::new(PublicTargets { allow_private: settings.webhook_allow_private_targets }),
        max_per_user: settings.webhook_max_per_user,
    };
    let ipam = Ipam::new(store.clone(), clock, settings.quota_defaults(), rules).await?;
    let actor = Actor {
        user_id: user,
        username: Username::parse("bench").unwrap(),
        permissions: Permissions::of(&[Permission::Admin]),
    };
    for i in 0..EVENTS {
        let region = NewRegion {
            name: RegionName::parse(&format!("bench-{i}")).unwrap(),
            description: Description::parse("").unwrap(),
            owner: None,
            tags: Tags::empty(),
        };
        ipam.allocate_region(&actor, "USA", region).await?;
        platform.kick_dispatch().await;
        // One event at a time: the figure is the latency of one change, not of a backlog.
        let want = i + 1;
        let deadline = Instant::now() + Duration::from_secs(30);
        while latencies.lock().unwrap().len() < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let mut all = latencies.lock().unwrap().clone();
    all.sort();
    println!(
        "{backend:>6}: event → delivery over {} events: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        percentile(&all, 0.50).as_secs_f64() * 1000.0,
        percentile(&all, 0.95).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
    let _ = stop.send(());
    workers.wait().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: run only
    // when asked to benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with `cargo bench -p ipam-jobs`");
        return Ok(());
    }
    println!("job platform benchmark (worker concurrency 8 per queue, poll 20 ms)");
    bench("sqlite", None).await?;
    let redis = std::env::var("IPAM_BENCH_REDIS_URL").ok().or_else(|| {
        std::net::TcpStream::connect_timeout(&"127.0.0.1:6379".parse().unwrap(), Duration::from_millis(200))
            .ok()
            .map(|_| "redis://127.0.0.1:6379".to_owned())
    });
    match redis {
        Some(url) => bench("redis", Some(&url)).await?,
        None => println!(" redis: skipped (set IPAM_BENCH_REDIS_URL or start Redis on 127.0.0.1:6379)"),
    }
    Ok(())
}
