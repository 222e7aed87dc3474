//! `ipam token`: mint a bearer token signed with the service's secret.

use std::process::ExitCode;
use std::time::Duration;

use ipam_core::auth::{Permissions, TokenKeys};
use ipam_core::configuration::{Settings, resolve_jwt_secret};
use ipam_core::domain::{UserId, Username};

/// Longest accepted lifetime.
const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// Options of `ipam token`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// User id (the token's `sub`); also the namespace the user's allocations live in.
    #[arg(long = "user", value_name = "ID")]
    user: String,
    /// Username (shown in audit records and as the default owner label).
    #[arg(long, value_name = "NAME")]
    username: String,
    /// Comma-separated: ipam:read, ipam:allocate, ipam:update, ipam:release, ipam:admin.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    permissions: Vec<String>,
    /// Lifetime, e.g. 30m, 24h, 7d (at most 366d).
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    ttl: Duration,
}

pub(crate) fn run(settings: &Settings, args: Args) -> anyhow::Result<ExitCode> {
    let user = UserId::parse(&args.user).map_err(|e| anyhow::anyhow!("--user {e}"))?;
    let username = Username::parse(&args.username).map_err(|e| anyhow::anyhow!("--username {e}"))?;
    let permissions =
        Permissions::parse_list(args.permissions.iter().map(String::as_str).filter(|p| !p.trim().is_empty()))
            .map_err(|e| anyhow::anyhow!("--permissions: {e}"))?;
    anyhow::ensure!(args.ttl > Duration::ZERO && args.ttl <= MAX_TTL, "--ttl must be between 1s and 366d");
    let keys = TokenKeys::new(&resolve_jwt_secret(settings)?);
    let ttl = chrono::Duration::from_std(args.ttl)?;
    let token = keys.mint(&user, &username, permissions, ttl, chrono::Utc::now())?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
