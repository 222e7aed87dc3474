//! Forecast requests on MongoDB (`ipam_forecast_requests`, `_id` = the request id): recording
//! is one upsert on the `(user, resource, days_ahead)` unique index; the TTL index on
//! `last_requested_at` deletes a request 7 days after it was last made, and the recomputation
//! job's prune catches up between TTL passes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::FindOptions;

use super::documents::{corrupt, date, time};
use super::{MongoStore, errors};
use crate::domain::statistics::forecast::{ForecastRequest, ForecastSubject};
use crate::domain::{ForecastRequestId, UserId};
use crate::error::Result;
use crate::storage::ForecastRequestStore;

fn request(d: &Document) -> Result<ForecastRequest> {
    let text =
        |field: &str| d.get_str(field).map(str::to_owned).map_err(|_| corrupt(format!("forecast request {field}")));
    let id = text("_id")?;
    let kind = text("resource_type")?;
    let subject = ForecastSubject::from_stored(&kind, text("resource_id")?)
        .ok_or_else(|| corrupt(format!("forecast request {id}: resource_type '{kind}'")))?;
    let days = match d.get("days_ahead") {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        _ => return Err(corrupt(format!("forecast request {id}: days_ahead"))),
    };
    let days_ahead = u32::try_from(days).map_err(|_| corrupt(format!("forecast request {id}: days_ahead {days}")))?;
    let at = d
        .get_datetime("last_requested_at")
        .map_err(|_| corrupt(format!("forecast request {id}: last_requested_at")))?;
    Ok(ForecastRequest {
        id: ForecastRequestId::from_stored(id),
        user_id: UserId::from_stored(text("user_id")?),
        subject,
        days_ahead,
        last_requested_at: time(*at)?,
    })
}

impl MongoStore {
    fn forecast_requests(&self) -> Collection<Document> {
        self.db.collection("ipam_forecast_requests")
    }
}

#[async_trait]
impl ForecastRequestStore for MongoStore {
    async fn record_forecast_request(&self, r: &ForecastRequest) -> Result<()> {
        let filter = doc! {
            "user_id": r.user_id.as_str(), "resource_type": r.subject.kind(), "resource_id": r.subject.id(),
            "days_ahead": i64::from(r.days_ahead),
        };
        // `$max`: a late, older recording never moves the request back.
        let update = doc! {
            "$setOnInsert": { "_id": r.id.as_str() },
            "$max": { "last_requested_at": date(r.last_requested_at) },
        };
        for attempt in 1..=2 {
            match self.forecast_requests().update_one(filter.clone(), update.clone()).upsert(true).await {
                Ok(_) => break,
                // Two processes recording the same first request both insert; the loser's
                // retry finds the winner's document and moves it forward.
                Err(e) if attempt == 1 && errors::is_duplicate_forecast_request(&e) => {}
                Err(e) => return Err(errors::db(e)),
            }
        }
        Ok(())
    }

    async fn forecast_requests_since(
        &self,
        since: DateTime<Utc>,
        after: Option<&ForecastRequestId>,
        limit: u32,
    ) -> Result<Vec<ForecastRequest>> {
        let mut filter = doc! { "last_requested_at": { "$gte": date(since) } };
        if let Some(after) = after {
            filter.insert("_id", doc! { "$gt": after.as_str() });
        }
        let options = FindOptions::builder().sort(doc! { "_id": 1 }).limit(i64::from(limit)).build();
        let cursor = self.forecast_requests().find(filter).with_options(options).await.map_err(errors::db)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(errors::db)?;
        docs.iter().map(request).collect()
    }

    async fn forget_forecast_request(&self, id: &ForecastRequestId) -> Result<bool> {
        let done = self.forecast_requests().delete_one(doc! { "_id": id.as_str() }).await.map_err(errors::db)?;
        Ok(done.deleted_count > 0)
    }

    async fn prune_forecast_requests(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<u64> {
        let old = doc! { "last_requested_at": { "$lt": date(cutoff) } };
        let options = FindOptions::builder().projection(doc! { "_id": 1 }).limit(i64::from(limit)).build();
        let cursor = self.forecast_requests().find(old.clone()).with_options(options).await.map_err(errors::db)?;
        let found: Vec<Document> = cursor.try_collect().await.map_err(errors::db)?;
        let ids: Vec<Bson> = found.into_iter().filter_map(|d| d.get("_id").cloned()).collect();
        if ids.is_empty() {
            return Ok(0);
        }
        // Still guarded by the cutoff: a request made again meanwhile stays.
        let mut these = old;
        these.insert("_id", doc! { "$in": ids });
        Ok(self.forecast_requests().delete_many(these).await.map_err(errors::db)?.deleted_count)
    }
}
