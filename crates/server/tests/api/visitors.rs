//! Presence and Visitors, the card's events (keyset pages, groups, adding by hand), the session's
//! pages, the test clock, the widget and the demo shop.

use std::collections::HashSet;

use chrono::Duration as Span;
use leadcard_server::Application;
use serde_json::{Value, json};

use crate::helpers::{Events, default_config, error_of, spawn_app, spawn_app_with, text};
use crate::tracking::{heartbeat, newest_lead, site, track_ok, visit};

fn visitor_ids(list: &Value) -> Vec<i64> {
    list["items"].as_array().unwrap().iter().map(|v| v["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_heartbeat_lists_the_visitor_and_announces_its_presence() {
    let app = spawn_app().await;
    let key = site(&app).await.key;
    app.signed_in().await;
    visit(&app, &key, "v1", "s1", "https://shop.example/").await;
    let lead = newest_lead(&app).await;
    let mut events = Events::open(&app, None).await;

    heartbeat(&app, &key, "v1", "https://shop.example/cart", true).await;
    let presence = events.next_of("presence").await;
    assert_eq!(presence["lead_id"], lead);
    assert_eq!(presence["page_url"], "https://shop.example/cart");
    assert_eq!(presence["pages_viewed"], 1);
    assert!(presence["last_heartbeat_at"].as_i64().is_some());
    assert_eq!(presence["last_active_at"], presence["last_heartbeat_at"]);
    assert!(presence.get("hidden").is_none());

    let list = app.get_json("/api/v1/visitors").await;
    assert_eq!(visitor_ids(&list), [lead]);
    assert_eq!(list["total"], 1);
    let visitor = &list["items"][0];
    assert_eq!(visitor["display_name"], format!("Lead #{lead}"));
    assert_eq!(visitor["page_url"], "https://shop.example/cart");
    assert_eq!(visitor["page_title"], "Page");
    assert_eq!(visitor["pages_viewed"], 1);
    assert!(visitor["session_started_at"].is_string());
    assert!(list["now"].is_string());

    // Inactive beats keep it on the site, sleeping; without beats it leaves.
    app.clock.advance(Span::minutes(3));
    heartbeat(&app, &key, "v1", "https://shop.example/cart", false).await;
    let presence = events.next_of("presence").await;
    assert!(presence["last_active_at"].as_i64() < presence["last_heartbeat_at"].as_i64());
    let list: leadcard_core::tracking::VisitorList =
        serde_json::from_value(app.get_json("/api/v1/visitors").await).unwrap();
    assert_eq!(list.items[0].presence(list.now), leadcard_core::Presence::Sleeping);
    app.clock.advance(Span::minutes(2));
    assert_eq!(visitor_ids(&app.get_json("/api/v1/visitors").await), Vec::<i64>::new());

    let (status, error) = error_of(app.get("/api/v1/visitors?limit=0").await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("limit")));
}

/// The next presence message of a heartbeat at `at` (ms) or later, earlier ones passed over.
async fn presence_at(events: &mut Events, at: i64) -> Value {
    loop {
        let presence = events.next_of("presence").await;
        if presence["last_heartbeat_at"].as_i64() >= Some(at) {
            return presence;
        }
    }
}

#[tokio::test]
async fn a_hidden_lead_stays_off_visitors_until_it_is_active_again() {
    let app = spawn_app().await;
    let key = site(&app).await.key;
    app.signed_in().await;
    visit(&app, &key, "v1", "s1", "https://shop.example/").await;
    let lead = newest_lead(&app).await;
    heartbeat(&app, &key, "v1", "https://shop.example/", true).await;
    assert_eq!(visitor_ids(&app.get_json("/api/v1/visitors").await), [lead]);

    let hide = app.client.post(app.url(&format!("/api/v1/leads/{lead}/hide"))).header("x-requested-with", "leadcard");
    assert_eq!(hide.send().await.unwrap().status(), 204);
    assert_eq!(visitor_ids(&app.get_json("/api/v1/visitors").await), Vec::<i64>::new());
    let mut events = Events::open(&app, None).await;
    app.clock.advance(Span::seconds(30));
    let beat = app.clock.now().timestamp_millis();
    heartbeat(&app, &key, "v1", "https://shop.example/", false).await;
    // The first heartbeat's message may reach the stream only now (the broadcast tails the
    // stored messages): read on to this heartbeat's.
    assert_eq!(presence_at(&mut events, beat).await["hidden"], true);
    assert_eq!(visitor_ids(&app.get_json("/api/v1/visitors").await), Vec::<i64>::new(), "still hidden");
    heartbeat(&app, &key, "v1", "https://shop.example/", true).await;
    assert!(presence_at(&mut events, beat).await.get("hidden").is_none());
    assert_eq!(visitor_ids(&app.get_json("/api/v1/visitors").await), [lead], "active again");
}

#[tokio::test]
async fn visitors_are_listed_most_recently_active_first() {
    let app = spawn_app().await;
    let key = site(&app).await.key;
    app.signed_in().await;
    for v in ["a", "b", "c"] {
        heartbeat(&app, &key, v, "https://shop.example/", true).await;
        app.clock.advance(Span::seconds(5));
    }
    let list = app.get_json("/api/v1/visitors").await;
    let ids = visitor_ids(&list);
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "c, then b, then a: {ids:?}");
    heartbeat(&app, &key, "a", "https://shop.example/", true).await;
    assert_eq!(visitor_ids(&app.get_json("/api/v1/visitors").await)[0], ids[2]);
    assert_eq!(visitor_ids(&app.get_json("/api/v1/visitors?limit=1").await).len(), 1);
    assert_eq!(app.get_json("/api/v1/visitors?limit=1").await["total"], 3);
}

