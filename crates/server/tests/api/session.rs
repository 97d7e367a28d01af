//! Signing in and out, session lifetime, CSRF, rate limits, and the guard on operator routes.

use chrono::Duration;
use serde_json::Value;

use crate::helpers::{PASSWORD, error_of, new_client, session_token, spawn_app, spawn_app_with};

#[tokio::test]
async fn signing_in_sets_an_http_only_lax_cookie_and_me_names_the_operator() {
    let app = spawn_app().await;
    let operator = app.add_operator("anna@leadcard.test").await;

    let response = app.sign_in_with(&app.client, "  Anna@LeadCard.test ", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("leadcard_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], operator.id);

    let me = app.get_json("/api/v1/me").await;
    assert_eq!(me["email"], "anna@leadcard.test");
    assert_eq!(me["role"], "operator");
}

#[tokio::test]
async fn the_secure_cookies_flag_marks_the_cookie_secure() {
    let app = spawn_app_with(|c| c.secure_cookies = true).await;
    app.add_operator("anna@leadcard.test").await;
    let response = app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await;
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn every_sign_in_gets_a_new_token_and_signing_out_ends_the_session() {
    let app = spawn_app().await;
    app.add_operator("anna@leadcard.test").await;
    let first = session_token(&app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await).unwrap();
    let second = session_token(&app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await).unwrap();
    assert_ne!(first, second);

    let with_token = |token: &str| {
        new_client().get(app.url("/api/v1/me")).header("cookie", format!("leadcard_session={token}")).send()
    };
    // Signing in again from the same browser ended the session it had.
    assert_eq!(with_token(&first).await.unwrap().status(), 401);
    assert_eq!(with_token(&second).await.unwrap().status(), 200);

    let response =
        app.client.delete(app.url("/api/v1/session")).header("x-requested-with", "leadcard").send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(with_token(&second).await.unwrap().status(), 401);
    assert_eq!(app.get("/api/v1/me").await.status(), 401);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_is_401_with_one_message() {
    let app = spawn_app().await;
    app.add_operator("anna@leadcard.test").await;
    let (status, wrong) = error_of(app.sign_in_with(&app.client, "anna@leadcard.test", "not the password").await).await;
    assert_eq!(status, 401);
    assert_eq!(wrong["code"], "invalid_credentials");
    assert_eq!(wrong["message"], "Wrong email or password.");
    let (status, unknown) = error_of(app.sign_in_with(&app.client, "nobody@leadcard.test", PASSWORD).await).await;
    assert_eq!(status, 401);
    assert_eq!(unknown, wrong);
    assert_eq!(app.get("/api/v1/me").await.status(), 401);
}

#[tokio::test]
async fn an_empty_email_or_password_is_422_naming_the_field() {
    let app = spawn_app().await;
    let (status, error) = error_of(app.sign_in_with(&app.client, " ", PASSWORD).await).await;
    assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (422, Some("invalid"), Some("email")));
    let (status, error) = error_of(app.sign_in_with(&app.client, "a@b.co", "").await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("password")));

    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("invalid_json")));
    let response = app.client.post(app.url("/api/v1/session")).body("email=a").send().await.unwrap();
    assert_eq!(error_of(response).await.0, 415);
}

#[tokio::test]
async fn repeated_sign_in_attempts_are_rate_limited_with_retry_after() {
    let app = spawn_app().await;
    app.add_operator("anna@leadcard.test").await;
    for _ in 0..5 {
        let response = app.sign_in_with(&app.client, "anna@leadcard.test", "guess guess guess").await;
        assert_eq!(response.status(), 401);
    }
    let response = app.sign_in_with(&app.client, "ANNA@leadcard.test", PASSWORD).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (_, error) = error_of(response).await;
    assert_eq!(error["code"], "rate_limited");
}

#[tokio::test]
async fn state_changing_requests_without_json_or_the_header_are_403() {
    let app = spawn_app().await;
    app.signed_in().await;
    let response = app.client.delete(app.url("/api/v1/session")).send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("csrf")));
    assert_eq!(app.get("/api/v1/me").await.status(), 200, "the refused request changed nothing");
    let response =
        app.client.delete(app.url("/api/v1/session")).header("content-type", "application/json").send().await.unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app_with(|c| c.session_idle_minutes = 5).await;
    app.signed_in().await;
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(4));
        assert_eq!(app.get("/api/v1/me").await.status(), 200, "activity keeps the session");
    }
    app.clock.advance(Duration::minutes(5));
    let (status, error) = error_of(app.get("/api/v1/me").await).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("unauthenticated")));
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_limit_however_active() {
    let app = spawn_app_with(|c| {
        c.session_idle_minutes = 30;
        c.session_absolute_hours = 1;
    })
    .await;
    app.signed_in().await;
    for _ in 0..2 {
        app.clock.advance(Duration::minutes(25));
        assert_eq!(app.get("/api/v1/me").await.status(), 200);
    }
    app.clock.advance(Duration::minutes(11));
    assert_eq!(app.get("/api/v1/me").await.status(), 401);
}

