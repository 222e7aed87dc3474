//! Continent figures and the utilisation rankings.

use super::*;
use crate::domain::ids::UserId;
use crate::domain::status::RegionStatus;
use crate::domain::tags::Tags;
use crate::domain::text::{Description, OwnerLabel, RegionName};

fn held(pairs: &[(&str, u32)]) -> BTreeMap<CountryCode, u32> {
    pairs.iter().map(|(c, n)| (CountryCode::from_stored((*c).into()), *n)).collect()
}

fn region(name: &str, code: &str, (x, y): (u8, u8), hosts: u32) -> Region {
    let user = UserId::from_stored("alice".into());
    let now = Utc::now();
    Region {
        id: RegionId::generate(),
        user_id: user.clone(),
        owner_id: user.clone(),
        owner: OwnerLabel::from_stored("alice".into()),
        country_code: CountryCode::from_stored(code.into()),
        x,
        y,
        name: RegionName::from_stored(name.into()),
        description: Description::from_stored(String::new()),
        status: RegionStatus::Active,
        tags: Tags::default(),
        allocated_hosts: hosts,
        created_at: now,
        updated_at: now,
        created_by: user.clone(),
        updated_by: user,
    }
}

#[test]
fn continent_names_accept_underscores_hyphens_and_extra_spaces() {
    for raw in ["north_america", "North-America", "  north   america ", "North America"] {
        assert_eq!(continent_key(raw).to_lowercase(), "north america", "{raw:?}");
    }
    let catalog = CountryCatalog::seed();
    assert_eq!(catalog.continent(&continent_key("SOUTH_AMERICA")).map(|c| c.len()), Some(2));
}

#[test]
fn a_continent_sums_its_countries_capacity_and_the_users_regions() {
    let catalog = CountryCatalog::seed();
    let countries = catalog.continent("north america").unwrap();
    let now = Utc::now();
    let s = ContinentStats::new(&countries, &held(&[("USA", 3), ("CAN", 1), ("IND", 9)]), now);
    assert_eq!(s.continent, "North America");
    assert_eq!((s.total_capacity, s.allocated, s.available), (7_680, 4, 7_676), "15 + 15 X octets × 256");
    assert_eq!((s.utilization_percent, s.country_count, s.timestamp), (0.05, 2, now), "4 of 7680 = 0.052 %");
    let by_country: Vec<(&str, &str, u64, u64, u64, f64)> = s
        .country_breakdown
        .iter()
        .map(|c| {
            (
                c.country.as_str(),
                c.country_code.as_str(),
                c.total_capacity,
                c.allocated,
                c.available,
                c.utilization_percent,
            )
        })
        .collect();
    assert_eq!(
        by_country,
        [("Canada", "CAN", 3_840, 1, 3_839, 0.03), ("United States", "USA", 3_840, 3, 3_837, 0.08)],
        "in X order; India is not North American"
    );
}

#[test]
fn an_empty_namespace_has_the_whole_capacity_available() {
    let catalog = CountryCatalog::seed();
    let s = ContinentStats::new(&catalog.continent("europe").unwrap(), &BTreeMap::new(), Utc::now());
    assert_eq!((s.total_capacity, s.allocated, s.available, s.utilization_percent), (10_240, 0, 10_240, 0.0));
    assert!(s.country_breakdown.iter().all(|c| c.allocated == 0 && c.available == c.total_capacity));
}

#[test]
fn regions_keep_the_stores_order_and_countries_rank_by_exact_utilisation_then_count_then_address() {
    let catalog = CountryCatalog::seed();
    let regions = [region("a", "USA", (153, 1), 200), region("b", "IND", (0, 0), 127), region("c", "USA", (153, 0), 0)];
    // ARE: 8 X octets (2048 regions), 2 held = 0.098 %; SGP also 8 octets, 2 held: a tie broken
    // by address. IND: 30 octets (7680), 7 held = 0.091 %. USA: 15 octets (3840), 2 = 0.052 %.
    let top = TopUtilized::new(
        &regions,
        &held(&[("USA", 2), ("IND", 7), ("SGP", 2), ("ARE", 2), ("CAN", 0)]),
        &catalog,
        10,
        Utc::now(),
    );
    let r: Vec<(&str, &str, &str, u64, f64)> = top
        .top_regions
        .iter()
        .map(|r| (r.region_name.as_str(), r.country.as_str(), r.cidr.as_str(), r.allocated, r.utilization_percent))
        .collect();
    assert_eq!(
        r,
        [
            ("a", "United States", "10.153.1.0/24", 200, 78.74),
            ("b", "India", "10.0.0.0/24", 127, 50.0),
            ("c", "United States", "10.153.0.0/24", 0, 0.0)
        ]
    );
    assert!(top.top_regions.iter().all(|r| r.capacity == 254));
    let c: Vec<(&str, &str, u64, u64, f64)> = top
        .top_countries
        .iter()
        .map(|c| (c.country_code.as_str(), c.continent.as_str(), c.allocated, c.capacity, c.utilization_percent))
        .collect();
    assert_eq!(
        c,
        [
            ("ARE", "Asia", 2, 2_048, 0.1),
            ("SGP", "Asia", 2, 2_048, 0.1),
            ("IND", "Asia", 7, 7_680, 0.09),
            ("USA", "North America", 2, 3_840, 0.05)
        ],
        "a country without regions is not ranked"
    );
    let two = TopUtilized::new(&regions, &held(&[("USA", 2), ("IND", 7)]), &catalog, 2, Utc::now());
    assert_eq!((two.top_regions.len(), two.top_countries.len()), (2, 2), "at most `limit` each");
}
