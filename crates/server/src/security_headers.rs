//! Security headers on every answer: what a page of ours may load and who may frame it
//! (Content-Security-Policy), no MIME sniffing, no console address in the Referer of requests
//! to other sites (links to a lead's pages carry lead ids otherwise), HTTPS only once the site runs behind it (HSTS with `--secure-cookies`), and
//! API answers kept out of every cache unless the route says otherwise.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The console (index.html and its files) and the pages of the links in mails: scripts only
/// from our origin, WebAssembly compiled from them (`'wasm-unsafe-eval'`), no inline script.
/// Inline style stays allowed for the style attributes the app sets (an avatar's hue); a
/// style cannot run script.
pub const CONSOLE_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The demo shop under `/demo/` plays a customer's site: the widget (`/widget.js`) and the
/// shop's own script from our origin, the widget's styles inline in its shadow root.
pub const DEMO_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// API answers are data, never a document: nothing may load from them or frame them.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// A year, the usual HSTS lifetime.
const HSTS: &str = "max-age=31536000";

/// Whether the site runs behind HTTPS (`--secure-cookies`): then browsers are told to use
/// nothing else.
#[derive(Debug, Clone, Copy)]
pub struct Https(pub bool);

/// The middleware: adds the headers to whatever the routes answered.
pub async fn add(State(Https(https)): State<Https>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let policy = if api {
        API_POLICY
    } else if path == "/demo" || path.starts_with("/demo/") {
        DEMO_POLICY
    } else {
        CONSOLE_POLICY
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A page with stricter needs keeps its own (the links in mails: no Referer at all).
    keep_or_set(headers, header::CONTENT_SECURITY_POLICY, policy);
    keep_or_set(headers, header::REFERRER_POLICY, "same-origin");
    keep_or_set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // For browsers that predate frame-ancestors.
    keep_or_set(headers, header::X_FRAME_OPTIONS, "DENY");
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    if api {
        // A route that may be kept says so itself (an avatar picture, privately, for an hour).
        keep_or_set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

fn keep_or_set(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.entry(name).or_insert(HeaderValue::from_static(value));
}