/// Routes that answer without a session; every other route in the document must refuse.
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/api/v1/health"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/session"),
    // The site's tracking calls: the project key, not a session (tests/api/tracking.rs).
    ("post", "/api/v1/track/events"),
    ("post", "/api/v1/track/heartbeat"),
    ("post", "/api/v1/track/identify"),
    // The widget's chat: the project key and the visitor id (tests/api/inbox.rs).
    ("get", "/api/v1/track/messages"),
    ("post", "/api/v1/track/messages"),
    ("post", "/api/v1/track/messages/seen"),
    ("get", "/api/v1/track/stream"),
    // Authenticated by the one-time link's token.
    ("post", "/api/v1/password-links/use"),
    // Authenticated by its shared secret.
    ("post", "/api/v1/webhooks/email"),
    ("post", "/api/v1/webhooks/inbound-email"),
    // The links in mails, authenticated by their signed tokens.
    ("get", "/u/{token}"),
    ("post", "/u/{token}"),
    ("get", "/c/{token}"),
    ("post", "/c/{token}"),
];

#[tokio::test]
async fn every_operator_route_in_the_openapi_document_answers_401_without_a_session() {
    let app = spawn_app().await;
    let doc = app.get_json("/api/v1/openapi.json").await;
    let mut checked = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if PUBLIC.contains(&(method.as_str(), path.as_str())) {
                continue;
            }
            let url = app.url(&path.replace("{id}", "1").replace("{tag}", "vip").replace("{note_id}", "1"));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response =
                new_client().request(method.clone(), url).header("x-requested-with", "leadcard").send().await.unwrap();
            let (status, error) = error_of(response).await;
            assert_eq!((status, error["code"].as_str()), (401, Some("unauthenticated")), "{method} {path}");
            checked.push(format!("{method} {path}"));
            assert!(
                item[method.as_str().to_lowercase()]["security"].is_array(),
                "{method} {path} documents its session"
            );
        }
    }
    for route in [
        "GET /api/v1/me",
        "GET /api/v1/leads",
        "GET /api/v1/leads/{id}",
        "DELETE /api/v1/session",
        "PATCH /api/v1/leads/{id}/properties",
        "DELETE /api/v1/leads/{id}/tags/{tag}",
        "DELETE /api/v1/leads/{id}/notes/{note_id}",
        "PATCH /api/v1/leads/{id}/notes/{note_id}",
        "PUT /api/v1/pins",
        "POST /api/v1/segments",
        "POST /api/v1/segments/count",
        "PUT /api/v1/segments/{id}",
        "GET /api/v1/leads/{id}/segment-history",
        "GET /api/v1/visitors",
        "GET /api/v1/project",
        "GET /api/v1/leads/{id}/events",
        "POST /api/v1/leads/{id}/events",
        "GET /api/v1/leads/{id}/event-groups",
        "GET /api/v1/leads/{id}/session-pages",
        "DELETE /api/v1/leads/{id}",
        "POST /api/v1/leads/{id}/unsubscribe",
        "POST /api/v1/leads/{id}/confirmation",
        "POST /api/v1/leads/{id}/hide",
        "PUT /api/v1/settings/email",
        "POST /api/v1/campaigns",
        "GET /api/v1/outbox",
        "GET /api/v1/operators",
        "GET /api/v1/conversations",
        "GET /api/v1/conversations/{id}",
        "GET /api/v1/conversations/{id}/messages",
        "POST /api/v1/conversations/{id}/messages",
        "POST /api/v1/conversations/{id}/assign",
        "POST /api/v1/conversations/{id}/close",
        "POST /api/v1/conversations/{id}/reopen",
        "POST /api/v1/conversations/{id}/read",
        "GET /api/v1/leads/{id}/conversations",
        "GET /api/v1/leads/{id}/channels",
        "POST /api/v1/leads/{id}/messages",
    ] {
        assert!(checked.contains(&route.to_owned()), "{route} was checked: {checked:?}");
    }
}
