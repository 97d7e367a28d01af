//! The demo seed: the demo operator and a few hundred leads of every kind, only once.

use leadcard_server::demo::{DEMO_LEADS, DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD, seed_if_empty};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_another_on, spawn_app, spawn_app_with, text};

#[tokio::test]
async fn the_demo_seed_creates_the_operator_and_leads_of_every_kind_once() {
    let app = spawn_app_with(|c| c.seed_demo = true).await;
    let response = app.sign_in_with(&app.client, DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD).await;
    assert_eq!(response.status(), 200);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["role"], "admin");

    assert_eq!(app.lead_count(&[]).await, json!({ "count": DEMO_LEADS, "exact": true }));

    let count = |filter: Value| {
        let filter = json!({ "all": [filter] }).to_string();
        let app = &app;
        async move { app.lead_count(&[("filter", &filter)]).await["count"].as_u64().unwrap() }
    };
    for status in ["subscribed", "waiting_for_confirmation", "invalid_email", "unsubscribed", "bounced"] {
        assert!(count(json!({ "kind": "subscription", "status": status })).await > 0, "{status}");
    }
    for presence in ["online", "sleeping", "offline"] {
        assert!(count(json!({ "kind": "presence", "presence": presence })).await > 0, "{presence}");
    }
    assert!(count(json!({ "kind": "tag", "tag": "vip" })).await > 0);
    assert!(
        count(json!({ "kind": "property", "name": "Last purchase amount", "op": "greater", "value": "100" })).await > 0
    );

    let page: Value = app.leads(&[("q", "иван")]).await.json().await.unwrap();
    assert_eq!(page["items"][0]["subscription"], "invalid_email");

    // The leads on the site have a session with pages, for Visitors and the card.
    let visitors = app.get_json("/api/v1/visitors").await;
    let items = visitors["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(|v| v["pages_viewed"].as_u64() >= Some(1) && v["page_url"].is_string()), "{visitors}");
    let id = items[0]["id"].as_i64().unwrap();
    let pages = app.get_json(&format!("/api/v1/leads/{id}/session-pages")).await;
    assert_eq!(pages["pages"].as_array().unwrap().len() as u64, items[0]["pages_viewed"].as_u64().unwrap());
    // A lead on the site has a visitor id: the widget can show it a chat or a pop-up.
    let channels = app.get_json(&format!("/api/v1/leads/{id}/channels")).await;
    assert_eq!(
        (&channels["chat"]["allowed"], &channels["popup"]["allowed"]),
        (&json!(true), &json!(true)),
        "{channels}"
    );

    // The Inbox has conversations of every channel, open and closed, some unread or the demo
    // operator's.
    let all = app.get_json("/api/v1/conversations?status=all").await;
    let items = all["items"].as_array().unwrap();
    assert!(items.len() >= 6, "{all}");
    for channel in ["chat", "email", "popup"] {
        assert!(items.iter().any(|c| c["channel"] == channel), "{channel}");
    }
    assert!(items.iter().any(|c| c["status"] == "closed"));
    assert!(all["unread_conversations"].as_u64().unwrap() >= 2);
    assert!(!app.get_json("/api/v1/conversations?assignee=me").await["items"].as_array().unwrap().is_empty());
    let thread = app.get_json(&format!("/api/v1/conversations/{}", items[0]["id"])).await;
    assert!(!thread["messages"].as_array().unwrap().is_empty());

    assert!(!seed_if_empty(&app.store, app.clock.now()).await.unwrap(), "a database with leads is left alone");
    assert_eq!(app.lead_count(&[]).await["count"], DEMO_LEADS);
}

/// What a server started with `--seed-demo` on `app`'s database offers: whether the demo
/// operator signs in, and the status of the demo shop's page and of its sign-in.
async fn demo_offered(app: &TestApp) -> (u16, u16, u16) {
    let demo = spawn_another_on(app, |c| c.seed_demo = true).await;
    let operator = demo.sign_in_with(&demo.client, DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD).await.status();
    let shop = demo.get("/demo/").await.status();
    let sign_in = demo
        .client
        .post(demo.url("/demo/sign-in"))
        .json(&json!({ "email": "mia@example.com" }))
        .send()
        .await
        .unwrap()
        .status();
    (operator.as_u16(), shop.as_u16(), sign_in.as_u16())
}

#[tokio::test]
async fn a_database_with_an_operator_gets_no_demo_operator_and_no_demo_shop() {
    let app = spawn_app().await;
    app.add_operator("owner@example.com").await;
    assert_eq!(demo_offered(&app).await, (401, 404, 404));
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 0, "no demo leads either");
}

#[tokio::test]
async fn a_database_with_leads_gets_no_demo_operator_and_no_demo_shop() {
    let app = spawn_app().await;
    app.add_lead(&[("$email", text("real@customer.example"))], &[]).await;
    assert_eq!(demo_offered(&app).await, (401, 404, 404));
    assert_eq!(app.count("SELECT COUNT(*) FROM operators").await, 0);
}

#[tokio::test]
async fn a_database_the_demo_seed_filled_keeps_its_demo_shop_and_only_with_seed_demo() {
    let app = spawn_app_with(|c| c.seed_demo = true).await;
    assert_eq!(demo_offered(&app).await, (200, 200, 200), "a restart with --seed-demo");
    let plain = spawn_another_on(&app, |_| {}).await;
    assert_eq!(plain.get("/demo/").await.status(), 404, "a restart without it");
}
