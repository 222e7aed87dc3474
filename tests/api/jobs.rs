//! The job platform as operators see it through the API: schedules in `/health`, the expiry
//! sweeps and their audit trail, and running a schedule by hand. Test apps run no background
//! workers; jobs run when a test runs them, with the test's clock.

use chrono::{DateTime, Duration, Utc};
use ipam_core::clock::Clock;
use ipam_core::domain::notification::{Notification, NotificationType, RETENTION, Severity};
use ipam_core::domain::{NotificationId, UserId};
use ipam_core::storage::NotificationFilter;
use ipam_jobs::ScheduleName;
use ipam_tests::spawn_app;
use serde_json::{Value, json};

fn task<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["background_tasks"]
        .as_array()
        .expect("background_tasks is a list")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from {health}"))
}

#[tokio::test]
async fn health_lists_every_schedule_with_its_last_and_next_run_and_checks_the_queue() {
    let app = spawn_app().await;
    let health = app.anonymous().get("/health").await.assert_status(200).clone();
    assert_eq!(health["checks"]["queue"]["status"], "ok");
    assert_eq!(health["checks"]["queue"]["backend"], "sqlite");
    for name in [
        "reservation_expiry",
        "share_expiry",
        "notification_cleanup",
        "delivery_pruning",
        "outbox_relay",
        "rule_catch_up",
        "forecast_recompute",
    ] {
        let t = task(&health, name);
        assert!(t["schedule"].as_str().is_some_and(|s| s.split_whitespace().count() == 6), "{t}");
        assert!(t["next_run"].is_string(), "{t}");
        assert!(t["last_run"].is_null(), "never ran yet: {t}");
    }
    assert_eq!(task(&health, "reservation_expiry")["schedule"], "0 0 * * * *");

    let tick = app.clock.now();
    assert!(app.state.platform.run_schedule_now(ScheduleName::ShareExpiry, tick).await.unwrap());
    assert!(!app.state.platform.run_schedule_now(ScheduleName::ShareExpiry, tick).await.unwrap(), "a tick runs once");
    let health = app.anonymous().get("/health").await.assert_status(200).clone();
    let t = task(&health, "share_expiry");
    assert_eq!(t["last_outcome"], "succeeded");
    assert!(t.get("last_detail").is_none(), "what a run did is for administrators only: {t}");
    let list = app.admin("root").get("/ipam/admin/schedules").await.assert_status(200).clone();
    let share = list["results"].as_array().unwrap().iter().find(|s| s["name"] == "share_expiry").unwrap().clone();
    assert_eq!(share["recent_runs"][0]["detail"], "0 shares expired", "{share}");
    let last: chrono::DateTime<Utc> = t["last_run"].as_str().unwrap().parse().unwrap();
    assert_eq!(last, tick);
}

#[tokio::test]
async fn the_reservation_expiry_job_records_each_lapsed_reservation_once_with_audit_and_event() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let body = json!({"resource_type": "region", "x_octet": 99, "y_octet": 9, "reason": "soon", "expires_in_days": 1});
    let lapsing = u.post("/ipam/reservations", body).await.assert_status(201)["reservation_id"].clone();
    let body =
        json!({"resource_type": "region", "x_octet": 99, "y_octet": 10, "reason": "later", "expires_in_days": 3});
    let staying = u.post("/ipam/reservations", body).await.assert_status(201)["reservation_id"].clone();
    app.state.platform.drain().await.unwrap();
    let store = app.state.ipam.store();
    assert_eq!(store.outbox_backlog().await.unwrap().0, 0);

    app.clock.advance(Duration::days(2));
    assert!(app.state.platform.run_schedule_now(ScheduleName::ReservationExpiry, app.clock.now()).await.unwrap());

    let r = u.get(&format!("/ipam/reservations/{}", lapsing.as_str().unwrap())).await.assert_status(200).clone();
    assert_eq!(r["status"], "expired");
    let r = u.get(&format!("/ipam/reservations/{}", staying.as_str().unwrap())).await.assert_status(200).clone();
    assert_eq!(r["status"], "active");
    let audit = u.get("/ipam/audit?action_type=expire").await.assert_status(200).clone();
    assert_eq!(audit["pagination"]["total_count"], 1, "{audit}");
    assert_eq!(audit["results"][0]["resource_id"], lapsing);
    assert_eq!(audit["results"][0]["actor_username"], "system");
    assert_eq!(store.outbox_backlog().await.unwrap().0, 1, "one reservation.expired event waits for dispatch");

    // The next run finds nothing left to do.
    app.clock.advance(Duration::hours(1));
    assert!(app.state.platform.run_schedule_now(ScheduleName::ReservationExpiry, app.clock.now()).await.unwrap());
    let audit = u.get("/ipam/audit?action_type=expire").await.assert_status(200).clone();
    assert_eq!(audit["pagination"]["total_count"], 1);
}

