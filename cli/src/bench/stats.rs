//! `ipam bench stats`: dashboard and forecast latency of the benchmarked user, cached and
//! uncached, over HTTP on one keep-alive connection and (when the server runs in this process)
//! as the service call alone.
//!
//! The figures are judged against the goals of issue 12: uncached dashboard p99 < 10 ms, cached
//! dashboard < 1 ms of server time, forecast p99 < 20 ms. "Server time" is the in-process
//! `Ipam::dashboard` call (no HTTP, no JSON); against a server elsewhere (`--url`) only the HTTP
//! round trip can be measured, and it bounds the server time from above.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ipam_api::Application;
use ipam_core::auth::{Actor, Permission, Permissions, TokenKeys};
use ipam_core::configuration::{Settings, Switch, resolve_jwt_secret};
use ipam_core::domain::statistics::forecast::{DEFAULT_DAYS_AHEAD, ForecastTarget};
use ipam_core::domain::{RegionId, UserId, Username};
use ipam_core::service::Ipam;
use serde_json::Value;

use super::client::Client;
use super::plan::user_id;
use super::report::{Goal, Row, Summary, table};

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub(crate) struct StatsOptions {
    /// Measured requests per case.
    pub(crate) requests: usize,
    /// Unmeasured requests per case before measuring (fill the cache and the page cache).
    pub(crate) warmup: usize,
    /// A running server; `None` builds the application in this process.
    pub(crate) url: Option<String>,
}

/// One measured case.
struct Case {
    label: &'static str,
    path: String,
    fresh: bool,
    call: Call,
    /// The goal, judged on the HTTP figure (`http`) or on the server time (`!http`).
    goal: Option<(Goal, bool)>,
}

/// The service call behind a case.
#[derive(Clone)]
enum Call {
    Dashboard,
    Forecast(ForecastTarget),
}

/// Runs the benchmark and returns the report to print.
pub(crate) async fn run(settings: Settings, opts: &StatsOptions) -> anyhow::Result<String> {
    anyhow::ensure!(opts.requests >= 1, "--requests must be at least 1");
    let user = UserId::from_stored(user_id(0));
    let username = Username::from_stored(user_id(0));
    let keys = TokenKeys::new(&resolve_jwt_secret(&settings)?);
    let token = keys.mint(
        &user,
        &username,
        Permissions::of(&[Permission::Read]),
        chrono::Duration::hours(1),
        chrono::Utc::now(),
    )?;
    let actor = Actor { user_id: user, username, permissions: Permissions::of(&[Permission::Read]) };

    let mut server = None;
    let base = match &opts.url {
        Some(url) => url.clone(),
        None => {
            let s = InProcess::start(settings.clone()).await?;
            let base = format!("http://127.0.0.1:{}", s.port);
            server = Some(s);
            base
        }
    };
    let client = Client::new(&base, token)?;
    let (_, dashboard) = client.get("/ipam/statistics/dashboard?fresh=true").await?;
    let held = |k: &str| dashboard.get(k).and_then(Value::as_u64).unwrap_or(0);
    anyhow::ensure!(held("total_regions") > 0, "{} holds no regions: run `ipam bench seed` first", user_id(0));
    let country = dashboard["top_countries"][0]["country_code"].as_str().context("no top country")?.to_owned();
    let region = busiest_region(&client, &country).await?;

    let cases = cases(&country, &region);
    let mut http_rows = Vec::new();
    for c in &cases {
        let summary = measure_http(&client, c, opts).await?;
        let (goal, note) = match c.goal {
            Some((g, true)) => (Some(g), ""),
            Some((_, false)) if server.is_some() => (None, "judged on server time below"),
            // No in-process figure: the round trip is the only, and an upper, bound.
            Some((g, false)) => (Some(g), ""),
            None => (None, ""),
        };
        http_rows.push(Row { case: c.label.to_owned(), summary, goal, note });
    }
    let mut out = String::new();
    if cfg!(debug_assertions) {
        out.push_str("Note: this is a debug build; measure with a release build (cargo build --release).\n");
    }
    out.push_str(&size_line(&settings, opts, held("total_regions"), held("total_hosts")).await);
    out.push_str(&format!(
        "Requests per case: {} measured after {} warm-up; country {country}, region {region}\n\n",
        opts.requests, opts.warmup
    ));
    out.push_str(&table(
        "HTTP round trip (client side: request sent -> whole body read; one keep-alive client on loopback), ms",
        &http_rows,
    ));
    if let Some(s) = &server {
        let mut rows = Vec::new();
        for c in &cases {
            let summary = measure_service(&s.ipam, &actor, c, opts).await?;
            let goal = c.goal.and_then(|(g, http)| (!http).then_some(g));
            rows.push(Row { case: c.label.to_owned(), summary, goal, note: "(goal judged on HTTP above)" });
        }
        out.push('\n');
        out.push_str(&table("Server time (the service call in this process: no HTTP, no JSON), ms", &rows));
    } else {
        out.push_str("\nServer time: not measured (the server runs elsewhere); the HTTP round trip bounds it.\n");
    }
    if let Some(s) = server {
        s.stop().await?;
    }
    Ok(out)
}

