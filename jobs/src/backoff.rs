//! Exponential backoff with jitter: apalis retries immediately (SQLite) or linearly (Redis),
//! so failed jobs are re-scheduled by us with these delays instead.

use std::time::Duration;

use rand::Rng;

/// Delays of `base × 2^(n-1)`, each scaled by a random factor in `[0.8, 1.2]`. With a factor of
/// two between steps and at most ±20 % jitter, every delay is longer than the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// Delays starting at `base`, never longer than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap: cap.max(base) }
    }

    /// The delay before the attempt after failed attempt `n` (1-based), without jitter.
    pub fn nominal(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(30));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before the attempt after failed attempt `n`, with jitter.
    pub fn delay(&self, n: u32) -> Duration {
        let jitter = rand::rng().random_range(0.8..=1.2);
        self.nominal(n).mul_f64(jitter).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_webhook_schedule_is_two_four_eight_sixteen_seconds() {
        let b = Backoff::new(Duration::from_secs(2), Duration::from_secs(3600));
        let nominal: Vec<u64> = (1..=4).map(|n| b.nominal(n).as_secs()).collect();
        assert_eq!(nominal, [2, 4, 8, 16]);
    }

    #[test]
    fn jittered_delays_stay_within_twenty_percent_and_keep_growing() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(3600));
        for _ in 0..1000 {
            let delays: Vec<Duration> = (1..=6).map(|n| b.delay(n)).collect();
            for (n, d) in delays.iter().enumerate() {
                let nominal = b.nominal(u32::try_from(n).unwrap() + 1);
                assert!(*d >= nominal.mul_f64(0.8) && *d <= nominal.mul_f64(1.2), "{d:?} vs {nominal:?}");
            }
            assert!(delays.windows(2).all(|w| w[0] < w[1]), "{delays:?}");
        }
    }

    #[test]
    fn delays_are_capped_and_never_overflow() {
        let b = Backoff::new(Duration::from_secs(2), Duration::from_secs(60));
        assert_eq!(b.nominal(40), Duration::from_secs(60));
        assert!(b.delay(u32::MAX) <= Duration::from_secs(60));
    }
}
