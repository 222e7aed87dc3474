//! Command-line interface: parsing and dispatch to one module per subcommand.

mod bench;
mod migrate;
mod repair;
mod serve;
mod token;
mod verify_indexes;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ipam_core::configuration::Settings;

use crate::telemetry::{self, Sink};

/// IP address management for 10.0.0.0/8: countries → /24 regions → hosts.
#[derive(Debug, Parser)]
#[command(name = "ipam", version, about)]
pub(crate) struct Cli {
    /// Configuration file (TOML); defaults to $IPAM_CONFIG, then ./ipam.toml if present.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API (and, unless --no-workers, the job workers and schedules).
    Serve(serve::Args),
    /// Run only the job workers and cron schedules (scale by running several).
    Worker,
    /// Print a signed bearer token (and nothing else) on stdout.
    Token(token::Args),
    /// Create or upgrade the database schema (or show it, or roll it back).
    Migrate(migrate::Args),
    /// Compare the live indexes with the expected ones; exit 1 if any is missing.
    VerifyIndexes,
    /// Rebuild occupancy bitmaps and quota counters from the regions and hosts, and the
    /// retired/released counters from the audit history (run it with allocations paused, e.g.
    /// after a MongoDB process died mid-allocation).
    Repair(repair::RepairArgs),
    /// Benchmarks: seed a SQLite store (`bench seed`), then measure a server over it (`bench stats`).
    Bench(bench::Args),
}

/// Runs the chosen subcommand.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref())?;
    // Services log to stdout at the configured level; tools, whose stdout is their result,
    // log warnings only, to stderr.
    match cli.command {
        Command::Serve(_) | Command::Worker => telemetry::init(&settings, Sink::Stdout),
        _ => telemetry::init(&Settings { log_level: "warn".into(), ..settings.clone() }, Sink::Stderr),
    }
    // A misspelt variable would otherwise leave its default silently in force.
    for warning in ipam_core::configuration::unknown_environment_variables() {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve(args) => serve::run(settings, args).await,
        Command::Worker => worker::run(settings).await,
        Command::Token(args) => token::run(&settings, args),
        Command::Migrate(args) => migrate::run(&settings, args).await,
        Command::Repair(args) => repair::run(&settings, args).await,
        Command::Bench(args) => bench::run(settings, args).await,
        Command::VerifyIndexes => verify_indexes::run(&settings).await,
    }
}
