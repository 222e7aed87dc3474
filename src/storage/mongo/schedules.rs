//! Cron tick claims (`ipam_schedule_runs`). The `_id` of a run is `<schedule>@<tick>`, so the
//! unique `_id` index lets exactly one process insert — and so win — each tick.

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{self, DateTime as BsonDateTime, Document, doc};
use mongodb::options::FindOptions;
use serde::{Deserialize, Serialize};

use super::documents::{corrupt, date, time};
use super::{MongoStore, errors};
use crate::error::{IpamError, Result};
use crate::storage::{RunOutcome, ScheduleRun, ScheduleStore};

/// One tick of one schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RunDoc {
    #[serde(rename = "_id")]
    pub(super) id: String,
    pub(super) schedule: String,
    pub(super) tick_at: BsonDateTime,
    pub(super) claimed_by: String,
    pub(super) claimed_at: BsonDateTime,
    pub(super) finished_at: Option<BsonDateTime>,
    pub(super) outcome: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) attempts: i32,
}

/// The `_id` of a schedule's tick: `reservation_expiry@2026-11-25T10:00:00.000Z`.
pub(super) fn run_id(schedule: &str, tick: DateTime<Utc>) -> String {
    format!("{schedule}@{}", tick.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl RunDoc {
    /// A freshly claimed tick, not attempted yet.
    pub(super) fn claimed(schedule: &str, tick: DateTime<Utc>, worker: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: run_id(schedule, tick),
            schedule: schedule.to_owned(),
            tick_at: date(tick),
            claimed_by: worker.to_owned(),
            claimed_at: date(now),
            finished_at: None,
            outcome: None,
            detail: None,
            attempts: 0,
        }
    }
}

impl TryFrom<RunDoc> for ScheduleRun {
    type Error = IpamError;

    fn try_from(d: RunDoc) -> Result<Self> {
        let outcome = match d.outcome {
            Some(o) => Some(RunOutcome::from_stored(&o).ok_or_else(|| corrupt(format!("outcome {o}")))?),
            None => None,
        };
        Ok(ScheduleRun {
            schedule: d.schedule,
            tick_at: time(d.tick_at)?,
            claimed_by: d.claimed_by,
            claimed_at: time(d.claimed_at)?,
            finished_at: d.finished_at.map(time).transpose()?,
            outcome,
            detail: d.detail,
            attempts: u32::try_from(d.attempts).map_err(|_| corrupt(format!("attempts = {}", d.attempts)))?,
        })
    }
}

/// Records how one attempt ended.
pub(super) fn finish_update(outcome: RunOutcome, detail: &str, now: DateTime<Utc>) -> Document {
    doc! {
        "$set": { "finished_at": date(now), "outcome": outcome.as_str(), "detail": detail },
        "$inc": { "attempts": 1 },
    }
}

/// The newest run of every schedule, by schedule name.
pub(super) fn latest_pipeline() -> Vec<Document> {
    vec![
        doc! { "$sort": { "schedule": 1, "tick_at": -1 } },
        doc! { "$group": { "_id": "$schedule", "latest": { "$first": "$$ROOT" } } },
        doc! { "$replaceRoot": { "newRoot": "$latest" } },
        doc! { "$sort": { "schedule": 1 } },
    ]
}

/// Runs claimed before `before`.
pub(super) fn prunable_runs(before: DateTime<Utc>) -> Document {
    doc! { "claimed_at": { "$lt": date(before) } }
}

impl MongoStore {
    fn runs(&self) -> Collection<RunDoc> {
        self.db.collection("ipam_schedule_runs")
    }
}

#[async_trait]
impl ScheduleStore for MongoStore {
    async fn claim_tick(&self, schedule: &str, tick: DateTime<Utc>, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        match self.runs().insert_one(RunDoc::claimed(schedule, tick, worker, now)).await {
            Ok(_) => Ok(true),
            Err(e) if errors::duplicate_index(&e).is_some() => Ok(false),
            Err(e) => Err(errors::db(e)),
        }
    }

    async fn finish_tick(
        &self,
        schedule: &str,
        tick: DateTime<Utc>,
        outcome: RunOutcome,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let id = run_id(schedule, tick);
        let r = self.runs().update_one(doc! { "_id": &id }, finish_update(outcome, detail, now)).await;
        if r.map_err(errors::db)?.matched_count == 0 {
            tracing::warn!(run = %id, "finished a tick that was never claimed (or was pruned)");
        }
        Ok(())
    }

    async fn latest_ticks(&self) -> Result<Vec<ScheduleRun>> {
        let cursor = self.runs().aggregate(latest_pipeline()).await.map_err(errors::db)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(errors::db)?;
        docs.into_iter().map(|d| ScheduleRun::try_from(bson::from_document::<RunDoc>(d).map_err(corrupt)?)).collect()
    }

    async fn ticks(&self, schedule: &str, limit: u32) -> Result<Vec<ScheduleRun>> {
        if limit == 0 {
            return Ok(Vec::new()); // a limit of 0 means "no limit" to the server
        }
        let options = FindOptions::builder().sort(doc! { "tick_at": -1 }).limit(i64::from(limit)).build();
        let cursor = self.runs().find(doc! { "schedule": schedule }).with_options(options).await.map_err(errors::db)?;
        let docs: Vec<RunDoc> = cursor.try_collect().await.map_err(errors::db)?;
        docs.into_iter().map(ScheduleRun::try_from).collect()
    }

    async fn prune_ticks(&self, before: DateTime<Utc>) -> Result<u64> {
        let r = self.runs().delete_many(prunable_runs(before)).await.map_err(errors::db)?;
        Ok(r.deleted_count)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use mongodb::bson::Bson;

    use super::*;

    fn tick() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
    }

    #[test]
    fn a_run_is_keyed_by_schedule_and_tick_to_the_millisecond() {
        assert_eq!(run_id("reservation_expiry", tick()), "reservation_expiry@2026-11-25T10:00:00.000Z");
        assert_eq!(run_id("prune", tick() + Duration::milliseconds(7)), "prune@2026-11-25T10:00:00.007Z");
    }

    #[test]
    fn runs_round_trip_through_bson() {
        let claimed = RunDoc::claimed("prune", tick(), "worker-1", tick() + Duration::seconds(1));
        let doc = bson::to_document(&claimed).unwrap();
        assert_eq!(doc.get_str("_id").unwrap(), "prune@2026-11-25T10:00:00.000Z");
        assert_eq!(doc.get_i32("attempts").unwrap(), 0);
        assert_eq!(doc.get("outcome"), Some(&Bson::Null));
        let run = ScheduleRun::try_from(bson::from_document::<RunDoc>(doc).unwrap()).unwrap();
        assert_eq!(
            run,
            ScheduleRun {
                schedule: "prune".into(),
                tick_at: tick(),
                claimed_by: "worker-1".into(),
                claimed_at: tick() + Duration::seconds(1),
                finished_at: None,
                outcome: None,
                detail: None,
                attempts: 0,
            }
        );
        let mut finished = claimed;
        finished.outcome = Some("dead".into());
        finished.finished_at = Some(date(tick() + Duration::seconds(2)));
        finished.attempts = 3;
        let run = ScheduleRun::try_from(bson::from_document::<RunDoc>(bson::to_document(&finished).unwrap()).unwrap());
        assert_eq!(run.unwrap().outcome, Some(RunOutcome::Dead));
        finished.outcome = Some("skipped".into());
        assert!(matches!(ScheduleRun::try_from(finished), Err(IpamError::Internal(_))));
    }

    #[test]
    fn finishing_counts_the_attempt() {
        assert_eq!(
            finish_update(RunOutcome::Failed, "boom", tick()),
            doc! {
                "$set": { "finished_at": date(tick()), "outcome": "failed", "detail": "boom" },
                "$inc": { "attempts": 1 },
            }
        );
        assert_eq!(prunable_runs(tick()), doc! { "claimed_at": { "$lt": date(tick()) } });
    }

    #[test]
    fn the_latest_tick_of_each_schedule_is_the_first_in_tick_order() {
        assert_eq!(
            latest_pipeline(),
            vec![
                doc! { "$sort": { "schedule": 1, "tick_at": -1 } },
                doc! { "$group": { "_id": "$schedule", "latest": { "$first": "$$ROOT" } } },
                doc! { "$replaceRoot": { "newRoot": "$latest" } },
                doc! { "$sort": { "schedule": 1 } },
            ]
        );
    }
}
