//! The storage of forecast requests (`ipam_forecast_requests`, migration 9): which forecasts
//! clients asked for and when last, so the daily recomputation warms exactly those. One record
//! per (user, subject, `days_ahead`); recording the same request again only moves its
//! `last_requested_at` forward.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::ForecastRequestId;
use crate::domain::statistics::forecast::ForecastRequest;
use crate::error::Result;

/// Forecast requests, across every user (the recomputation job reads them all).
#[async_trait]
pub trait ForecastRequestStore: Send + Sync {
    /// Records `request`: creates its record (with `request.id`) or, when the user already has
    /// one for the same subject and `days_ahead`, moves its `last_requested_at` to
    /// `request.last_requested_at` if that is later (the record keeps its id). Concurrent
    /// recordings of one request leave one record.
    async fn record_forecast_request(&self, request: &ForecastRequest) -> Result<()>;

    /// Up to `limit` requests last made at or after `since`, ordered by id, starting after
    /// `after` (keyset paging: records forgotten between pages do not shift the next page).
    async fn forecast_requests_since(
        &self,
        since: DateTime<Utc>,
        after: Option<&ForecastRequestId>,
        limit: u32,
    ) -> Result<Vec<ForecastRequest>>;

    /// Deletes one request; false when there was none with that id.
    async fn forget_forecast_request(&self, id: &ForecastRequestId) -> Result<bool>;

    /// Deletes up to `limit` requests last made before `cutoff`; returns how many.
    async fn prune_forecast_requests(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<u64>;
}
