//! The tracking API: the project key, payload checks, identify and its merge, CORS, the ingest
//! queue's backpressure and the per-key rate limit.

use std::time::Duration;

use leadcard_server::tracking::user_hash;
use reqwest::Response;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

use crate::helpers::{Events, TestApp, error_of, property, spawn_app, spawn_app_with, text};

pub struct Site {
    pub key: String,
    pub secret: String,
}

pub async fn site(app: &TestApp) -> Site {
    let project = app.store.ensure_project(app.clock.now()).await.unwrap();
    Site { key: project.public_key, secret: project.secret_key }
}

/// A tracking call with the key in the header.
pub async fn track(app: &TestApp, key: &str, path: &str, body: Value) -> Response {
    app.client
        .post(app.url(&format!("/api/v1/track/{path}")))
        .header("x-leadcard-key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn track_ok(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    let response = track(app, key, path, body.clone()).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{path} {body}: {answer}");
    answer
}

/// A visitor's first page: `$session_start` and `$page_view` of `url`.
pub async fn visit(app: &TestApp, key: &str, visitor: &str, session: &str, url: &str) {
    let events = json!([
        { "name": "$session_start", "properties": { "url": url, "referrer": "https://www.google.com/" } },
        { "name": "$page_view", "properties": { "url": url, "title": "Home" } },
    ]);
    track_ok(app, key, "events", json!({ "visitor_id": visitor, "session_id": session, "events": events })).await;
}

pub async fn heartbeat(app: &TestApp, key: &str, visitor: &str, url: &str, active: bool) {
    let body = json!({ "visitor_id": visitor, "session_id": "s1", "url": url, "title": "Page", "active": active });
    track_ok(app, key, "heartbeat", body).await;
}

/// The lead a visitor became: the newest lead.
pub async fn newest_lead(app: &TestApp) -> i64 {
    let page: Value = app.leads(&[("limit", "1")]).await.json().await.unwrap();
    page["items"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn tracking_needs_the_project_key_and_the_key_opens_nothing_else() {
    let app = spawn_app().await;
    let site = site(&app).await;
    let body = json!({ "visitor_id": "v1", "events": [{ "name": "Signed up" }] });

    let missing = app.client.post(app.url("/api/v1/track/events")).json(&body).send().await.unwrap();
    let (status, error) = error_of(missing).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("invalid_key")));
    let (status, error) = error_of(track(&app, "pk_wrong", "events", body.clone()).await).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("invalid_key")));
    // A wrong key is 401 whatever the body holds.
    let (status, _) = error_of(track(&app, "pk_wrong", "heartbeat", json!({ "nonsense": true })).await).await;
    assert_eq!(status, 401);
    let query = |key: &str| app.client.post(app.url("/api/v1/track/events")).query(&[("key", key)]);
    let response = query("pk_wrong").json(&body).send().await.unwrap();
    assert_eq!(response.status(), 401);
    // A key in the body authenticates nothing: the key is read before the body is.
    let mut in_body = body.clone();
    in_body["key"] = json!(site.key);
    let response = app.client.post(app.url("/api/v1/track/events")).json(&in_body).send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("invalid_key")));
    assert!(error["message"].as_str().unwrap().contains("`key` query parameter"), "{error}");

    // The key in the query, the body sent as text/plain, like the widget does (no preflight).
    let response = query(&site.key)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "accepted": 1 }));
    // The header wins over the query.
    let response = query("pk_wrong").header("x-leadcard-key", &site.key).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // Hostile keys: a NUL is refused by name (PostgreSQL text cannot hold it), others are unknown.
    let (status, error) = error_of(query("pk_\0x").json(&body).send().await.unwrap()).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("key")), "{error}");
    for hostile in ["pk_\u{1}😀", &"k".repeat(2_000)] {
        let (status, error) = error_of(query(hostile).json(&body).send().await.unwrap()).await;
        assert_eq!((status, error["code"].as_str()), (401, Some("invalid_key")), "{error}");
    }

    for path in ["/api/v1/leads", "/api/v1/visitors", "/api/v1/me", "/api/v1/stream"] {
        let response = app.client.get(app.url(path)).header("x-leadcard-key", &site.key).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path} with the project key");
    }
}

