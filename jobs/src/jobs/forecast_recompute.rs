//! Forecast recomputation (daily, just after UTC midnight): every forecast a client asked for
//! in the last 7 days is computed anew as of now, for its user, and cached under today's key,
//! so the first request of the day is served from the cache. A forecast's key holds the day
//! and the user's data version, so a write after the run makes the next request compute
//! afresh; the run never serves anything stale, it only saves the first computation.
//!
//! A request whose region was retired (or whose country is unknown) is forgotten; one that was
//! not asked for in 7 days is deleted. One failing recomputation is logged and counted, and the
//! others go on: the run fails (and is retried) only when the requests cannot be read.

use ipam_core::domain::ForecastRequestId;
use ipam_core::domain::statistics::forecast::recompute_cutoff;
use ipam_core::service::Recomputed;

use crate::platform::{JobResult, Platform};

/// Requests read per page.
const REQUESTS_PAGE: u32 = 100;

/// Recomputes and caches every forecast requested in the last 7 days, then deletes older
/// requests.
pub async fn run(platform: &Platform) -> JobResult {
    let ipam = platform.service();
    let cutoff = recompute_cutoff(platform.now());
    let (mut recomputed, mut forgotten, mut failed) = (0u64, 0u64, 0u64);
    let mut after: Option<ForecastRequestId> = None;
    loop {
        let requests = platform.store().forecast_requests_since(cutoff, after.as_ref(), REQUESTS_PAGE).await?;
        for request in &requests {
            match ipam.recompute_requested_forecast(request).await {
                Ok(Recomputed::Cached) => recomputed += 1,
                Ok(Recomputed::Forgotten) => forgotten += 1,
                Err(e) => {
                    failed += 1;
                    tracing::warn!(
                        request = %request.id, user = %request.user_id, resource_type = request.subject.kind(),
                        resource_id = request.subject.id(), error = %e,
                        "could not recompute a forecast; the others go on"
                    );
                }
            }
        }
        if requests.len() < REQUESTS_PAGE as usize {
            break;
        }
        after = requests.last().map(|r| r.id.clone());
    }
    let pruned = super::sweep(|limit| platform.store().prune_forecast_requests(cutoff, limit)).await?;
    crate::metrics::forecasts_recomputed(recomputed, forgotten, failed, pruned);
    Ok(format!(
        "{recomputed} forecasts recomputed, {forgotten} forgotten (resource gone), {failed} failed, \
         {pruned} requests older than 7 days deleted"
    ))
}