/// The six cases, each with its goal (issue 12).
fn cases(country: &str, region: &str) -> Vec<Case> {
    let country_path = format!("/ipam/statistics/forecast/country/{country}");
    let region_path = format!("/ipam/statistics/forecast/region/{region}");
    let country_target = Call::Forecast(ForecastTarget::Country(country.to_owned()));
    let region_target = Call::Forecast(ForecastTarget::Region(RegionId::from_stored(region.to_owned())));
    let case = |label, path: &str, fresh, call: &Call, goal| Case {
        label,
        path: if fresh { format!("{path}?fresh=true") } else { path.to_owned() },
        fresh,
        call: call.clone(),
        goal,
    };
    vec![
        case(
            "dashboard ?fresh=true (uncached)",
            "/ipam/statistics/dashboard",
            true,
            &Call::Dashboard,
            Some((Goal::p99_ms(10), true)),
        ),
        case(
            "dashboard (cached)",
            "/ipam/statistics/dashboard",
            false,
            &Call::Dashboard,
            Some((Goal::p99_ms(1), false)),
        ),
        case("forecast country ?fresh=true", &country_path, true, &country_target, Some((Goal::p99_ms(20), true))),
        case("forecast country (cached)", &country_path, false, &country_target, Some((Goal::p99_ms(20), true))),
        case("forecast region ?fresh=true", &region_path, true, &region_target, Some((Goal::p99_ms(20), true))),
        case("forecast region (cached)", &region_path, false, &region_target, Some((Goal::p99_ms(20), true))),
    ]
}

/// The region of `country` holding the most hosts (among the first 100): the longest history.
async fn busiest_region(client: &Client, country: &str) -> anyhow::Result<String> {
    let (_, page) = client.get(&format!("/ipam/regions?country={country}&page_size=100")).await?;
    let regions = page["results"].as_array().context("regions list has no results")?;
    let busiest = regions.iter().max_by_key(|r| r["allocated_hosts"].as_u64().unwrap_or(0)).context("no region")?;
    Ok(busiest["region_id"].as_str().context("region without id")?.to_owned())
}

/// Times `warmup + requests` GETs of a case, keeping the last `requests`; every answer must say
/// it was (or was not) served from the cache, as the case expects.
async fn measure_http(client: &Client, c: &Case, opts: &StatsOptions) -> anyhow::Result<Summary> {
    let mut samples = Vec::with_capacity(opts.requests);
    for i in 0..opts.warmup + opts.requests {
        let (took, body) = client.get(&c.path).await?;
        anyhow::ensure!(
            body["cached"].as_bool() == Some(!c.fresh) || (i == 0 && !c.fresh),
            "GET {} answered cached={} (is the result cache on?)",
            c.path,
            body["cached"]
        );
        if i >= opts.warmup {
            samples.push(took);
        }
    }
    Summary::of(samples).context("no samples")
}

/// Times the service call behind a case, in this process, the same number of times.
async fn measure_service(ipam: &Ipam, actor: &Actor, c: &Case, opts: &StatsOptions) -> anyhow::Result<Summary> {
    let mut samples = Vec::with_capacity(opts.requests);
    for i in 0..opts.warmup + opts.requests {
        let started = Instant::now();
        let cached = match &c.call {
            Call::Dashboard => ipam.dashboard(actor, c.fresh).await?.cached,
            Call::Forecast(t) => ipam.forecast(actor, t, DEFAULT_DAYS_AHEAD, c.fresh).await?.cached,
        };
        let took = started.elapsed();
        anyhow::ensure!(cached != c.fresh || (i == 0 && !c.fresh), "{}: cached={cached}", c.label);
        if i >= opts.warmup {
            samples.push(took);
        }
    }
    Summary::of(samples).context("no samples")
}

/// "Seed: …": the benchmarked user's holdings and, for a SQLite store, the store's.
async fn size_line(settings: &Settings, opts: &StatsOptions, regions: u64, hosts: u64) -> String {
    let mut line = format!("Seed: {} holds {regions} regions and {hosts} hosts", user_id(0));
    if opts.url.is_none()
        && let Ok((users, all)) = store_size(settings).await
    {
        line.push_str(&format!("; the store holds {all} hosts of {users} users"));
    }
    line.push('\n');
    line
}

/// Users with a quota row and hosts, store-wide (SQLite only).
async fn store_size(settings: &Settings) -> anyhow::Result<(i64, i64)> {
    use secrecy::ExposeSecret;
    let url = settings.database_url();
    anyhow::ensure!(url.expose_secret().starts_with("sqlite:"), "not SQLite");
    let store = ipam_core::storage::sqlite::SqliteStore::connect(url.expose_secret(), 1).await?;
    let users = sqlx::query_scalar("SELECT COUNT(*) FROM ipam_user_quotas").fetch_one(store.pool()).await?;
    let hosts = sqlx::query_scalar("SELECT COUNT(*) FROM ipam_hosts").fetch_one(store.pool()).await?;
    store.pool().close().await;
    Ok((users, hosts))
}

/// The application built in this process, serving on a loopback port until stopped.
struct InProcess {
    port: u16,
    ipam: Arc<Ipam>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl InProcess {
    /// Builds the application as the tests do (`Application::build`), without workers, with
    /// rate limits off, on 127.0.0.1 and a port the OS picks.
    async fn start(mut settings: Settings) -> anyhow::Result<Self> {
        settings.rate_limits = Switch::Off;
        settings.bind_addr = ([127, 0, 0, 1], 0).into();
        let app = Application::build(settings).await?.with_workers(false);
        let port = app.port();
        let ipam = app.state().ipam.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Ok(Self { port, ipam, stop, task })
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task).await.context("server did not stop")???;
        Ok(())
    }
}
