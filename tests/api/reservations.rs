//! `/ipam/reservations`: holding a block or an address, expiry, listing, cancelling, and
//! converting a reservation into the allocation of exactly its address.

use chrono::Duration;
use ipam_core::auth::Permission;
use ipam_core::clock::Clock;
use ipam_tests::json::{text, time};
use ipam_tests::{Caller, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Creating reservations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_seed_smoke_test_reserves_a_block_and_lists_it() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let now = app.clock.now();

    let r = u
        .post(
            "/ipam/reservations",
            json!({
                "resource_type": "region",
                "x_octet": 99,
                "y_octet": 99,
                "reason": "Migration test",
                "expires_in_days": 1
            }),
        )
        .await;

    let body = r.assert_status(201).clone();
    let id = text(&body, "reservation_id");
    assert!(!id.is_empty());
    assert_eq!(body["_id"], body["reservation_id"]);
    assert_eq!(body["user_id"], "alice");
    assert_eq!(body["resource_type"], "region");
    assert_eq!(body["x_octet"], 99);
    assert_eq!(body["y_octet"], 99);
    assert_eq!(body["z_octet"], Value::Null);
    assert_eq!(body["reserved_address"], "10.99.99.0/24");
    assert_eq!(body["reason"], "Migration test");
    assert_eq!(body["status"], "active");
    assert_eq!(time(&body, "created_at"), now);
    assert_eq!(time(&body, "expires_at"), now + Duration::days(1));
    assert_eq!(body["created_by"], "alice");
    assert_eq!(body["metadata"], json!({}));
    assert_eq!(body["converted_at"], Value::Null);
    assert_eq!(body["converted_to"], Value::Null);
    assert_eq!(r.header("location"), Some(format!("/ipam/reservations/{id}").as_str()));

    let listed = u.get("/ipam/reservations").await.assert_status(200).clone();
    assert_eq!(listed["pagination"]["total_count"], 1);
    assert_eq!(listed["pagination"]["page"], 1);
    assert_eq!(listed["results"][0]["reservation_id"], id.as_str());
    assert_eq!(listed["results"][0]["reserved_address"], "10.99.99.0/24");
    assert_eq!(listed["results"][0]["status"], "active");
}

#[tokio::test]
async fn a_host_reservation_holds_one_address() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let r = u
        .post(
            "/ipam/reservations",
            json!({"resource_type": "host", "x_octet": 5, "y_octet": 23, "z_octet": 100, "reason": "new db"}),
        )
        .await;

    let body = r.assert_status(201).clone();
    assert_eq!(body["resource_type"], "host");
    assert_eq!(body["z_octet"], 100);
    assert_eq!(body["reserved_address"], "10.5.23.100");
    assert_eq!(body["status"], "active");
    assert_eq!(body["expires_at"], Value::Null, "no expires_in_days: it never expires");
    let id = text(&body, "reservation_id");
    assert_eq!(r.header("location"), Some(format!("/ipam/reservations/{id}").as_str()));
    let fetched = u.get(&format!("/ipam/reservations/{id}")).await.assert_status(200).clone();
    assert_eq!(fetched["reserved_address"], "10.5.23.100");
}

#[tokio::test]
async fn a_reservation_without_expiry_stays_active_forever() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_block(&u, 98, 0, None).await;

    app.clock.advance(Duration::days(3650));

    let body = u.get(&format!("/ipam/reservations/{id}")).await.assert_status(200).clone();
    assert_eq!(body["status"], "active");
    assert_eq!(u.create_region("FIN", "fi-1").await["cidr"], "10.98.1.0/24", "it still blocks its block");
}

#[tokio::test]
async fn a_host_reservation_requires_a_z_octet_between_1_and_254() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let missing =
        u.post("/ipam/reservations", json!({"resource_type": "host", "x_octet": 5, "y_octet": 1, "reason": "r"})).await;
    missing.assert_error(422, "validation_error");
    assert!(missing.json["details"]["z_octet"].is_string(), "{}", missing.text);

    for z in [0, 255, -1, 1000] {
        let r = u.post("/ipam/reservations", host_body(5, 1, z)).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["z_octet"].is_string(), "z={z}: {}", r.text);
    }
    for z in [1, 254] {
        let r = u.post("/ipam/reservations", host_body(5, 1, z)).await;
        assert_eq!(r.assert_status(201)["reserved_address"], format!("10.5.1.{z}"));
    }
    assert_eq!(count(&u, "").await, 2, "only the valid ones were stored");
}

#[tokio::test]
async fn a_region_reservation_refuses_a_z_octet() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let r = u
        .post(
            "/ipam/reservations",
            json!({"resource_type": "region", "x_octet": 5, "y_octet": 1, "z_octet": 7, "reason": "r"}),
        )
        .await;

    r.assert_error(422, "validation_error");
    assert!(r.json["details"]["z_octet"].is_string(), "{}", r.text);
    assert_eq!(count(&u, "").await, 0);
}

#[tokio::test]
async fn octets_outside_0_to_255_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for (x, y, field) in [(256, 0, "x_octet"), (-1, 0, "x_octet"), (5, 256, "y_octet"), (5, -1, "y_octet")] {
        let r = u
            .post("/ipam/reservations", json!({"resource_type": "region", "x_octet": x, "y_octet": y, "reason": "r"}))
            .await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "x={x} y={y}: {}", r.text);
    }
    for (x, y) in [(0, 0), (5, 255)] {
        u.post("/ipam/reservations", json!({"resource_type": "region", "x_octet": x, "y_octet": y, "reason": "r"}))
            .await
            .assert_status(201);
    }
}