#[tokio::test]
async fn events_come_newest_first_in_keyset_pages_without_skips_or_doubles() {
    let app = spawn_app().await;
    let key = site(&app).await.key;
    app.signed_in().await;
    let base = app.clock.now() - Span::days(1);
    // 130 events in batches, many sharing a time, so the cursor must break ties by id.
    for batch in 0..13 {
        let events: Vec<Value> = (0..10)
            .map(|i| {
                let n = batch * 10 + i;
                let at = base + Span::seconds(i64::from(n / 3));
                json!({ "name": if n % 3 == 0 { "Searched" } else { "Viewed product" },
                        "properties": { "n": n }, "time": at.to_rfc3339() })
            })
            .collect();
        track_ok(&app, &key, "events", json!({ "visitor_id": "v1", "events": events })).await;
    }
    let lead = newest_lead(&app).await;

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(cursor) => format!("?limit=50&after={cursor}"),
            None => "?limit=50".to_owned(),
        };
        let page = app.get_json(&format!("/api/v1/leads/{lead}/events{query}")).await;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["source"], "tracked");
            seen.push((item["occurred_at"].as_str().unwrap().to_owned(), item["id"].as_i64().unwrap()));
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 130);
    assert_eq!(seen.iter().map(|s| s.1).collect::<HashSet<_>>().len(), 130, "no event twice");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties by id");

    let groups = app.get_json(&format!("/api/v1/leads/{lead}/event-groups")).await;
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let searched = groups.iter().find(|g| g["name"] == "Searched").unwrap();
    assert_eq!(searched["count"], 44);
    let viewed = groups.iter().find(|g| g["name"] == "Viewed product").unwrap();
    assert_eq!(viewed["count"], 86);
    assert!(groups[0]["last"].as_str() >= groups[1]["last"].as_str(), "most recent group first");

    let one = app.get_json(&format!("/api/v1/leads/{lead}/events?name=Searched&limit=200")).await;
    assert_eq!(one["items"].as_array().unwrap().len(), 44);
    assert!(one["items"].as_array().unwrap().iter().all(|e| e["name"] == "Searched"));
    assert_eq!(one["items"][0]["properties"]["n"], json!({ "type": "number", "value": 129.0 }));

    for (query, field) in [("after=nope", "after"), ("limit=0", "limit"), ("limit=201", "limit")] {
        let (status, error) = error_of(app.get(&format!("/api/v1/leads/{lead}/events?{query}")).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{query}");
    }
    assert_eq!(app.get("/api/v1/leads/999999/events").await.status(), 404);
    assert_eq!(app.get("/api/v1/leads/999999/event-groups").await.status(), 404);
    assert_eq!(app.get("/api/v1/leads/999999/session-pages").await.status(), 404);
}

