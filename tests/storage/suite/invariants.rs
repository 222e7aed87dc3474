//! A seeded pseudo-random sequence of operations, checked against a model after every step and
//! against the store's own lists and predictions every few steps.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use ipam_core::auth::Actor;
use ipam_core::domain::{Country, HostId, RegionId, TenAddress};
use ipam_core::error::ConflictKind;
use ipam_core::storage::{HostFilter, RegionFilter, ReleaseOutcome, Store};

use super::{
    all_hosts, all_regions, at, country, expect_conflict, reason, region, retire, roomy, try_batch, try_host, user, zs,
};

/// xorshift64: small, seeded, and the same on every machine.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct ModelRegion {
    id: RegionId,
    x: u8,
    y: u8,
}

struct ModelHost {
    id: HostId,
    region: RegionId,
    z: u8,
}

/// What the store should hold, in allocation order (so random picks are reproducible).
#[derive(Default)]
struct Model {
    regions: Vec<ModelRegion>,
    hosts: Vec<ModelHost>,
}

impl Model {
    fn next_region(&self, c: &Country) -> Option<(u8, u8)> {
        let used: HashSet<(u8, u8)> = self.regions.iter().map(|r| (r.x, r.y)).collect();
        lowest_free_block(c, &used)
    }

    fn next_zs(&self, region: &RegionId, n: usize) -> Vec<u8> {
        let used: HashSet<u8> = self.hosts.iter().filter(|h| &h.region == region).map(|h| h.z).collect();
        (1..=254).filter(|z| !used.contains(z)).take(n).collect()
    }

    fn hosts_of(&self, region: &RegionId) -> BTreeSet<HostId> {
        self.hosts.iter().filter(|h| &h.region == region).map(|h| h.id.clone()).collect()
    }
}

fn lowest_free_block(c: &Country, used: &HashSet<(u8, u8)>) -> Option<(u8, u8)> {
    (c.x_start..=c.x_end).flat_map(|x| (0..=255u8).map(move |y| (x, y))).find(|b| !used.contains(b))
}

#[derive(Default, Debug)]
struct Tally {
    regions: u32,
    hosts: u32,
    releases: u32,
    unknown_releases: u32,
    cascades: u32,
    refused_retirements: u32,
    empty_retirements: u32,
    checks: u32,
}

async fn allocate_region(s: &dyn Store, actor: &Actor, model: &mut Model, c: &Country, step: i64) {
    let expected = model.next_region(c);
    let r = region(s, actor, c, &format!("r{step}"), at(step)).await;
    assert_eq!(Some((r.x, r.y)), expected, "step {step}: region in {}", c.code);
    model.regions.push(ModelRegion { id: r.id, x: r.x, y: r.y });
}

/// Compares everything the store reports with itself and with the model.
async fn check(s: &dyn Store, actor: &Actor, countries: &[Country], model: &Model, step: i64) {
    let user = &actor.user_id;
    let regions = all_regions(s, user, &RegionFilter::default()).await;
    let hosts = all_hosts(s, user, &HostFilter::default()).await;

    let listed: BTreeSet<_> = regions.iter().map(|r| (r.id.clone(), r.x, r.y)).collect();
    let modelled: BTreeSet<_> = model.regions.iter().map(|r| (r.id.clone(), r.x, r.y)).collect();
    assert_eq!(listed, modelled, "step {step}: listed regions");
    let listed: BTreeSet<_> = hosts.iter().map(|h| (h.id.clone(), h.region_id.clone(), h.z)).collect();
    let modelled: BTreeSet<_> = model.hosts.iter().map(|h| (h.id.clone(), h.region.clone(), h.z)).collect();
    assert_eq!(listed, modelled, "step {step}: listed hosts");

    let blocks: HashSet<(u8, u8)> = regions.iter().map(|r| (r.x, r.y)).collect();
    assert_eq!(blocks.len(), regions.len(), "step {step}: no block is held twice");
    for c in countries {
        let predicted = s.next_free_region(user, c, at(step)).await.unwrap();
        assert_eq!(predicted, lowest_free_block(c, &blocks), "step {step}: next free region in {}", c.code);
    }
    for r in &regions {
        let inside: Vec<_> = hosts.iter().filter(|h| h.region_id == r.id).collect();
        assert!(inside.iter().all(|h| (h.x, h.y) == (r.x, r.y)), "step {step}: hosts sit inside their region");
        assert_eq!(r.allocated_hosts as usize, inside.len(), "step {step}: allocated_hosts of {}", r.cidr());
        let used: HashSet<u8> = inside.iter().map(|h| h.z).collect();
        let lowest = (1..=254u8).find(|z| !used.contains(z));
        assert_eq!(
            s.next_free_host(user, &r.id, at(step)).await.unwrap(),
            Some((r.clone(), lowest)),
            "step {step}: next free host in {}",
            r.cidr()
        );
    }

    let usage = s.quota(user).await.unwrap();
    assert_eq!(
        (usage.region_count as usize, usage.host_count as usize),
        (regions.len(), hosts.len()),
        "step {step}: quota counts equal the listed totals"
    );
    let mut per_x: BTreeMap<u8, u32> = BTreeMap::new();
    for r in &regions {
        *per_x.entry(r.x).or_default() += 1;
    }
    assert_eq!(
        s.regions_per_x(user, 0, 255).await.unwrap(),
        per_x.into_iter().collect::<Vec<_>>(),
        "step {step}: regions per X"
    );
    let addresses: Vec<TenAddress> = hosts.iter().map(|h| TenAddress { x: h.x, y: h.y, z: h.z }).collect();
    for chunk in addresses.chunks(100) {
        assert_eq!(s.hosts_at(user, chunk).await.unwrap().len(), chunk.len(), "step {step}: hosts_at finds them all");
    }
}