#[tokio::test]
async fn the_reason_must_be_1_to_500_characters() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let missing = u.post("/ipam/reservations", json!({"resource_type": "region", "x_octet": 5, "y_octet": 0})).await;
    missing.assert_error(422, "validation_error");
    assert!(missing.json["details"]["reason"].is_string(), "{}", missing.text);
    for reason in [String::new(), "x".repeat(501)] {
        let r = u.post("/ipam/reservations", block_body(5, 0, &reason)).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["reason"].is_string(), "len {}: {}", reason.len(), r.text);
    }

    let longest = "x".repeat(500);
    let ok = u.post("/ipam/reservations", block_body(5, 0, &longest)).await;
    assert_eq!(ok.assert_status(201)["reason"], longest.as_str());
    let shortest = u.post("/ipam/reservations", block_body(5, 1, "x")).await;
    assert_eq!(shortest.assert_status(201)["reason"], "x");
}

#[tokio::test]
async fn expires_in_days_must_be_1_to_90() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let now = app.clock.now();

    for days in [0, 91, -1, 365] {
        let r = u
            .post(
                "/ipam/reservations",
                json!({"resource_type": "region", "x_octet": 5, "y_octet": 0, "reason": "r", "expires_in_days": days}),
            )
            .await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["expires_in_days"].is_string(), "days={days}: {}", r.text);
    }

    let longest = u
        .post(
            "/ipam/reservations",
            json!({"resource_type": "region", "x_octet": 5, "y_octet": 0, "reason": "r", "expires_in_days": 90}),
        )
        .await;
    assert_eq!(time(longest.assert_status(201), "expires_at"), now + Duration::days(90));
}

#[tokio::test]
async fn an_unknown_resource_type_is_refused() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for kind in ["country", "", "subnet"] {
        let r = u
            .post("/ipam/reservations", json!({"resource_type": kind, "x_octet": 5, "y_octet": 0, "reason": "r"}))
            .await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"]["resource_type"].is_string(), "{kind:?}: {}", r.text);
    }
    let missing = u.post("/ipam/reservations", json!({"x_octet": 5, "y_octet": 0, "reason": "r"})).await;
    missing.assert_error(422, "validation_error");
    assert!(missing.json["details"]["resource_type"].is_string(), "{}", missing.text);
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let unknown = u
        .post(
            "/ipam/reservations",
            json!({"resource_type": "region", "x_octet": 5, "y_octet": 0, "reason": "r", "status": "converted"}),
        )
        .await;
    unknown.assert_error(422, "validation_error");
    assert!(unknown.json["details"]["status"].is_string(), "{}", unknown.text);

    let wrong_type = u
        .post("/ipam/reservations", json!({"resource_type": "region", "x_octet": "five", "y_octet": 0, "reason": "r"}))
        .await;
    wrong_type.assert_error(422, "validation_error");
    assert!(wrong_type.json["details"]["x_octet"].is_string(), "{}", wrong_type.text);

    assert_eq!(count(&u, "").await, 0);
}

#[tokio::test]
async fn the_reserved_block_cannot_be_reserved() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for x in [208, 230, 255] {
        u.post("/ipam/reservations", block_body(x, 0, "later")).await.assert_error(409, "country_reserved");
        u.post("/ipam/reservations", host_body(x, 0, 1)).await.assert_error(409, "country_reserved");
    }
    u.post("/ipam/reservations", block_body(207, 0, "last X of Australia")).await.assert_status(201);
    assert_eq!(count(&u, "").await, 1);
}

// ---------------------------------------------------------------------------------------------
// Conflicts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_allocated_block_cannot_be_reserved() {
    let app = spawn_app().await;
    let u = app.user("alice");
    assert_eq!(u.create_region("FIN", "fi-1").await["cidr"], "10.98.0.0/24");

    let r = u.post("/ipam/reservations", block_body(98, 0, "mine")).await;

    r.assert_error(409, "conflict");
    assert!(message(&r.json).contains("10.98.0.0/24"), "{}", r.text);
    assert_eq!(count(&u, "").await, 0);
}

#[tokio::test]
async fn an_allocated_host_address_cannot_be_reserved() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let region = u.create_region("FIN", "fi-1").await;
    let host = u.create_host(&text(&region, "region_id"), "web-1").await;
    assert_eq!(host["ip_address"], "10.98.0.1");

    let r = u.post("/ipam/reservations", host_body(98, 0, 1)).await;

    r.assert_error(409, "conflict");
    assert!(message(&r.json).contains("10.98.0.1"), "{}", r.text);
    u.post("/ipam/reservations", host_body(98, 0, 2)).await.assert_status(201);
}

#[tokio::test]
async fn an_actively_reserved_host_address_cannot_be_reserved_again() {
    let app = spawn_app().await;
    let u = app.user("alice");
    reserve_host(&u, 5, 23, 100, None).await;

    let r = u.post("/ipam/reservations", host_body(5, 23, 100)).await;

    r.assert_error(409, "conflict");
    assert!(message(&r.json).contains("10.5.23.100"), "{}", r.text);
    assert_eq!(count(&u, "").await, 1);
}

#[tokio::test]
async fn an_actively_reserved_block_cannot_be_reserved_again() {
    let app = spawn_app().await;
    let u = app.user("alice");
    reserve_block(&u, 5, 23, None).await;

    let r = u.post("/ipam/reservations", block_body(5, 23, "again")).await;

    r.assert_error(409, "conflict");
    assert!(message(&r.json).contains("10.5.23.0/24"), "{}", r.text);
    assert_eq!(count(&u, "").await, 1);
}

