//! Concurrency invariants of the allocator, proven by racing many real HTTP clients against
//! real servers (and two servers sharing one database): no duplicate address, names unique,
//! quotas exact. The database's constraints arbitrate; no test relies on timing.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::future::join_all;
use ipam_tests::{Caller, TestApp, TestResponse, spawn_app, spawn_app_in};
use serde_json::{Value, json};

fn tally(responses: &[TestResponse]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in responses {
        let key = if r.status.is_success() {
            r.code().to_string()
        } else {
            format!("{} {}", r.code(), r.json["error"].as_str().unwrap_or("?"))
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

async fn race<'a>(
    n: usize,
    f: impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = TestResponse> + 'a>>,
) -> Vec<TestResponse> {
    join_all((0..n).map(f)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_simultaneous_host_allocations_fill_a_region_exactly_once() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region = u.create_region("USA", "race-hosts").await;
    let region_id = region["region_id"].as_str().unwrap().to_owned();

    let responses = race(300, |i| {
        let u = u.clone();
        let body = json!({ "region_id": region_id, "hostname": format!("h-{i}") });
        Box::pin(async move { u.post("/ipam/hosts", body).await })
    })
    .await;

    let counts = tally(&responses);
    assert_eq!(counts.get("201"), Some(&254), "{counts:?}");
    assert_eq!(counts.get("409 capacity_exhausted"), Some(&46), "{counts:?}");
    let ips: HashSet<&str> =
        responses.iter().filter(|r| r.code() == 201).map(|r| r.json["ip_address"].as_str().unwrap()).collect();
    assert_eq!(ips.len(), 254, "every allocation got a distinct address");
    let expected: HashSet<String> = (1..=254).map(|z| format!("10.153.0.{z}")).collect();
    assert_eq!(ips.iter().map(|s| s.to_string()).collect::<HashSet<_>>(), expected);
    let region = u.get(&format!("/ipam/regions/{region_id}")).await;
    assert_eq!(region.json["allocated_hosts"], 254);
    assert_eq!(u.get("/ipam/quotas/me").await.json["host_count"], 254);
}

async fn race_regions(callers: &[Caller<'_>], n: usize) -> Vec<TestResponse> {
    join_all((0..n).map(|i| {
        let c = callers[i % callers.len()].clone();
        async move { c.post("/ipam/regions", json!({ "country": "JPN", "region_name": format!("r-{i}") })).await }
    }))
    .await
}

fn assert_lowest_distinct_blocks(responses: &[TestResponse], n: usize) {
    let counts = tally(responses);
    assert_eq!(counts.get("201"), Some(&n), "{counts:?}");
    let cidrs: HashSet<String> = responses.iter().map(|r| r.json["cidr"].as_str().unwrap().to_owned()).collect();
    assert_eq!(cidrs.len(), n, "no block was handed out twice");
    // Japan is X 46..=53: the n lowest blocks, whatever order the requests were served in.
    let expected: HashSet<String> = (0..n).map(|i| format!("10.{}.{}.0/24", 46 + i / 256, i % 256)).collect();
    assert_eq!(cidrs, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_region_allocations_never_share_a_block() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let responses = race_regions(&[u], 300).await;
    assert_lowest_distinct_blocks(&responses, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_database_never_share_a_block() {
    let first = spawn_app().await;
    let second = spawn_app_in(first.dir.clone(), |_| {}).await;
    let callers = [first.user("u1"), second.user("u1")];
    let responses = race_regions(&callers, 200).await;
    assert_lowest_distinct_blocks(&responses, 200);
    assert_eq!(first.user("u1").get("/ipam/quotas/me").await.json["region_count"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_for_one_name_lets_exactly_one_win() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let responses = race(40, |_| {
        let u = u.clone();
        Box::pin(async move { u.post("/ipam/regions", json!({ "country": "USA", "region_name": "contested" })).await })
    })
    .await;
    let counts = tally(&responses);
    assert_eq!(counts.get("201"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("409 duplicate_name"), Some(&39), "{counts:?}");
}

async fn set_quota(app: &TestApp, user: &str, body: Value) {
    app.admin("root").patch(&format!("/ipam/admin/quotas/{user}"), body).await.assert_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_five_below_the_region_quota_racing_fifty_allocations_ends_exactly_at_quota() {
    let app = spawn_app().await;
    set_quota(&app, "u1", json!({ "region_quota": 20 })).await;
    let u = app.user("u1");
    for i in 0..15 {
        u.create_region("BRA", &format!("pre-{i}")).await;
    }
    let responses = race(50, |i| {
        let u = u.clone();
        Box::pin(async move {
            u.post("/ipam/regions", json!({ "country": "CHL", "region_name": format!("race-{i}") })).await
        })
    })
    .await;
    let counts = tally(&responses);
    assert_eq!(counts.get("201"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("429 quota_exceeded"), Some(&45), "{counts:?}");
    let quota = u.get("/ipam/quotas/me").await;
    assert_eq!(quota.json["region_count"], 20);
    assert_eq!(u.get("/ipam/regions?page_size=100").await.json["pagination"]["total_count"], 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_single_and_batch_host_allocations_stay_within_the_host_quota() {
    let app = spawn_app().await;
    set_quota(&app, "u1", json!({ "host_quota": 30 })).await;
    let u = app.user("u1");
    let region = u.create_region("USA", "quota-hosts").await;
    let region_id = region["region_id"].as_str().unwrap().to_owned();
    let responses = race(40, |i| {
        let u = u.clone();
        let region_id = region_id.clone();
        Box::pin(async move {
            if i % 4 == 0 {
                u.post(
                    "/ipam/hosts/batch",
                    json!({ "region_id": region_id, "count": 3, "hostname_prefix": format!("b{i}") }),
                )
                .await
            } else {
                u.post("/ipam/hosts", json!({ "region_id": region_id, "hostname": format!("s{i}") })).await
            }
        })
    })
    .await;
    let allocated: usize =
        responses.iter().filter(|r| r.code() == 201).map(|r| r.json["hosts"].as_array().map_or(1, Vec::len)).sum();
    assert!(allocated <= 30, "quota exceeded: {allocated} hosts allocated");
    assert!(
        responses.iter().all(|r| r.code() == 201 || r.json["error"] == "quota_exceeded"),
        "{:?}",
        tally(&responses)
    );
    let listed = u.get(&format!("/ipam/hosts?region_id={region_id}&page_size=100")).await;
    assert_eq!(listed.json["pagination"]["total_count"], allocated);
    assert_eq!(u.get("/ipam/quotas/me").await.json["host_count"], allocated);
    let ips: HashSet<&str> =
        listed.json["results"].as_array().unwrap().iter().map(|h| h["ip_address"].as_str().unwrap()).collect();
    assert_eq!(ips.len(), allocated, "no duplicate address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn releases_racing_allocations_never_lose_or_duplicate_an_address() {
    let app = spawn_app().await;
    let u = app.user("u1");
    let region = u.create_region("USA", "churn").await;
    let region_id = region["region_id"].as_str().unwrap().to_owned();
    let batch =
        u.post("/ipam/hosts/batch", json!({ "region_id": region_id, "count": 100, "hostname_prefix": "old" })).await;
    let old: Vec<String> = batch.assert_status(201)["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host_id"].as_str().unwrap().to_owned())
        .collect();
    let old = Arc::new(old);
    let responses = race(200, |i| {
        let u = u.clone();
        let region_id = region_id.clone();
        let old = old.clone();
        Box::pin(async move {
            if i % 2 == 0 {
                u.delete(&format!("/ipam/hosts/{}?reason=churn%20test", old[i / 2])).await
            } else {
                u.post("/ipam/hosts", json!({ "region_id": region_id, "hostname": format!("new-{i}") })).await
            }
        })
    })
    .await;
    let counts = tally(&responses);
    assert_eq!(counts.get("204"), Some(&100), "{counts:?}");
    assert_eq!(counts.get("201"), Some(&100), "{counts:?}");
    let listed = u.get(&format!("/ipam/hosts?region_id={region_id}&page_size=100")).await;
    assert_eq!(listed.json["pagination"]["total_count"], 100);
    let region = u.get(&format!("/ipam/regions/{region_id}")).await;
    assert_eq!(region.json["allocated_hosts"], 100, "the bitmap count matches the rows");
    // The next allocation gets the lowest address not in use.
    let used: HashSet<u64> =
        listed.json["results"].as_array().unwrap().iter().map(|h| h["z_octet"].as_u64().unwrap()).collect();
    let lowest_free = (1..=254).find(|z| !used.contains(z)).unwrap();
    let next = u.create_host(&region_id, "after-churn").await;
    assert_eq!(next["z_octet"], lowest_free);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reservation_and_an_allocation_racing_for_one_block_never_both_get_it() {
    let app = spawn_app().await;
    // Fresh namespaces make every round a race for 10.98.0.0/24, the first block of Finland.
    let rounds = join_all((0..40).map(|i| {
        let u = app.user(&format!("racer-{i}"));
        async move {
            let (reserved, allocated) = tokio::join!(
                u.post(
                    "/ipam/reservations",
                    json!({"resource_type": "region", "x_octet": 98, "y_octet": 0, "reason": "race"})
                ),
                u.post("/ipam/regions", json!({"country": "FIN", "region_name": format!("race-{i}")})),
            );
            (reserved, allocated)
        }
    }))
    .await;
    for (reserved, allocated) in &rounds {
        assert_eq!(allocated.code(), 201, "{}", allocated.text);
        let got_block = allocated.json["cidr"] == "10.98.0.0/24";
        match reserved.code() {
            201 => assert!(!got_block, "the allocator handed out a reserved block"),
            409 => {
                assert!(got_block, "the reservation lost to an allocation of another block: {}", reserved.text);
                assert_eq!(reserved.json["error"], "conflict");
            }
            other => panic!("unexpected {other}: {}", reserved.text),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reservation_and_an_allocation_racing_for_one_address_never_both_get_it() {
    let app = spawn_app().await;
    let rounds = join_all((0..40).map(|i| {
        let u = app.user(&format!("racer-{i}"));
        async move {
            let region = u.create_region("USA", "race").await;
            let region_id = region["region_id"].as_str().unwrap().to_owned();
            let (reserved, allocated) = tokio::join!(
                u.post(
                    "/ipam/reservations",
                    json!({"resource_type": "host", "x_octet": 153, "y_octet": 0, "z_octet": 1, "reason": "race"})
                ),
                u.post("/ipam/hosts", json!({"region_id": region_id, "hostname": "contender"})),
            );
            (reserved, allocated)
        }
    }))
    .await;
    for (reserved, allocated) in &rounds {
        assert_eq!(allocated.code(), 201, "{}", allocated.text);
        let got_address = allocated.json["ip_address"] == "10.153.0.1";
        match reserved.code() {
            201 => assert!(!got_address, "the allocator handed out a reserved address"),
            409 => assert!(got_address, "the reservation lost to nothing: {}", reserved.text),
            other => panic!("unexpected {other}: {}", reserved.text),
        }
    }
}
