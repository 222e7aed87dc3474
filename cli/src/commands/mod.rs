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
    match cli.command {
        Command::Serve(args) => {
            telemetry::init(&settings, Sink::Stdout);
            serve::run(settings, args).await
        }
        Command::Worker => {
            telemetry::init(&settings, Sink::Stdout);
            worker::run(settings).await
        }
        Command::Token(args) => {
            telemetry::init(&Settings { log_level: "warn".into(), ..settings.clone() }, Sink::Stderr);
            token::run(&settings, args)
        }
        Command::Migrate(args) => {
            telemetry::init(&Settings { log_level: "warn".into(), ..settings.clone() }, Sink::Stderr);
            migrate::run(&settings, args).await
        }
        Command::Repair(args) => {
            telemetry::init(&Settings { log_level: "warn".into(), ..settings.clone() }, Sink::Stderr);
            repair::run(&settings, args).await
        }
        Command::Bench(args) => {
            telemetry::init(&Settings { log_level: "warn".into(), ..settings.clone() }, Sink::Stderr);
            bench::run(settings, args).await
        }
        Command::VerifyIndexes => {
            telemetry::init(&Settings { log_level: "warn".into(), ..settings.clone() }, Sink::Stderr);
            verify_indexes::run(&settings).await
        }
    }
}
