//! `ipam migrate`: apply (or show, or roll back) the versioned schema.

use std::process::ExitCode;
use std::time::Instant;

use ipam_core::configuration::Settings;
use ipam_core::storage::migrations::AlterSpec;
use ipam_core::storage::{Database, connect};

/// Options of `ipam migrate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Show each migration and whether it is applied; change nothing.
    #[arg(long, conflicts_with = "rollback")]
    status: bool,
    /// Undo the most recent migration: DROPS the collections it created and their data, and
    /// undoes its alterations of older ones, which stay (asks first).
    #[arg(long)]
    rollback: bool,
    /// With --rollback: do not ask for confirmation (scripts).
    #[arg(long, requires = "rollback")]
    yes: bool,
}

const RULE: &str = "================================================================================";

pub(crate) async fn run(settings: &Settings, args: Args) -> anyhow::Result<ExitCode> {
    if args.rollback {
        return rollback(&connect(settings, 1).await?, args.yes).await;
    }
    if args.status {
        let db = connect(settings, 1).await?;
        let states = db.migration_status().await?;
        println!("{RULE}\nIPAM Migration Status ({})\n{RULE}", db.backend());
        for s in &states {
            let m = s.migration;
            match s.applied_at {
                Some(at) => println!("  [applied {}] {:>3} {} — {}", at.to_rfc3339(), m.version, m.name, m.description),
                None => println!("  [pending] {:>3} {} — {}", m.version, m.name, m.description),
            }
        }
        let pending = states.iter().filter(|s| s.applied_at.is_none()).count();
        println!("{RULE}\n{} applied, {pending} pending", states.len() - pending);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{RULE}\nStarting IPAM Database Migration\n{RULE}");
    println!("Connecting to database...");
    let started = Instant::now();
    let db = connect(settings, 1).await?;
    let applied = db.prepare().await?;
    println!("Database connection successful ({})", db.backend());
    if applied.is_empty() {
        println!("\nMigration was skipped (already applied)");
        return Ok(ExitCode::SUCCESS);
    }
    println!("\n{RULE}\nMigration Results:\n{RULE}");
    for a in &applied {
        let m = a.migration;
        println!("Name: {} (version {})", m.name, m.version);
        println!("  Description: {}", m.description);
        println!("  Status: completed in {} ms", a.duration_ms);
        if !m.collections.is_empty() {
            println!("  Collections affected: {}", m.collection_names().join(", "));
        }
        if !m.alters.is_empty() {
            let altered: Vec<String> = m.alters.iter().map(|a| format!("{} ({})", a.collection, added(a))).collect();
            println!("  Collections altered: {}", altered.join(", "));
        }
    }
    println!("\nDuration: {:.2} seconds", started.elapsed().as_secs_f64());
    println!("\n✅ {} migration(s) applied successfully!", applied.len());
    Ok(ExitCode::SUCCESS)
}

async fn rollback(db: &Database, yes: bool) -> anyhow::Result<ExitCode> {
    let (backend, states) = (db.backend(), db.migration_status().await?);
    let Some(latest) = states.iter().rev().find(|s| s.applied_at.is_some()).map(|s| s.migration) else {
        println!("Nothing to roll back: no migration is applied ({backend}).");
        return Ok(ExitCode::SUCCESS);
    };
    println!("{RULE}\nRollback of migration {} ({}) on {backend}\n{RULE}", latest.version, latest.name);
    if !latest.collections.is_empty() {
        println!("This DROPS these collections and every document in them:");
        for name in latest.collection_names() {
            println!("  - {name}");
        }
    }
    if !latest.alters.is_empty() {
        println!("This undoes its alterations of these collections (they and their other data stay):");
        for a in latest.alters {
            println!("  - {}: {}", a.collection, undone(a, backend));
        }
    }
    if !yes {
        print!("Type 'yes' to continue: ");
        std::io::Write::flush(&mut std::io::stdout())?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            println!("\nRollback cancelled; nothing was changed.");
            return Ok(ExitCode::FAILURE);
        }
    }
    let rolled = db.rollback_latest().await?;
    match rolled {
        Some(m) => println!("\n✅ Migration {} ({}) rolled back; `ipam migrate` applies it again.", m.version, m.name),
        None => println!("\nNothing to roll back."),
    }
    Ok(ExitCode::SUCCESS)
}

/// What an alteration adds, as `ipam migrate` reports it.
fn added(a: &AlterSpec) -> String {
    let mut parts = Vec::new();
    if !a.added_fields.is_empty() {
        parts.push(format!("+ fields {}", a.added_fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")));
    }
    if !a.added_indexes.is_empty() {
        parts.push(format!("+ indexes {}", a.added_indexes.iter().map(|i| i.name).collect::<Vec<_>>().join(", ")));
    }
    if a.validator.is_some() {
        parts.push("new validator".to_owned());
    }
    parts.join("; ")
}

/// What rolling an alteration back does on `backend`: SQLite drops the added columns (and their
/// values); MongoDB has no columns, so documents keep the added fields.
fn undone(a: &AlterSpec, backend: &str) -> String {
    let mut parts = Vec::new();
    if !a.added_indexes.is_empty() {
        parts.push(format!("drops index {}", a.added_indexes.iter().map(|i| i.name).collect::<Vec<_>>().join(", ")));
    }
    if a.validator.is_some() && backend == "mongodb" {
        parts.push("restores the previous validator".to_owned());
    }
    if !a.added_fields.is_empty() {
        let fields = a.added_fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
        let (plural, their) = if a.added_fields.len() > 1 { ("s", "their") } else { ("", "its") };
        parts.push(if backend == "sqlite" {
            format!("DROPS column{plural} {fields} and {their} values")
        } else {
            format!("documents keep field{plural} {fields}")
        });
    }
    parts.join("; ")
}