#[tokio::test]
async fn bad_payloads_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let key = site(&app).await.key;
    let field = |response| async move {
        let (status, error) = error_of(response).await;
        (status, error["field"].as_str().unwrap_or_default().to_owned())
    };
    let ok = json!({ "name": "Added to cart", "properties": { "price": 12.5 } });
    let events = json!([ok, ok, ok, { "name": "" }]);
    let response = track(&app, &key, "events", json!({ "visitor_id": "v1", "events": events })).await;
    assert_eq!(field(response).await, (422, "events[3].name".to_owned()));
    let events = json!([{ "name": "x", "properties": { "price": { "amount": 1 } } }]);
    let response = track(&app, &key, "events", json!({ "visitor_id": "v1", "events": events })).await;
    assert_eq!(field(response).await, (422, "events[0].properties.price".to_owned()));
    let events = json!([{ "name": "x", "properties": { "note": "x".repeat(256) } }]);
    let response = track(&app, &key, "events", json!({ "visitor_id": "v1", "events": events })).await;
    assert_eq!(field(response).await, (422, "events[0].properties.note".to_owned()));
    let events = json!([{ "name": "x", "time": "2100-01-01T00:00:00Z" }]);
    let response = track(&app, &key, "events", json!({ "visitor_id": "v1", "events": events })).await;
    assert_eq!(field(response).await, (422, "events[0].time".to_owned()));
    let events = json!([{ "name": "x", "time": "yesterday" }]);
    let response = track(&app, &key, "events", json!({ "visitor_id": "v1", "events": events })).await;
    assert_eq!(field(response).await, (422, "events[0].time".to_owned()));
    let response = track(&app, &key, "events", json!({ "visitor_id": "v1", "events": [] })).await;
    assert_eq!(field(response).await, (422, "events".to_owned()));
    let many: Vec<Value> = (0..101).map(|_| json!({ "name": "x" })).collect();
    let response = track(&app, &key, "events", json!({ "visitor_id": "v1", "events": many })).await;
    assert_eq!(field(response).await, (422, "events".to_owned()));
    let response = track(&app, &key, "events", json!({ "visitor_id": "a b", "events": [ok] })).await;
    assert_eq!(field(response).await, (422, "visitor_id".to_owned()));
    let events = json!([{ "name": "$page_view", "properties": { "url": "https://shop.example/" } }]);
    let response = track(&app, &key, "events", json!({ "visitor_id": "v1", "events": events })).await;
    assert_eq!(field(response).await, (422, "session_id".to_owned()));
    let response = track(&app, &key, "events", json!({ "events": [ok] })).await;
    assert_eq!(field(response).await, (422, "visitor_id".to_owned()));
    let beat = json!({ "visitor_id": "v1", "session_id": "s1", "url": "h".repeat(2049), "active": true });
    assert_eq!(field(track(&app, &key, "heartbeat", beat).await).await, (422, "url".to_owned()));
    let beat = json!({ "visitor_id": "v1", "session_id": "s1", "url": "/", "active": "yes" });
    assert_eq!(field(track(&app, &key, "heartbeat", beat).await).await, (422, "active".to_owned()));

    let response = app
        .client
        .post(app.url("/api/v1/track/events"))
        .header("x-leadcard-key", &key)
        .header("content-type", "application/json")
        .body("{\"visitor_id\":")
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_json")));
    let response = app
        .client
        .post(app.url("/api/v1/track/events"))
        .header("x-leadcard-key", &key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(app.store.visitor_leads(1).await.unwrap().len(), 0, "nothing was stored");
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = spawn_app().await;
    let key = site(&app).await.key;
    let big =
        json!({ "visitor_id": "v1", "events": [{ "name": "x", "properties": { "pad": "x".repeat(300 * 1024) } }] });
    let (status, error) = error_of(track(&app, &key, "events", big).await).await;
    assert_eq!((status, error["code"].as_str()), (413, Some("payload_too_large")));
}

