//! Statistics over a user's namespace: the dashboard's figures, computed from counts the
//! stores maintain or read by index (never by reading every host), and the per-user counters
//! every audited unit of work keeps (`counters.rs`). Forecasts, trends, continent figures and
//! utilisation rankings (`utilization`) and the allocation velocity each have a module.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

mod activity;
mod counters;
pub mod forecast;
pub mod trends;
pub mod utilization;
pub mod velocity;

pub use activity::{ActivityQuery, DailyActivity, HourlyActivity};
pub use counters::StatsDelta;

use super::country::{CountryCatalog, CountryCode, HOSTS_PER_REGION};
use super::region::percent;

/// How far back "recent activity" looks.
pub const RECENT_ACTIVITY: TimeDelta = TimeDelta::days(7);

/// A region above this share of its hosts counts as a capacity warning (strictly above).
pub const WARNING_PERCENT: u64 = 80;

/// How many countries the dashboard ranks.
pub const TOP_COUNTRIES: usize = 5;

/// The user's regions and hosts in one country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryUsage {
    /// The country.
    pub country_code: CountryCode,
    /// Regions the user holds in it.
    pub regions: u64,
    /// Hosts allocated in those regions.
    pub hosts: u64,
}

/// What a store counts for the dashboard, each by index or maintained counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardCounts {
    /// Regions and hosts per country, only countries where the user holds regions.
    pub countries: Vec<CountryUsage>,
    /// Regions retired, ever (maintained counter).
    pub retired_regions: u64,
    /// Hosts released, ever (maintained counter).
    pub released_hosts: u64,
    /// Regions and hosts allocated in the last [`RECENT_ACTIVITY`] (from the audit trail, so
    /// allocations released since still count).
    pub recent_allocations: u64,
    /// Regions strictly above [`WARNING_PERCENT`] utilisation.
    pub capacity_warnings: u64,
    /// Reservations active at the time of counting.
    pub active_reservations: u64,
    /// Share links active at the time of counting.
    pub active_shares: u64,
    /// Unread, unexpired notifications.
    pub unread_notifications: u64,
}

/// One of the dashboard's top countries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopCountry {
    /// Code.
    pub country_code: CountryCode,
    /// Name.
    pub country_name: String,
    /// The user's regions in it.
    pub region_count: u64,
    /// Hosts in those regions.
    pub host_count: u64,
    /// Hosts of those regions' capacity, in percent (2 decimals).
    pub utilization: f64,
}

/// The dashboard's figures for one user (serialised as is into the result cache).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Countries where the user holds regions.
    pub total_countries: u64,
    /// Countries in the catalog.
    pub countries_available: u64,
    /// Regions the user holds (retired ones are gone).
    pub total_regions: u64,
    /// Hosts allocated.
    pub total_hosts: u64,
    /// Regions retired, ever.
    pub retired_regions: u64,
    /// Hosts released, ever.
    pub released_hosts: u64,
    /// Hosts of all regions' capacity (regions × 254), in percent (2 decimals).
    pub overall_utilization: f64,
    /// Up to [`TOP_COUNTRIES`], by region count, then host count, then code.
    pub top_countries: Vec<TopCountry>,
    /// Allocations in the last 7 days.
    pub recent_activity_count: u64,
    /// Regions above 80 %.
    pub capacity_warnings: u64,
    /// Active reservations.
    pub active_reservations: u64,
    /// Active share links.
    pub active_shares: u64,
    /// Unread notifications.
    pub unread_notifications: u64,
    /// When the figures were computed.
    pub generated_at: DateTime<Utc>,
}

