//! `ipam serve`: the HTTP API (and, unless `--no-workers`, the workers and schedules) until
//! Ctrl-C or SIGTERM.

use std::process::ExitCode;

use ipam_api::{Application, shutdown_signal};
use ipam_core::configuration::Settings;

/// Options of `ipam serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Serve the API only; run `ipam worker` processes for the jobs and schedules.
    #[arg(long)]
    no_workers: bool,
}

pub(crate) async fn run(settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    let app = Application::build(settings).await?.with_workers(!args.no_workers);
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
