//! Latency figures and the fixed-width tables `ipam bench` prints: nearest-rank percentiles of
//! the measured durations, each row with the goal it is measured against and whether it was met.

use std::fmt::Write as _;
use std::time::Duration;

/// p50/p90/p99/max of one case, from every measured duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Requests measured.
    pub(crate) count: usize,
    /// Median.
    pub(crate) p50: Duration,
    /// 90th percentile.
    pub(crate) p90: Duration,
    /// 99th percentile.
    pub(crate) p99: Duration,
    /// Slowest.
    pub(crate) max: Duration,
}

impl Summary {
    /// Summarises `samples` (nearest-rank percentiles); `None` when there are none.
    pub(crate) fn of(mut samples: Vec<Duration>) -> Option<Self> {
        samples.sort_unstable();
        let n = samples.len();
        // Nearest rank: the smallest sample with at least q·n samples at or below it.
        let rank = |q: usize| samples[(n * q).div_ceil(100).clamp(1, n) - 1];
        let max = *samples.last()?;
        Some(Self { count: n, p50: rank(50), p90: rank(90), p99: rank(99), max })
    }
}

/// A latency goal: the named percentile must stay under `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Goal {
    /// 50 or 99.
    pub(crate) percentile: u8,
    /// Upper bound.
    pub(crate) limit: Duration,
}

impl Goal {
    /// p99 under `ms` milliseconds.
    pub(crate) fn p99_ms(ms: u64) -> Self {
        Self { percentile: 99, limit: Duration::from_millis(ms) }
    }

    fn measured(self, s: &Summary) -> Duration {
        if self.percentile == 50 { s.p50 } else { s.p99 }
    }

    /// `met` or `MISSED by N ms`.
    pub(crate) fn verdict(self, s: &Summary) -> String {
        let v = self.measured(s);
        if v < self.limit { "met".to_owned() } else { format!("MISSED by {}", ms(v - self.limit)) }
    }
}

impl std::fmt::Display for Goal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{} < {} ms", self.percentile, self.limit.as_millis())
    }
}

/// One printed row: the case, its figures and, when it is measured against one, its goal.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// What was measured.
    pub(crate) case: String,
    /// The figures.
    pub(crate) summary: Summary,
    /// The goal, when this row is the figure the goal is judged on.
    pub(crate) goal: Option<Goal>,
    /// Said instead of a verdict when there is no goal (e.g. where the goal is judged).
    pub(crate) note: &'static str,
}

/// Milliseconds with three decimals (microsecond resolution).
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1_000.0)
}

/// A table: a title line, a header and one aligned line per row.
pub(crate) fn table(title: &str, rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.case.len()).max().unwrap_or(0).max("case".len());
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "  {:<width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:<16}  result",
        "case", "p50 ms", "p90 ms", "p99 ms", "max ms", "goal"
    );
    for r in rows {
        let s = &r.summary;
        let (goal, result) = match r.goal {
            Some(g) => (g.to_string(), g.verdict(s)),
            None => ("-".to_owned(), r.note.to_owned()),
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:<16}  {result}",
            r.case,
            ms(s.p50),
            ms(s.p90),
            ms(s.p99),
            ms(s.max),
            goal
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&u| Duration::from_micros(u)).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Summary::of(micros(&(1..=200).rev().collect::<Vec<_>>())).unwrap();
        assert_eq!(s.count, 200);
        assert_eq!(s.p50, Duration::from_micros(100));
        assert_eq!(s.p90, Duration::from_micros(180));
        assert_eq!(s.p99, Duration::from_micros(198));
        assert_eq!(s.max, Duration::from_micros(200));
        let one = Summary::of(micros(&[7])).unwrap();
        assert_eq!((one.p50, one.p99, one.max), (Duration::from_micros(7), Duration::from_micros(7), one.max));
        assert_eq!(Summary::of(vec![]), None);
    }

    #[test]
    fn a_goal_is_met_below_its_limit_and_missed_by_the_excess() {
        let s = Summary::of(micros(&[9_000, 12_500])).unwrap();
        assert_eq!(Goal::p99_ms(20).verdict(&s), "met");
        assert_eq!(Goal::p99_ms(10).verdict(&s), "MISSED by 2.500");
        assert_eq!(Goal::p99_ms(10).to_string(), "p99 < 10 ms");
    }

    #[test]
    fn the_table_aligns_every_row_under_its_header() {
        let s = Summary::of(micros(&[1_500])).unwrap();
        let rows = [
            Row { case: "dashboard".into(), summary: s, goal: Some(Goal::p99_ms(10)), note: "" },
            Row { case: "forecast country (cached)".into(), summary: s, goal: None, note: "see below" },
        ];
        let out = table("HTTP", &rows);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "HTTP");
        assert!(lines[2].contains("1.500") && lines[2].ends_with("p99 < 10 ms       met"), "{out}");
        assert!(lines[3].ends_with("see below"), "{out}");
        let end = |line: &str, what: &str| line.find(what).map(|i| i + what.len());
        assert_eq!(end(lines[1], "p50 ms"), end(lines[2], "1.500"), "{out}");
        assert_eq!(end(lines[2], "1.500"), end(lines[3], "1.500"), "{out}");
    }
}
