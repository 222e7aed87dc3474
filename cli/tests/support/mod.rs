//! Shared by the process tests: the Redis server of their Redis legs, and what the worker
//! processes logged, for failure messages.

use std::path::Path;

/// Every `*.log` file in `dir`, joined: the worker processes write their output there.
// Each test binary compiles this module; the ones without worker processes never call it.
#[allow(dead_code)]
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
