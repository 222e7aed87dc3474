//! `ipam repair` on MongoDB: rebuild bitmaps, host counts and quota counters from the
//! documents, and the retired/released counters from the audit history (history written before
//! migration 8 started them at 0). Run it while allocations are paused: it reads everything,
//! then rewrites what disagrees, and an allocation in between could be counted twice or not at
//! all. In `Check` mode it only reads.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use mongodb::bson::{Bson, Document, doc};

use super::documents::{HostDoc, QuotaDoc, RegionDoc, SlotsDoc, date};
use super::statistics::count_in;
use super::{MongoStore, errors, find_all};
use crate::domain::{SlotMap, UserId};
use crate::error::Result;
use crate::storage::repair::Truth;
use crate::storage::{RepairMode, RepairReport};

fn octet(v: i32) -> u8 {
    u8::try_from(v).unwrap_or_default()
}

fn small(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Each user's retired regions and released hosts in the audit history (the rule of
/// `StatsDelta::of`), as one `$group`.
fn counters_pipeline() -> Vec<Document> {
    let is = |field: &str, value: &str| doc! { "$eq": [format!("${field}"), value] };
    vec![
        doc! { "$match": { "action_type": { "$in": ["release", "retire"] } } },
        doc! { "$group": {
            "_id": "$user_id",
            "retired": { "$sum": { "$cond": [{ "$and": [is("resource_type", "region"), is("action_type", "retire")] }, 1, 0] } },
            "released": { "$sum": { "$cond": [is("resource_type", "host"), 1, 0] } },
        }},
    ]
}

/// Regions still flagged as being retired.
pub(super) fn stale_retirements() -> mongodb::bson::Document {
    doc! { "retiring": true }
}

impl MongoStore {
    pub(super) async fn rebuild_derived(&self, now: DateTime<Utc>, mode: RepairMode) -> Result<RepairReport> {
        let apply = mode == RepairMode::Apply;
        let regions: Vec<RegionDoc> = find_all(&self.regions(), doc! {}, None).await?;
        let hosts: Vec<HostDoc> = find_all(&self.hosts(), doc! {}, None).await?;
        let mut truth = Truth::default();
        for r in &regions {
            truth.region(&r.id, &UserId::from_stored(r.user_id.clone()), octet(r.x_octet), octet(r.y_octet));
        }
        for h in &hosts {
            truth.host(&h.region_id, &UserId::from_stored(h.user_id.clone()), octet(h.z_octet));
        }
        let mut report = RepairReport::default();
        // Users whose derived data changed: their data version moves, so that no cached result
        // computed from the wrong figures is served again.
        let mut touched: BTreeSet<UserId> = BTreeSet::new();

        for r in &regions {
            let want = truth.hosts.get(&r.id).copied().unwrap_or_default();
            if r.slots() != want || r.allocated_hosts != small(want.count()) {
                report.regions_fixed += 1;
                touched.insert(UserId::from_stored(r.user_id.clone()));
                if !apply {
                    continue;
                }
                let words: Vec<Bson> = want.to_words().iter().map(|w| Bson::Int64(*w)).collect();
                self.regions()
                    .update_one(
                        doc! { "_id": &r.id },
                        doc! { "$set": { "host_slots": words, "allocated_hosts": small(want.count()) } },
                    )
                    .await
                    .map_err(errors::db)?;
            }
        }

        let stored: Vec<SlotsDoc> = find_all(&self.slots(), doc! {}, None).await?;
        let mut stored: BTreeMap<(UserId, u8), (SlotMap, i32)> = stored
            .into_iter()
            .map(|d| {
                ((UserId::from_stored(d.user_id), octet(d.x_octet)), (SlotMap::from_words(d.y_slots), d.used_count))
            })
            .collect();
        for ((user, x), want) in &truth.blocks {
            if stored.remove(&(user.clone(), *x)) != Some((*want, small(want.count()))) {
                report.block_maps_fixed += 1;
                touched.insert(user.clone());
                if !apply {
                    continue;
                }
                let words: Vec<Bson> = want.to_words().iter().map(|w| Bson::Int64(*w)).collect();
                self.slots()
                    .update_one(
                        doc! { "_id": SlotsDoc::id(user, *x) },
                        doc! { "$set": {
                            "user_id": user.as_str(), "x_octet": i32::from(*x), "y_slots": words,
                            "used_count": small(want.count()),
                        }},
                    )
                    .upsert(true)
                    .await
                    .map_err(errors::db)?;
            }
        }
        // Retiring a block's last region leaves an empty document behind (it is reused by the
        // next allocation there): that agrees with the regions, so only a non-empty leftover
        // is wrong.
        let leftovers = stored.into_iter().filter(|(_, (bits, used))| *bits != SlotMap::default() || *used != 0);
        for ((user, x), _) in leftovers {
            if apply {
                self.slots().delete_one(doc! { "_id": SlotsDoc::id(&user, x) }).await.map_err(errors::db)?;
            }
            report.block_maps_fixed += 1;
            touched.insert(user);
        }

        let quotas: Vec<QuotaDoc> = find_all(&self.quotas(), doc! {}, None).await?;
        let mut users: BTreeMap<UserId, (i32, i32)> =
            quotas.into_iter().map(|q| (UserId::from_stored(q.user_id), (q.region_count, q.host_count))).collect();
        for user in truth.counts.keys() {
            users.entry(user.clone()).or_insert((-1, -1));
        }
        for (user, have) in users {
            let (r, h) = truth.counts.get(&user).copied().unwrap_or_default();
            if have != (small(r), small(h)) {
                report.quotas_fixed += 1;
                touched.insert(user.clone());
                if !apply {
                    continue;
                }
                self.quotas()
                    .update_one(
                        doc! { "_id": user.as_str() },
                        doc! {
                            "$set": { "region_count": small(r), "host_count": small(h), "last_updated": date(now) },
                            "$setOnInsert": { "region_quota": Bson::Null, "host_quota": Bson::Null },
                        },
                    )
                    .upsert(true)
                    .await
                    .map_err(errors::db)?;
            }
        }
        report.counters_fixed = self.rebuild_counters(now, apply, &mut touched).await?;
        // A retirement that died half-way left its flag; with allocations paused nobody is
        // retiring right now, so every flag left is stale.
        report.retirements_cleared = if apply {
            let cleared = self
                .regions()
                .update_many(stale_retirements(), doc! { "$unset": { "retiring": "" } })
                .await
                .map_err(errors::db)?;
            cleared.modified_count
        } else {
            self.regions().count_documents(stale_retirements()).await.map_err(errors::db)?
        };
        if apply {
            for user in &touched {
                self.user_stats()
                    .update_one(
                        doc! { "_id": user.as_str() },
                        // `$inc` by 0 creates the counters a new document must have.
                        doc! {
                            "$inc": { "data_version": 1_i64, "retired_regions": 0_i64, "released_hosts": 0_i64 },
                            "$set": { "updated_at": date(now) },
                        },
                    )
                    .upsert(true)
                    .await
                    .map_err(errors::db)?;
            }
        }
        Ok(report)
    }

    /// Sets each user's retired/released counters to what the audit history counts; returns
    /// how many users disagreed (each is added to `touched`).
    async fn rebuild_counters(&self, now: DateTime<Utc>, apply: bool, touched: &mut BTreeSet<UserId>) -> Result<u64> {
        let mut want: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for d in self.aggregate("ipam_audit_history", counters_pipeline()).await? {
            let Ok(user) = d.get_str("_id") else { continue };
            let counts = (count_in(&d, "retired").unwrap_or(0), count_in(&d, "released").unwrap_or(0));
            if counts != (0, 0) {
                want.insert(user.to_owned(), counts);
            }
        }
        let mut have: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for d in find_all(&self.user_stats(), doc! {}, None).await? {
            let Ok(user) = d.get_str("_id") else { continue };
            let counts = (count_in(&d, "retired_regions").unwrap_or(0), count_in(&d, "released_hosts").unwrap_or(0));
            have.insert(user.to_owned(), counts);
        }
        let users: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
        let mut fixed = 0;
        for user in users {
            let w = want.get(user).copied().unwrap_or_default();
            if have.get(user).copied().unwrap_or_default() == w {
                continue;
            }
            fixed += 1;
            touched.insert(UserId::from_stored(user.clone()));
            if apply {
                let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                self.user_stats()
                    .update_one(
                        doc! { "_id": user.as_str() },
                        doc! {
                            "$set": { "retired_regions": n(w.0), "released_hosts": n(w.1), "updated_at": date(now) },
                            "$inc": { "data_version": 0_i64 },
                        },
                    )
                    .upsert(true)
                    .await
                    .map_err(errors::db)?;
            }
        }
        Ok(fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_clears_every_region_left_flagged_as_retiring() {
        assert_eq!(stale_retirements(), doc! { "retiring": true });
    }
}