#[tokio::test]
async fn administrators_can_list_schedules_and_run_one_now() {
    let app = spawn_app().await;
    app.user("alice").get("/ipam/admin/schedules").await.assert_error(403, "forbidden");
    app.user("alice").post("/ipam/admin/schedules/share_expiry/run", json!({})).await.assert_error(403, "forbidden");
    let admin = app.admin("root");
    admin.post("/ipam/admin/schedules/reindex/run", json!({})).await.assert_error(404, "not_found");

    let queued = admin.post("/ipam/admin/schedules/share_expiry/run", json!({})).await.assert_status(202).clone();
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["schedule"], "share_expiry");
    let list = admin.get("/ipam/admin/schedules").await.assert_status(200).clone();
    let share = list["results"].as_array().unwrap().iter().find(|s| s["name"] == "share_expiry").unwrap().clone();
    assert_eq!(share["recent_runs"].as_array().unwrap().len(), 1, "{share}");
    assert_eq!(share["recent_runs"][0]["outcome"], "running", "queued, no worker has run it yet");
    let configured: Vec<&str> = app.state.platform.schedules().iter().map(|s| s.name.as_str()).collect();
    let listed: Vec<&str> = list["results"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(listed, configured, "every schedule, in order, on the one default page");
    assert!(listed.contains(&"rule_catch_up"), "{listed:?}");
    let n = configured.len() as u64;
    assert_eq!(
        list["pagination"],
        json!({"page": 1, "page_size": 50, "total_count": n, "total_pages": 1, "has_next": false, "has_prev": false})
    );
}

#[tokio::test]
async fn the_schedule_list_is_paginated_like_every_other_list() {
    let app = spawn_app().await;
    let admin = app.admin("root");
    let configured: Vec<&str> = app.state.platform.schedules().iter().map(|s| s.name.as_str()).collect();
    let n = configured.len() as u64;

    let second = admin.get("/ipam/admin/schedules?page=2&page_size=2").await.assert_status(200).clone();

    let names: Vec<&str> = second["results"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, configured[2..4], "{second}");
    assert_eq!(
        second["pagination"],
        json!({"page": 2, "page_size": 2, "total_count": n, "total_pages": n.div_ceil(2), "has_next": n > 4, "has_prev": true})
    );
    let r = admin.get("/ipam/admin/schedules?page_size=0").await;
    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["page_size"].is_string(), "{}", r.text);
    admin.get("/ipam/admin/schedules?pgae=2").await.assert_error(422, "validation_error");
}

/// A notification of `user` created at `at` (as the system would store it).
fn notification(user: &str, key: &str, at: DateTime<Utc>) -> Notification {
    Notification {
        id: NotificationId::generate(),
        user_id: UserId::parse(user).unwrap(),
        notification_type: NotificationType::ReservationExpired,
        severity: Severity::Info,
        message: format!("notification {key}"),
        resource_type: None,
        resource_id: None,
        resource_link: None,
        is_read: false,
        read_at: None,
        created_at: at,
        expires_at: at + RETENTION,
        dedup_key: key.to_owned(),
    }
}

#[tokio::test]
async fn the_notification_cleanup_deletes_exactly_the_notifications_past_their_90_days() {
    let app = spawn_app().await;
    let store = app.state.ipam.store();
    let start = app.clock.now();
    assert!(store.insert_notification(&notification("alice", "old", start)).await.unwrap());
    app.clock.advance(Duration::days(60));
    assert!(store.insert_notification(&notification("alice", "recent", app.clock.now())).await.unwrap());

    app.clock.advance(Duration::days(31));
    assert!(app.state.platform.run_schedule_now(ScheduleName::NotificationCleanup, app.clock.now()).await.unwrap());

    let admin = app.admin("root");
    let runs = |list: Value| {
        let s =
            list["results"].as_array().unwrap().iter().find(|s| s["name"] == "notification_cleanup").unwrap().clone();
        s["recent_runs"][0]["detail"].clone()
    };
    let list = admin.get("/ipam/admin/schedules").await.assert_status(200).clone();
    assert_eq!(runs(list), "1 expired notifications deleted", "the 91-day-old one, not the 31-day-old one");
    let user = UserId::parse("alice").unwrap();
    let page = ipam_core::domain::PageRequest::new(None, Some(10)).unwrap();
    let left = store.notifications(&user, &NotificationFilter::default(), page, app.clock.now()).await.unwrap();
    assert_eq!(left.items.iter().map(|n| n.dedup_key.as_str()).collect::<Vec<_>>(), ["recent"]);

    app.clock.advance(Duration::hours(24));
    assert!(app.state.platform.run_schedule_now(ScheduleName::NotificationCleanup, app.clock.now()).await.unwrap());
    let list = admin.get("/ipam/admin/schedules").await.assert_status(200).clone();
    assert_eq!(runs(list), "0 expired notifications deleted", "nothing left to delete the next day");
}
