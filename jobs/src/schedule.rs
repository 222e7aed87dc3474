//! Cron schedules with one run per tick across every worker process.
//!
//! apalis-cron produces the ticks in each process; each process then tries to claim the tick in
//! the database (`(schedule, tick)` is unique), and only the winner enqueues the job. A process
//! that was down simply misses its claims; the others still run the tick.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use apalis_cron::CronScheduler;
use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use ipam_core::configuration::Settings;
use ipam_core::storage::RunOutcome;
use serde::{Deserialize, Serialize};

use crate::job::{Envelope, Job};
use crate::platform::Platform;

/// The scheduled jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleName {
    /// Active reservations past their expiry become expired (hourly).
    ReservationExpiry,
    /// Share links past their expiry become inactive (hourly).
    ShareExpiry,
    /// Notifications older than 90 days are deleted (daily).
    NotificationCleanup,
    /// Finished webhook deliveries older than 30 days are deleted (daily).
    DeliveryPruning,
    /// Events and deliveries whose job was lost are queued again (every 30 s).
    OutboxRelay,
    /// Threshold rules observe every resource they watch, for crossings no event covers
    /// (every 15 min).
    RuleCatchUp,
    /// The forecasts clients asked for in the last 7 days are computed anew and cached under
    /// the new day's key; older requests are deleted (daily, just after UTC midnight).
    ForecastRecompute,
}

impl ScheduleName {
    /// Every schedule.
    pub const ALL: [ScheduleName; 7] = [
        Self::ReservationExpiry,
        Self::ShareExpiry,
        Self::NotificationCleanup,
        Self::DeliveryPruning,
        Self::OutboxRelay,
        Self::RuleCatchUp,
        Self::ForecastRecompute,
    ];

    /// Name in health output, metrics and the claims table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReservationExpiry => "reservation_expiry",
            Self::ShareExpiry => "share_expiry",
            Self::NotificationCleanup => "notification_cleanup",
            Self::DeliveryPruning => "delivery_pruning",
            Self::OutboxRelay => "outbox_relay",
            Self::RuleCatchUp => "rule_catch_up",
            Self::ForecastRecompute => "forecast_recompute",
        }
    }

    /// The environment variable that overrides its cron expression.
    pub fn env_var(self) -> &'static str {
        match self {
            Self::ReservationExpiry => "IPAM_SCHEDULE_RESERVATION_EXPIRY",
            Self::ShareExpiry => "IPAM_SCHEDULE_SHARE_EXPIRY",
            Self::NotificationCleanup => "IPAM_SCHEDULE_NOTIFICATION_CLEANUP",
            Self::DeliveryPruning => "IPAM_SCHEDULE_DELIVERY_PRUNING",
            Self::OutboxRelay => "IPAM_SCHEDULE_OUTBOX_RELAY",
            Self::RuleCatchUp => "IPAM_SCHEDULE_RULE_CATCH_UP",
            Self::ForecastRecompute => "IPAM_SCHEDULE_FORECAST_RECOMPUTE",
        }
    }

    fn expression(self, s: &Settings) -> &str {
        match self {
            Self::ReservationExpiry => &s.schedule_reservation_expiry,
            Self::ShareExpiry => &s.schedule_share_expiry,
            Self::NotificationCleanup => &s.schedule_notification_cleanup,
            Self::DeliveryPruning => &s.schedule_delivery_pruning,
            Self::OutboxRelay => &s.schedule_outbox_relay,
            Self::RuleCatchUp => &s.schedule_rule_catch_up,
            Self::ForecastRecompute => &s.schedule_forecast_recompute,
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for ScheduleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One schedule with its parsed cron expression.
#[derive(Debug, Clone)]
pub struct Scheduled {
    /// Which job.
    pub name: ScheduleName,
    /// The expression as configured (six fields, seconds first).
    pub expression: String,
    cron: cron::Schedule,
}

impl Scheduled {
    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.after(&t).next()
    }
}

/// Every schedule, as configured.
#[derive(Debug, Clone)]
pub struct Schedules(Vec<Scheduled>);

impl Schedules {
    /// Parses the configured expressions; the error names the variable to fix.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let mut all = Vec::new();
        for name in ScheduleName::ALL {
            let expression = name.expression(settings).trim().to_owned();
            let cron = cron::Schedule::from_str(&expression).map_err(|e| {
                anyhow::anyhow!(
                    "{} = '{expression}' is not a cron expression with seconds \
                     (sec min hour day-of-month month day-of-week, e.g. '0 0 * * * *'): {e}",
                    name.env_var()
                )
            })?;
            all.push(Scheduled { name, expression, cron });
        }
        Ok(Self(all))
    }

    /// The schedules.
    pub fn iter(&self) -> impl Iterator<Item = &Scheduled> {
        self.0.iter()
    }

    /// One schedule.
    pub fn get(&self, name: ScheduleName) -> Option<&Scheduled> {
        self.0.iter().find(|s| s.name == name)
    }
}

