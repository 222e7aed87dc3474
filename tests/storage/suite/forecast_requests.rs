//! Forecast requests: one record per (user, subject, days_ahead) whose `last_requested_at` only
//! moves forward, concurrent recordings that meet on one record, keyset pages of the requests
//! made since a cutoff, and forgetting and pruning exactly what is named.
//!
//! Times start in 2200, not at `t0`: MongoDB's TTL index deletes a request 7 days after its
//! `last_requested_at` by the real clock, so a request made at `t0` could vanish mid-test.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ipam_core::domain::statistics::forecast::{ForecastRequest, ForecastSubject};
use ipam_core::domain::{CountryCode, ForecastRequestId, RegionId, UserId};
use ipam_core::storage::Store;

use super::user;

/// `secs` seconds after the first instant of these tests.
fn on(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2200-01-01T00:00:00Z").expect("instant").with_timezone(&Utc) + Duration::seconds(secs)
}

fn country(code: &str) -> ForecastSubject {
    ForecastSubject::Country(CountryCode::from_stored(code.into()))
}

fn request(owner: &UserId, subject: ForecastSubject, days_ahead: u32, at: DateTime<Utc>) -> ForecastRequest {
    ForecastRequest {
        id: ForecastRequestId::generate(),
        user_id: owner.clone(),
        subject,
        days_ahead,
        last_requested_at: at,
    }
}

/// Every request made at or after `since`, read in pages of `page`.
async fn all_since(s: &dyn Store, since: DateTime<Utc>, page: u32) -> Vec<ForecastRequest> {
    let (mut all, mut after) = (Vec::new(), None::<ForecastRequestId>);
    loop {
        let got = s.forecast_requests_since(since, after.as_ref(), page).await.expect("list");
        let done = got.len() < page as usize;
        after = got.last().map(|r| r.id.clone());
        all.extend(got);
        if done {
            return all;
        }
    }
}

pub async fn a_forecast_request_is_recorded_once_per_user_forecast_and_only_moves_forward(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    let first = request(&alice, country("USA"), 30, on(0));
    s.record_forecast_request(&first).await.unwrap();
    assert_eq!(all_since(s, on(0), 10).await, std::slice::from_ref(&first), "reads back exactly");

    s.record_forecast_request(&request(&alice, country("USA"), 30, on(3_600))).await.unwrap();
    s.record_forecast_request(&request(&alice, country("USA"), 30, on(1_800))).await.unwrap();
    let moved = ForecastRequest { last_requested_at: on(3_600), ..first.clone() };
    assert_eq!(
        all_since(s, on(0), 10).await,
        std::slice::from_ref(&moved),
        "one record, its id kept, never moved back"
    );

    let region = ForecastSubject::Region(RegionId::from_stored("01ARZ3NDEKTSV4RRFFQ69G5FAV".into()));
    let others = [
        request(&alice, country("USA"), 7, on(10)),
        request(&bob, country("USA"), 30, on(20)),
        request(&alice, country("CAN"), 30, on(30)),
        request(&alice, region, 30, on(40)),
    ];
    for r in &others {
        s.record_forecast_request(r).await.unwrap();
    }
    let mut expected = vec![moved];
    expected.extend(others);
    assert_eq!(all_since(s, on(0), 10).await, expected, "each days_ahead, user and subject is its own request");
}

pub async fn concurrent_recordings_of_one_forecast_request_leave_one_record(store: Arc<dyn Store>) {
    let alice = user("alice").user_id;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (s, r) = (store.clone(), request(&alice, country("USA"), 30, on(i)));
            tokio::spawn(async move { s.record_forecast_request(&r).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("every recording succeeds");
    }
    let all = all_since(&*store, on(0), 10).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].last_requested_at, on(7), "the latest recording wins");
}

pub async fn requests_since_a_cutoff_are_paged_by_id_and_older_ones_are_left_out(store: Arc<dyn Store>) {
    let s = &*store;
    let alice = user("alice").user_id;
    let codes = ["USA", "CAN", "MEX", "BRA", "IND"];
    let made: Vec<ForecastRequest> =
        codes.iter().zip([100, 0, 300, 400, 200]).map(|(c, at)| request(&alice, country(c), 30, on(at))).collect();
    for r in &made {
        s.record_forecast_request(r).await.unwrap();
    }
    let recent: Vec<ForecastRequest> = made.iter().filter(|r| r.last_requested_at >= on(100)).cloned().collect();
    assert_eq!(all_since(s, on(100), 2).await, recent, "at or after the cutoff, in id order, in pages of 2");
    assert_eq!(all_since(s, on(100), 4).await, recent, "a full last page is followed by an empty one");
    assert_eq!(all_since(s, on(401), 2).await, [], "nothing after the last request");

    // A request forgotten between pages does not shift the next page.
    let page = s.forecast_requests_since(on(100), None, 2).await.unwrap();
    assert_eq!(page, recent[..2]);
    assert!(s.forget_forecast_request(&recent[2].id).await.unwrap());
    let next = s.forecast_requests_since(on(100), Some(&page[1].id), 2).await.unwrap();
    assert_eq!(next, recent[3..]);
}

pub async fn forgetting_and_pruning_delete_exactly_the_named_and_the_old_requests(store: Arc<dyn Store>) {
    let s = &*store;
    let (alice, bob) = (user("alice").user_id, user("bob").user_id);
    let made = [
        request(&alice, country("USA"), 30, on(0)),
        request(&bob, country("USA"), 30, on(10)),
        request(&alice, country("CAN"), 30, on(20)),
        request(&alice, country("MEX"), 30, on(30)),
        request(&bob, country("BRA"), 30, on(40)),
    ];
    for r in &made {
        s.record_forecast_request(r).await.unwrap();
    }
    assert!(s.forget_forecast_request(&made[4].id).await.unwrap());
    assert!(!s.forget_forecast_request(&made[4].id).await.unwrap(), "already gone");
    assert!(!s.forget_forecast_request(&ForecastRequestId::generate()).await.unwrap(), "never recorded");

    assert_eq!(s.prune_forecast_requests(on(30), 2).await.unwrap(), 2, "at most the limit");
    assert_eq!(s.prune_forecast_requests(on(30), 2).await.unwrap(), 1, "the last one before the cutoff");
    assert_eq!(s.prune_forecast_requests(on(30), 2).await.unwrap(), 0);
    assert_eq!(all_since(s, on(0), 10).await, [made[3].clone()], "a request made at the cutoff stays");
}
