//! The result cache across real processes: two `ipam serve --no-workers` processes on one SQLite
//! database (with their in-process caches, and in a leg ignored unless asked for, one Redis
//! cache they share: `--ignored` with `IPAM_TEST_REDIS_URL`, as CI does). A dashboard cached by
//! one process is never served stale after the other changed the user's data: the change moves
//! the user's data version in the shared database, and the version is part of the cache key.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const SECRET: &str = "statistics-test-secret-0123456789";

fn ipam(dir: &Path, prefix: &str, redis: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipam"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IPAM_DATA_DIR", dir.join("data"))
        .env("IPAM_JWT_SECRET", SECRET)
        .env("IPAM_BIND_ADDR", "127.0.0.1:0")
        .env("IPAM_RATE_LIMITS", "off")
        .env("IPAM_AUTO_MIGRATE", "false")
        .env("IPAM_QUEUE_PREFIX", prefix)
        .env("IPAM_LOG_FORMAT", "json")
        .env("IPAM_LOG_LEVEL", "info");
    if let Some(url) = redis {
        cmd.env("IPAM_REDIS_URL", url);
    }
    cmd
}

/// A child process, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An API process (`serve --no-workers`) and the port it printed.
fn api(dir: &Path, prefix: &str, redis: Option<&str>) -> (Proc, u16) {
    let mut child = ipam(dir, prefix, redis)
        .args(["serve", "--no-workers"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("api starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("api printed its port").expect("log line");
        let Ok(log) = serde_json::from_str::<Value>(&line) else { continue };
        if log["fields"]["message"] == "API listening" {
            break log["fields"]["port"].as_u64().unwrap() as u16;
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Proc(child), port)
}

struct Client {
    http: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Client {
    fn send(&self, req: reqwest::blocking::RequestBuilder, expected: u16) -> Value {
        let r = req.bearer_auth(&self.token).send().unwrap();
        assert_eq!(r.status(), expected);
        r.json().unwrap()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body), 201)
    }

    fn dashboard(&self) -> Value {
        self.send(self.http.get(format!("{}/ipam/statistics/dashboard", self.base)), 200)
    }
}

#[test]
fn a_dashboard_cached_by_one_api_process_is_fresh_after_another_changes_the_data() {
    two_apis(None);
}

#[test]
#[ignore = "Redis: run with --ignored and IPAM_TEST_REDIS_URL set"]
fn a_dashboard_cached_in_redis_is_shared_by_api_processes_and_fresh_after_a_change() {
    two_apis(Some(support::redis_url()));
}

fn two_apis(redis: Option<String>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (dir, redis) = (dir.path(), redis.as_deref());
    let prefix = format!("test-{}", ulid::Ulid::generate());
    let out = ipam(dir, &prefix, redis).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = ipam(dir, &prefix, redis)
        .args(["token", "--user", "u1", "--username", "u1", "--permissions", "ipam:admin"])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (_a, port_a) = api(dir, &prefix, redis);
    let (_b, port_b) = api(dir, &prefix, redis);
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let client =
        |port: u16| Client { http: http.clone(), base: format!("http://127.0.0.1:{port}"), token: token.clone() };
    let (a, b) = (client(port_a), client(port_b));

    let region = a.post("/ipam/regions", json!({"country": "USA", "region_name": "east"}));
    let first = a.dashboard();
    assert_eq!((&first["cached"], &first["total_regions"]), (&json!(false), &json!(1)), "{first}");
    assert_eq!(a.dashboard()["cached"], true, "served again from the cache");
    if redis.is_some() {
        assert_eq!(b.dashboard()["cached"], true, "one Redis cache serves both processes");
    }

    // The other process changes the data: the next read anywhere is computed anew.
    let id = region["region_id"].as_str().unwrap();
    b.post("/ipam/hosts/batch", json!({"region_id": id, "count": 3, "hostname_prefix": "web"}));
    let after = a.dashboard();
    assert_eq!((&after["cached"], &after["total_hosts"]), (&json!(false), &json!(3)), "{after}");
    assert_eq!(a.dashboard()["cached"], true);
}
