//! Running it for real: `--help` keeps secrets, request ids, time limits, compression, the
//! client's address behind a trusted proxy, and event streams that end with their session.

use std::io::Read;
use std::time::{Duration, Instant};

use chrono::Duration as Minutes;
use leadcard_server::site::widget_js;
use reqwest::Response;
use serde_json::{Value, json};
use sqlx::Executor;

use leadcard_server::auth::token::token_hash;

use crate::helpers::{PASSWORD, TestApp, error_of, new_client, session_token, spawn_app, spawn_app_with};

#[test]
fn help_never_prints_secrets_from_the_environment() {
    let secrets = [
        ("LEADCARD_SMTP_URL", "smtp://mailer:smtp-pass-4711@mail.example.com"),
        ("LEADCARD_SECRET_KEY", "secret-key-0123456789-0123456789-abcdef"),
        ("LEADCARD_WEBHOOK_SECRET", "webhook-secret-4711"),
        ("LEADCARD_DATABASE_URL", "postgres://leadcard:db-pass-4711@db.example.com/leadcard"),
    ];
    for args in [&["--help"][..], &["serve", "--help"], &["operator", "add", "--help"]] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_leadcard-server"))
            .args(args)
            .envs(secrets)
            .output()
            .unwrap();
        assert!(output.status.success());
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(help.contains("LEADCARD_"), "{help}");
        for (_, value) in secrets {
            for part in ["4711", "0123456789"] {
                assert!(!value.contains(part) || !help.contains(part), "{args:?} printed {value}:\n{help}");
            }
        }
    }
}

fn request_id(response: &Response) -> String {
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    id
}

#[tokio::test]
async fn every_answer_has_a_request_id_and_errors_carry_it() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/v1/me")).header("x-request-id", "mine").send().await.unwrap();
    let id = request_id(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(body["error"]["request_id"], id.as_str());

    // Ids are the server's own: a client's id is not taken over.
    let response = app.client.get(app.url("/api/v1/health")).header("x-request-id", "0000000000000000").send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), 200);
    let second = request_id(&response);
    assert_ne!(second, "0000000000000000");
    assert_ne!(second, id);

    // Errors outside handlers (an unknown API path, a wrong method) carry it too (`error_of`
    // checks that every error's request_id is its header's).
    let response = app.get("/api/v1/nope").await;
    request_id(&response);
    assert_eq!(error_of(response).await.0, 404);
    let response = app.client.put(app.url("/api/v1/health")).send().await.unwrap();
    request_id(&response);
    assert_eq!(error_of(response).await.0, 405);
}

#[tokio::test]
async fn a_request_past_the_time_limit_is_503_timeout() {
    let app = spawn_app_with(|c| c.request_timeout_secs = 1).await;
    app.signed_in().await;
    // Another connection holds the sessions table: signing out must wait for it.
    let mut blocker = app.db().await;
    if app.database_url.starts_with("postgres") {
        blocker.execute("BEGIN").await.unwrap();
        blocker.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE").await.unwrap();
    } else {
        blocker.execute("BEGIN IMMEDIATE").await.unwrap();
    }
    let started = Instant::now();
    let response =
        app.client.delete(app.url("/api/v1/session")).header("x-requested-with", "leadcard").send().await.unwrap();
    let waited = started.elapsed();
    request_id(&response);
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (503, Some("timeout")), "{error}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
    blocker.execute("ROLLBACK").await.unwrap();
    // The timed-out sign-out did not happen; once the table is free, requests go through.
    assert_eq!(app.get("/api/v1/me").await.status(), 200);
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => brotli::Decompressor::new(body, 4096).read_to_end(&mut out).unwrap(),
        "gzip" => flate2::read::GzDecoder::new(body).read_to_end(&mut out).unwrap(),
        other => panic!("unexpected encoding {other}"),
    };
    out
}

/// `GET path` accepting `encoding` ("identity" for none): the bytes on the wire and the content.
async fn fetch_encoded(app: &TestApp, path: &str, encoding: &str) -> (usize, Vec<u8>) {
    let response = app.client.get(app.url(path)).header("accept-encoding", encoding).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let vary = response.headers().get("vary").map(|v| v.to_str().unwrap().to_ascii_lowercase()).unwrap_or_default();
    assert!(vary.contains("accept-encoding"), "{path}: vary {vary:?}");
    let sent = response.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
    let wire = response.bytes().await.unwrap().to_vec();
    match sent.as_deref() {
        None => {
            assert_eq!(encoding, "identity", "{path} was not compressed for {encoding}");
            (wire.len(), wire)
        }
        Some(sent) => {
            assert_eq!(sent, encoding, "{path}");
            (wire.len(), decode(sent, &wire))
        }
    }
}