#[tokio::test]
async fn an_event_added_by_hand_is_manual_checked_and_announced() {
    let app = spawn_app().await;
    app.signed_in().await;
    let lead = app.add_lead(&[("$name", text("Anna"))], &[]).await;
    let url = app.url(&format!("/api/v1/leads/{lead}/events"));
    let mut events = Events::open(&app, None).await;

    let body = json!({ "name": "Called support", "properties": { "topic": { "type": "text", "value": "delivery" } } });
    let response = app.client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let event: Value = response.json().await.unwrap();
    assert_eq!(event["source"], "manual");
    assert_eq!(event["name"], "Called support");
    assert_eq!(event["properties"]["topic"]["value"], "delivery");
    assert_eq!(events.next_of("lead_changed").await["lead_id"], lead);

    let earlier = (app.clock.now() - Span::days(3)).to_rfc3339();
    let response =
        app.client.post(&url).json(&json!({ "name": "Called support", "occurred_at": earlier })).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let groups = app.get_json(&format!("/api/v1/leads/{lead}/event-groups")).await;
    assert_eq!(groups[0]["count"], 2);
    assert!(groups[0]["first"].as_str() < groups[0]["last"].as_str());
    let list = app.get_json(&format!("/api/v1/leads/{lead}/events")).await;
    assert_eq!(list["items"][0]["id"], event["id"], "newest first");
    assert!(app.card(lead).await["last_seen"].is_null(), "a manual event is not a visit");

    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "$page_view" }), "name"),
        (json!({ "name": "x".repeat(256) }), "name"),
        (
            json!({ "name": "ok", "properties": { "note": { "type": "text", "value": "x".repeat(256) } } }),
            "properties.note",
        ),
        (json!({ "name": "ok", "occurred_at": (app.clock.now() + Span::days(1)).to_rfc3339() }), "occurred_at"),
        (json!({ "name": "ok", "properties": { "n": 5 } }), "properties.n"),
    ] {
        let (status, error) = error_of(app.client.post(&url).json(&body).send().await.unwrap()).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{body}");
    }
    let unknown = app.client.post(app.url("/api/v1/leads/999999/events")).json(&json!({ "name": "x" }));
    assert_eq!(unknown.send().await.unwrap().status(), 404);
    let form = app.client.post(&url).body("name=x").send().await.unwrap();
    assert_eq!(form.status(), 403, "the CSRF rule applies");
}

#[tokio::test]
async fn the_session_shows_its_pages_in_order_with_time_on_each() {
    let app = spawn_app().await;
    let key = site(&app).await.key;
    app.signed_in().await;
    visit(&app, &key, "v1", "s1", "https://shop.example/?utm_source=news&utm_campaign=spring").await;
    let lead = newest_lead(&app).await;
    app.clock.advance(Span::seconds(40));
    let product =
        json!([{ "name": "$page_view", "properties": { "url": "https://shop.example/p/1", "title": "Shoes" } }]);
    track_ok(&app, &key, "events", json!({ "visitor_id": "v1", "session_id": "s1", "events": product })).await;
    app.clock.advance(Span::seconds(25));
    heartbeat(&app, &key, "v1", "https://shop.example/p/1", true).await;

    let pages = app.get_json(&format!("/api/v1/leads/{lead}/session-pages")).await;
    let session = &pages["session"];
    assert_eq!(session["pages_viewed"], 2);
    assert_eq!(session["referrer"], "https://www.google.com/");
    assert_eq!(session["utm"], json!({ "utm_source": "news", "utm_campaign": "spring" }));
    assert_eq!(session["device"], "desktop");
    let pages: Vec<leadcard_core::tracking::SessionPage> = serde_json::from_value(pages["pages"].clone()).unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].title.as_deref(), Some("Home"));
    assert_eq!(pages[0].duration().num_seconds(), 40);
    assert_eq!(pages[1].url, "https://shop.example/p/1");
    assert_eq!(pages[1].duration().num_seconds(), 25, "the last page runs until the last heartbeat");

    // A new session is the current one.
    visit(&app, &key, "v1", "s2", "https://shop.example/again").await;
    let pages = app.get_json(&format!("/api/v1/leads/{lead}/session-pages")).await;
    assert_eq!(pages["pages"].as_array().unwrap().len(), 1);
    let card = app.card(lead).await;
    assert_eq!(crate::helpers::property(&card, "$sessions"), json!({ "type": "number", "value": 2.0 }));
    assert_eq!(crate::helpers::property(&card, "$utm_source"), json!({ "type": "text", "value": "news" }));

    let empty = app.add_lead(&[], &[]).await;
    assert_eq!(
        app.get_json(&format!("/api/v1/leads/{empty}/session-pages")).await,
        json!({ "session": null, "pages": [] })
    );
}

