//! `ipam repair` on MongoDB: rebuild bitmaps, host counts and quota counters from the
//! documents. Run it while allocations are paused: it reads everything, then rewrites what
//! disagrees, and an allocation in between could be counted twice or not at all.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mongodb::bson::{Bson, doc};

use super::documents::{HostDoc, QuotaDoc, RegionDoc, SlotsDoc, date};
use super::{MongoStore, errors, find_all};
use crate::domain::{SlotMap, UserId};
use crate::error::Result;
use crate::storage::RepairReport;
use crate::storage::repair::Truth;

fn octet(v: i32) -> u8 {
    u8::try_from(v).unwrap_or_default()
}

fn small(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Regions still flagged as being retired.
pub(super) fn stale_retirements() -> mongodb::bson::Document {
    doc! { "retiring": true }
}

impl MongoStore {
    pub(super) async fn rebuild_derived(&self, now: DateTime<Utc>) -> Result<RepairReport> {
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

        for r in &regions {
            let want = truth.hosts.get(&r.id).copied().unwrap_or_default();
            if r.slots() != want || r.allocated_hosts != small(want.count()) {
                let words: Vec<Bson> = want.to_words().iter().map(|w| Bson::Int64(*w)).collect();
                self.regions()
                    .update_one(
                        doc! { "_id": &r.id },
                        doc! { "$set": { "host_slots": words, "allocated_hosts": small(want.count()) } },
                    )
                    .await
                    .map_err(errors::db)?;
                report.regions_fixed += 1;
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
                report.block_maps_fixed += 1;
            }
        }
        for (user, x) in stored.into_keys() {
            self.slots().delete_one(doc! { "_id": SlotsDoc::id(&user, x) }).await.map_err(errors::db)?;
            report.block_maps_fixed += 1;
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
                report.quotas_fixed += 1;
            }
        }
        // A retirement that died half-way left its flag; with allocations paused nobody is
        // retiring right now, so every flag left is stale.
        let cleared = self
            .regions()
            .update_many(stale_retirements(), doc! { "$unset": { "retiring": "" } })
            .await
            .map_err(errors::db)?;
        report.retirements_cleared = cleared.modified_count;
        Ok(report)
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
