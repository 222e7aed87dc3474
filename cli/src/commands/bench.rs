//! `ipam bench`: `seed` an empty SQLite store with a benchmark's data, then measure a server
//! over it (`stats`). The work is in `crate::bench`; this module is the command line.

use std::process::ExitCode;
use std::time::Instant;

use ipam_core::configuration::Settings;

use crate::bench::plan::{SeedSpec, user_id};
use crate::bench::seed::seed;
use crate::bench::stats::{StatsOptions, run as run_stats};

/// Options of `ipam bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, clap::Subcommand)]
enum Bench {
    /// Fill an empty SQLite store: `bench-user-0` holds --bench-regions regions and --bench-hosts
    /// hosts, the other users the rest of --hosts; allocations spread over the last 90 days, with
    /// their audit records and consistent bitmaps, counters and quotas. (MongoDB is not
    /// supported: seed SQLite.)
    Seed(SeedArgs),
    /// Dashboard and forecast latency (p50/p90/p99/max, cached and uncached) of `bench-user-0`,
    /// against the goals of issue 12. Without --url, builds the API in this process over the
    /// configured store.
    Stats(StatsArgs),
}

/// Options of `ipam bench seed`.
#[derive(Debug, clap::Args)]
struct SeedArgs {
    /// The store to fill: `sqlite://PATH` (created if missing; it must hold no data). Default:
    /// the configured database.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Hosts in the whole store.
    #[arg(long, default_value_t = 1_000_000)]
    hosts: u64,
    /// Users; the first, `bench-user-0`, is the one `bench stats` measures.
    #[arg(long, default_value_t = 100)]
    users: u32,
    /// Regions of `bench-user-0`.
    #[arg(long, default_value_t = 1_000)]
    bench_regions: u32,
    /// Hosts of `bench-user-0` (part of --hosts).
    #[arg(long, default_value_t = 10_000)]
    bench_hosts: u64,
}

/// Options of `ipam bench stats`.
#[derive(Debug, clap::Args)]
struct StatsArgs {
    /// The seeded store, when the API runs in this process (default: the configured database).
    #[arg(long, value_name = "URL", conflicts_with = "url")]
    database_url: Option<String>,
    /// A running server to drive instead (e.g. http://127.0.0.1:8000), started with
    /// IPAM_RATE_LIMITS=off; its tokens are signed with the configured secret, as `ipam token`
    /// signs them.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Measured requests per case.
    #[arg(long, default_value_t = 1_000)]
    requests: usize,
    /// Unmeasured requests per case first.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
}

pub(crate) async fn run(mut settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Bench::Seed(a) => {
            let url = match a.database_url {
                Some(url) => url,
                None => secrecy::ExposeSecret::expose_secret(&settings.database_url()).to_owned(),
            };
            anyhow::ensure!(
                url.starts_with("sqlite:"),
                "bench seed writes SQLite stores only (got a non-sqlite:// URL); MongoDB is not supported"
            );
            let spec =
                SeedSpec { hosts: a.hosts, users: a.users, bench_regions: a.bench_regions, bench_hosts: a.bench_hosts };
            let started = Instant::now();
            let done = seed(&url, &spec, settings.quota_defaults()).await?;
            println!("Seeded {url}");
            println!("  Users: {} ({} is the benchmarked one)", done.users, user_id(0));
            println!("  Regions: {}", done.regions);
            println!("  Hosts: {}", done.hosts);
            println!("  Audit records: {}", done.audit_records);
            println!("✓ Done in {:.1} s.", started.elapsed().as_secs_f64());
        }
        Bench::Stats(a) => {
            if let Some(url) = a.database_url {
                settings.database_url = Some(url.into());
            }
            let opts = StatsOptions { requests: a.requests, warmup: a.warmup, url: a.url };
            print!("{}", run_stats(settings, &opts).await?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
