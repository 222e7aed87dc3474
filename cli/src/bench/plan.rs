//! What `ipam bench seed` writes, decided before anything is written: which users hold how many
//! regions and hosts, which blocks those regions take, how full each one is, and when each was
//! allocated. Pure and deterministic (given `now`), so it can be checked without a database.

use chrono::{DateTime, Duration, Utc};
use ipam_core::domain::country::HOSTS_PER_REGION;
use ipam_core::domain::{Country, CountryCatalog};

/// Days of history the seeded allocations are spread over (the forecast window).
pub(crate) const HISTORY_DAYS: i64 = 90;

/// Hosts an average region of the other users holds.
const OTHER_USERS_HOSTS_PER_REGION: u64 = 100;

/// What to seed, as asked on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeedSpec {
    /// Hosts in the whole store.
    pub(crate) hosts: u64,
    /// Users (the first is the benchmarked one).
    pub(crate) users: u32,
    /// Regions of the benchmarked user.
    pub(crate) bench_regions: u32,
    /// Hosts of the benchmarked user (the rest are spread over the other users).
    pub(crate) bench_hosts: u64,
}

/// One user's holdings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserPlan {
    /// Position: 0 is the benchmarked user.
    pub(crate) index: u32,
    /// Their regions, in allocation order.
    pub(crate) regions: Vec<RegionPlan>,
}

impl UserPlan {
    /// The user id (also the username): `bench-user-<index>`.
    pub(crate) fn user_id(&self) -> String {
        user_id(self.index)
    }

    /// Hosts held.
    pub(crate) fn hosts(&self) -> u64 {
        self.regions.iter().map(|r| u64::from(r.hosts)).sum()
    }
}

/// The id (and username) of the user at `index`.
pub(crate) fn user_id(index: u32) -> String {
    format!("bench-user-{index}")
}

/// One region: its block, its country and how many hosts it holds (Z = 1..=hosts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegionPlan {
    /// Country code.
    pub(crate) country: String,
    /// Second octet.
    pub(crate) x: u8,
    /// Third octet.
    pub(crate) y: u8,
    /// Hosts held, at Z = 1..=hosts (the lowest free addresses, as the allocator hands them out).
    pub(crate) hosts: u32,
}

/// One allocation of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allocation {
    /// The region at this index of [`UserPlan::regions`].
    Region(usize),
    /// Host Z of the region at this index.
    Host(usize, u8),
}

/// Every user's plan; an error names the option that cannot be met.
pub(crate) fn plan(spec: &SeedSpec, catalog: &CountryCatalog) -> Result<Vec<UserPlan>, String> {
    let countries: Vec<&Country> = catalog.all().iter().filter(|c| !c.is_reserved).collect();
    let max_regions: u64 = countries.iter().map(|c| u64::from(c.region_capacity())).sum();
    let per_region = u64::from(HOSTS_PER_REGION);
    if spec.users == 0 {
        return Err("--users must be at least 1".into());
    }
    if u64::from(spec.bench_regions) > max_regions {
        return Err(format!("--bench-regions must be at most {max_regions} (a user's whole 10/8)"));
    }
    if spec.bench_hosts > u64::from(spec.bench_regions) * per_region {
        return Err(format!("--bench-hosts must be at most --bench-regions × {per_region}"));
    }
    if spec.hosts < spec.bench_hosts {
        return Err("--hosts must be at least --bench-hosts (the benchmarked user's hosts are part of it)".into());
    }
    let rest = spec.hosts - spec.bench_hosts;
    let others = u64::from(spec.users - 1);
    if others == 0 && rest > 0 {
        return Err("--hosts exceeds --bench-hosts but there are no other --users to hold the rest".into());
    }
    let mut plans = Vec::with_capacity(spec.users as usize);
    plans.push(UserPlan { index: 0, regions: regions(&countries, u64::from(spec.bench_regions), spec.bench_hosts) });
    for i in 1..spec.users {
        let n = u64::from(i - 1);
        let hosts = rest / others + u64::from(n < rest % others);
        if hosts > max_regions * per_region {
            return Err(format!("{hosts} hosts per user do not fit a user's 10/8: raise --users"));
        }
        // Fewer, fuller regions when a user's 10/8 runs out of blocks.
        let count = hosts.div_ceil(OTHER_USERS_HOSTS_PER_REGION).min(max_regions);
        plans.push(UserPlan { index: i, regions: regions(&countries, count, hosts) });
    }
    Ok(plans)
}

/// `count` regions holding `hosts` hosts: a quarter of the hosts fill whole regions (so some
/// regions are full and raise capacity warnings), the rest are spread evenly. Blocks are taken
/// round-robin over the countries, each country's lowest free X.Y first.
fn regions(countries: &[&Country], count: u64, hosts: u64) -> Vec<RegionPlan> {
    let per_region = u64::from(HOSTS_PER_REGION);
    let full = (hosts / per_region / 4).min(count);
    let spread = hosts - full * per_region;
    let others = count - full;
    let mut fill = (0..count).map(|i| {
        if i < full {
            per_region
        } else {
            let j = i - full;
            spread / others + u64::from(j < spread % others)
        }
    });
    // Next free block of each country, as (x, y); None once it is full.
    let mut cursors: Vec<Option<(u8, u8)>> = countries.iter().map(|c| Some((c.x_start, 0))).collect();
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut turn = 0;
    while (out.len() as u64) < count {
        let at = turn % countries.len();
        turn += 1;
        let Some((x, y)) = cursors[at] else { continue };
        let c = countries[at];
        cursors[at] = match (y, x) {
            (255, x) if x == c.x_end => None,
            (255, x) => Some((x + 1, 0)),
            (y, x) => Some((x, y + 1)),
        };
        let hosts = u32::try_from(fill.next().unwrap_or(0)).unwrap_or(HOSTS_PER_REGION);
        out.push(RegionPlan { country: c.code.to_string(), x, y, hosts });
    }
    out
}

