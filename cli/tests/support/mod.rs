//! Shared by the process tests: what the worker processes logged, for failure messages.

use std::path::Path;

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
