//! Statistics on MongoDB: the per-user counters (`ipam_user_stats`, one document per user,
//! `_id` = the user id, kept by `record_in` with the audit records of each change), the data
//! version, the dashboard's counts, each one indexed count or one `$group` over the user's
//! regions, the allocation history per day or hour, and the regions' utilisation ranking
//! (hosts are never read).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::FindOptions;

use super::documents::{RegionDoc, corrupt, date};
use super::tx::{Tx, run};
use super::{MongoStore, errors};
use crate::domain::statistics::{
    ActivityQuery, CountryUsage, DailyActivity, DashboardCounts, HourlyActivity, RECENT_ACTIVITY, StatsDelta,
    warning_hosts,
};
use crate::domain::{CountryCode, Region, UserId};
use crate::error::Result;
use crate::storage::{NotificationStore, StatisticsStore};

/// Adds `d` to its user's counters, creating the document.
pub(super) fn add_stats(d: &StatsDelta, at: DateTime<Utc>) -> (Document, Document) {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    (
        doc! { "_id": d.user_id.as_str() },
        doc! {
            "$inc": {
                "data_version": n(d.versions),
                "retired_regions": n(d.retired_regions),
                "released_hosts": n(d.released_hosts),
            },
            "$set": { "updated_at": date(at) },
        },
    )
}

/// A non-negative count in `d`, whatever width the server chose (`$sum` gives an int, a long,
/// or a double when it overflows); `None` when missing or negative.
pub(super) fn count_in(d: &Document, field: &str) -> Option<u64> {
    match d.get(field)? {
        Bson::Int64(n) => u64::try_from(*n).ok(),
        Bson::Int32(n) => u64::try_from(*n).ok(),
        Bson::Double(f) if *f >= 0.0 => Some(*f as u64),
        _ => None,
    }
}

/// A counter of a stats document (0 when missing: a user who never changed anything).
fn counter(d: Option<&Document>, field: &str) -> u64 {
    d.and_then(|d| count_in(d, field)).unwrap_or(0)
}

/// `$group` stage output as (code, regions, hosts).
fn country_usage(d: &Document) -> Option<CountryUsage> {
    Some(CountryUsage {
        country_code: CountryCode::from_stored(d.get_str("_id").ok()?.to_owned()),
        regions: count_in(d, "regions")?,
        hosts: count_in(d, "hosts")?,
    })
}

impl MongoStore {
    /// Every document `pipeline` yields over `coll`.
    pub(super) async fn aggregate(
        &self,
        coll: &str,
        pipeline: impl IntoIterator<Item = Document>,
    ) -> Result<Vec<Document>> {
        let c: Collection<Document> = self.db.collection(coll);
        c.aggregate(pipeline).await.map_err(errors::db)?.try_collect().await.map_err(errors::db)
    }

    pub(super) fn user_stats(&self) -> Collection<Document> {
        self.db.collection("ipam_user_stats")
    }

    /// Adds the counters of a unit of work's audit records, inside `tx`.
    pub(super) async fn add_stats_in(&self, tx: &mut Tx, deltas: &[StatsDelta], at: DateTime<Utc>) -> Result<()> {
        for d in deltas {
            let (filter, update) = add_stats(d, at);
            for attempt in 1..=2 {
                match run!(tx, self.user_stats().update_one(filter.clone(), update.clone()).upsert(true)) {
                    Ok(_) => break,
                    // The first two changes of a user racing outside a transaction both insert;
                    // the loser's retry finds the winner's document and increments it.
                    Err(e) if attempt == 1 && !tx.is_transaction() && errors::duplicate_index(&e).is_some() => {}
                    Err(e) => return Err(errors::db(e)),
                }
            }
        }
        Ok(())
    }

    async fn count(&self, coll: &str, filter: Document) -> Result<u64> {
        let c: Collection<Document> = self.db.collection(coll);
        c.count_documents(filter).await.map_err(errors::db)
    }
}

