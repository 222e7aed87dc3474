//! `ipam verify-indexes`: compare the live indexes with the expected ones, per collection.

use std::process::ExitCode;

use ipam_core::configuration::Settings;
use ipam_core::storage::connect;

const RULE: &str = "================================================================================";

/// A TTL index's expiry, as MongoDB names it (SQLite has no TTL: nothing to show there).
fn ttl(backend: &str, expire_after_secs: Option<u64>) -> String {
    match expire_after_secs {
        Some(secs) if backend == "mongodb" => format!(", expireAfterSeconds={secs}"),
        _ => String::new(),
    }
}

pub(crate) async fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    println!("{RULE}\nIPAM Index Verification\n{RULE}");
    let db = connect(settings, 1).await?;
    let (backend, reports) = (db.backend(), db.verify_indexes().await?);
    println!("✓ Connected to database ({backend})\n");
    for r in &reports {
        if !r.exists {
            println!("✗ {}: collection missing (run `ipam migrate`)", r.collection);
            continue;
        }
        if r.missing.is_empty() && r.extra.is_empty() {
            println!("✓ {}: All indexes present", r.collection);
            continue;
        }
        let mark = if r.missing.is_empty() { "✓" } else { "✗" };
        println!(
            "{mark} {}: {}",
            r.collection,
            if r.missing.is_empty() { "All indexes present" } else { "Issues found" }
        );
        if !r.missing.is_empty() {
            println!("  Missing indexes ({}):", r.missing.len());
            for i in &r.missing {
                println!(
                    "    - {} [{}] (unique={}{})",
                    i.name,
                    i.keys_text(),
                    i.unique,
                    ttl(backend, i.expire_after_secs)
                );
            }
        }
        if !r.extra.is_empty() {
            println!("  Extra indexes ({}):", r.extra.len());
            for i in &r.extra {
                println!("    - {} [{}] (unique={}{})", i.name, i.keys, i.unique, ttl(backend, i.expire_after_secs));
            }
        }
    }
    let missing: usize = reports.iter().map(|r| r.missing.len()).sum();
    let absent = reports.iter().filter(|r| !r.exists).count();
    let expected: usize = reports.iter().map(|r| r.expected).sum();
    println!("\n{RULE}\nVerification Summary\n{RULE}");
    if missing == 0 && absent == 0 {
        println!("✓ All indexes verified successfully!");
    } else {
        println!("✗ {missing} missing index(es), {absent} missing collection(s)");
    }
    println!("  Collections checked: {}", reports.len());
    println!("  Total expected indexes: {expected}");
    println!("{RULE}");
    Ok(if missing == 0 && absent == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