#[tokio::test]
async fn a_host_reservation_inside_a_reserved_block_is_not_a_conflict() {
    let app = spawn_app().await;
    let u = app.user("alice");

    let block = u.post("/ipam/reservations", block_body(5, 23, "future DC")).await;
    let host = u.post("/ipam/reservations", host_body(5, 23, 100)).await;

    assert_eq!(block.assert_status(201)["reserved_address"], "10.5.23.0/24");
    assert_eq!(host.assert_status(201)["reserved_address"], "10.5.23.100");
    // The other way round as well.
    u.post("/ipam/reservations", host_body(5, 24, 7)).await.assert_status(201);
    u.post("/ipam/reservations", block_body(5, 24, "around it")).await.assert_status(201);
    assert_eq!(count(&u, "?status=active").await, 4);
}

#[tokio::test]
async fn another_user_can_reserve_the_same_address() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    reserve_block(&alice, 98, 0, None).await;
    reserve_host(&alice, 5, 23, 100, None).await;

    bob.post("/ipam/reservations", block_body(98, 0, "mine too")).await.assert_status(201);
    bob.post("/ipam/reservations", host_body(5, 23, 100)).await.assert_status(201);

    let carol = app.user("carol");
    assert_eq!(carol.create_region("FIN", "fi-1").await["cidr"], "10.98.0.0/24", "alice's hold is hers only");
    assert_eq!(count(&alice, "").await, 2);
    assert_eq!(count(&bob, "").await, 2);
}

// ---------------------------------------------------------------------------------------------
// Reservations block allocation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_reserved_block_is_skipped_by_region_allocation_and_its_preview() {
    let app = spawn_app().await;
    let u = app.user("alice");
    reserve_block(&u, 98, 0, Some(30)).await;

    let preview = u.get("/ipam/regions/preview-next?country=FIN").await.assert_status(200).clone();
    let created = u.create_region("FIN", "fi-1").await;

    assert_eq!(preview["next_cidr"], "10.98.1.0/24");
    assert_eq!(created["cidr"], "10.98.1.0/24");
    assert_eq!(u.create_region("FIN", "fi-2").await["cidr"], "10.98.2.0/24");
}

#[tokio::test]
async fn a_reserved_host_address_is_skipped_by_host_allocation_and_its_preview() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    reserve_host(&u, 98, 0, 1, None).await;

    let preview = u.get(&format!("/ipam/hosts/preview-next?region_id={rid}")).await.assert_status(200).clone();
    let host = u.create_host(&rid, "web-1").await;

    assert_eq!(preview["next_ip"], "10.98.0.2");
    assert_eq!(host["ip_address"], "10.98.0.2");
    assert_eq!(u.create_host(&rid, "web-2").await["ip_address"], "10.98.0.3");
}

#[tokio::test]
async fn a_batch_skips_reserved_addresses() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    reserve_host(&u, 98, 0, 2, None).await;
    reserve_host(&u, 98, 0, 4, None).await;

    let batch = u.post("/ipam/hosts/batch", json!({"region_id": rid, "count": 4, "hostname_prefix": "web"})).await;

    let body = batch.assert_status(201).clone();
    let ips: Vec<&str> = body["hosts"].as_array().unwrap().iter().map(|h| h["ip_address"].as_str().unwrap()).collect();
    assert_eq!(ips, ["10.98.0.1", "10.98.0.3", "10.98.0.5", "10.98.0.6"]);
}

#[tokio::test]
async fn a_reservation_and_an_allocation_racing_for_one_block_never_both_get_it() {
    let app = spawn_app().await;
    for i in 0..8 {
        let u = app.user(&format!("racer-{i}"));

        let (reserved, allocated) = tokio::join!(
            u.post("/ipam/reservations", block_body(98, 0, "race")),
            u.post("/ipam/regions", json!({"country": "FIN", "region_name": "fi-1"})),
        );

        let region = allocated.assert_status(201).clone();
        match reserved.code() {
            201 => {
                assert_eq!(region["cidr"], "10.98.1.0/24", "racer {i}: the reservation won, so the block was skipped")
            }
            409 => {
                reserved.assert_error(409, "conflict");
                assert_eq!(region["cidr"], "10.98.0.0/24", "racer {i}: the allocation won");
            }
            other => panic!("racer {i}: unexpected {other}: {}", reserved.text),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Expiry (controlled time)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_overdue_reservation_reads_as_expired_and_frees_its_block() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_block(&u, 98, 0, Some(1)).await;

    app.clock.advance(Duration::days(2));

    let body = u.get(&format!("/ipam/reservations/{id}")).await.assert_status(200).clone();
    assert_eq!(body["status"], "expired");
    assert_eq!(ids(&u, "?status=expired").await, std::slice::from_ref(&id));
    assert!(ids(&u, "?status=active").await.is_empty());
    let preview = u.get("/ipam/regions/preview-next?country=FIN").await.assert_status(200).clone();
    assert_eq!(preview["next_cidr"], "10.98.0.0/24");
    assert_eq!(u.create_region("FIN", "fi-1").await["cidr"], "10.98.0.0/24");
}

#[tokio::test]
async fn a_reservation_holds_until_the_instant_it_expires() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    let id = reserve_host(&u, 98, 0, 1, Some(1)).await;

    app.clock.advance(Duration::days(1) - Duration::milliseconds(1));
    assert_eq!(status_of(&u, &id).await, "active");
    assert_eq!(u.create_host(&rid, "early").await["ip_address"], "10.98.0.2");

    app.clock.advance(Duration::milliseconds(1));
    assert_eq!(status_of(&u, &id).await, "expired");
    assert_eq!(u.create_host(&rid, "late").await["ip_address"], "10.98.0.1");
}

#[tokio::test]
async fn an_expired_host_reservation_frees_its_address() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    reserve_host(&u, 98, 0, 1, Some(1)).await;

    app.clock.advance(Duration::days(2));

    let preview = u.get(&format!("/ipam/hosts/preview-next?region_id={rid}")).await.assert_status(200).clone();
    assert_eq!(preview["next_ip"], "10.98.0.1");
    assert_eq!(u.create_host(&rid, "web-1").await["ip_address"], "10.98.0.1");
}