#[async_trait]
impl StatisticsStore for MongoStore {
    async fn data_version(&self, user: &UserId) -> Result<u64> {
        let found = self.user_stats().find_one(doc! { "_id": user.as_str() }).await.map_err(errors::db)?;
        Ok(counter(found.as_ref(), "data_version"))
    }

    async fn dashboard_counts(&self, user: &UserId, now: DateTime<Utc>) -> Result<DashboardCounts> {
        let u = user.as_str();
        let pipeline = [
            doc! { "$match": { "user_id": u } },
            doc! { "$group": { "_id": "$country_code", "regions": { "$sum": 1 }, "hosts": { "$sum": "$allocated_hosts" } } },
        ];
        let grouped = self.aggregate("ipam_regions", pipeline).await?;
        let stats = self.user_stats().find_one(doc! { "_id": u }).await.map_err(errors::db)?;
        let recent = doc! {
            "user_id": u, "action_type": "create", "timestamp": { "$gte": date(now - RECENT_ACTIVITY) },
            "resource_type": { "$in": ["region", "host"] },
        };
        let warnings = doc! { "user_id": u, "allocated_hosts": { "$gte": i64::from(warning_hosts()) } };
        let reservations = doc! {
            "user_id": u, "status": "active",
            "$or": [ { "expires_at": Bson::Null }, { "expires_at": { "$gt": date(now) } } ],
        };
        let shares = doc! { "user_id": u, "is_active": true, "expires_at": { "$gt": date(now) } };
        Ok(DashboardCounts {
            countries: grouped.iter().filter_map(country_usage).collect(),
            retired_regions: counter(stats.as_ref(), "retired_regions"),
            released_hosts: counter(stats.as_ref(), "released_hosts"),
            recent_allocations: self.count("ipam_audit_history", recent).await?,
            capacity_warnings: self.count("ipam_regions", warnings).await?,
            active_reservations: self.count("ipam_reservations", reservations).await?,
            active_shares: self.count("ipam_shares", shares).await?,
            unread_notifications: self.unread_count(user, now).await?,
        })
    }

    async fn daily_activity(&self, user: &UserId, q: &ActivityQuery) -> Result<Vec<DailyActivity>> {
        let pipeline = [doc! { "$match": activity_filter(user, q) }, activity_by(DAY_FORMAT)];
        let grouped = self.aggregate("ipam_audit_history", pipeline).await?;
        let mut days = grouped.iter().map(daily).collect::<Result<Vec<_>>>()?;
        days.sort_by_key(|d| d.day);
        Ok(days)
    }

    async fn hourly_activity(&self, user: &UserId, q: &ActivityQuery) -> Result<Vec<HourlyActivity>> {
        let pipeline = [doc! { "$match": activity_filter(user, q) }, activity_by(HOUR_FORMAT)];
        let grouped = self.aggregate("ipam_audit_history", pipeline).await?;
        let mut hours = grouped.iter().map(hourly).collect::<Result<Vec<_>>>()?;
        hours.sort_by_key(|h| h.hour);
        Ok(hours)
    }

    async fn most_utilized_regions(&self, user: &UserId, limit: u32) -> Result<Vec<Region>> {
        // No index of its own: `user_xy_unique_idx` finds the user's regions and the server
        // keeps the top `limit` of them in a bounded sort. A user holds at most their region
        // quota (1,000 by default), so that is a small in-memory pass; an index on
        // (user_id, allocated_hosts) would serve the limit directly but be rewritten by every
        // host allocation and release, to speed up a read the result cache already absorbs.
        let options = FindOptions::builder()
            .sort(doc! { "allocated_hosts": -1, "x_octet": 1, "y_octet": 1 })
            .limit(i64::from(limit))
            .build();
        let cursor = self.regions().find(doc! { "user_id": user.as_str() }).with_options(options).await;
        let docs: Vec<RegionDoc> = cursor.map_err(errors::db)?.try_collect().await.map_err(errors::db)?;
        docs.into_iter().map(Region::try_from).collect()
    }
}