#[tokio::test]
async fn identify_without_or_with_a_wrong_hash_is_401_and_merges_nothing() {
    let app = spawn_app().await;
    let site = site(&app).await;
    app.signed_in().await;
    visit(&app, &site.key, "anon", "s1", "https://shop.example/").await;
    let visitor_lead = newest_lead(&app).await;

    let missing = json!({ "visitor_id": "anon", "user_id": "u-42" });
    let (status, error) = error_of(track(&app, &site.key, "identify", missing).await).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("invalid_user_hash")));
    let forged = json!({ "visitor_id": "anon", "user_id": "u-42", "user_hash": user_hash("not the secret", "u-42") });
    assert_eq!(track(&app, &site.key, "identify", forged).await.status(), 401);
    let other_user = json!({ "visitor_id": "anon", "user_id": "u-42", "user_hash": user_hash(&site.secret, "u-43") });
    assert_eq!(track(&app, &site.key, "identify", other_user).await.status(), 401);

    let card = app.card(visitor_lead).await;
    assert_eq!(property(&card, "$user_id"), Value::Null);
    let page: Value = app.leads(&[("q", "u-42")]).await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0, "no lead has the user id");
}

#[tokio::test]
async fn identify_merges_the_visitors_history_into_the_users_lead() {
    let app = spawn_app().await;
    let site = site(&app).await;
    app.signed_in().await;
    // The user's lead already exists, with history of its own.
    let user = app.add_lead(&[("$user_id", text("u-42")), ("$name", text("Anna Schmidt"))], &["vip"]).await;
    let url = format!("/api/v1/leads/{user}/events");
    let added = app.client.post(app.url(&url)).json(&json!({ "name": "Called support" })).send().await.unwrap();
    assert_eq!(added.status(), 201);
    // An anonymous visitor browses: two sessions' worth of events.
    visit(&app, &site.key, "anon", "s1", "https://shop.example/?utm_source=news").await;
    let anon = newest_lead(&app).await;
    let events = json!([
        { "name": "$page_view", "properties": { "url": "https://shop.example/p/1", "title": "Shoes" } },
        { "name": "Added to cart", "properties": { "price": 119 } },
        { "name": "Called support", "properties": { "topic": "sizes" } },
    ]);
    track_ok(&app, &site.key, "events", json!({ "visitor_id": "anon", "session_id": "s1", "events": events })).await;
    heartbeat(&app, &site.key, "anon", "https://shop.example/p/1", true).await;
    let tagged = app.client.post(app.url(&format!("/api/v1/leads/{anon}/tags"))).json(&json!({ "tag": "shopper" }));
    assert_eq!(tagged.send().await.unwrap().status(), 200);

    let mut events = Events::open(&app, None).await;
    let identify = json!({
        "visitor_id": "anon", "user_id": "u-42", "user_hash": user_hash(&site.secret, "u-42"),
        "properties": [{ "op": "set", "name": "plan", "value": { "type": "text", "value": "pro" } }],
    });
    assert_eq!(track_ok(&app, &site.key, "identify", identify).await, json!({ "accepted": 1 }));
    assert_eq!(events.next_of("lead_removed").await["lead_id"], anon);
    assert_eq!(events.next_of("lead_changed").await["lead_id"], user);

    let old_link = app.get(&format!("/api/v1/leads/{anon}")).await;
    assert_eq!(old_link.url().path(), format!("/api/v1/leads/{user}"), "the anonymous lead's link opens the user's");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM leads WHERE id = {anon}")).await,
        0,
        "the anonymous lead is gone"
    );
    let card = app.card(user).await;
    assert_eq!(property(&card, "$name"), json!({ "type": "text", "value": "Anna Schmidt" }), "the target's own kept");
    assert_eq!(property(&card, "$browser")["type"], "text", "properties the target lacked came along");
    assert_eq!(property(&card, "$utm_source"), json!({ "type": "text", "value": "news" }));
    assert_eq!(property(&card, "plan"), json!({ "type": "text", "value": "pro" }));
    assert_eq!(property(&card, "$sessions"), json!({ "type": "number", "value": 1.0 }));
    assert_eq!(card["tags"], json!(["shopper", "vip"]));
    assert!(card["last_heartbeat"].is_string(), "presence came along");

    let groups: Value = app.get_json(&format!("/api/v1/leads/{user}/event-groups")).await;
    let count = |name: &str| groups.as_array().unwrap().iter().find(|g| g["name"] == name).map(|g| g["count"].clone());
    assert_eq!(count("Called support"), Some(json!(2)), "aggregates merged");
    assert_eq!(count("$page_view"), Some(json!(2)));
    assert_eq!(count("$session_start"), Some(json!(1)));
    let all: Value = app.get_json(&format!("/api/v1/leads/{user}/events?limit=200")).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    let pages: Value = app.get_json(&format!("/api/v1/leads/{user}/session-pages")).await;
    let urls: Vec<&str> = pages["pages"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap()).collect();
    assert_eq!(urls, ["https://shop.example/?utm_source=news", "https://shop.example/p/1"]);

    // Later calls of the same browser reach the user's lead.
    track_ok(&app, &site.key, "events", json!({ "visitor_id": "anon", "events": [{ "name": "Purchase" }] })).await;
    assert_eq!(
        app.get_json(&format!("/api/v1/leads/{user}/events?name=Purchase")).await["items"][0]["name"],
        "Purchase"
    );
}