#[tokio::test]
async fn an_expired_address_can_be_reserved_again() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let old_block = reserve_block(&u, 5, 23, Some(1)).await;
    let old_host = reserve_host(&u, 5, 23, 100, Some(1)).await;

    app.clock.advance(Duration::days(2));
    let new_block = u.post("/ipam/reservations", block_body(5, 23, "again")).await;
    let new_host = u.post("/ipam/reservations", host_body(5, 23, 100)).await;

    let new_block = text(new_block.assert_status(201), "reservation_id");
    let new_host = text(new_host.assert_status(201), "reservation_id");
    assert_eq!(status_of(&u, &new_block).await, "active");
    assert_eq!(status_of(&u, &new_host).await, "active");
    assert_eq!(status_of(&u, &old_block).await, "expired");
    assert_eq!(status_of(&u, &old_host).await, "expired");
    let mut active = ids(&u, "?status=active").await;
    active.sort();
    let mut expected = vec![new_block, new_host];
    expected.sort();
    assert_eq!(active, expected);
}

#[tokio::test]
async fn an_expired_reservation_cannot_be_converted() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_block(&u, 98, 0, Some(1)).await;
    app.clock.advance(Duration::days(2));

    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"region_name": "fi-1"})).await;

    r.assert_error(409, "conflict");
    assert!(message(&r.json).contains("expired"), "{}", r.text);
    assert_eq!(status_of(&u, &id).await, "expired");
    assert_eq!(region_count(&u).await, 0, "nothing was allocated");
}

// ---------------------------------------------------------------------------------------------
// Listing and reading
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_filters_by_status_and_resource_type() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let block = reserve_block(&u, 5, 0, None).await;
    let host = reserve_host(&u, 5, 0, 9, None).await;
    let expiring = reserve_host(&u, 5, 1, 9, Some(1)).await;
    let converted = reserve_block(&u, 98, 0, None).await;
    convert_region(&u, &converted, "fi-1").await;
    app.clock.advance(Duration::days(2));

    let mut active = ids(&u, "?status=active").await;
    active.sort();
    let mut expected = vec![block.clone(), host.clone()];
    expected.sort();
    assert_eq!(active, expected);
    assert_eq!(ids(&u, "?status=expired").await, std::slice::from_ref(&expiring));
    assert_eq!(ids(&u, "?status=converted").await, std::slice::from_ref(&converted));
    let mut regions = ids(&u, "?resource_type=region").await;
    regions.sort();
    let mut expected = vec![block.clone(), converted];
    expected.sort();
    assert_eq!(regions, expected);
    assert_eq!(ids(&u, "?resource_type=host&status=active").await, [host]);
    assert_eq!(ids(&u, "?status=ACTIVE&resource_type=Region").await, [block], "values ignore case");
    assert_eq!(count(&u, "").await, 4);
}

#[tokio::test]
async fn the_list_is_paginated_newest_first() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let mut created = Vec::new();
    for y in 0..3 {
        created.push(reserve_block(&u, 5, y, None).await);
        app.clock.advance(Duration::minutes(1));
    }

    let first = u.get("/ipam/reservations?page_size=2").await.assert_status(200).clone();
    let second = u.get("/ipam/reservations?page_size=2&page=2").await.assert_status(200).clone();

    assert_eq!(
        first["pagination"],
        json!({"page": 1, "page_size": 2, "total_count": 3, "total_pages": 2, "has_next": true, "has_prev": false})
    );
    assert_eq!(
        second["pagination"],
        json!({"page": 2, "page_size": 2, "total_count": 3, "total_pages": 2, "has_next": false, "has_prev": true})
    );
    let order: Vec<&str> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["results"].as_array().unwrap())
        .map(|r| r["reservation_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [created[2].as_str(), created[1].as_str(), created[0].as_str()]);
    let all = u.get("/ipam/reservations").await.assert_status(200).clone();
    assert_eq!(all["pagination"]["page_size"], 50, "default page size");
}

#[tokio::test]
async fn bad_list_parameters_are_422_naming_the_parameter() {
    let app = spawn_app().await;
    let u = app.user("alice");

    for (query, field) in [
        ("status=pending", "status"),
        ("resource_type=country", "resource_type"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
    ] {
        let r = u.get(&format!("/ipam/reservations?{query}")).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{query}: {}", r.text);
    }
    let unknown = u.get("/ipam/reservations?owner=alice").await;
    unknown.assert_error(422, "validation_error");
    assert!(message(&unknown.json).contains("owner"), "an unknown parameter is named: {}", unknown.text);
}

#[tokio::test]
async fn the_list_shows_only_the_callers_reservations() {
    let app = spawn_app().await;
    reserve_block(&app.user("alice"), 5, 0, None).await;

    let listed = app.user("bob").get("/ipam/reservations").await.assert_status(200).clone();

    assert_eq!(listed["results"], json!([]));
    assert_eq!(listed["pagination"]["total_count"], 0);
}

#[tokio::test]
async fn unknown_malformed_and_foreign_reservation_ids_are_404() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    let id = reserve_block(&alice, 5, 0, None).await;

    for path in ["/ipam/reservations/01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(), "/ipam/reservations/not-an-id".to_owned()]
    {
        alice.get(&path).await.assert_error(404, "not_found");
    }
    bob.get(&format!("/ipam/reservations/{id}")).await.assert_error(404, "not_found");
    alice.get(&format!("/ipam/reservations/{id}")).await.assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// Cancelling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cancelling_deletes_the_reservation_and_frees_its_address() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_block(&u, 98, 0, None).await;

    let r = u.delete(&format!("/ipam/reservations/{id}")).await;

    r.assert_status(204);
    assert!(r.text.is_empty());
    u.get(&format!("/ipam/reservations/{id}")).await.assert_error(404, "not_found");
    u.delete(&format!("/ipam/reservations/{id}")).await.assert_error(404, "not_found");
    assert_eq!(count(&u, "").await, 0);
    assert_eq!(u.create_region("FIN", "fi-1").await["cidr"], "10.98.0.0/24");
}

#[tokio::test]
async fn cancelling_frees_the_address_for_a_new_reservation() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_host(&u, 5, 23, 100, None).await;

    u.delete(&format!("/ipam/reservations/{id}")).await.assert_status(204);

    u.post("/ipam/reservations", host_body(5, 23, 100)).await.assert_status(201);
}

#[tokio::test]
async fn another_users_reservation_cannot_be_cancelled() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    let id = reserve_block(&alice, 98, 0, None).await;

    app.user("bob").delete(&format!("/ipam/reservations/{id}")).await.assert_error(404, "not_found");
    alice.delete("/ipam/reservations/not-an-id").await.assert_error(404, "not_found");

    assert_eq!(status_of(&alice, &id).await, "active");
    assert_eq!(alice.create_region("FIN", "fi-1").await["cidr"], "10.98.1.0/24", "it still blocks");
}

