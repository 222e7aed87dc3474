//! Quota records: counters taken with a conditional `$inc` before an insert (and given back if
//! the insert fails), so concurrent requests can never push a user past the limit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{Bson, Document, doc};

use super::documents::date;
use super::tx::{Tx, atomically, run};
use super::{MongoStore, errors, find_page};
use crate::auth::Actor;
use crate::domain::{AuditEvent, Page, PageRequest, QuotaDefaults, QuotaPatch, QuotaUsage, UserId};
use crate::error::Result;
use crate::storage::QuotaStore;

/// Which counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counter {
    Regions,
    Hosts,
}

impl Counter {
    fn fields(self) -> (&'static str, &'static str) {
        match self {
            Self::Regions => ("region_count", "region_quota"),
            Self::Hosts => ("host_count", "host_quota"),
        }
    }
}

/// Counts and limits are stored as 32-bit integers (the validators say so); every value here is
/// far below 2^31 (the largest host quota is 16,646,144).
fn small(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The guard "count + n ≤ (override or default)" as a filter.
pub(super) fn take_filter(user: &UserId, counter: Counter, n: u32, defaults: QuotaDefaults) -> Document {
    let (count, quota) = counter.fields();
    let default = match counter {
        Counter::Regions => defaults.regions,
        Counter::Hosts => defaults.hosts,
    };
    doc! {
        "_id": user.as_str(),
        "$expr": { "$lte": [
            { "$add": [format!("${count}"), small(n)] },
            { "$ifNull": [format!("${quota}"), small(default)] },
        ]},
    }
}

impl MongoStore {
    async fn ensure_quota(&self, user: &UserId, now: DateTime<Utc>) -> Result<()> {
        let insert = doc! { "$setOnInsert": {
            "region_quota": Bson::Null, "host_quota": Bson::Null, "region_count": 0, "host_count": 0,
            "last_updated": date(now),
        }};
        match self.quotas().update_one(doc! { "_id": user.as_str() }, insert).upsert(true).await {
            Ok(_) => Ok(()),
            // A concurrent first request created it.
            Err(e) if errors::duplicate_index(&e).is_some() => Ok(()),
            Err(e) => Err(errors::db(e)),
        }
    }

    async fn load_quota(&self, user: &UserId) -> Result<QuotaUsage> {
        match self.quotas().find_one(doc! { "_id": user.as_str() }).await.map_err(errors::db)? {
            Some(d) => d.try_into(),
            None => Ok(QuotaUsage::empty(user.clone())),
        }
    }

    /// Takes `n` units of a counter, or fails with `QuotaExceeded` and takes nothing.
    pub(super) async fn take_quota(
        &self,
        user: &UserId,
        counter: Counter,
        n: u32,
        defaults: QuotaDefaults,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.ensure_quota(user, now).await?;
        let (count, _) = counter.fields();
        let update = doc! { "$inc": { count: small(n) }, "$set": { "last_updated": date(now) } };
        let r = self.quotas().update_one(take_filter(user, counter, n, defaults), update).await.map_err(errors::db)?;
        if r.modified_count == 1 {
            return Ok(());
        }
        let usage = self.load_quota(user).await?;
        match counter {
            Counter::Regions => usage.check_regions(n, defaults),
            Counter::Hosts => usage.check_hosts(n, defaults),
        }?;
        // It fits now (a release happened meanwhile): try once more.
        Box::pin(self.take_quota(user, counter, n, defaults, now)).await
    }

    /// Adds `delta` (usually negative: a give-back or a release) to a counter, never below 0.
    pub(super) async fn adjust_quota(
        &self,
        user: &UserId,
        counter: Counter,
        delta: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.adjust_quota_in(&mut Tx::none(), user, counter, delta, now).await
    }

    /// Moves a usage counter by `delta` (never below zero), inside `tx`.
    pub(super) async fn adjust_quota_in(
        &self,
        tx: &mut Tx,
        user: &UserId,
        counter: Counter,
        delta: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if delta == 0 {
            return Ok(());
        }
        let (count, _) = counter.fields();
        let update = vec![doc! { "$set": {
            count: { "$max": [0, { "$add": [format!("${count}"), delta] }] },
            "last_updated": date(now),
        }}];
        run!(tx, self.quotas().update_one(doc! { "_id": user.as_str() }, update)).map_err(errors::db)?;
        Ok(())
    }
}

#[async_trait]
impl QuotaStore for MongoStore {
    async fn quota(&self, user: &UserId) -> Result<QuotaUsage> {
        self.load_quota(user).await
    }

    async fn quotas(&self, page: PageRequest) -> Result<Page<QuotaUsage>> {
        find_page(&self.quotas(), doc! {}, doc! { "_id": 1 }, page, QuotaUsage::try_from).await
    }

    async fn update_quota(
        &self,
        actor: &Actor,
        user: &UserId,
        patch: &QuotaPatch,
        now: DateTime<Utc>,
    ) -> Result<QuotaUsage> {
        // Created outside the unit: an upsert racing another first request is settled by the
        // unique `_id` (see `ensure_quota`), which a transaction would turn into an abort.
        self.ensure_quota(user, now).await?;
        atomically!(self, |tx| self.update_quota_in(tx, actor, user, patch, now).await)
    }
}

impl MongoStore {
    /// Applies a patch to a user's limits and records it, inside `tx`. Only the limits are
    /// written, so concurrent takes and give-backs of the counters are never overwritten.
    async fn update_quota_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        user: &UserId,
        patch: &QuotaPatch,
        now: DateTime<Utc>,
    ) -> Result<QuotaUsage> {
        let found = run!(tx, self.quotas().find_one(doc! { "_id": user.as_str() })).map_err(errors::db)?;
        let mut usage = match found {
            Some(d) => d.try_into()?,
            None => QuotaUsage::empty(user.clone()),
        };
        let before = usage.snapshot();
        let changes = usage.apply(patch);
        if changes.is_empty() {
            return Ok(usage);
        }
        let set = doc! {
            "region_quota": usage.region_quota.map(small),
            "host_quota": usage.host_quota.map(small),
            "last_updated": date(now),
        };
        run!(tx, self.quotas().update_one(doc! { "_id": user.as_str() }, doc! { "$set": set })).map_err(errors::db)?;
        self.record_in(tx, &[AuditEvent::quota(user, actor, before, changes, now)]).await?;
        usage.last_updated = Some(now);
        Ok(usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_take_guard_uses_the_override_or_the_default() {
        let f = take_filter(&UserId::parse("u1").unwrap(), Counter::Hosts, 3, QuotaDefaults { regions: 10, hosts: 20 });
        assert_eq!(
            f,
            doc! { "_id": "u1", "$expr": { "$lte": [
                { "$add": ["$host_count", 3] },
                { "$ifNull": ["$host_quota", 20] },
            ]}}
        );
    }
}
