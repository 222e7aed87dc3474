//! `ipam`: one binary for every role. See `ipam --help`.

mod commands;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