#[tokio::test]
async fn the_widget_and_api_json_go_out_compressed_when_accepted() {
    let app = spawn_app().await;
    let (raw, plain) = fetch_encoded(&app, "/widget.js", "identity").await;
    assert_eq!(plain, widget_js().as_bytes());
    let (br, content) = fetch_encoded(&app, "/widget.js", "br").await;
    assert_eq!(content, widget_js().as_bytes());
    let (gzip, content) = fetch_encoded(&app, "/widget.js", "gzip").await;
    assert_eq!(content, widget_js().as_bytes());
    assert!(br < raw / 2 && gzip < raw / 2, "widget.js: raw {raw}, br {br}, gzip {gzip}");
    eprintln!("widget.js: raw {raw} B, br {br} B, gzip {gzip} B");

    app.signed_in().await;
    for i in 0..50 {
        let name = format!("Lead number {i} with a longer name");
        let email = format!("lead{i}@example.com");
        app.add_lead(&[("$name", crate::helpers::text(&name)), ("$email", crate::helpers::text(&email))], &["vip"])
            .await;
    }
    let path = "/api/v1/leads?limit=50";
    let (raw, plain) = fetch_encoded(&app, path, "identity").await;
    let (br, content) = fetch_encoded(&app, path, "br").await;
    assert_eq!(content, plain);
    let page: Value = serde_json::from_slice(&content).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert!(br < raw / 3, "leads page: raw {raw}, br {br}");
    eprintln!("leads page of 50: raw {raw} B, br {br} B");

    // Event streams go out as written, whatever the client accepts.
    let response = app.client.get(app.url("/api/v1/stream")).header("accept-encoding", "br, gzip").send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-encoding").is_none());
}

/// Ten sign-in attempts from `forwarded_for` (each a new email, so only the per-address limit
/// counts), then an eleventh: its status.
async fn eleventh_attempt(app: &TestApp, forwarded_for: &[&str]) -> Vec<u16> {
    let client = new_client();
    let mut statuses = Vec::new();
    for (i, address) in forwarded_for.iter().enumerate() {
        let response = client
            .post(app.url("/api/v1/session"))
            .header("x-forwarded-for", *address)
            .json(&json!({ "email": format!("nobody{i}@leadcard.test"), "password": "wrong password here" }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_key_on_the_forwarded_client() {
    let app = spawn_app_with(|c| c.trusted_proxy = vec!["127.0.0.0/8".parse().unwrap()]).await;
    let mut from_one = vec!["203.0.113.5"; 11];
    from_one.push("203.0.113.6");
    let statuses = eleventh_attempt(&app, &from_one).await;
    assert_eq!(&statuses[..10], [401; 10]);
    assert_eq!(statuses[10], 429, "the 11th attempt from one client");
    assert_eq!(statuses[11], 401, "another client behind the same proxy is not locked out");
    // A client cannot pick its address by writing the header itself: the proxy appends the
    // address it saw, and that one counts.
    let statuses = eleventh_attempt(&app, &["198.51.100.1, 203.0.113.5"]).await;
    assert_eq!(statuses, [429]);
}

#[tokio::test]
async fn from_an_untrusted_peer_the_forwarded_header_is_ignored() {
    let app = spawn_app_with(|c| c.trusted_proxy = vec!["10.0.0.0/8".parse().unwrap()]).await;
    let addresses: Vec<String> = (0..11).map(|i| format!("203.0.113.{i}")).collect();
    let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let statuses = eleventh_attempt(&app, &addresses).await;
    assert_eq!(&statuses[..10], [401; 10]);
    assert_eq!(statuses[10], 429, "every attempt came from the peer 127.0.0.1");
}

/// Reads a stream until it ends; panics if it is still open after `within`.
async fn ends_within(mut stream: Response, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.chunk()).await {
            Err(_) => panic!("the stream is still open after {within:?}"),
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None) | Err(_)) => return started.elapsed(),
        }
    }
}

async fn open_stream(app: &TestApp, client: &reqwest::Client) -> Response {
    let response = client.get(app.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response
}

#[tokio::test]
async fn the_streams_reconnects_do_not_keep_the_session_alive() {
    let app = spawn_app_with(|c| c.session_idle_minutes = 5).await;
    app.signed_in().await;
    app.clock.advance(Minutes::minutes(4));
    // The console's stream reconnects (every 5 minutes, and after every network blip)...
    for _ in 0..3 {
        drop(open_stream(&app, &app.client).await);
    }
    // ...but the operator did nothing for 6 minutes: signed out.
    app.clock.advance(Minutes::minutes(2));
    let (status, error) = error_of(app.get("/api/v1/me").await).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("unauthenticated")));
}

#[tokio::test]
async fn a_stream_ends_within_seconds_when_its_session_ends() {
    let app = spawn_app_with(|c| c.session_idle_minutes = 5).await;
    app.signed_in().await;

    // Signed out from the same console.
    let stream = open_stream(&app, &app.client).await;
    let response =
        app.client.delete(app.url("/api/v1/session")).header("x-requested-with", "leadcard").send().await.unwrap();
    assert_eq!(response.status(), 204);
    ends_within(stream, Duration::from_secs(1)).await;

    // The session's row deleted elsewhere (another instance's sign-out, the operator disabled).
    let client = new_client();
    let signed_in = app.sign_in_with(&client, "anna@leadcard.test", PASSWORD).await;
    let token_hash = token_hash(&session_token(&signed_in).unwrap()).unwrap();
    let stream = open_stream(&app, &client).await;
    let other = new_client();
    assert_eq!(app.sign_in_with(&other, "anna@leadcard.test", PASSWORD).await.status(), 200);
    let kept = open_stream(&app, &other).await;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut app.db().await)
        .await
        .unwrap();
    let took = ends_within(stream, Duration::from_secs(5)).await;
    eprintln!("stream ended {took:?} after its session was deleted");
    assert_eq!(other.get(app.url("/api/v1/me")).send().await.unwrap().status(), 200, "the other session stays");

    // Idle past the limit while the page sat open: its stream ends too.
    app.clock.advance(Minutes::minutes(6));
    ends_within(kept, Duration::from_secs(5)).await;
    assert_eq!(other.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
}
