//! The allocation trends use case: the caller's daily history over a validated range, bucketed
//! by day, ISO week or month (`domain::statistics::trends`). Computed on every request (not
//! cached): one indexed read of the audit trail.

use super::Ipam;
use crate::auth::Actor;
use crate::domain::address::shorten;
use crate::domain::country::Country;
use crate::domain::statistics::ActivityQuery;
use crate::domain::statistics::trends::{Trends, TrendsQuery, bucket};
use crate::error::{IpamError, Result};

impl Ipam {
    /// The caller's allocations and releases (retirements included) over `q.range`, every
    /// bucket listed. An unknown country, or `country` and `country_code` naming
    /// different ones, is a validation error naming the parameter.
    pub async fn trends(&self, actor: &Actor, q: &TrendsQuery) -> Result<Trends> {
        let mut country: Option<&Country> = None;
        for (field, key) in &q.country {
            let found = self
                .catalog
                .find(key)
                .ok_or_else(|| IpamError::invalid(*field, format!("unknown country '{}'", shorten(key.trim()))))?;
            if country.is_some_and(|c| c.code != found.code) {
                return Err(IpamError::invalid(*field, "must name the same country as the other country parameter"));
            }
            country = Some(found);
        }
        let activity = ActivityQuery {
            resource: q.resource,
            x: country.map(|c| (c.x_start, c.x_end)),
            y: None,
            from: q.range.from(),
            to: q.range.to(),
        };
        let history = self.store.daily_activity(&actor.user_id, &activity).await?;
        let (time_series, summary) = bucket(&q.range, &history);
        Ok(Trends {
            range: q.range,
            resource: q.resource,
            country_code: country.map(|c| c.code.clone()),
            time_series,
            summary,
        })
    }
}