/// The audit records a history counts.
pub(super) fn activity_filter(user: &UserId, q: &ActivityQuery) -> Document {
    let mut f = doc! {
        "user_id": user.as_str(),
        "action_type": { "$in": ["create", "release", "retire"] },
        "timestamp": { "$gte": date(q.from), "$lt": date(q.to) },
    };
    match q.resource {
        Some(r) => f.insert("resource_type", r.as_str()),
        None => f.insert("resource_type", doc! { "$in": ["region", "host"] }),
    };
    if let Some((lo, hi)) = q.x {
        f.insert("x_octet", doc! { "$gte": i32::from(lo), "$lte": i32::from(hi) });
    }
    if let Some(y) = q.y {
        f.insert("y_octet", i32::from(y));
    }
    f
}

/// `$dateToString` format of a UTC day.
const DAY_FORMAT: &str = "%Y-%m-%d";
/// `$dateToString` format of a UTC hour (`YYYY-MM-DDTHH`).
const HOUR_FORMAT: &str = "%Y-%m-%dT%H";

/// Groups the records by the UTC period `format` prints, counting creations and releases.
pub(super) fn activity_by(format: &str) -> Document {
    let one_if = |actions: Vec<&str>| doc! { "$cond": [{ "$in": ["$action_type", actions] }, 1, 0] };
    doc! { "$group": {
        "_id": { "$dateToString": { "format": format, "date": "$timestamp" } },
        "allocations": { "$sum": one_if(vec!["create"]) },
        "releases": { "$sum": one_if(vec!["release", "retire"]) },
    } }
}

fn daily(d: &Document) -> Result<DailyActivity> {
    let day = d.get_str("_id").map_err(|e| corrupt(format!("activity day: {e}")))?;
    Ok(DailyActivity {
        day: NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|e| corrupt(format!("activity day {day}: {e}")))?,
        allocations: count_in(d, "allocations").unwrap_or(0),
        releases: count_in(d, "releases").unwrap_or(0),
    })
}

fn hourly(d: &Document) -> Result<HourlyActivity> {
    let hour = d.get_str("_id").map_err(|e| corrupt(format!("activity hour: {e}")))?;
    let parsed = DateTime::parse_from_rfc3339(&format!("{hour}:00:00Z"))
        .map_err(|e| corrupt(format!("activity hour {hour}: {e}")))?;
    Ok(HourlyActivity {
        hour: parsed.with_timezone(&Utc),
        allocations: count_in(d, "allocations").unwrap_or(0),
        releases: count_in(d, "releases").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn counters_are_incremented_in_one_upsert_per_user() {
        let at = Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap();
        let d =
            StatsDelta { user_id: UserId::parse("u1").unwrap(), versions: 3, retired_regions: 1, released_hosts: 2 };
        let (filter, update) = add_stats(&d, at);
        assert_eq!(filter, doc! { "_id": "u1" });
        assert_eq!(
            update,
            doc! {
                "$inc": { "data_version": 3_i64, "retired_regions": 1_i64, "released_hosts": 2_i64 },
                "$set": { "updated_at": date(at) },
            }
        );
    }

    #[test]
    fn missing_counters_read_as_zero_and_grouped_countries_convert_whatever_the_integer_width() {
        assert_eq!(counter(None, "data_version"), 0);
        let d = doc! { "data_version": 7_i64, "retired_regions": 2_i32 };
        assert_eq!((counter(Some(&d), "data_version"), counter(Some(&d), "retired_regions")), (7, 2));
        let g = doc! { "_id": "USA", "regions": 3_i32, "hosts": 381_i64 };
        assert_eq!(
            country_usage(&g),
            Some(CountryUsage { country_code: CountryCode::from_stored("USA".into()), regions: 3, hosts: 381 })
        );
        assert_eq!(country_usage(&doc! { "_id": "USA" }), None);
    }
}
