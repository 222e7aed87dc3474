//! `ipam repair [--check]`: rebuild the derived data (occupancy bitmaps, host counts, quota
//! counters, retired/released counters) from the regions, hosts and audit history themselves.

use std::process::ExitCode;

use ipam_core::configuration::Settings;
use ipam_core::storage::RepairMode;

/// Options of `ipam repair`.
#[derive(Debug, clap::Args)]
pub(crate) struct RepairArgs {
    /// Only report what disagrees; write nothing. Exits 1 when something would be fixed.
    #[arg(long)]
    check: bool,
}

pub(crate) async fn run(settings: &Settings, args: RepairArgs) -> anyhow::Result<ExitCode> {
    let store = ipam_core::storage::open(settings).await?;
    let mode = if args.check { RepairMode::Check } else { RepairMode::Apply };
    let report = store.repair(chrono::Utc::now(), mode).await?;
    let verb = if args.check { "to fix" } else { "fixed" };
    println!("Repair ({}){}", store.backend(), if args.check { ", check only" } else { "" });
    println!("  Regions whose host bitmap or count was {verb}: {}", report.regions_fixed);
    println!("  Block bitmaps {verb}: {}", report.block_maps_fixed);
    println!("  Quota counters {verb}: {}", report.quotas_fixed);
    println!("  Retired/released counters {verb}: {}", report.counters_fixed);
    println!(
        "  Stale region retirements {}: {}",
        if args.check { "to clear" } else { "cleared" },
        report.retirements_cleared
    );
    Ok(match (report.is_consistent(), args.check) {
        (true, _) => {
            println!("✓ Everything was consistent.");
            ExitCode::SUCCESS
        }
        (false, false) => {
            println!("✓ Repaired.");
            ExitCode::SUCCESS
        }
        (false, true) => {
            println!("✗ Inconsistent: run `ipam repair` (with allocations paused) to fix it.");
            ExitCode::FAILURE
        }
    })
}
