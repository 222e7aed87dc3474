//! Structured logs: pretty for terminals, JSON for log shippers (`IPAM_LOG_FORMAT`); colour
//! only when the output is a terminal.

use std::io::IsTerminal;

use ipam_core::configuration::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;

/// Where log lines go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sink {
    /// Standard output (long-running services).
    Stdout,
    /// Standard error (tools whose stdout is their result).
    Stderr,
}

/// Installs the global subscriber. `RUST_LOG` overrides `IPAM_LOG_LEVEL`.
pub(crate) fn init(settings: &Settings, sink: Sink) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal: in a file or a pipe the escape codes are noise.
    let terminal = match sink {
        Sink::Stdout => std::io::stdout().is_terminal(),
        Sink::Stderr => std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(terminal);
    let result = match (settings.log_format, sink) {
        (LogFormat::Json, Sink::Stdout) => builder.json().with_current_span(true).try_init(),
        (LogFormat::Json, Sink::Stderr) => builder.json().with_writer(std::io::stderr).try_init(),
        (LogFormat::Pretty, Sink::Stdout) => builder.try_init(),
        (LogFormat::Pretty, Sink::Stderr) => builder.with_writer(std::io::stderr).try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging was already initialised: {e}");
    }
}