#[tokio::test]
async fn reserving_and_cancelling_are_audited() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_host(&u, 5, 23, 100, None).await;
    app.clock.advance(Duration::minutes(1));
    u.delete(&format!("/ipam/reservations/{id}")).await.assert_status(204);

    let audit = u.get("/ipam/audit?resource_type=reservation").await.assert_status(200).clone();

    let events = audit["results"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{audit}");
    assert_eq!(events[0]["action_type"], "cancel");
    assert_eq!(events[1]["action_type"], "reserve");
    for e in events {
        assert_eq!(e["resource_type"], "reservation");
        assert_eq!(e["resource_id"], id.as_str());
        assert_eq!(e["actor_username"], "alice");
        assert_eq!(e["ip_address"], "10.5.23.100");
    }
    assert_eq!(events[1]["reason"], "for a test");
    let cancels = u.get("/ipam/audit?action_type=cancel").await.assert_status(200).clone();
    assert_eq!(cancels["pagination"]["total_count"], 1);
    assert_eq!(cancels["results"][0]["resource_id"], id.as_str());
}

// ---------------------------------------------------------------------------------------------
// Converting a region reservation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn converting_a_region_reservation_allocates_exactly_its_block() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_block(&u, 98, 7, Some(30)).await;
    app.clock.advance(Duration::hours(1));
    let now = app.clock.now();

    let r = u
        .post(
            &format!("/ipam/reservations/{id}/convert"),
            json!({"region_name": "helsinki", "description": "new DC", "owner": "infra", "tags": {"env": "prod"}}),
        )
        .await;

    let body = r.assert_status(201).clone();
    assert_eq!(body["resource_type"], "region");
    let region_id = text(&body, "resource_id");
    let allocation = &body["allocation"];
    assert_eq!(allocation["region_id"], region_id.as_str());
    assert_eq!(allocation["cidr"], "10.98.7.0/24");
    assert_eq!(allocation["country_code"], "FIN");
    assert_eq!(allocation["region_name"], "helsinki");
    assert_eq!(allocation["description"], "new DC");
    assert_eq!(allocation["owner"], "infra");
    assert_eq!(allocation["tags"], json!({"env": "prod"}));
    assert_eq!(allocation["status"], "Active");
    assert_eq!(r.header("location"), Some(format!("/ipam/regions/{region_id}").as_str()));

    let reservation = u.get(&format!("/ipam/reservations/{id}")).await.assert_status(200).clone();
    assert_eq!(reservation["status"], "converted");
    assert_eq!(time(&reservation, "converted_at"), now);
    assert_eq!(reservation["converted_to"], region_id.as_str());
    let region = u.get(&format!("/ipam/regions/{region_id}")).await.assert_status(200).clone();
    assert_eq!(region["cidr"], "10.98.7.0/24");
    let quota = u.get("/ipam/quotas/me").await.assert_status(200).clone();
    assert_eq!(quota["region_count"], 1, "the conversion counts against the quota");
}

#[tokio::test]
async fn a_converted_reservation_cannot_be_converted_again() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_block(&u, 98, 0, None).await;
    let first = convert_region(&u, &id, "fi-1").await;

    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"region_name": "fi-2"})).await;

    r.assert_error(409, "conflict");
    assert!(message(&r.json).contains("converted"), "{}", r.text);
    assert_eq!(region_count(&u).await, 1);
    let reservation = u.get(&format!("/ipam/reservations/{id}")).await.assert_status(200).clone();
    assert_eq!(reservation["converted_to"], first["resource_id"]);
}

#[tokio::test]
async fn a_converted_block_is_free_again_once_its_region_is_retired() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_block(&u, 98, 0, None).await;
    let region_id = text(&convert_region(&u, &id, "fi-1").await, "resource_id");

    u.delete(&format!("/ipam/regions/{region_id}?reason=not%20needed")).await.assert_status(204);

    assert_eq!(status_of(&u, &id).await, "converted");
    assert_eq!(u.create_region("FIN", "fi-2").await["cidr"], "10.98.0.0/24", "a converted reservation holds nothing");
}

