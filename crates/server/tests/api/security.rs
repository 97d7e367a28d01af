//! Security headers on the console, the API and the demo shop, the session cookie behind HTTPS,
//! and the widget's abuse limits.

use std::net::IpAddr;

use leadcard_server::security_headers::{API_POLICY, CONSOLE_POLICY, DEMO_POLICY};
use reqwest::{Client, Response};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_of, new_client, session_token, spawn_app, spawn_app_with};
use crate::tracking::site;

fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_console_the_api_and_the_demo_shop_answer_with_security_headers() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<!doctype html><title>leadcard</title>").unwrap();
    let path = dist.path().to_owned();
    let app = spawn_app_with(move |c| {
        c.dist = path;
        c.seed_demo = true;
    })
    .await;

    for (path, policy) in [
        ("/", CONSOLE_POLICY),
        ("/leads/42", CONSOLE_POLICY),
        ("/api/v1/health", API_POLICY),
        ("/api/v1/leads", API_POLICY),
        ("/api/v1/no-such-thing", API_POLICY),
        ("/demo/", DEMO_POLICY),
        ("/widget.js", CONSOLE_POLICY),
    ] {
        let response = app.get(path).await;
        assert_eq!(header(&response, "content-security-policy").as_deref(), Some(policy), "{path}");
        assert_eq!(header(&response, "x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(header(&response, "referrer-policy").as_deref(), Some("same-origin"), "{path}");
        assert_eq!(header(&response, "x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(header(&response, "strict-transport-security"), None, "{path}: no HSTS without HTTPS");
        if path.starts_with("/api/") {
            assert_eq!(header(&response, "cache-control").as_deref(), Some("no-store"), "{path}");
        }
    }
    let directive = |policy: &str, name: &str| {
        policy.split(';').map(str::trim).find(|d| d.split(' ').next() == Some(name)).map(str::to_owned)
    };
    // No inline script and no eval anywhere: only our files and compiling our WebAssembly.
    assert_eq!(directive(CONSOLE_POLICY, "script-src").as_deref(), Some("script-src 'self' 'wasm-unsafe-eval'"));
    assert_eq!(directive(DEMO_POLICY, "script-src").as_deref(), Some("script-src 'self'"));
    for policy in [CONSOLE_POLICY, DEMO_POLICY, API_POLICY] {
        assert_eq!(directive(policy, "frame-ancestors").as_deref(), Some("frame-ancestors 'none'"));
    }
    // The app's files keep their own caching.
    assert_eq!(header(&app.get("/").await, "cache-control").as_deref(), Some("no-cache"));
}

#[tokio::test]
async fn behind_https_browsers_are_held_to_it_and_the_session_cookie_is_host_only() {
    let app = spawn_app_with(|c| c.secure_cookies = true).await;
    let health = app.get("/api/v1/health").await;
    assert_eq!(header(&health, "strict-transport-security").as_deref(), Some("max-age=31536000"));

    app.add_operator("anna@leadcard.test").await;
    let response = app.sign_in_with(&new_client(), "anna@leadcard.test", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = header(&response, "set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-leadcard_session="), "{cookie}");
    for attribute in ["; Secure", "; Path=/", "; HttpOnly"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(session_token(&response), None, "not under the plain name");
    let token = cookie.strip_prefix("__Host-leadcard_session=").unwrap().split(';').next().unwrap().to_owned();

    let me = |cookie: String| {
        let app = &app;
        async move { new_client().get(app.url("/api/v1/me")).header("cookie", cookie).send().await.unwrap().status() }
    };
    assert_eq!(me(format!("__Host-leadcard_session={token}")).await, 200);
    // A cookie under the plain name could have been planted by a neighbour or over HTTP.
    assert_eq!(me(format!("leadcard_session={token}")).await, 401);
}

/// A widget call from `client` as a site's page makes it: `text/plain` JSON, from another origin.
async fn widget_call(app: &TestApp, client: &Client, path: &str, key: &str, body: Value) -> Response {
    client
        .post(app.url(&format!("/api/v1/track/{path}")))
        .query(&[("key", key)])
        .header("origin", "https://shop.example")
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// A client on another loopback address than the test's own (Linux routes all of 127/8 to lo).
fn client_at(address: [u8; 4]) -> Client {
    Client::builder().local_address(IpAddr::from(address)).build().unwrap()
}

/// A refused widget call: 429 `rate_limited`, with a `Retry-After` the page's script can read.
async fn assert_held_back(response: Response) {
    assert_eq!(response.status(), 429);
    let wait: u64 = header(&response, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(header(&response, "access-control-allow-origin").as_deref(), Some("*"));
    let exposed = header(&response, "access-control-expose-headers").unwrap_or_default().to_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
    let (_, error) = error_of(response).await;
    assert_eq!(error["code"], "rate_limited");
}

#[tokio::test]
async fn a_client_making_leads_at_will_is_held_back_and_the_rest_of_the_site_keeps_working() {
    let app = spawn_app().await;
    app.signed_in().await;
    let site = site(&app).await;
    let flooder = client_at([127, 0, 0, 2]);
    // Every new visitor id may become a lead: a client gets a few a minute.
    let mut admitted = 0;
    let refused = loop {
        let body = json!({ "visitor_id": format!("flood-{admitted}"), "events": [{ "name": "Clicked" }] });
        let response = widget_call(&app, &flooder, "events", &site.key, body).await;
        if response.status() == 429 {
            break response;
        }
        assert_eq!(response.status(), 200);
        admitted += 1;
        assert!(admitted <= 100, "the flood was never held back");
    };
    assert_held_back(refused).await;
    assert_eq!(admitted, 20);
    assert_eq!(app.count("SELECT COUNT(*) FROM visitors").await, 20);
    // A visitor it already had goes on; so do other clients' visitors, and the console.
    let known = json!({ "visitor_id": "flood-0", "events": [{ "name": "Clicked" }] });
    assert_eq!(widget_call(&app, &flooder, "events", &site.key, known).await.status(), 200);
    let neighbour = json!({ "visitor_id": "neighbour", "events": [{ "name": "Clicked" }] });
    assert_eq!(widget_call(&app, &client_at([127, 0, 0, 3]), "events", &site.key, neighbour).await.status(), 200);
    assert_eq!(app.get("/api/v1/leads").await.status(), 200);
}

#[tokio::test]
async fn a_visitor_flooding_the_chat_or_holding_streams_is_held_back_and_others_go_on() {
    let app = spawn_app().await;
    app.signed_in().await;
    let site = site(&app).await;
    let client = client_at([127, 0, 0, 4]);
    let message = |visitor: &str, n: usize| json!({ "visitor_id": visitor, "body": format!("Hello {n}"), "idempotency_key": format!("{visitor}-key-{n:04}") });
    for n in 0..10 {
        assert_eq!(widget_call(&app, &client, "messages", &site.key, message("chatty", n)).await.status(), 201);
    }
    assert_held_back(widget_call(&app, &client, "messages", &site.key, message("chatty", 10)).await).await;
    assert_eq!(widget_call(&app, &client, "messages", &site.key, message("quiet", 0)).await.status(), 201);
    let stored = app.count("SELECT COUNT(*) FROM messages WHERE author = 'lead'").await;
    assert_eq!(stored, 11);

    // Streams: a few tabs per visitor; one more is refused until one closes.
    let open = |visitor: &'static str| {
        let (app, client, key) = (&app, &client, site.key.clone());
        async move {
            client
                .get(app.url("/api/v1/track/stream"))
                .header("origin", "https://shop.example")
                .query(&[("key", key.as_str()), ("visitor_id", visitor)])
                .send()
                .await
                .unwrap()
        }
    };
    let mut tabs = Vec::new();
    for _ in 0..3 {
        let tab = open("chatty").await;
        assert_eq!(tab.status(), 200);
        tabs.push(tab);
    }
    assert_held_back(open("chatty").await).await;
    assert_eq!(open("quiet").await.status(), 200);
    drop(tabs.pop());
    let mut reopened = open("chatty").await.status();
    for _ in 0..100 {
        if reopened == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        reopened = open("chatty").await.status();
    }
    assert_eq!(reopened, 200, "a closed tab gives its place back");
}

#[tokio::test]
async fn an_unknown_key_is_remembered_as_unknown() {
    let app = spawn_app().await;
    let body = json!({ "visitor_id": "v1", "events": [{ "name": "Clicked" }] });
    let (status, error) = error_of(widget_call(&app, &new_client(), "events", "pk_made_up", body.clone()).await).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("invalid_key")));
    // Made to exist behind the server's back: the server keeps answering from memory, without
    // asking the database again (a flood of made-up keys costs it nothing).
    let mut db = app.db().await;
    sqlx::query("INSERT INTO projects (name, public_key, secret_key, created_at) VALUES ('x', 'pk_made_up', 's', 0)")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(widget_call(&app, &new_client(), "events", "pk_made_up", body).await.status(), 401);
}
