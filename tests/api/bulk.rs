//! `/ipam/bulk`: bulk tag changes applied at once (≤ 100 ids) or as a job, the job's progress
//! watched batch by batch (test apps run no workers: the test runs the job's steps itself),
//! cancellation, validation, isolation and the bulk rate class.

use chrono::Duration;
use ipam_core::configuration::Switch;
use ipam_core::domain::BulkJobId;
use ipam_jobs::jobs::bulk_tags::{self, Step};
use ipam_tests::{Caller, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

/// `n` regions of `u` in `country` (one request each), their ids in allocation order.
async fn regions(u: &Caller<'_>, country: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let r = u.create_region(country, &format!("bulk-{i}")).await;
        ids.push(r["region_id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn tags_of(u: &Caller<'_>, kind: &str, id: &str) -> Value {
    u.get(&format!("/ipam/{kind}s/{id}")).await.assert_status(200)["tags"].clone()
}

async fn updates_of(u: &Caller<'_>, id: &str) -> u64 {
    let r = u.get(&format!("/ipam/audit?action_type=update&resource_id={id}")).await;
    r.assert_status(200)["pagination"]["total_count"].as_u64().unwrap()
}

fn body(kind: &str, ids: &[String], op: &str, tags: Value) -> Value {
    json!({ "resource_type": kind, "resource_ids": ids, "operation": op, "tags": tags })
}

#[tokio::test]
async fn up_to_100_ids_are_applied_at_once_with_one_result_per_id() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let mut ids = regions(&alice, "USA", 2).await;
    let foreign = regions(&bob, "USA", 1).await.remove(0);
    alice.patch(&format!("/ipam/regions/{}", ids[0]), json!({"tags": {"team": "net"}})).await.assert_status(200);
    ids.push(foreign.clone());
    ids.push("not-an-id".to_owned());
    app.clock.advance(Duration::seconds(1));

    let r = alice.post("/ipam/bulk/tags", body("region", &ids, "add", json!({"env": "prod"}))).await;
    let out = r.assert_status(200);
    assert_eq!(
        (out["total_requested"].as_u64(), out["successful"].as_u64(), out["failed"].as_u64()),
        (Some(4), Some(2), Some(2))
    );
    assert_eq!(out["job_id"], Value::Null);
    let results = out["results"].as_array().unwrap();
    let got: Vec<(&str, bool, &str)> = results
        .iter()
        .map(|x| (x["resource_id"].as_str().unwrap(), x["success"].as_bool().unwrap(), x["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (ids[0].as_str(), true, "tags updated"),
            (ids[1].as_str(), true, "tags updated"),
            (foreign.as_str(), false, "region not found"),
            ("not-an-id", false, "region not found"),
        ]
    );
    assert_eq!(tags_of(&alice, "region", &ids[0]).await, json!({"env": "prod", "team": "net"}), "merged");
    assert_eq!(tags_of(&bob, "region", &foreign).await, json!({}), "bob's region untouched");
    assert_eq!(updates_of(&alice, &ids[1]).await, 1);

    // Re-applying succeeds and writes nothing.
    app.clock.advance(Duration::seconds(1));
    let again = alice.post("/ipam/bulk/tags", body("region", &ids[..2], "add", json!({"env": "prod"}))).await;
    let again = again.assert_status(200);
    assert_eq!(again["successful"], 2);
    assert_eq!(again["results"][0]["message"], "tags already as requested; nothing changed");
    assert_eq!(updates_of(&alice, &ids[1]).await, 1, "a no-op is not audited");

    // remove drops keys (values ignored); replace replaces.
    app.clock.advance(Duration::seconds(1));
    alice.post("/ipam/bulk/tags", body("region", &ids[..1], "remove", json!({"team": ""}))).await.assert_status(200);
    assert_eq!(tags_of(&alice, "region", &ids[0]).await, json!({"env": "prod"}));
    app.clock.advance(Duration::seconds(1));
    alice.post("/ipam/bulk/tags", body("region", &ids[..2], "replace", json!({"tier": "1"}))).await.assert_status(200);
    assert_eq!(tags_of(&alice, "region", &ids[1]).await, json!({"tier": "1"}));
    assert_eq!(updates_of(&alice, &ids[0]).await, 4, "patch, add, remove, replace");
}

#[tokio::test]
async fn hosts_take_the_same_operations() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let region = alice.create_region("USA", "hosts").await;
    let hosts = alice.allocate_hosts(region["region_id"].as_str().unwrap(), "web", 3).await;
    app.clock.advance(Duration::seconds(1));
    let r = alice.post("/ipam/bulk/tags", body("host", &hosts, "add", json!({"role": "web"}))).await;
    assert_eq!(r.assert_status(200)["successful"], 3);
    assert_eq!(tags_of(&alice, "host", &hosts[2]).await, json!({"role": "web"}));
    // A region id is not a host.
    let wrong = alice
        .post("/ipam/bulk/tags", body("host", &[region["region_id"].as_str().unwrap().to_owned()], "add", json!({})))
        .await;
    assert_eq!(wrong.assert_status(200)["results"][0]["message"], "host not found");
}

/// Runs one batch of the job.
async fn step(app: &TestApp, job: &str) -> Step {
    let id = BulkJobId::parse(job).unwrap();
    bulk_tags::step(&app.state.platform, &id).await.unwrap()
}

#[tokio::test]
async fn more_than_100_ids_become_a_job_whose_progress_shows_batch_by_batch() {
    let app = spawn_app_with(|s| s.bulk_batch_size = 40).await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let region = alice.create_region("USA", "many").await;
    let region_id = region["region_id"].as_str().unwrap().to_owned();
    let mut ids = alice.allocate_hosts(&region_id, "h", 100).await;
    ids.push("missing-id".to_owned());
    app.clock.advance(Duration::seconds(1));

    let r = alice.post("/ipam/bulk/tags", body("host", &ids, "add", json!({"env": "prod"}))).await;
    let queued = r.assert_status(202).clone();
    let job = queued["job_id"].as_str().unwrap().to_owned();
    let url = format!("/ipam/bulk/jobs/{job}");
    assert_eq!(r.header("location"), Some(url.as_str()));
    assert_eq!((queued["status"].as_str(), queued["total_requested"].as_u64()), (Some("pending"), Some(101)));
    assert_eq!(queued["status_url"], url);
    let pending = alice.get(&url).await.assert_status(200).clone();
    assert_eq!(pending["status"], "pending");
    assert_eq!(
        pending["progress"],
        json!({"total": 101, "processed": 0, "successful": 0, "failed": 0, "percent": 0.0})
    );
    assert_eq!(pending["started_at"], Value::Null);

    assert_eq!(step(&app, &job).await, Step::Progressed { processed: 40, total: 101 });
    let mid = alice.get(&format!("{url}?page=2&page_size=30")).await.assert_status(200).clone();
    assert_eq!(mid["status"], "processing");
    assert_eq!(mid["progress"]["processed"], 40);
    assert_eq!(mid["progress"]["percent"], 39.6);
    assert!(mid["started_at"].is_string());
    assert_eq!(mid["pagination"]["total_count"], 40);
    assert_eq!(mid["results"].as_array().unwrap().len(), 10, "page 2 of 40 results by 30");
    assert_eq!(mid["results"][0]["resource_id"], ids[30].as_str());
    assert_eq!(tags_of(&alice, "host", &ids[39]).await, json!({"env": "prod"}));
    assert_eq!(tags_of(&alice, "host", &ids[40]).await, json!({}), "not reached yet");
    assert!(bob.get(&url).await.assert_error(404, "not_found").is_object(), "another user's job");

    assert_eq!(step(&app, &job).await, Step::Progressed { processed: 80, total: 101 });
    assert!(matches!(step(&app, &job).await, Step::Finished(_)));
    let done = alice.get(&format!("{url}?page=3&page_size=50")).await.assert_status(200).clone();
    assert_eq!(done["status"], "completed");
    assert_eq!(
        done["progress"],
        json!({"total": 101, "processed": 101, "successful": 100, "failed": 1, "percent": 100.0})
    );
    assert!(done["completed_at"].is_string());
    assert_eq!(done["results"], json!([{"resource_id": "missing-id", "success": false, "message": "host not found"}]));
    assert!(matches!(step(&app, &job).await, Step::Finished(_)), "a finished job does nothing");
    assert_eq!(updates_of(&alice, &ids[99]).await, 1);

    // Its owner is told; the job is listed; a finished job cannot be cancelled.
    let inbox = alice.get("/ipam/notifications?notification_type=bulk_job_finished").await.assert_status(200).clone();
    assert_eq!(inbox["pagination"]["total_count"], 1, "{inbox}");
    assert_eq!(inbox["results"][0]["resource_link"], url.as_str());
    let list = alice.get("/ipam/bulk/jobs").await.assert_status(200).clone();
    assert_eq!(list["pagination"]["total_count"], 1);
    assert_eq!(list["results"][0]["job_id"], job.as_str());
    assert_eq!(bob.get("/ipam/bulk/jobs").await.assert_status(200)["pagination"]["total_count"], 0);
    alice.delete(&url).await.assert_error(409, "conflict");
}

#[tokio::test]
async fn a_cancelled_job_stops_at_its_next_batch_and_keeps_what_it_did() {
    let app = spawn_app_with(|s| s.bulk_batch_size = 50).await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let region = alice.create_region("USA", "many").await;
    let ids = alice.allocate_hosts(region["region_id"].as_str().unwrap(), "h", 150).await;
    app.clock.advance(Duration::seconds(1));
    let r = alice.post("/ipam/bulk/tags", body("host", &ids, "replace", json!({"a": "b"}))).await;
    let job = r.assert_status(202)["job_id"].as_str().unwrap().to_owned();
    let url = format!("/ipam/bulk/jobs/{job}");
    step(&app, &job).await;

    bob.delete(&url).await.assert_error(404, "not_found");
    let cancelled = alice.delete(&url).await.assert_status(200).clone();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(matches!(step(&app, &job).await, Step::Finished(_)));
    let after = alice.get(&url).await.assert_status(200).clone();
    assert_eq!((after["status"].as_str(), after["progress"]["processed"].as_u64()), (Some("cancelled"), Some(50)));
    assert_eq!(tags_of(&alice, "host", &ids[49]).await, json!({"a": "b"}));
    assert_eq!(tags_of(&alice, "host", &ids[50]).await, json!({}));
    alice.delete(&url).await.assert_error(409, "conflict");
    alice.delete("/ipam/bulk/jobs/not-a-job").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn malformed_requests_are_422_naming_the_field() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let ok_ids = vec!["01J00000000000000000000000".to_owned()];
    let too_many: Vec<String> = (0..10_001).map(|i| format!("id-{i}")).collect();
    let cases = [
        (body("region", &[], "add", json!({})), "resource_ids"),
        (body("region", &too_many, "add", json!({})), "resource_ids"),
        (body("region", &["a".into(), "b".into(), "a".into()], "add", json!({})), "resource_ids[2]"),
        (body("subnet", &ok_ids, "add", json!({})), "resource_type"),
        (body("region", &ok_ids, "merge", json!({})), "operation"),
        (body("region", &ok_ids, "add", json!({"bad key": "x"})), "tags"),
        (body("region", &ok_ids, "add", json!(["env"])), "tags"),
        (json!({"resource_type": "region", "resource_ids": ok_ids, "operation": "add"}), "tags"),
        (json!({"resource_type": "region", "resource_ids": [1], "operation": "add", "tags": {}}), "resource_ids[0]"),
    ];
    for (request, field) in cases {
        let r = alice.post("/ipam/bulk/tags", request).await;
        let e = r.assert_error(422, "validation_error");
        assert!(e["details"].get(field).is_some(), "{field}: {}", r.text);
    }
    let page = alice.get("/ipam/bulk/jobs?page_size=500").await;
    assert!(page.assert_error(422, "validation_error")["details"].get("page_size").is_some());
    let reader = app.caller("reader", &[ipam_core::auth::Permission::Read]);
    reader.post("/ipam/bulk/tags", body("region", &ok_ids, "add", json!({}))).await.assert_error(403, "forbidden");
    reader.get("/ipam/bulk/jobs").await.assert_status(200);
}

#[tokio::test]
async fn bulk_tags_are_limited_to_10_per_hour_per_user_and_job_reads_are_not() {
    let app = spawn_app_with(|s| s.rate_limits = Switch::On).await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let id = vec!["nothing".to_owned()];
    for _ in 0..10 {
        alice.post("/ipam/bulk/tags", body("region", &id, "add", json!({}))).await.assert_status(200);
    }
    let r = alice.post("/ipam/bulk/tags", body("region", &id, "add", json!({}))).await;
    assert!(r.assert_error(429, "rate_limit_exceeded")["details"]["retry_after"].as_u64().unwrap() > 60);
    assert_eq!(r.header("x-ratelimit-limit"), Some("10"));
    bob.post("/ipam/bulk/tags", body("region", &id, "add", json!({}))).await.assert_status(200);
    for _ in 0..20 {
        alice.get("/ipam/bulk/jobs").await.assert_status(200);
    }
}
