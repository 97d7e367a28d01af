//! `GET /leads?ids=`: which of the leads that changed belong in an open Leads Database list (the
//! same search and filter as the list), answered with their rows; removed and non-matching leads
//! are simply not in the answer.

use serde_json::json;

use crate::helpers::{error_of, ids, lead, spawn_app, text};

#[tokio::test]
async fn ids_answer_the_rows_of_those_that_match_the_search_and_filter() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let made = app
        .store
        .create_leads(&[
            lead(now, &[("$name", text("Ada Vip"))], &["vip"]),
            lead(now, &[("$name", text("Bob Plain"))], &[]),
            lead(now, &[("$name", text("Cy Vip"))], &["vip"]),
            lead(now, &[("$name", text("Di Other"))], &["vip"]),
        ])
        .await
        .unwrap();
    let [ada, bob, cy, di] = made[..] else { panic!("four leads") };
    let removed = di + 1_000;
    let asked = format!("{ada},{bob}, {cy},{di},{removed}");
    let vip = json!({ "all": [{ "kind": "tag", "tag": "vip" }] }).to_string();

    // The filter alone: every asked lead that has the tag, newest first, all in one page.
    let response = app.leads(&[("ids", &asked), ("filter", &vip)]).await;
    assert_eq!(response.status(), 200);
    let page: serde_json::Value = response.json().await.unwrap();
    assert_eq!(ids(&page), vec![di, cy, ada]);
    assert!(page["next"].is_null());
    assert_eq!(page["items"][1]["display_name"], "Cy Vip");

    // With the search too, and without any filter.
    let page: serde_json::Value =
        app.leads(&[("ids", &asked), ("filter", &vip), ("q", "vip")]).await.json().await.unwrap();
    assert_eq!(ids(&page), vec![cy, ada]);
    let page: serde_json::Value = app.leads(&[("ids", &format!("{bob},{removed}"))]).await.json().await.unwrap();
    assert_eq!(ids(&page), vec![bob]);

    // An explicit page size still pages through the asked ids.
    let page: serde_json::Value = app.leads(&[("ids", &asked), ("limit", "2")]).await.json().await.unwrap();
    assert_eq!(ids(&page), vec![di, cy]);
    assert_eq!(page["next"], cy.to_string());
}

#[tokio::test]
async fn bad_ids_are_422_naming_the_field() {
    let app = spawn_app().await;
    app.signed_in().await;
    let too_many = (1..=201).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    for raw in ["abc", "1,,2", "0", "-3", "1;2", "99999999999999999999", too_many.as_str()] {
        let (status, error) = error_of(app.leads(&[("ids", raw)]).await).await;
        assert_eq!(
            (status, error["code"].as_str(), error["field"].as_str()),
            (422, Some("invalid"), Some("ids")),
            "{raw}"
        );
    }
    let two_hundred = (1..=200).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    assert_eq!(app.leads(&[("ids", &two_hundred)]).await.status(), 200);
    // Blank is no restriction.
    assert_eq!(app.leads(&[("ids", " ")]).await.status(), 200);
}
