//! Test harness: every test gets the real application on port 0 with its own SQLite file in a
//! temporary directory (or its own MongoDB database, see [`APP_MONGODB_URL`]), a real HTTP
//! client, and helpers to act as a given user.

use std::sync::{Arc, Once};

use chrono::Utc;
use ipam_api::{AppState, Application};
use ipam_core::auth::{Permission, Permissions, TokenKeys};
use ipam_core::clock::{ManualClock, SharedClock};
use ipam_core::configuration::{Settings, Switch};
use ipam_core::domain::{UserId, Username};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub mod json;
pub mod receiver;

/// The secret every test app signs tokens with.
pub const TEST_SECRET: &str = "test-secret-0123456789abcdef";

/// Read, allocate, update and release (everything but admin).
pub const USER_PERMISSIONS: &[Permission] =
    &[Permission::Read, Permission::Allocate, Permission::Update, Permission::Release];

static TRACING: Once = Once::new();

/// Logs go to the test output only when `TEST_LOG` is set.
fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt().with_env_filter("info").with_test_writer().try_init();
        }
    });
}

/// Runs the test apps on MongoDB instead of their own SQLite file when set (a server URL
/// without a database path, e.g. `mongodb://127.0.0.1:27017` or `…/?directConnection=true`).
pub const APP_MONGODB_URL: &str = "IPAM_TEST_APP_MONGODB_URL";

/// The MongoDB URL of the apps whose data lives in `dir`, when they run on MongoDB: one
/// database per directory (apps sharing a directory share it), named after the directory.
pub fn app_mongodb_url(dir: &std::path::Path) -> Option<(String, String)> {
    let server = std::env::var(APP_MONGODB_URL).ok().filter(|u| !u.trim().is_empty())?;
    let leaf = dir.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let name: String =
        format!("ipam_app_{leaf}").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base.trim_end_matches('/').to_owned(), format!("?{query}")),
        None => (server.trim_end_matches('/').to_owned(), String::new()),
    };
    Some((format!("{base}/{name}{query}"), name))
}

/// Settings for a test app in `dir`: loopback, port 0, rate limits off; SQLite in `dir`, or
/// MongoDB when [`APP_MONGODB_URL`] is set.
pub fn test_settings(dir: &std::path::Path) -> Settings {
    Settings {
        bind_addr: "127.0.0.1:0".parse().expect("loopback address"),
        data_dir: dir.to_path_buf(),
        database_url: app_mongodb_url(dir).map(|(url, _)| SecretString::from(url)),
        jwt_secret: Some(SecretString::from(TEST_SECRET.to_owned())),
        rate_limits: Switch::Off,
        ..Settings::default()
    }
}

/// Drops the MongoDB database of `dir`'s apps, if they run on MongoDB.
fn drop_app_database(dir: &std::path::Path) {
    if let Some((url, name)) = app_mongodb_url(dir) {
        drop_mongo_database(url, name);
    }
}

/// Drops MongoDB database `name` on the server at `url`. Blocking, with a client on a runtime
/// of its own: it runs from `Drop`, maybe on a test's single-threaded runtime, whose driver
/// tasks could not run while this blocks (a deadlock with the test's own client).
pub fn drop_mongo_database(url: String, name: String) {
    let _ = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            rt.block_on(async {
                if let Ok(client) = mongodb::Client::with_uri_str(&url).await {
                    let _ = client.database(&name).drop().await;
                    client.shutdown().immediate(true).await;
                }
            });
        }
    })
    .join();
}

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// Shared state (store access for assertions).
    pub state: AppState,
    /// The clock the service uses; tests move it.
    pub clock: Arc<ManualClock>,
    /// HTTP client.
    pub client: reqwest::Client,
    keys: TokenKeys,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Keeps the data directory alive as long as the app.
    pub dir: Arc<TempDir>,
}

/// Starts an app with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts an app after `configure` adjusted the settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
    spawn_app_in(dir, configure).await
}

/// Starts an app whose data lives in `dir` (several apps may share one directory).
pub async fn spawn_app_in(dir: Arc<TempDir>, configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_tracing();
    let mut settings = test_settings(dir.path());
    configure(&mut settings);
    let keys = TokenKeys::new(settings.jwt_secret.as_ref().expect("test settings carry a secret"));
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let shared: SharedClock = clock.clone();
    // Workers stay off: tests drain the queues explicitly (`state.platform.drain()`) with the
    // manual clock, so nothing runs behind their back.
    let app = Application::build_with_clock(settings, shared).await.expect("application builds").with_workers(false);
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("HTTP client");
    TestApp { address, state, clock, client, keys, stop: Some(stop), server: Some(server), dir }
}