#[tokio::test]
async fn identify_promotes_an_anonymous_lead_and_a_second_browser_joins_it() {
    let app = spawn_app().await;
    let site = site(&app).await;
    app.signed_in().await;
    visit(&app, &site.key, "laptop", "s1", "https://shop.example/").await;
    let laptop = newest_lead(&app).await;
    let sign = |visitor: &str| {
        json!({ "visitor_id": visitor, "user_id": "u-7", "user_hash": user_hash(&site.secret, "u-7"),
                "properties": { "$email": "mia@example.com" } })
    };
    // Properties are operations: a plain object is refused, naming where.
    let (status, error) = error_of(track(&app, &site.key, "identify", sign("laptop")).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("properties")));
    let mut body = sign("laptop");
    body["properties"] =
        json!([{ "op": "set", "name": "$email", "value": { "type": "text", "value": "mia@example.com" } }]);
    track_ok(&app, &site.key, "identify", body.clone()).await;
    let card = app.card(laptop).await;
    assert_eq!(property(&card, "$user_id"), json!({ "type": "text", "value": "u-7" }));
    assert_eq!(card["subscription"]["email"], "mia@example.com");

    visit(&app, &site.key, "phone", "s9", "https://shop.example/m").await;
    let phone = newest_lead(&app).await;
    assert_ne!(phone, laptop);
    body["visitor_id"] = json!("phone");
    track_ok(&app, &site.key, "identify", body).await;
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM leads WHERE id = {phone}")).await, 0, "merged away");
    assert_eq!(app.get(&format!("/api/v1/leads/{phone}")).await.url().path(), format!("/api/v1/leads/{laptop}"));
    assert_eq!(property(&app.card(laptop).await, "$sessions"), json!({ "type": "number", "value": 2.0 }));

    // A refused operation refuses the call and changes nothing.
    let bad = json!({ "visitor_id": "phone", "user_id": "u-7", "user_hash": user_hash(&site.secret, "u-7"),
                      "properties": [{ "op": "add", "name": "$email", "by": 1 }] });
    let (status, error) = error_of(track(&app, &site.key, "identify", bad).await).await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (422, Some("invalid_property"), Some("$email"))
    );
    assert_eq!(app.card(laptop).await["subscription"]["email"], "mia@example.com");
}

#[tokio::test]
async fn tracking_answers_any_origin_and_operator_routes_none() {
    let app = spawn_app().await;
    let key = site(&app).await.key;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/track/events"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-leadcard-key")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(preflight.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert!(preflight.headers()["access-control-allow-headers"].to_str().unwrap().contains("x-leadcard-key"));
    assert!(preflight.headers().get("access-control-allow-credentials").is_none());

    let body = json!({ "visitor_id": "v1", "events": [{ "name": "x" }] });
    let response = app
        .client
        .post(app.url("/api/v1/track/events"))
        .header("origin", "https://shop.example")
        .header("x-leadcard-key", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let refused = app
        .client
        .post(app.url("/api/v1/track/events"))
        .header("origin", "https://shop.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["access-control-allow-origin"], "*", "the page can read why");

    app.signed_in().await;
    for (method, path) in [(reqwest::Method::OPTIONS, "/api/v1/leads"), (reqwest::Method::GET, "/api/v1/me")] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("access-control-allow-origin").is_none(), "{method} {path}");
    }
}