/// When each of a user's allocations happened, oldest first: regions are created over the first
/// three quarters of the last [`HISTORY_DAYS`] days (in allocation order), and each region's
/// hosts are spread evenly from its creation until just before `now`, so both a country's
/// regions and a region's hosts have a growing history.
pub(crate) fn timeline(user: &UserPlan, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, Allocation)> {
    let start = now - Duration::days(HISTORY_DAYS);
    let span = (now - Duration::minutes(1) - start).num_milliseconds();
    let count = user.regions.len().max(1) as i64;
    let mut events = Vec::with_capacity(user.regions.len() + user.hosts() as usize);
    for (i, r) in user.regions.iter().enumerate() {
        let created = start + Duration::milliseconds(span * 3 / 4 * i as i64 / count);
        events.push((created, Allocation::Region(i)));
        let left = (now - Duration::minutes(1) - created).num_milliseconds();
        let n = i64::from(r.hosts);
        for z in 1..=r.hosts {
            let at = created + Duration::milliseconds(left * i64::from(z) / (n + 1));
            events.push((at, Allocation::Host(i, u8::try_from(z).unwrap_or(u8::MAX))));
        }
    }
    // Stable: a region keeps its place before its hosts when they share a millisecond.
    events.sort_by_key(|(at, _)| *at);
    events
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn spec(hosts: u64, users: u32) -> SeedSpec {
        SeedSpec { hosts, users, bench_regions: 1_000, bench_hosts: 10_000 }
    }

    #[test]
    fn the_benchmarked_user_holds_exactly_its_regions_and_hosts_and_the_rest_is_spread() {
        let plans = plan(&spec(1_000_000, 100), &CountryCatalog::seed()).unwrap();
        assert_eq!(plans.len(), 100);
        assert_eq!(plans[0].regions.len(), 1_000);
        assert_eq!(plans[0].hosts(), 10_000);
        assert_eq!(plans.iter().map(UserPlan::hosts).sum::<u64>(), 1_000_000);
        assert_eq!(plans[1].hosts(), 10_000, "990,000 hosts over 99 users");
        assert_eq!(plans[1].regions.len(), 100);
        // 10,000 / 254 / 4 = 9 full regions, 7,714 hosts over the other 991.
        assert_eq!(plans[0].regions.iter().filter(|r| r.hosts == 254).count(), 9);
        assert_eq!(plans[0].regions.last().unwrap().hosts, 7);
    }

    #[test]
    fn every_block_is_in_its_country_and_taken_once() {
        let catalog = CountryCatalog::seed();
        for user in plan(&spec(30_000, 3), &catalog).unwrap() {
            let mut seen = BTreeSet::new();
            for r in &user.regions {
                let c = catalog.find(&r.country).unwrap();
                assert!(c.contains_x(r.x) && !c.is_reserved, "{r:?}");
                assert!(seen.insert((r.x, r.y)), "{r:?} taken twice");
                assert!(r.hosts <= HOSTS_PER_REGION);
            }
        }
    }

    #[test]
    fn a_country_that_fills_up_is_skipped() {
        // Singapore (X 38..=45) holds 2,048 regions; 40,000 regions need every country.
        let s = SeedSpec { hosts: 0, users: 1, bench_regions: 40_000, bench_hosts: 0 };
        let plans = plan(&s, &CountryCatalog::seed()).unwrap();
        let sgp = plans[0].regions.iter().filter(|r| r.country == "SGP").count();
        assert_eq!(sgp, 2_048);
        assert_eq!(plans[0].regions.len(), 40_000);
    }

    #[test]
    fn the_timeline_lists_every_allocation_oldest_first_within_the_window() {
        let now = Utc::now();
        let plans = plan(&spec(12_000, 2), &CountryCatalog::seed()).unwrap();
        let events = timeline(&plans[0], now);
        assert_eq!(events.len(), 11_000);
        assert!(events.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(events.first().unwrap().0 >= now - Duration::days(HISTORY_DAYS));
        assert!(events.last().unwrap().0 < now);
        let created = |i: usize| events.iter().position(|(_, a)| *a == Allocation::Region(i)).unwrap();
        let first_host = events.iter().position(|(_, a)| *a == Allocation::Host(0, 1)).unwrap();
        assert!(created(0) < first_host);
    }

    #[test]
    fn impossible_sizes_are_refused_naming_the_option() {
        let catalog = CountryCatalog::seed();
        let err = |s: SeedSpec| plan(&s, &catalog).unwrap_err();
        assert!(err(spec(5_000, 10)).contains("--hosts"));
        assert!(err(SeedSpec { users: 0, ..spec(10_000, 1) }).contains("--users"));
        assert!(err(SeedSpec { bench_regions: 10, ..spec(10_000, 1) }).contains("--bench-hosts"));
        assert!(err(spec(10_001, 1)).contains("--users"));
    }
}
