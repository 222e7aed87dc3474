//! The benchmark's HTTP client: one keep-alive connection to the server, the bearer token of the
//! benchmarked user, and a timed GET that reads the whole body before the clock stops.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

/// A client of one server, signed in as one user.
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8000`) sending `token`.
    pub(crate) fn new(base: &str, token: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // Straight to the server: a proxy from the environment would be measured too.
            .no_proxy()
            // One connection, kept alive, so every request after the first measures the server
            // and the loopback round trip, not a TCP handshake.
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self { http, base: base.trim_end_matches('/').to_owned(), token })
    }

    /// GETs `path` (with its query) and returns the time from sending to having read the whole
    /// body, and the body. A non-200 answer is an error that quotes the server.
    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<(Duration, Value)> {
        let url = format!("{}{path}", self.base);
        let started = Instant::now();
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET {url}: no answer"))?;
        let status = response.status();
        let body = response.bytes().await.with_context(|| format!("GET {url}: body cut short"))?;
        let elapsed = started.elapsed();
        // Parsed after the clock stopped: the client's JSON work is not the server's latency.
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        anyhow::ensure!(
            status == reqwest::StatusCode::OK,
            "GET {path} answered {status}: {}",
            body.get("message").and_then(Value::as_str).unwrap_or("(no message)")
        );
        Ok((elapsed, body))
    }
}