#[tokio::test]
async fn converting_respects_the_region_quota_and_changes_nothing_when_refused() {
    let app = spawn_app().await;
    let u = app.user("alice");
    u.create_region("USA", "us-1").await;
    let id = reserve_block(&u, 98, 0, None).await;
    app.admin("root").patch("/ipam/admin/quotas/alice", json!({"region_quota": 1})).await.assert_status(200);

    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"region_name": "fi-1"})).await;

    r.assert_error(429, "quota_exceeded");
    assert_eq!(r.json["details"], json!({"quota": "regions", "limit": 1, "current": 1, "requested": 1}));
    assert_eq!(status_of(&u, &id).await, "active");
    assert_eq!(region_count(&u).await, 1);

    app.admin("root").patch("/ipam/admin/quotas/alice", json!({"region_quota": 2})).await.assert_status(200);
    assert_eq!(convert_region(&u, &id, "fi-1").await["allocation"]["cidr"], "10.98.0.0/24");
}

#[tokio::test]
async fn converting_to_a_duplicate_region_name_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let u = app.user("alice");
    u.create_region("FIN", "Prod").await;
    let id = reserve_block(&u, 98, 5, None).await;

    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"region_name": "prod"})).await;

    r.assert_error(409, "duplicate_name");
    assert_eq!(status_of(&u, &id).await, "active");
    assert_eq!(region_count(&u).await, 1);
    let audit = u.get("/ipam/audit?action_type=convert").await.assert_status(200).clone();
    assert_eq!(audit["pagination"]["total_count"], 0, "no conversion was recorded");
}

#[tokio::test]
async fn a_region_conversion_body_is_validated() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_block(&u, 98, 0, None).await;
    let path = format!("/ipam/reservations/{id}/convert");

    for (body, field) in [
        (json!({"hostname": "web-1"}), "hostname"),
        (json!({}), "region_name"),
        (json!({"region_name": "x"}), "region_name"),
        (json!({"region_name": "a<b"}), "region_name"),
        (json!({"region_name": "fi-1", "tags": {"bad key": "v"}}), "tags"),
        (json!({"region_name": "fi-1", "device_type": "VM"}), "device_type"),
    ] {
        let r = u.post(&path, body.clone()).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{body}: {}", r.text);
    }
    assert_eq!(status_of(&u, &id).await, "active");
    assert_eq!(region_count(&u).await, 0);
}

#[tokio::test]
async fn converting_an_unknown_or_foreign_reservation_is_404() {
    let app = spawn_app().await;
    let id = reserve_block(&app.user("alice"), 98, 0, None).await;
    let bob = app.user("bob");

    bob.post(&format!("/ipam/reservations/{id}/convert"), json!({"region_name": "fi-1"}))
        .await
        .assert_error(404, "not_found");
    bob.post("/ipam/reservations/not-an-id/convert", json!({"region_name": "fi-1"}))
        .await
        .assert_error(404, "not_found");

    assert_eq!(region_count(&bob).await, 0);
    assert_eq!(status_of(&app.user("alice"), &id).await, "active");
}

// ---------------------------------------------------------------------------------------------
// Converting a host reservation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn converting_a_host_reservation_allocates_exactly_its_address() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    let id = reserve_host(&u, 98, 0, 7, None).await;

    let r = u
        .post(
            &format!("/ipam/reservations/{id}/convert"),
            json!({
                "hostname": "DB-1",
                "device_type": "VM",
                "os_type": "Linux",
                "application": "postgres",
                "owner": "dba",
                "purpose": "primary",
                "tags": {"tier": "data"}
            }),
        )
        .await;

    let body = r.assert_status(201).clone();
    assert_eq!(body["resource_type"], "host");
    let host_id = text(&body, "resource_id");
    let allocation = &body["allocation"];
    assert_eq!(allocation["host_id"], host_id.as_str());
    assert_eq!(allocation["ip_address"], "10.98.0.7");
    assert_eq!(allocation["region_id"], rid.as_str());
    assert_eq!(allocation["hostname"], "db-1");
    assert_eq!(allocation["device_type"], "VM");
    assert_eq!(allocation["os_type"], "Linux");
    assert_eq!(allocation["application"], "postgres");
    assert_eq!(allocation["owner"], "dba");
    assert_eq!(allocation["purpose"], "primary");
    assert_eq!(allocation["tags"], json!({"tier": "data"}));
    assert_eq!(r.header("location"), Some(format!("/ipam/hosts/{host_id}").as_str()));

    let reservation = u.get(&format!("/ipam/reservations/{id}")).await.assert_status(200).clone();
    assert_eq!(reservation["status"], "converted");
    assert!(reservation["converted_at"].is_string());
    assert_eq!(reservation["converted_to"], host_id.as_str());
    u.get(&format!("/ipam/hosts/{host_id}")).await.assert_status(200);
    assert_eq!(u.create_host(&rid, "next").await["ip_address"], "10.98.0.1");
}

#[tokio::test]
async fn a_reserved_address_stays_convertible_when_the_rest_of_the_region_is_full() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    let id = reserve_host(&u, 98, 0, 7, None).await;
    for count in [100, 100, 53] {
        u.post("/ipam/hosts/batch", json!({"region_id": rid, "count": count, "hostname_prefix": "n"}))
            .await
            .assert_status(201);
    }

    let next = u.post("/ipam/hosts", json!({"region_id": rid, "hostname": "one-more"})).await;
    let preview = u.get(&format!("/ipam/hosts/preview-next?region_id={rid}")).await.assert_status(200).clone();
    let converted = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"hostname": "db-1"})).await;

    next.assert_error(409, "capacity_exhausted");
    assert_eq!(preview["available"], false);
    assert_eq!(converted.assert_status(201)["allocation"]["ip_address"], "10.98.0.7");
    assert_eq!(host_count(&u, &rid).await, 254);
}