pub async fn a_random_operation_sequence_keeps_lists_allocation_and_quotas_consistent(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice");
    let countries = [country(s, "ARE").await, country(s, "SGP").await];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut model = Model::default();
    let mut tally = Tally::default();

    for step in 0..200i64 {
        let roll = rng.below(100);
        'op: {
            if roll < 25 || model.regions.is_empty() {
                let c = &countries[rng.below(countries.len())];
                allocate_region(s, &alice, &mut model, c, step).await;
                tally.regions += 1;
            } else if roll < 65 {
                let rid = model.regions[rng.below(model.regions.len())].id.clone();
                let count = 1 + rng.below(4);
                let expected = model.next_zs(&rid, count);
                assert_eq!(expected.len(), count, "the sequence never fills a region");
                let hosts = if count == 1 {
                    vec![try_host(s, &alice, &rid, &format!("h{step}"), roomy(), at(step)).await.expect("host")]
                } else {
                    try_batch(s, &alice, &rid, "b", count as u32, roomy(), at(step)).await.expect("batch")
                };
                assert_eq!(zs(&hosts), expected, "step {step}: lowest free addresses");
                model.hosts.extend(hosts.into_iter().map(|h| ModelHost { id: h.id, region: rid.clone(), z: h.z }));
                tally.hosts += count as u32;
            } else if roll < 88 {
                if model.hosts.is_empty() {
                    break 'op;
                }
                let mut ids: Vec<HostId> =
                    (0..1 + rng.below(3)).map(|_| model.hosts[rng.below(model.hosts.len())].id.clone()).collect();
                if rng.below(4) == 0 {
                    ids.insert(rng.below(ids.len() + 1), HostId::generate());
                    tally.unknown_releases += 1;
                }
                // The store gets distinct ids (the service removes repeats; its own test covers
                // them): drop the random picks' repeats, keeping the first of each.
                let mut seen = HashSet::new();
                ids.retain(|id| seen.insert(id.clone()));
                let expected: Vec<(bool, HostId)> =
                    ids.iter().map(|id| (model.hosts.iter().any(|h| &h.id == id), id.clone())).collect();
                let result = s.release_hosts(&alice, &ids, &reason("random release"), at(step)).await.expect("release");
                let got: Vec<(bool, HostId)> = result
                    .iter()
                    .map(|o| match o {
                        ReleaseOutcome::Released(h) => (true, h.id.clone()),
                        ReleaseOutcome::NotFound(id) => (false, id.clone()),
                    })
                    .collect();
                assert_eq!(got, expected, "step {step}: release outcomes");
                model.hosts.retain(|h| !ids.contains(&h.id));
                tally.releases += 1;
            } else {
                let cascade = roll < 94;
                let i = rng.below(model.regions.len());
                let rid = model.regions[i].id.clone();
                let children = model.hosts_of(&rid);
                let outcome = retire(s, &alice, &rid, cascade, at(step)).await;
                if !cascade && !children.is_empty() {
                    expect_conflict(outcome, ConflictKind::Conflict);
                    tally.refused_retirements += 1;
                    break 'op;
                }
                let retired = outcome.unwrap_or_else(|e| panic!("step {step}: retire: {e}"));
                let gone: BTreeSet<HostId> = retired.hosts.into_iter().map(|h| h.id).collect();
                assert_eq!(gone, children, "step {step}: the cascade takes exactly the region's hosts");
                model.hosts.retain(|h| h.region != rid);
                model.regions.remove(i);
                if cascade {
                    tally.cascades += 1;
                } else {
                    tally.empty_retirements += 1;
                }
            }
        }
        if step % 25 == 24 {
            check(s, &alice, &countries, &model, step).await;
            tally.checks += 1;
        }
    }
    check(s, &alice, &countries, &model, 200).await;

    // The sequence must actually have exercised every path, or the checks above prove little.
    assert!(tally.regions >= 20 && tally.hosts >= 60 && tally.releases >= 20, "{tally:?}");
    assert!(tally.unknown_releases > 0 && tally.cascades > 0 && tally.checks >= 7, "{tally:?}");
    assert!(tally.refused_retirements > 0 && tally.empty_retirements > 0, "{tally:?}");
    assert!(!model.regions.is_empty() && !model.hosts.is_empty(), "{tally:?}");

    for c in &countries {
        allocate_region(s, &alice, &mut model, c, 201).await;
    }
}
