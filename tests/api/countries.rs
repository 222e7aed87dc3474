//! `/ipam/countries`.

use ipam_tests::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn the_eighteen_seeded_countries_are_listed_in_x_order() {
    let app = spawn_app().await;
    let r = app.user("u1").get("/ipam/countries").await;
    let body = r.assert_status(200);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 18);
    assert_eq!(body["pagination"]["total_count"], 18);
    assert_eq!(results[0]["country_code"], "IND");
    assert_eq!(results[0]["x_start"], 0);
    assert_eq!(results[17]["country_code"], "ZZZ");
    assert_eq!(results[17]["is_reserved"], true);
    let codes: Vec<&str> = results.iter().map(|c| c["country_code"].as_str().unwrap()).collect();
    for code in [
        "IND", "ARE", "SGP", "JPN", "KOR", "IDN", "TWN", "ZAF", "FIN", "SWE", "POL", "ESP", "CAN", "USA", "BRA", "CHL",
        "AUS", "ZZZ",
    ] {
        assert!(codes.contains(&code), "{code} missing");
    }
}

#[tokio::test]
async fn countries_filter_by_continent_ignoring_case() {
    let app = spawn_app().await;
    let body = app.user("u1").get("/ipam/countries?continent=europe").await.assert_status(200).clone();
    let names: Vec<&str> = body["results"].as_array().unwrap().iter().map(|c| c["country"].as_str().unwrap()).collect();
    assert_eq!(names, ["Finland", "Sweden", "Poland", "Spain"]);
    app.user("u1").get("/ipam/countries?continent=Atlantis").await.assert_error(422, "validation_error");
}

#[tokio::test]
async fn a_country_is_found_by_code_or_name_ignoring_case() {
    let app = spawn_app().await;
    let u = app.user("u1");
    for key in ["USA", "usa", "United%20States", "united%20states"] {
        let body = u.get(&format!("/ipam/countries/{key}")).await.assert_status(200).clone();
        assert_eq!(body["country_code"], "USA", "{key}");
        assert_eq!(body["total_capacity"], 3840);
    }
    u.get("/ipam/countries/Atlantis").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn country_utilization_counts_only_the_callers_regions() {
    let app = spawn_app().await;
    let alice = app.user("alice");
    alice.create_region("USA", "east").await;
    alice.create_region("USA", "west").await;
    app.user("bob").create_region("USA", "bob-east").await;

    let body = alice.get("/ipam/countries/USA/utilization").await.assert_status(200).clone();
    assert_eq!(body["allocated"], 2);
    assert_eq!(body["available"], 3838);
    assert_eq!(body["total_capacity"], 3840);
    assert_eq!(body["breakdown"][0]["x_octet"], 153);
    assert_eq!(body["breakdown"][0]["allocated"], 2);

    let listed = alice.get("/ipam/countries").await.assert_status(200).clone();
    let usa = listed["results"].as_array().unwrap().iter().find(|c| c["country_code"] == "USA").unwrap();
    assert_eq!(usa["allocated_regions"], 2);
    assert_eq!(app.user("carol").get("/ipam/countries/USA/utilization").await.json["allocated"], Value::from(0));
}