#[tokio::test]
async fn converting_a_host_reservation_needs_its_region_to_exist() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let id = reserve_host(&u, 98, 0, 7, None).await;

    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"hostname": "db-1"})).await;

    r.assert_error(409, "conflict");
    assert!(message(&r.json).contains("10.98.0.0/24"), "{}", r.text);
    assert_eq!(status_of(&u, &id).await, "active");
}

#[tokio::test]
async fn converting_a_host_reservation_needs_its_region_to_be_active() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    u.patch(&format!("/ipam/regions/{rid}"), json!({"status": "Reserved"})).await.assert_status(200);
    let id = reserve_host(&u, 98, 0, 7, None).await;

    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"hostname": "db-1"})).await;

    r.assert_error(409, "conflict");
    assert_eq!(status_of(&u, &id).await, "active");
    assert_eq!(host_count(&u, &rid).await, 0);
}

#[tokio::test]
async fn converting_a_host_reservation_to_a_duplicate_hostname_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    u.create_host(&rid, "db-1").await;
    let id = reserve_host(&u, 98, 0, 7, None).await;

    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"hostname": "DB-1"})).await;

    r.assert_error(409, "duplicate_name");
    assert_eq!(status_of(&u, &id).await, "active");
    assert_eq!(host_count(&u, &rid).await, 1);
    let quota = u.get("/ipam/quotas/me").await.assert_status(200).clone();
    assert_eq!(quota["host_count"], 1);
}

#[tokio::test]
async fn converting_a_host_reservation_respects_the_host_quota() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let rid = text(&u.create_region("FIN", "fi-1").await, "region_id");
    u.create_host(&rid, "web-1").await;
    let id = reserve_host(&u, 98, 0, 7, None).await;
    app.admin("root").patch("/ipam/admin/quotas/alice", json!({"host_quota": 1})).await.assert_status(200);

    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"hostname": "db-1"})).await;

    r.assert_error(429, "quota_exceeded");
    assert_eq!(status_of(&u, &id).await, "active");
    assert_eq!(host_count(&u, &rid).await, 1);
}

#[tokio::test]
async fn a_host_conversion_body_is_validated() {
    let app = spawn_app().await;
    let u = app.user("alice");
    u.create_region("FIN", "fi-1").await;
    let id = reserve_host(&u, 98, 0, 7, None).await;
    let path = format!("/ipam/reservations/{id}/convert");

    for (body, field) in [
        (json!({"region_name": "fi-2"}), "region_name"),
        (json!({}), "hostname"),
        (json!({"hostname": "not a hostname!"}), "hostname"),
        (json!({"hostname": "db-1", "device_type": "Toaster"}), "device_type"),
        (json!({"hostname": "db-1", "notes": "x"}), "notes"),
    ] {
        let r = u.post(&path, body.clone()).await;
        r.assert_error(422, "validation_error");
        assert!(r.json["details"][field].is_string(), "{body}: {}", r.text);
    }
    assert_eq!(status_of(&u, &id).await, "active");
}

#[tokio::test]
async fn conversions_are_audited_with_the_allocations_they_create() {
    let app = spawn_app().await;
    let u = app.user("alice");
    let block = reserve_block(&u, 98, 3, None).await;
    let region_id = text(&convert_region(&u, &block, "fi-1").await, "resource_id");
    let host = reserve_host(&u, 98, 3, 9, None).await;
    let host_id = text(
        u.post(&format!("/ipam/reservations/{host}/convert"), json!({"hostname": "db-1"})).await.assert_status(201),
        "resource_id",
    );

    let converts = u.get("/ipam/audit?action_type=convert").await.assert_status(200).clone();
    let creates = u.get("/ipam/audit?action_type=create").await.assert_status(200).clone();
    let reserves = u.get("/ipam/audit?action_type=reserve").await.assert_status(200).clone();

    let pairs = |v: &Value, key: &str| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["resource_type"].as_str().unwrap().to_owned(), e[key].as_str().unwrap_or("").to_owned()))
            .collect();
        out.sort();
        out
    };
    let mut expected = vec![("reservation".to_owned(), block.clone()), ("reservation".to_owned(), host.clone())];
    expected.sort();
    assert_eq!(pairs(&converts, "resource_id"), expected);
    assert_eq!(pairs(&reserves, "resource_id"), expected);
    let mut expected = vec![("host".to_owned(), host_id.clone()), ("region".to_owned(), region_id.clone())];
    expected.sort();
    assert_eq!(pairs(&creates, "resource_id"), expected);
    let region_history = u.get(&format!("/ipam/regions/{region_id}/audit")).await.assert_status(200).clone();
    assert_eq!(region_history["results"][0]["action_type"], "create");
    let host_history = u.get(&format!("/ipam/hosts/{host_id}/audit")).await.assert_status(200).clone();
    assert_eq!(host_history["results"][0]["action_type"], "create");
    assert_eq!(host_history["results"][0]["ip_address"], "10.98.3.9");
}

