//! `ipam repair`: a store written only by its own units of work is consistent — bitmaps,
//! counts, quotas and the retired/released counters rebuilt from the audit history all agree
//! with what the units of work maintained — and a check writes nothing.

use std::sync::Arc;

use ipam_core::storage::{RepairMode, RepairReport, Store};

use super::{at, batch, country, region, release, retire, user};

pub async fn a_store_written_by_its_units_of_work_needs_no_repair_and_a_check_writes_nothing(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (usa, ind) = (country(s, "USA").await, country(s, "IND").await);
    let east = region(s, &alice, &usa, "east", at(1)).await;
    let doomed = region(s, &alice, &ind, "doomed", at(1)).await;
    let hosts = batch(s, &alice, &east.id, "web", 5, at(2)).await;
    batch(s, &alice, &doomed.id, "db", 2, at(2)).await;
    release(s, &alice, &[hosts[0].id.clone(), hosts[1].id.clone()], at(3)).await;
    retire(s, &alice, &doomed.id, true, at(4)).await.expect("retire with its hosts");
    region(s, &bob, &usa, "bobs", at(5)).await;
    let versions = (s.data_version(&alice.user_id).await.unwrap(), s.data_version(&bob.user_id).await.unwrap());
    let counts = s.dashboard_counts(&alice.user_id, at(6)).await.unwrap();
    assert_eq!((counts.retired_regions, counts.released_hosts), (1, 4), "2 released, 2 with their region");

    let checked = s.repair(at(6), RepairMode::Check).await.expect("repair --check");
    assert_eq!(checked, RepairReport::default(), "the audit history counts what the counters hold");
    let applied = s.repair(at(6), RepairMode::Apply).await.expect("repair");
    assert_eq!(applied, RepairReport::default());
    let after = (s.data_version(&alice.user_id).await.unwrap(), s.data_version(&bob.user_id).await.unwrap());
    assert_eq!(after, versions, "a repair that fixes nothing invalidates no cached result");
    let again = s.dashboard_counts(&alice.user_id, at(6)).await.unwrap();
    assert_eq!((again.retired_regions, again.released_hosts), (1, 4));
}
