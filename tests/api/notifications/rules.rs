//! Notification rules: `/ipam/notifications/rules` (create, list, get, patch, delete), the
//! validation of every field and the per-user limit.

use chrono::Duration;
use ipam_tests::json::text;
use ipam_tests::{spawn_app, spawn_app_with};
use serde_json::json;

use super::{named, rule};

#[tokio::test]
async fn rules_are_created_listed_read_patched_and_deleted() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let r = u
        .post(
            "/ipam/notifications/rules",
            json!({"rule_name": "Busy", "conditions": {"utilization_threshold": 50, "resource_type": "region"}}),
        )
        .await;
    let created = r.assert_status(201).clone();
    let id = text(&created, "rule_id");
    assert_eq!(r.header("location"), Some(format!("/ipam/notifications/rules/{id}").as_str()));
    assert_eq!(text(&created, "_id"), id);
    assert_eq!(created["conditions"], json!({"utilization_threshold": 50, "resource_type": "region"}));
    assert_eq!((created["severity"].clone(), created["cooldown_minutes"].clone()), (json!("warning"), json!(60)));
    assert_eq!(
        (created["notification_channels"].clone(), created["is_active"].clone()),
        (json!(["in_app"]), json!(true))
    );
    let second = rule(
        &u,
        json!({"rule_name": "Events", "conditions": {"event_types": ["region.created"]},
                                 "notification_channels": ["webhook"], "severity": "critical"}),
    )
    .await;

    let list = u.get("/ipam/notifications/rules?page_size=1").await.assert_status(200).clone();
    assert_eq!(list["pagination"]["total_count"], 2);
    assert_eq!(text(&list["results"][0], "rule_id"), text(&second, "rule_id"), "newest first");
    assert_eq!(u.get(&format!("/ipam/notifications/rules/{id}")).await.assert_status(200)["rule_name"], "Busy");

    app.clock.advance(Duration::minutes(1));
    let body = json!({"rule_name": "Very busy", "cooldown_minutes": 0, "is_active": false, "severity": "info",
                      "conditions": {"utilization_threshold": 90, "resource_type": "region"}});
    let patched = u.patch(&format!("/ipam/notifications/rules/{id}"), body).await.assert_status(200).clone();
    assert_eq!((text(&patched, "rule_name"), patched["cooldown_minutes"].clone()), ("Very busy".into(), json!(0)));
    assert_eq!((patched["is_active"].clone(), patched["severity"].clone()), (json!(false), json!("info")));
    assert_eq!(patched["conditions"]["utilization_threshold"], 90);
    assert!(text(&patched, "updated_at") > text(&created, "updated_at"), "{patched}");

    u.delete(&format!("/ipam/notifications/rules/{id}")).await.assert_status(204);
    u.get(&format!("/ipam/notifications/rules/{id}")).await.assert_error(404, "not_found");
    u.delete(&format!("/ipam/notifications/rules/{id}")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn every_bad_rule_field_is_a_422_naming_it() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let bad = json!({"rule_name": "", "conditions": {"utilization_threshold": 0, "resource_type": "region"},
                     "severity": "urgent", "notification_channels": ["sms"], "cooldown_minutes": -1});
    let r = u.post("/ipam/notifications/rules", bad).await;
    assert_eq!(
        named(&r),
        ["conditions.utilization_threshold", "cooldown_minutes", "notification_channels", "rule_name", "severity"]
    );
    let r = u
        .post(
            "/ipam/notifications/rules",
            json!({"rule_name": "e", "conditions": {"event_types": ["notification.created"]}}),
        )
        .await;
    assert_eq!(named(&r), ["conditions.event_types"]);
    let r = u
        .post(
            "/ipam/notifications/rules",
            json!({"rule_name": "t", "conditions": {"utilization_threshold": 50, "resource_type": "planet"}}),
        )
        .await;
    assert_eq!(named(&r), ["conditions.resource_type"]);
    let r = u.post("/ipam/notifications/rules", json!({"rule_name": "t"})).await;
    assert_eq!(named(&r), ["conditions"]);

    let email = json!({"rule_name": "e", "conditions": {"event_types": ["host.allocated"]},
                       "notification_channels": ["in_app", "email"]});
    let r = u.post("/ipam/notifications/rules", email).await;
    let problem = r.assert_error(422, "validation_error")["details"]["notification_channels"].clone();
    assert!(problem.as_str().is_some_and(|p| p.contains("not supported")), "{problem}");

    let id =
        text(&rule(&u, json!({"rule_name": "ok", "conditions": {"event_types": ["host.allocated"]}})).await, "rule_id");
    let r = u
        .patch(&format!("/ipam/notifications/rules/{id}"), json!({"cooldown_minutes": 10_081, "rule_name": " "}))
        .await;
    assert_eq!(named(&r), ["cooldown_minutes", "rule_name"]);
    assert_eq!(u.get("/ipam/notifications/rules").await.assert_status(200)["pagination"]["total_count"], 1);
}

#[tokio::test]
async fn a_user_holds_at_most_the_configured_number_of_rules() {
    let app = spawn_app_with(|s| s.notification_rules_max_per_user = 2).await;
    let u = app.user("alice");
    let body = |name: &str| json!({"rule_name": name, "conditions": {"event_types": ["host.allocated"]}});
    rule(&u, body("one")).await;
    let second = text(&rule(&u, body("two")).await, "rule_id");
    let r = u.post("/ipam/notifications/rules", body("three")).await;
    assert_eq!(r.assert_error(409, "conflict")["details"]["limit"], 2);
    rule(&app.user("bob"), body("bob's")).await;

    u.delete(&format!("/ipam/notifications/rules/{second}")).await.assert_status(204);
    rule(&u, body("three")).await;
}