impl Dashboard {
    /// The figures `counts` give, with country names from `catalog`.
    pub fn new(counts: &DashboardCounts, catalog: &CountryCatalog, now: DateTime<Utc>) -> Self {
        let regions: u64 = counts.countries.iter().map(|c| c.regions).sum();
        let hosts: u64 = counts.countries.iter().map(|c| c.hosts).sum();
        let capacity = |regions: u64| regions * u64::from(HOSTS_PER_REGION);
        let mut ranked: Vec<&CountryUsage> = counts.countries.iter().filter(|c| c.regions > 0).collect();
        ranked.sort_by(|a, b| {
            b.regions.cmp(&a.regions).then(b.hosts.cmp(&a.hosts)).then(a.country_code.cmp(&b.country_code))
        });
        let top_countries = ranked
            .into_iter()
            .take(TOP_COUNTRIES)
            .map(|c| TopCountry {
                country_code: c.country_code.clone(),
                country_name: catalog
                    .by_code(&c.country_code)
                    .map_or_else(|| c.country_code.to_string(), |k| k.name.clone()),
                region_count: c.regions,
                host_count: c.hosts,
                utilization: percent(c.hosts, capacity(c.regions)),
            })
            .collect();
        Self {
            total_countries: counts.countries.iter().filter(|c| c.regions > 0).count() as u64,
            countries_available: catalog.all().len() as u64,
            total_regions: regions,
            total_hosts: hosts,
            retired_regions: counts.retired_regions,
            released_hosts: counts.released_hosts,
            overall_utilization: percent(hosts, capacity(regions)),
            top_countries,
            recent_activity_count: counts.recent_allocations,
            capacity_warnings: counts.capacity_warnings,
            active_reservations: counts.active_reservations,
            active_shares: counts.active_shares,
            unread_notifications: counts.unread_notifications,
            generated_at: now,
        }
    }
}

/// The fewest allocated hosts that put a region strictly above [`WARNING_PERCENT`] (204 of 254).
pub fn warning_hosts() -> u32 {
    // 80 % of 254 is 203.2: 204 hosts are the first count strictly above it.
    (WARNING_PERCENT * u64::from(HOSTS_PER_REGION) / 100 + 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(code: &str, regions: u64, hosts: u64) -> CountryUsage {
        CountryUsage { country_code: CountryCode::from_stored(code.into()), regions, hosts }
    }

    #[test]
    fn totals_utilisation_and_the_ranking_of_countries() {
        let counts = DashboardCounts {
            countries: vec![
                usage("USA", 3, 381),
                usage("IND", 3, 10),
                usage("BRA", 1, 254),
                usage("ARE", 1, 1),
                usage("CAN", 1, 1),
                usage("DEU", 1, 0),
            ],
            retired_regions: 2,
            released_hosts: 9,
            recent_allocations: 4,
            capacity_warnings: 1,
            active_reservations: 1,
            active_shares: 0,
            unread_notifications: 3,
        };
        let now = Utc::now();
        let d = Dashboard::new(&counts, &CountryCatalog::seed(), now);
        assert_eq!((d.total_countries, d.countries_available, d.total_regions, d.total_hosts), (6, 18, 10, 647));
        assert_eq!(d.overall_utilization, 25.47, "647 of 2540");
        let order: Vec<&str> = d.top_countries.iter().map(|c| c.country_code.as_str()).collect();
        assert_eq!(order, ["USA", "IND", "BRA", "ARE", "CAN"], "regions, then hosts, then code; 5 at most");
        assert_eq!(d.top_countries[0].utilization, 50.0);
        assert_eq!(d.top_countries[0].country_name, "United States");
        assert_eq!((d.retired_regions, d.released_hosts, d.unread_notifications), (2, 9, 3));
        assert_eq!(d.generated_at, now);
    }

    #[test]
    fn an_empty_namespace_is_all_zeros() {
        let d = Dashboard::new(&DashboardCounts::default(), &CountryCatalog::seed(), Utc::now());
        assert_eq!((d.total_countries, d.total_regions, d.overall_utilization), (0, 0, 0.0));
        assert!(d.top_countries.is_empty());
    }

    #[test]
    fn a_warning_is_strictly_above_80_percent() {
        let hosts = u64::from(warning_hosts());
        assert_eq!(hosts, 204);
        let above = |n: u64| n * 100 > WARNING_PERCENT * u64::from(HOSTS_PER_REGION);
        assert!(above(hosts) && !above(hosts - 1), "203 of 254 is 79.9 %, 204 is 80.3 %");
    }
}