impl TestApp {
    /// A token for `user` with `permissions`.
    pub fn token(&self, user: &str, permissions: &[Permission]) -> String {
        self.keys
            .mint(
                &UserId::parse(user).expect("valid user id"),
                &Username::parse(user).expect("valid username"),
                Permissions::of(permissions),
                chrono::Duration::hours(1),
                Utc::now(),
            )
            .expect("token mints")
    }

    /// A caller holding every permission but admin.
    pub fn user(&self, id: &str) -> Caller<'_> {
        self.caller(id, USER_PERMISSIONS)
    }

    /// A caller holding `ipam:admin`.
    pub fn admin(&self, id: &str) -> Caller<'_> {
        self.caller(id, &[Permission::Admin])
    }

    /// A caller with exactly `permissions`.
    pub fn caller(&self, id: &str, permissions: &[Permission]) -> Caller<'_> {
        Caller { app: self, token: Some(self.token(id, permissions)) }
    }

    /// A caller without any token.
    pub fn anonymous(&self) -> Caller<'_> {
        Caller { app: self, token: None }
    }

    /// A caller sending a raw `Authorization` value.
    pub fn with_token(&self, token: &str) -> Caller<'_> {
        Caller { app: self, token: Some(token.to_owned()) }
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The last app of its directory takes its MongoDB database with it.
        if Arc::strong_count(&self.dir) == 1 {
            drop_app_database(self.dir.path());
        }
    }
}

/// An HTTP response, read completely.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub text: String,
    /// Body as JSON (`Null` when empty or not JSON).
    pub json: Value,
}

impl TestResponse {
    /// Status as a number.
    pub fn code(&self) -> u16 {
        self.status.as_u16()
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the error envelope with `code` and returns the body.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.code(), status, "unexpected status; body: {}", self.text);
        assert_eq!(self.json["success"], Value::Bool(false), "envelope: {}", self.text);
        assert_eq!(self.json["error"], code, "error code; body: {}", self.text);
        assert!(self.json["message"].as_str().is_some_and(|m| !m.is_empty()), "message: {}", self.text);
        assert!(self.json["details"].is_object(), "details: {}", self.text);
        &self.json
    }

    /// Asserts a status and returns the body.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.code(), status, "unexpected status; body: {}", self.text);
        &self.json
    }
}

/// Sends requests as one user.
#[derive(Clone)]
pub struct Caller<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl Caller<'_> {
    /// Sends a request; `body` is sent as JSON when given.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        let mut req = self.app.client.request(method, format!("{}{}", self.app.address, path));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        read(req.send().await.expect("request is sent")).await
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(&self, method: Method, path: &str, content_type: &str, body: Vec<u8>) -> TestResponse {
        let mut req = self
            .app
            .client
            .request(method, format!("{}{}", self.app.address, path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        read(req.send().await.expect("request is sent")).await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, None).await
    }

    /// GET with an `Accept` header (a browser sends `text/html,…`).
    pub async fn get_accepting(&self, path: &str, accept: &str) -> TestResponse {
        let mut req = self.app.client.get(format!("{}{}", self.app.address, path)).header("accept", accept);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        read(req.send().await.expect("request is sent")).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send(Method::POST, path, Some(&body)).await
    }

    /// PATCH with a JSON body.
    pub async fn patch(&self, path: &str, body: Value) -> TestResponse {
        self.send(Method::PATCH, path, Some(&body)).await
    }

    /// DELETE without a body.
    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(Method::DELETE, path, None).await
    }

    /// Allocates a region and returns its JSON (panics unless 201).
    pub async fn create_region(&self, country: &str, name: &str) -> Value {
        let r = self.post("/ipam/regions", serde_json::json!({ "country": country, "region_name": name })).await;
        r.assert_status(201).clone()
    }

    /// Allocates `count` hosts named `{prefix}-NNN` in the region, up to 100 per batch request
    /// (panics unless each answers 201); returns their ids in allocation order.
    pub async fn allocate_hosts(&self, region_id: &str, prefix: &str, count: u32) -> Vec<String> {
        let mut ids = Vec::new();
        let mut left = count;
        while left > 0 {
            let n = left.min(100);
            let body = serde_json::json!({"region_id": region_id, "count": n, "hostname_prefix": prefix});
            let batch = self.post("/ipam/hosts/batch", body).await.assert_status(201).clone();
            let hosts = batch["hosts"].as_array().expect("the batch lists its hosts");
            ids.extend(hosts.iter().map(|h| h["host_id"].as_str().expect("host_id").to_owned()));
            left -= n;
        }
        ids
    }

    /// Allocates a host and returns its JSON (panics unless 201).
    pub async fn create_host(&self, region_id: &str, hostname: &str) -> Value {
        let r = self.post("/ipam/hosts", serde_json::json!({ "region_id": region_id, "hostname": hostname })).await;
        r.assert_status(201).clone()
    }
}

async fn read(response: reqwest::Response) -> TestResponse {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body is read");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    TestResponse { status, headers, text, json }
}
