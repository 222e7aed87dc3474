//! Bulk tag throughput: `cargo bench -p ipam-jobs --bench bulk_tags`.
//!
//! Allocates 10,000 hosts (40 regions of 250) on a fresh embedded SQLite store, queues one bulk
//! tag job naming all of them (`add {"env": "bench"}`), and times the job (`bulk_tags::run`, the
//! same code a worker runs) from its first claim to its completion. Prints resources per second,
//! once with every resource changing and once re-applied (every resource a no-op). MongoDB is
//! included when `IPAM_BENCH_MONGODB_URL` is set (a server URL; a fresh database is used and left
//! behind for inspection).
//!
//! Figures, not assertions: run it on a quiet machine and compare runs on the same machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ipam_core::auth::{Actor, Permission, Permissions};
use ipam_core::clock::SystemClock;
use ipam_core::configuration::{Settings, Switch};
use ipam_core::domain::{
    BulkInputs, BulkResourceType, BulkTarget, Description, HostDetails, HostnamePrefix, NewRegion, QuotaDefaults,
    RegionName, TagChange, TagOperation, Tags, UserId, Username,
};
use ipam_core::service::{BulkTagOutcome, Ipam, WebhookRules};
use ipam_core::storage::{AllocateHosts, HostNames, Placement};
use ipam_jobs::jobs::bulk_tags;
use ipam_jobs::target::PublicTargets;
use ipam_jobs::{JobQueue, Platform};
use secrecy::SecretString;

const REGIONS: usize = 40;
const HOSTS_PER_REGION: u32 = 250;

async fn bench(label: &str, database_url: Option<String>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = Settings {
        data_dir: dir.path().to_path_buf(),
        database_url: database_url.map(SecretString::from),
        rate_limits: Switch::Off,
        queue_prefix: format!("bench-{}", ulid::Ulid::generate()),
        ..Settings::default()
    };
    let store = ipam_core::storage::open(&settings).await?;
    let clock = Arc::new(SystemClock);
    let quotas = QuotaDefaults { regions: 1_000, hosts: 20_000 };
    let rules = WebhookRules { targets: Arc::new(PublicTargets { allow_private: false }), max_per_user: 25 };
    let ipam = Arc::new(Ipam::new(store.clone(), clock, quotas, rules).await?);
    let queue = JobQueue::open(&settings).await?;
    let platform = Platform::new(ipam.clone(), queue, Arc::new(settings.clone()))?;
    let actor = Actor {
        user_id: UserId::parse("bench").map_err(anyhow::Error::msg)?,
        username: Username::parse("bench").map_err(anyhow::Error::msg)?,
        permissions: Permissions::of(&[Permission::Admin]),
    };

    let seeded = Instant::now();
    let mut ids = Vec::new();
    for r in 0..REGIONS {
        let new = NewRegion {
            name: RegionName::parse(&format!("bulk-{r}")).map_err(anyhow::Error::msg)?,
            description: Description::empty(),
            owner: None,
            tags: Tags::empty(),
        };
        let region = ipam.allocate_region(&actor, "USA", new).await?;
        let prefix = HostnamePrefix::parse("h").map_err(anyhow::Error::msg)?;
        let mut left = HOSTS_PER_REGION;
        while left > 0 {
            let count = left.min(100);
            let req = AllocateHosts {
                actor: &actor,
                region_id: &region.id,
                names: HostNames::Batch { prefix: &prefix, count },
                details: &HostDetails::default(),
                owner: None,
                tags: &Tags::empty(),
                placement: Placement::Lowest,
                quotas,
                now: ipam.now(),
            };
            ids.extend(store.allocate_hosts(req).await?.into_iter().map(|h| h.id.to_string()));
            left -= count;
        }
    }
    println!("{label}: {} hosts allocated in {:.1} s", ids.len(), seeded.elapsed().as_secs_f64());

    for pass in ["changing every host", "re-applied (every host a no-op)"] {
        let inputs = BulkInputs {
            resource_type: BulkResourceType::Host,
            resource_ids: ids
                .iter()
                .map(|i| BulkTarget::parse(i).map_err(anyhow::Error::msg))
                .collect::<Result<_, _>>()?,
            change: TagChange {
                operation: TagOperation::Add,
                tags: Tags::parse(&serde_json::json!({"env": "bench"})).map_err(anyhow::Error::msg)?,
            },
        };
        let BulkTagOutcome::Queued(job) = ipam.bulk_tags(&actor, inputs, Duration::from_secs(60)).await? else {
            anyhow::bail!("10,000 ids are a job");
        };
        let started = Instant::now();
        let summary = bulk_tags::run(&platform, &job.id).await?;
        let took = started.elapsed().as_secs_f64();
        println!(
            "{label}: bulk tag job of {} hosts, {pass}: {took:.2} s → {:.0} resources/s ({summary})",
            ids.len(),
            ids.len() as f64 / took
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        bench("sqlite", None).await?;
        if let Ok(server) = std::env::var("IPAM_BENCH_MONGODB_URL") {
            let name = format!("ipam_bench_{}", ulid::Ulid::generate().to_string().to_lowercase());
            let url = match server.split_once('?') {
                Some((base, query)) => format!("{}/{name}?{query}", base.trim_end_matches('/')),
                None => format!("{}/{name}", server.trim_end_matches('/')),
            };
            bench("mongodb", Some(url)).await?;
        }
        Ok(())
    })
}