#[tokio::test]
async fn a_full_ingest_queue_answers_503_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.tracking.ingest_queue = 1;
        c.tracking.ingest_batch = 1;
        c.tracking.ingest_wait_ms = 0;
    })
    .await;
    let key = site(&app).await.key;
    // Another connection holds the events table, so the writer's transaction waits.
    let mut blocker = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    if app.database_url.starts_with("sqlite") {
        blocker.execute("BEGIN IMMEDIATE").await.unwrap();
    } else {
        blocker.execute("BEGIN").await.unwrap();
        blocker.execute("LOCK TABLE events IN EXCLUSIVE MODE").await.unwrap();
    }
    let call = |n: usize| {
        let (client, url, key) = (app.client.clone(), app.url("/api/v1/track/events"), key.clone());
        let body = json!({ "visitor_id": format!("v{n}"), "events": [{ "name": "x" }] });
        tokio::spawn(async move { client.post(url).header("x-leadcard-key", key).json(&body).send().await.unwrap() })
    };
    let first = call(1); // taken by the writer, which then waits for the lock
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = call(2); // waits in the queue (capacity 1)
    tokio::time::sleep(Duration::from_millis(300)).await;
    let third = call(3).await.unwrap();
    assert_eq!(third.status(), 503);
    let retry_after: u64 = third.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(error_of(third).await.1["code"], "busy");

    blocker.execute("ROLLBACK").await.unwrap();
    assert_eq!(first.await.unwrap().status(), 200, "acknowledged once committed");
    assert_eq!(second.await.unwrap().status(), 200);
}

#[tokio::test]
async fn each_key_has_a_rate_limit() {
    let app = spawn_app_with(|c| c.tracking.track_rate = 1).await;
    let key = site(&app).await.key;
    let body = json!({ "visitor_id": "v1", "events": [{ "name": "x" }] });
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(track(&app, &key, "events", body.clone()).await);
    }
    let limited = statuses.pop().unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(error_of(limited).await.1["code"], "rate_limited");
}

#[tokio::test]
async fn identify_keeps_the_visitors_chat_with_the_users_lead() {
    let app = spawn_app().await;
    let site = site(&app).await;
    app.signed_in().await;
    let user = app.add_lead(&[("$user_id", text("u-7"))], &[]).await;
    // Before signing in on the site, the visitor asks in the chat.
    let question = json!({
        "visitor_id": "anon-chat", "body": "Do you ship to Austria?", "idempotency_key": "widget-key-1",
    });
    let asked = app
        .client
        .post(app.url("/api/v1/track/messages"))
        .query(&[("key", &site.key)])
        .header("content-type", "text/plain;charset=UTF-8")
        .body(question.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 201);
    let conversation = asked.json::<Value>().await.unwrap()["conversation_id"].as_i64().unwrap();

    let identify = json!({ "visitor_id": "anon-chat", "user_id": "u-7", "user_hash": user_hash(&site.secret, "u-7") });
    track_ok(&app, &site.key, "identify", identify).await;

    let thread = app.get_json(&format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(thread["conversation"]["lead"]["id"], user, "{thread}");
    assert_eq!(thread["messages"][0]["body"], "Do you ship to Austria?");
    let of_user = app.get_json(&format!("/api/v1/leads/{user}/conversations")).await;
    assert_eq!(of_user[0]["id"], conversation, "{of_user}");
    // The widget in that browser still shows the chat.
    let seen = app
        .client
        .get(app.url("/api/v1/track/messages"))
        .query(&[("key", site.key.as_str()), ("visitor_id", "anon-chat"), ("after", "0")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(seen["items"][0]["body"], "Do you ship to Austria?", "{seen}");
}
