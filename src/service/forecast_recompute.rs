//! Keeping requested forecasts warm: recording which forecasts clients ask for (at most once an
//! hour per user and forecast) and recomputing one recorded request for the daily job, which
//! forgets a request whose country or region no longer exists.

use std::time::Duration;

use super::Ipam;
use crate::domain::statistics::forecast::{ForecastRequest, ForecastSubject, RECORD_INTERVAL_MINUTES};
use crate::domain::{ForecastRequestId, UserId};
use crate::error::{IpamError, Result};

/// What became of one recorded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recomputed {
    /// Computed as of now and cached under today's key.
    Cached,
    /// Its country is unknown or its region no longer exists: the request was deleted.
    Forgotten,
}

impl Ipam {
    /// Records that `user` asked for this forecast now, unless it was recorded within the last
    /// [`RECORD_INTERVAL_MINUTES`]. Never fails the request: a failure is logged, and the next
    /// request records it.
    ///
    /// Why a marker in the result cache rather than a guarded upsert (`… WHERE
    /// last_requested_at < now − 1 h`): the guarded upsert is still a write statement on every
    /// GET (SQLite takes its write lock for it even when no row changes), while the marker is a
    /// read of the cache the forecast itself was just read from. With Redis the marker is shared
    /// by every API process; with the in-process cache each process records once an hour. A
    /// marker that is lost (evicted, cache down) only costs one more idempotent upsert.
    pub(super) async fn note_forecast_request(&self, user: &UserId, subject: &ForecastSubject, days_ahead: u32) {
        let key = format!("forecast-request:{user}:{}:{}:d{days_ahead}", subject.kind(), subject.id());
        match self.cache.get(&key).await {
            Ok(Some(_)) => return,
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "result cache unavailable; recording the forecast request"),
        }
        let request = ForecastRequest {
            id: ForecastRequestId::generate(),
            user_id: user.clone(),
            subject: subject.clone(),
            days_ahead,
            last_requested_at: self.now(),
        };
        if let Err(e) = self.store.record_forecast_request(&request).await {
            tracing::warn!(error = %e, "could not record a forecast request; the next request will");
            return;
        }
        let interval = Duration::from_secs(60 * RECORD_INTERVAL_MINUTES.unsigned_abs());
        if let Err(e) = self.cache.put(&key, "1", interval).await {
            tracing::debug!(error = %e, "result cache unavailable; the next request records again");
        }
    }

    /// Recomputes one recorded request as of now and caches it (see
    /// [`recompute_forecast`](Self::recompute_forecast)); a request whose country is unknown or
    /// whose region no longer exists is deleted instead.
    pub async fn recompute_requested_forecast(&self, request: &ForecastRequest) -> Result<Recomputed> {
        match self.recompute_forecast(&request.user_id, &request.subject, request.days_ahead).await {
            Ok(_) => Ok(Recomputed::Cached),
            Err(IpamError::NotFound { .. }) => {
                self.store.forget_forecast_request(&request.id).await?;
                Ok(Recomputed::Forgotten)
            }
            Err(e) => Err(e),
        }
    }
}
