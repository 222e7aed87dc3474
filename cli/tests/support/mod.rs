//! Shared by the process tests: the `ipam` command they start (on their own data directory,
//! loopback only), API processes and the port they listen on, the Redis server of their Redis
//! legs, and what the worker processes logged, for failure messages.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// `ipam` on the test's data directory and queue prefix, signing tokens with `secret`, listening
/// on loopback ports the OS picks, with rate limits off and migrations left to the test; on Redis
/// when `redis` is given. Tests add what their scenario needs.
pub(crate) fn ipam(dir: &Path, secret: &str, prefix: &str, redis: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipam"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IPAM_DATA_DIR", dir.join("data"))
        .env("IPAM_JWT_SECRET", secret)
        .env("IPAM_BIND_ADDR", "127.0.0.1:0")
        .env("IPAM_WORKER_ADDR", "127.0.0.1:0")
        .env("IPAM_RATE_LIMITS", "off")
        .env("IPAM_AUTO_MIGRATE", "false")
        .env("IPAM_QUEUE_PREFIX", prefix);
    if let Some(url) = redis {
        cmd.env("IPAM_REDIS_URL", url);
    }
    cmd
}

/// A child process, killed on drop.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ipam` (from [`ipam`]) as an API-only process and returns it with the port it printed.
pub(crate) fn api(mut ipam: Command) -> (Proc, u16) {
    let mut child = ipam
        .args(["serve", "--no-workers"])
        .env("IPAM_LOG_FORMAT", "json")
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
    // Keep reading, so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Proc(child), port)
}

/// Every `*.log` file in `dir`, joined: the worker processes write their output there.
pub(crate) fn worker_logs(dir: &Path) -> String {
    let logs: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    logs.join("\n---\n")
}

/// The Redis server of the tests' Redis legs. Those legs are marked ignored (a plain `cargo test`
/// reports them as such, never as passes that checked nothing) and run with `--ignored` and
/// `IPAM_TEST_REDIS_URL` set, which `.ci/run` does.
pub(crate) fn redis_url() -> String {
    std::env::var("IPAM_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .expect("set IPAM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the Redis legs")
}
