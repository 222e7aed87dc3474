//! `ipam repair`: rebuild the derived data (occupancy bitmaps, host counts, quota counters)
//! from the regions and hosts themselves.

use std::process::ExitCode;

use ipam_core::configuration::Settings;

pub(crate) async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = ipam_core::storage::open(settings).await?;
    let report = store.repair(chrono::Utc::now()).await?;
    println!("Repair ({})", store.backend());
    println!("  Regions whose host bitmap or count was fixed: {}", report.regions_fixed);
    println!("  Block bitmaps fixed: {}", report.block_maps_fixed);
    println!("  Quota counters fixed: {}", report.quotas_fixed);
    println!("  Stale region retirements cleared: {}", report.retirements_cleared);
    if report == ipam_core::storage::RepairReport::default() {
        println!("✓ Everything was consistent.");
    } else {
        println!("✓ Repaired.");
    }
    Ok(ExitCode::SUCCESS)
}
