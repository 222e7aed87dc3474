//! The country table and per-X region counts.

use std::collections::HashSet;
use std::sync::Arc;

use ipam_core::domain::CountryCatalog;
use ipam_core::storage::Store;

use super::{at, country, region, retire, user};

pub async fn countries_are_seeded_once_with_contiguous_ranges_covering_every_x_octet(store: Arc<dyn Store>) {
    let countries = store.countries().await.expect("countries");

    assert_eq!(countries.len(), 18);
    assert_eq!(countries, CountryCatalog::seed().all(), "the stored table is the built-in seed, ordered by X");
    assert_eq!(countries[0].x_start, 0);
    assert_eq!(countries[17].x_end, 255);
    for pair in countries.windows(2) {
        assert_eq!(pair[1].x_start, pair[0].x_end + 1, "{} follows {} without gap", pair[1].code, pair[0].code);
    }
    assert!(countries.iter().all(|c| c.x_start <= c.x_end));
    let codes: HashSet<_> = countries.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes.len(), 18, "codes are unique");
    let reserved: Vec<_> = countries.iter().filter(|c| c.is_reserved).map(|c| c.code.as_str()).collect();
    assert_eq!(reserved, ["ZZZ"]);
    let usa = countries.iter().find(|c| c.code.as_str() == "USA").expect("USA");
    assert_eq!(
        (usa.name.as_str(), usa.continent.as_str(), usa.x_start, usa.x_end),
        ("United States", "North America", 153, 167)
    );
}

pub async fn regions_per_x_counts_only_the_callers_regions_inside_the_range(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (are, sgp) = (country(s, "ARE").await, country(s, "SGP").await);
    let mut alice_are = Vec::new();
    for i in 0..3 {
        alice_are.push(region(s, &alice, &are, &format!("are-{i}"), at(i)).await);
    }
    region(s, &alice, &sgp, "sgp-0", at(3)).await;
    region(s, &bob, &are, "are-0", at(4)).await;
    region(s, &bob, &are, "are-1", at(5)).await;

    assert_eq!(s.regions_per_x(&alice.user_id, 0, 255).await.unwrap(), [(30, 3), (38, 1)]);
    assert_eq!(s.regions_per_x(&alice.user_id, 31, 40).await.unwrap(), [(38, 1)]);
    assert_eq!(s.regions_per_x(&alice.user_id, 30, 30).await.unwrap(), [(30, 3)]);
    assert!(s.regions_per_x(&alice.user_id, 39, 255).await.unwrap().is_empty());
    assert_eq!(s.regions_per_x(&bob.user_id, 0, 255).await.unwrap(), [(30, 2)]);
    assert!(s.regions_per_x(&user("carol").user_id, 0, 255).await.unwrap().is_empty());

    retire(s, &alice, &alice_are[1].id, false, at(6)).await.expect("retire");
    assert_eq!(s.regions_per_x(&alice.user_id, 0, 255).await.unwrap(), [(30, 2), (38, 1)]);
    retire(s, &alice, &alice_are[0].id, false, at(7)).await.expect("retire");
    retire(s, &alice, &alice_are[2].id, false, at(8)).await.expect("retire");
    assert_eq!(s.regions_per_x(&alice.user_id, 0, 255).await.unwrap(), [(38, 1)], "an emptied X is not listed");
}