#[tokio::test]
async fn the_test_clock_exists_only_in_test_mode() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/api/v1/test/clock")).json(&json!({ "advance_ms": 1000 })).send().await;
    let (status, error) = error_of(response.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));

    let app = spawn_app_with(|c| c.test_mode = true).await;
    let before = app.clock.now();
    let response = app.client.post(app.url("/api/v1/test/clock")).json(&json!({ "advance_ms": 180_000 })).send().await;
    let moved: Value = response.unwrap().json().await.unwrap();
    assert_eq!(moved["offset_ms"], 180_000);
    assert!(app.clock.now() - before >= Span::minutes(3));
    let doc = app.get_json("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/test/clock"]["post"].is_object());

    let dir = tempfile::tempdir().unwrap();
    let mut config = default_config(format!("sqlite://{}/x.db", dir.path().display()), dir.path());
    config.test_mode = true;
    config.bind = "0.0.0.0:0".parse().unwrap();
    assert!(Application::build(config).await.is_err(), "test mode only on loopback");
}

#[tokio::test]
async fn the_widget_and_the_demo_shop_are_served() {
    let app = spawn_app().await;
    let widget = app.get("/widget.js").await;
    assert_eq!(widget.status(), 200);
    assert!(widget.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let js = widget.text().await.unwrap();
    assert!(js.contains("data-heartbeat-seconds") && js.contains("identify") && js.contains("/api/v1/track/"));
    assert_eq!(app.get("/demo/").await.status(), 404, "no demo shop without --seed-demo");

    let app = spawn_app_with(|c| c.seed_demo = true).await;
    let site = site(&app).await;
    for path in ["/demo/", "/demo/product.html?id=2", "/demo/cart.html"] {
        let page = app.get(path).await;
        assert_eq!(page.status(), 200, "{path}");
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!(r#"<script src="/widget.js" data-key="{}" async>"#, site.key)), "{path}");
    }
    let fast = app.get("/demo/?hb=2").await.text().await.unwrap();
    assert!(fast.contains(r#"data-heartbeat-seconds="2""#));
    assert_eq!(app.get("/demo/shop.js").await.status(), 200);
    assert_eq!(app.get("/demo/nothing.html").await.status(), 404);

    // The demo shop's sign-in signs like a site's server, and identify takes it.
    let signed: Value = app
        .client
        .post(app.url("/demo/sign-in"))
        .json(&json!({ "email": "Mia@Example.com" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(signed["user_id"], "mia@example.com");
    let identify = json!({ "visitor_id": "v1", "user_id": signed["user_id"], "user_hash": signed["user_hash"] });
    track_ok(&app, &site.key, "identify", identify).await;

    app.signed_in().await;
    let keys = app.get_json("/api/v1/project").await;
    assert_eq!(keys["public_key"], site.key);
    assert!(keys["secret_key"].is_null(), "only admins see the secret key");
    assert!(keys["snippet"].as_str().unwrap().contains(&site.key));
}
