//! Lead avatars through the server: a picture server on loopback (allowed with
//! `--avatar-allow-ip` for the tests) is fetched once and served from our origin; what is not a
//! picture, too large, not http(s), not public (also by a redirect or a name) is refused with a
//! 404 naming `$avatar`, and the refused server is never contacted.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::helpers::{TestApp, error_of, spawn_app, spawn_app_with, text};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// A picture server on `ip`: `/a.png` a picture, `/page` HTML, `/big.png` 3 MB, `/svg.png` an
/// SVG sent as PNG, `/moved` a redirect to `moved_to`. Counts the requests it answers.
async fn picture_server(ip: &str, moved_to: Option<String>) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let moved_to = moved_to.unwrap_or_default();
    let router = Router::new()
        .route("/a.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], PNG) }))
        .route("/page", get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html>hi</html>") }))
        .route(
            "/big.png",
            get(|| async {
                let mut body = PNG.to_vec();
                body.resize(3 * 1024 * 1024, 0);
                ([(header::CONTENT_TYPE, "image/png")], body)
            }),
        )
        .route("/svg.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], "<svg onload=alert(1)/>") }))
        .route(
            "/moved",
            get(move || async move { (StatusCode::FOUND, [(header::LOCATION, moved_to)]).into_response() }),
        )
        .layer(axum::middleware::from_fn(move |request, next: axum::middleware::Next| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { next.run(request).await }
        }));
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (address, hits)
}

async fn lead_with_avatar(app: &TestApp, url: &str) -> i64 {
    app.add_lead(&[("$name", text("Pic Ture")), ("$avatar", text(url))], &[]).await
}

/// The avatar's answer: its status and, for a refusal, the error's field and message.
async fn avatar(app: &TestApp, lead: i64) -> (u16, String, String) {
    let response = app.get(&format!("/api/v1/leads/{lead}/avatar")).await;
    if response.status() == 200 {
        return (200, String::new(), String::new());
    }
    let (status, error) = error_of(response).await;
    assert_eq!(error["code"], "not_found", "{error}");
    (status, error["field"].as_str().unwrap_or_default().to_owned(), error["message"].to_string())
}

fn loopback() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

#[tokio::test]
async fn a_picture_is_fetched_once_and_served_from_our_origin() {
    let app = spawn_app_with(|config| config.avatar_allow_ip = vec![loopback()]).await;
    app.signed_in().await;
    let (pictures, hits) = picture_server("127.0.0.1", None).await;
    let lead = lead_with_avatar(&app, &format!("http://{pictures}/a.png")).await;

    for _ in 0..3 {
        let response = app.get(&format!("/api/v1/leads/{lead}/avatar")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "private, max-age=3600");
        assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "kept after the first fetch");

    let anonymous = crate::helpers::new_client().get(app.url(&format!("/api/v1/leads/{lead}/avatar"))).send().await;
    assert_eq!(anonymous.unwrap().status(), 401);
}

#[tokio::test]
async fn what_is_not_a_small_picture_from_a_permitted_address_is_refused() {
    let app = spawn_app_with(|config| config.avatar_allow_ip = vec![loopback()]).await;
    app.signed_in().await;
    // 127.0.0.2 is loopback too, and not allowed.
    let (elsewhere, elsewhere_hits) = picture_server("127.0.0.2", None).await;
    let (pictures, _) = picture_server("127.0.0.1", Some(format!("http://{elsewhere}/a.png"))).await;

    for (url, says) in [
        (format!("http://{pictures}/page"), "not a PNG, JPEG, GIF, WebP or AVIF"),
        (format!("http://{pictures}/svg.png"), "not a PNG, JPEG, GIF, WebP or AVIF"),
        (format!("http://{pictures}/big.png"), "larger than 2 MB"),
        (format!("http://{pictures}/missing.png"), "answered 404"),
        (format!("http://{pictures}/moved"), "not on the public internet"),
        (format!("http://{elsewhere}/a.png"), "not on the public internet"),
        (format!("ftp://{pictures}/a.png"), "not an http or https address"),
        ("javascript:alert(1)".to_owned(), "not an http or https address"),
        ("not a url".to_owned(), "not an http or https address"),
    ] {
        let lead = lead_with_avatar(&app, &url).await;
        let (status, field, message) = avatar(&app, lead).await;
        assert_eq!((status, field.as_str()), (404, "$avatar"), "{url}");
        assert!(message.contains(says), "{url}: {message}");
    }
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0, "the redirect to a refused address was not followed");

    let plain = app.add_lead(&[("$name", text("No Picture"))], &[]).await;
    assert_eq!(avatar(&app, plain).await.0, 404);
    assert_eq!(avatar(&app, plain + 1_000).await.0, 404);
}

#[tokio::test]
async fn private_addresses_are_never_contacted_by_default() {
    let app = spawn_app().await;
    app.signed_in().await;
    let (pictures, hits) = picture_server("127.0.0.1", None).await;
    let port = pictures.port();
    for url in [
        format!("http://127.0.0.1:{port}/a.png"),
        // A name that resolves to loopback is refused by its answer, not by its spelling.
        format!("http://localhost:{port}/a.png"),
        format!("http://2130706433:{port}/a.png"),
        format!("http://[::ffff:127.0.0.1]:{port}/a.png"),
    ] {
        let lead = lead_with_avatar(&app, &url).await;
        let (status, field, message) = avatar(&app, lead).await;
        assert_eq!((status, field.as_str()), (404, "$avatar"), "{url}");
        assert!(message.contains("not on the public internet"), "{url}: {message}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}
