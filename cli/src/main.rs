//! `ipam`: one binary for every role. See `ipam --help`.

mod bench;
mod commands;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    // reqwest (webhook deliveries) uses rustls without a built-in provider: pick ring, which
    // the MongoDB driver already brings.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match commands::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
