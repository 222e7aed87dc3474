//! `ipam serve`: the HTTP API until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use ipam_api::{Application, shutdown_signal};
use ipam_core::configuration::Settings;

/// Options of `ipam serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) async fn run(settings: Settings, _args: Args) -> anyhow::Result<ExitCode> {
    let app = Application::build(settings).await?;
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