// ---------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_reservation_endpoint_needs_its_permission() {
    let app = spawn_app().await;
    let owner = app.user("alice");
    let id = reserve_block(&owner, 98, 0, None).await;
    let all_but = |missing: Permission| -> Vec<Permission> {
        [Permission::Read, Permission::Allocate, Permission::Update, Permission::Release]
            .into_iter()
            .filter(|p| *p != missing)
            .collect()
    };

    let cases = [
        (Method::POST, "/ipam/reservations".to_owned(), Some(block_body(98, 1, "r")), Permission::Allocate),
        (
            Method::POST,
            format!("/ipam/reservations/{id}/convert"),
            Some(json!({"region_name": "fi-1"})),
            Permission::Allocate,
        ),
        (Method::DELETE, format!("/ipam/reservations/{id}"), None, Permission::Release),
        (Method::GET, "/ipam/reservations".to_owned(), None, Permission::Read),
        (Method::GET, format!("/ipam/reservations/{id}"), None, Permission::Read),
    ];
    for (method, path, body, needed) in &cases {
        let caller = app.caller("alice", &all_but(*needed));
        let r = caller.send(method.clone(), path, body.as_ref()).await;
        r.assert_error(403, "forbidden");
        assert_eq!(r.json["details"]["required_permission"], needed.as_str(), "{method} {path}");

        let only = app.caller("alice", &[*needed]);
        let r = only.send(method.clone(), path, body.as_ref()).await;
        assert!(r.code() != 401 && r.code() != 403, "{method} {path} with only {}: {}", needed.as_str(), r.text);
    }
    for (method, path, body, _) in &cases {
        app.anonymous().send(method.clone(), path, body.as_ref()).await.assert_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn a_refused_caller_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.user("alice");
    let id = reserve_block(&owner, 98, 0, None).await;
    let reader = app.caller("alice", &[Permission::Read]);

    reader.post("/ipam/reservations", block_body(98, 1, "r")).await.assert_error(403, "forbidden");
    reader.delete(&format!("/ipam/reservations/{id}")).await.assert_error(403, "forbidden");
    reader
        .post(&format!("/ipam/reservations/{id}/convert"), json!({"region_name": "fi-1"}))
        .await
        .assert_error(403, "forbidden");

    assert_eq!(count(&owner, "").await, 1);
    assert_eq!(status_of(&owner, &id).await, "active");
    assert_eq!(region_count(&owner).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The message of an error envelope.
fn message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or_default()
}

fn block_body(x: i64, y: i64, reason: &str) -> Value {
    json!({"resource_type": "region", "x_octet": x, "y_octet": y, "reason": reason})
}

fn host_body(x: i64, y: i64, z: i64) -> Value {
    json!({"resource_type": "host", "x_octet": x, "y_octet": y, "z_octet": z, "reason": "for a test"})
}

/// Reserves the block 10.X.Y.0/24 and returns the reservation id.
async fn reserve_block(u: &Caller<'_>, x: u8, y: u8, days: Option<u32>) -> String {
    let mut body = block_body(x.into(), y.into(), "for a test");
    if let Some(d) = days {
        body["expires_in_days"] = json!(d);
    }
    let r = u.post("/ipam/reservations", body).await;
    text(r.assert_status(201), "reservation_id")
}

/// Reserves the address 10.X.Y.Z and returns the reservation id.
async fn reserve_host(u: &Caller<'_>, x: u8, y: u8, z: u8, days: Option<u32>) -> String {
    let mut body = host_body(x.into(), y.into(), z.into());
    if let Some(d) = days {
        body["expires_in_days"] = json!(d);
    }
    let r = u.post("/ipam/reservations", body).await;
    text(r.assert_status(201), "reservation_id")
}

/// Converts a region reservation and returns the conversion body.
async fn convert_region(u: &Caller<'_>, id: &str, name: &str) -> Value {
    let r = u.post(&format!("/ipam/reservations/{id}/convert"), json!({"region_name": name})).await;
    r.assert_status(201).clone()
}

/// The status a reservation reads with now.
async fn status_of(u: &Caller<'_>, id: &str) -> String {
    text(u.get(&format!("/ipam/reservations/{id}")).await.assert_status(200), "status")
}

/// The ids of the caller's reservations matching `query` (e.g. `?status=active`), in list order.
async fn ids(u: &Caller<'_>, query: &str) -> Vec<String> {
    let listed = u.get(&format!("/ipam/reservations{query}")).await.assert_status(200).clone();
    listed["results"].as_array().unwrap().iter().map(|r| text(r, "reservation_id")).collect()
}

/// The total count of the caller's reservations matching `query`.
async fn count(u: &Caller<'_>, query: &str) -> u64 {
    let listed = u.get(&format!("/ipam/reservations{query}")).await.assert_status(200).clone();
    listed["pagination"]["total_count"].as_u64().unwrap()
}

/// How many regions the caller holds.
async fn region_count(u: &Caller<'_>) -> u64 {
    let listed = u.get("/ipam/regions").await.assert_status(200).clone();
    listed["pagination"]["total_count"].as_u64().unwrap()
}

/// How many hosts a region of the caller holds.
async fn host_count(u: &Caller<'_>, region_id: &str) -> u64 {
    let listed = u.get(&format!("/ipam/hosts?region_id={region_id}")).await.assert_status(200).clone();
    listed["pagination"]["total_count"].as_u64().unwrap()
}

#[tokio::test]
async fn a_converted_reservation_cannot_be_cancelled_and_keeps_its_history() {
    let app = ipam_tests::spawn_app().await;
    let u = app.user("u1");
    let r = u
        .post(
            "/ipam/reservations",
            serde_json::json!({"resource_type": "region", "x_octet": 98, "y_octet": 3, "reason": "keep"}),
        )
        .await;
    let id = r.assert_status(201)["reservation_id"].as_str().unwrap().to_owned();
    let converted =
        u.post(&format!("/ipam/reservations/{id}/convert"), serde_json::json!({"region_name": "kept"})).await;
    let region_id = converted.assert_status(201)["resource_id"].as_str().unwrap().to_owned();

    let refused = u.delete(&format!("/ipam/reservations/{id}")).await;
    refused.assert_error(409, "conflict");
    assert!(refused.json["message"].as_str().unwrap().contains(&region_id), "{}", refused.text);
    assert_eq!(u.get(&format!("/ipam/reservations/{id}")).await.json["status"], "converted");
}
