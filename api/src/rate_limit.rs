//! Per-user rate limits by class (GCRA via `governor`), with the `X-RateLimit-*` headers.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use ipam_core::configuration::{Settings, Switch};

use crate::error::ApiError;

/// A class of endpoints sharing one limit (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateClass {
    /// GET on countries, regions, hosts, search, audit, quotas.
    CoreRead,
    /// Writes on regions, hosts, comments; interpret.
    CoreWrite,
    /// Batch host creation, bulk release.
    Bulk,
    /// The enhancement endpoints (reservations, shares management, preferences, …).
    Standard,
    /// `GET /ipam/statistics/dashboard` (the seed's own class, 60/min).
    Dashboard,
}

/// How a router group picks the class of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Reads are [`RateClass::CoreRead`], everything else [`RateClass::CoreWrite`].
    Core,
    /// Always [`RateClass::CoreWrite`] (e.g. `POST /interpret`, which writes nothing but is a POST).
    CoreWrite,
    /// Always [`RateClass::Bulk`].
    Bulk,
    /// Always [`RateClass::Dashboard`].
    Dashboard,
    /// Always [`RateClass::Standard`].
    Standard,
}

impl Policy {
    pub(crate) fn class(self, method: &Method) -> RateClass {
        match self {
            Self::Core if method == Method::GET || method == Method::HEAD => RateClass::CoreRead,
            Self::Core | Self::CoreWrite => RateClass::CoreWrite,
            Self::Bulk => RateClass::Bulk,
            Self::Standard => RateClass::Standard,
            Self::Dashboard => RateClass::Dashboard,
        }
    }
}

type Limiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

struct ClassLimiter {
    limiter: Limiter,
    limit: u32,
    period: Duration,
    per: &'static str,
}

impl ClassLimiter {
    fn new(limit: u32, period: Duration, per: &'static str) -> Self {
        let n = NonZeroU32::new(limit.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota =
            Quota::with_period(period / n.get()).map(|q| q.allow_burst(n)).unwrap_or_else(|| Quota::per_second(n));
        Self {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            limit: n.get(),
            period,
            per,
        }
    }
}

/// The limiters of every class (or none when limits are off).
pub(crate) struct RateLimits {
    classes: Option<[ClassLimiter; 5]>,
    /// Public share reads, all callers together (a single key).
    public: Option<ClassLimiter>,
}

/// What the client is told about its budget.
pub(crate) struct Budget {
    limit: u32,
    remaining: u32,
    reset_secs: u64,
}

impl Budget {
    /// Adds the `X-RateLimit-*` headers.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset_secs.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
    }
}

impl RateLimits {
    /// Limiters from the settings.
    pub(crate) fn new(s: &Settings) -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        const HOUR: Duration = Duration::from_secs(3600);
        let classes = (s.rate_limits == Switch::On).then(|| {
            [
                ClassLimiter::new(s.rate_limit_core_reads, MINUTE, "minute"),
                ClassLimiter::new(s.rate_limit_core_writes, MINUTE, "minute"),
                ClassLimiter::new(s.rate_limit_bulk, HOUR, "hour"),
                ClassLimiter::new(s.rate_limit_standard, MINUTE, "minute"),
                ClassLimiter::new(s.rate_limit_dashboard, MINUTE, "minute"),
            ]
        });
        let public =
            (s.rate_limits == Switch::On).then(|| ClassLimiter::new(s.rate_limit_public_shares, MINUTE, "minute"));
        Self { classes, public }
    }

    /// Admits or refuses one public share read (one budget shared by everybody).
    pub(crate) fn check_public(&self) -> Result<Option<Budget>, ApiError> {
        match &self.public {
            None => Ok(None),
            Some(c) => Self::charge(c, "public"),
        }
    }

    /// Admits or refuses one request of `user` in `class`.
    pub(crate) fn check(&self, user: &str, class: RateClass) -> Result<Option<Budget>, ApiError> {
        let Some(classes) = &self.classes else { return Ok(None) };
        Self::charge(&classes[class as usize], user)
    }

    fn charge(c: &ClassLimiter, key: &str) -> Result<Option<Budget>, ApiError> {
        let interval = c.period / c.limit;
        match c.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = c.limit.saturating_sub(remaining);
                Ok(Some(Budget {
                    limit: c.limit,
                    remaining,
                    reset_secs: (interval * used).as_secs_f64().ceil() as u64,
                }))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(c.limiter.clock().now());
                Err(ApiError::RateLimited {
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                    limit: c.limit,
                    per: c.per,
                })
            }
        }
    }

    /// Forgets users whose budget is full again (bounded memory).
    pub(crate) fn prune(&self) {
        for c in self.classes.iter().flatten().chain(self.public.iter()) {
            c.limiter.retain_recent();
            c.limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(reads: u32) -> Settings {
        Settings { rate_limit_core_reads: reads, ..Settings::default() }
    }

    #[test]
    fn the_limit_plus_one_request_is_refused_with_a_retry_time() {
        let limits = RateLimits::new(&settings(3));
        for expected_remaining in [2, 1, 0] {
            let b = limits.check("u1", RateClass::CoreRead).unwrap().unwrap();
            assert_eq!(b.remaining, expected_remaining);
        }
        match limits.check("u1", RateClass::CoreRead) {
            Err(ApiError::RateLimited { retry_after, limit: 3, .. }) => assert!((1..=20).contains(&retry_after)),
            other => panic!("expected a refusal, got {:?}", other.map(|b| b.map(|b| b.remaining))),
        }
        assert!(limits.check("u2", RateClass::CoreRead).is_ok(), "users are limited separately");
        assert!(limits.check("u1", RateClass::CoreWrite).is_ok(), "classes are limited separately");
    }

    #[test]
    fn limits_can_be_switched_off() {
        let limits = RateLimits::new(&Settings { rate_limits: Switch::Off, ..settings(1) });
        for _ in 0..10 {
            assert!(limits.check("u1", RateClass::CoreRead).unwrap().is_none());
        }
    }
}
