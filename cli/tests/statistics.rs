//! The result cache across real processes: two `ipam serve --no-workers` processes on one SQLite
//! database (with their in-process caches, and in a leg ignored unless asked for, one Redis
//! cache they share: `--ignored` with `IPAM_TEST_REDIS_URL`, as CI does). A dashboard cached by
//! one process is never served stale after the other changed the user's data: the change moves
//! the user's data version in the shared database, and the version is part of the cache key.

mod support;

use support::Proc;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

const SECRET: &str = "statistics-test-secret-0123456789";

fn ipam(dir: &Path, prefix: &str, redis: Option<&str>) -> Command {
    let mut cmd = support::ipam(dir, SECRET, prefix, redis);
    cmd.env("IPAM_LOG_FORMAT", "json").env("IPAM_LOG_LEVEL", "info");
    cmd
}

/// An API process (`serve --no-workers`) and the port it printed.
fn api(dir: &Path, prefix: &str, redis: Option<&str>) -> (Proc, u16) {
    support::api(ipam(dir, prefix, redis))
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
