//! The claims guard of a placement attempt: what it holds between its first claim and the
//! moment it settles, and how that is undone.

use std::collections::HashSet;

use mongodb::bson::{Bson, doc};

use super::super::MongoStore;
use crate::domain::{Host, Region, RegionId, TenAddress, UserId};
use crate::storage::HostStore;

/// What an attempt holds until it settles: the Z bits it claimed (with the region's host
/// count each claim left, for the capacity event) and the hosts it inserted.
///
/// Rust has no asynchronous drop, so the guard cannot undo itself: every path ends in
/// [`rollback`](Self::rollback) (or its stale-bitmap variant) or [`keep`](Self::keep), and
/// a guard dropped holding claims logs the bits it leaked (`ipam repair` frees them).
#[must_use = "claims are rolled back or kept"]
pub(super) struct HostClaims<'s> {
    store: &'s MongoStore,
    user: UserId,
    region: RegionId,
    /// (X, Y) of the region, to name the claimed addresses.
    block: (u8, u8),
    zs: Vec<u8>,
    counts: Vec<u32>,
    inserted: Vec<Bson>,
}

impl<'s> HostClaims<'s> {
    pub(super) fn new(store: &'s MongoStore, region: &Region) -> Self {
        let (user, id, block) = (region.user_id.clone(), region.id.clone(), (region.x, region.y));
        Self { store, user, region: id, block, zs: Vec::new(), counts: Vec::new(), inserted: Vec::new() }
    }

    /// The addresses claimed so far, in claim order.
    pub(super) fn zs(&self) -> &[u8] {
        &self.zs
    }

    /// True when this attempt already claimed `z`.
    pub(super) fn holds(&self, z: u8) -> bool {
        self.zs.contains(&z)
    }

    /// Notes a claim of `z` that left the region at `count` hosts.
    pub(super) fn push(&mut self, z: u8, count: u32) {
        self.zs.push(z);
        self.counts.push(count);
    }

    /// Notes the hosts about to be inserted (before the write: a failed ordered insert may
    /// still have stored the first ones).
    pub(super) fn track(&mut self, hosts: &[Host]) {
        self.inserted = hosts.iter().map(|h| Bson::String(h.id.to_string())).collect();
    }

    /// Deletes what this attempt inserted and frees every bit it claimed; returns how many of
    /// its hosts were still there to delete (a retirement may have deleted the others).
    pub(super) async fn rollback(mut self) -> u32 {
        let ours = self.delete_inserted().await;
        self.release(|_| false).await;
        ours
    }

    /// Rolls back after the insert met hosts the bitmap did not know of (it is derived data):
    /// the bits of addresses other hosts hold stay set, which repairs the bitmap.
    pub(super) async fn rollback_stale(mut self) {
        self.delete_inserted().await;
        let (x, y) = self.block;
        let addresses: Vec<TenAddress> = self.zs.iter().map(|z| TenAddress { x, y, z: *z }).collect();
        // Unknown (the read failed): free them all, as if the bitmap had been right.
        let taken: HashSet<u8> = match self.store.hosts_at(&self.user, &addresses).await {
            Ok(found) => found.iter().map(|h| h.z).collect(),
            Err(_) => HashSet::new(),
        };
        tracing::warn!(region = %self.region, ?taken, "host bitmap was stale; repaired");
        self.release(|z| taken.contains(&z)).await;
    }

    /// Lets the claims and hosts stand; returns the host count each claim left.
    pub(super) fn keep(mut self) -> Vec<u32> {
        self.zs.clear();
        self.inserted.clear();
        std::mem::take(&mut self.counts)
    }

    async fn delete_inserted(&mut self) -> u32 {
        let ids = std::mem::take(&mut self.inserted);
        if ids.is_empty() {
            return 0;
        }
        match self.store.hosts().delete_many(doc! { "_id": { "$in": ids } }).await {
            Ok(r) => u32::try_from(r.deleted_count).unwrap_or(u32::MAX),
            Err(e) => {
                tracing::error!(error = %e, "could not delete hosts of a failed allocation");
                0
            }
        }
    }

    /// Frees the claimed bits but those `kept`. Compensation goes on past a failure (and logs
    /// it), so one error never leaves the other claims behind.
    async fn release(&mut self, kept: impl Fn(u8) -> bool) {
        for z in std::mem::take(&mut self.zs).into_iter().filter(|z| !kept(*z)) {
            if let Err(e) = self.store.release_host_slot(&self.user, &self.region, z).await {
                tracing::error!(error = %e, region = %self.region, z, "could not release a claimed host address");
            }
        }
    }
}

impl Drop for HostClaims<'_> {
    fn drop(&mut self) {
        if !self.zs.is_empty() {
            tracing::error!(region = %self.region, zs = ?self.zs, "host claims dropped unsettled; run `ipam repair`");
        }
    }
}