/// Claims `tick` of `name` for this worker and, when it wins, enqueues the job. Returns whether
/// this worker won.
pub async fn claim_and_enqueue(platform: &Platform, name: ScheduleName, tick: DateTime<Utc>) -> anyhow::Result<bool> {
    let won = platform.store().claim_tick(name.as_str(), tick, platform.worker_name(), platform.now()).await?;
    if won {
        if let Err(e) = platform.queue().push(Envelope::new(Job::Scheduled { schedule: name, tick })).await {
            // Nobody else can claim this tick now: say so where operators look, rather than
            // leaving it "running" forever. The next tick runs as usual.
            let detail = format!("could not be queued: {e:#}");
            platform.store().finish_tick(name.as_str(), tick, RunOutcome::Dead, &detail, platform.now()).await?;
            return Err(e);
        }
        tracing::debug!(schedule = %name, %tick, "tick claimed and enqueued");
    }
    Ok(won)
}

/// Runs one schedule's ticks until the process stops: apalis-cron yields each tick, and
/// [`claim_and_enqueue`] makes one process win it. apalis-cron reports a tick it could not
/// deliver on time (the process was stalled, e.g. waiting on an unreachable queue) as an error:
/// the missed tick is skipped (another process may have run it) and the schedule carries on.
pub async fn run(platform: Arc<Platform>, scheduled: Scheduled) {
    loop {
        let mut ticks = std::pin::pin!(CronScheduler::new(scheduled.cron.clone()).into_stream());
        loop {
            match ticks.next().await {
                None => return,
                Some(Err(e)) => {
                    tracing::warn!(schedule = %scheduled.name, error = %e, "a tick was missed; resuming the schedule");
                    break;
                }
                Some(Ok(tick)) => {
                    let secs = i64::try_from(tick.get_timestamp()).unwrap_or(i64::MAX);
                    let Some(at) = Utc.timestamp_opt(secs, 0).single() else { continue };
                    if let Err(e) = claim_and_enqueue(&platform, scheduled.name, at).await {
                        tracing::error!(schedule = %scheduled.name, tick = %at, error = %e, "could not claim or enqueue a tick");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_a_bad_override_names_its_variable() {
        let schedules = Schedules::from_settings(&Settings::default()).unwrap();
        let hourly = schedules.get(ScheduleName::ReservationExpiry).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 10, 15, 0).unwrap();
        assert_eq!(hourly.next_after(t), Some(Utc.with_ymd_and_hms(2026, 1, 1, 11, 0, 0).unwrap()));
        let bad = Settings { schedule_share_expiry: "every hour".into(), ..Settings::default() };
        let err = Schedules::from_settings(&bad).unwrap_err().to_string();
        assert!(err.contains("IPAM_SCHEDULE_SHARE_EXPIRY"), "{err}");
    }

    #[test]
    fn names_round_trip() {
        for s in ScheduleName::ALL {
            assert_eq!(ScheduleName::parse(s.as_str()), Some(s));
        }
    }
}
