//! What wraps every request: an id (in the log line, the `X-Request-Id` answer header and JSON
//! error bodies), one info-level log line per request, a time limit, compression of what the
//! client accepts, and the end of every event stream at shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use leadcard_core::locale::Language;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::AppState;
use crate::client_addr::TrustedProxies;
use crate::error::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request being handled, for the error body ([`current_request_id`]).
    static CURRENT: String;
}

/// The id of the request this task is handling, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Wraps `router` in the layers above (outermost last).
pub fn wrap(router: Router<AppState>, state: &AppState, request_timeout: Duration) -> Router<AppState> {
    let proxies = state.trusted_proxies.clone();
    let trace = TraceLayer::new_for_http()
        .make_span_with(move |request: &Request| request_span(request, &proxies))
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Millis));
    // Small answers gain nothing; event streams must go out as written; images and the built
    // app's files are compressed already.
    let compressible = SizeAbove::new(256)
        .and(NotForContentType::const_new("text/event-stream"))
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::const_new("application/wasm"));
    let shutdown = state.shutdown.clone();
    router
        .layer(middleware::from_fn(move |request, next| time_limit(request, next, request_timeout)))
        .layer(CompressionLayer::new().br(true).gzip(true).compress_when(compressible))
        .layer(middleware::from_fn(move |request, next| end_streams_at_shutdown(request, next, shutdown.clone())))
        .layer(trace)
        .layer(middleware::from_fn(with_request_id))
}

/// The span every log line of a request carries.
fn request_span(request: &Request, proxies: &TrustedProxies) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("-", MatchedPath::as_str);
    let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| proxies.client(peer.ip(), request.headers()).to_string())
        .unwrap_or_default();
    tracing::info_span!("request", id = %id, method = %request.method(), route = %route, client = %client)
}

/// Gives the request a new id (whatever the client sent: ids in our log are ours), answers with
/// it in `X-Request-Id`, and keeps it and the language the request asks for (`Accept-Language`;
/// the console sends the page's) in reach of the error body.
async fn with_request_id(mut request: Request, next: Next) -> Response {
    let id = new_request_id();
    let language = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Language::of_accept_language)
        .unwrap_or_default();
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, value.clone());
        let mut response = CURRENT.scope(id, crate::language::scoped(language, next.run(request))).await;
        response.headers_mut().insert(REQUEST_ID, value);
        response
    } else {
        next.run(request).await
    }
}

/// 16 hex digits: random, so ids do not reveal the request rate.
fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    // Without randomness the id is zero: the request is still served and logged.
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 503 `timeout` when the answer has not started within the limit; what was committed before
/// stays committed, what was not is rolled back with the dropped transaction. A CSV upload for
/// import is left alone: it takes as long as the file takes to arrive (its size is limited).
async fn time_limit(request: Request, next: Next, limit: Duration) -> Response {
    if request.method() == axum::http::Method::POST && request.uri().path() == crate::routes::IMPORT_UPLOAD_PATH {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout { seconds: limit.as_secs() }.into_response(),
    }
}

/// An event stream's body ends when the server shuts down, so the connection can close and the
/// shutdown does not wait for streams that never end by themselves.
async fn end_streams_at_shutdown(request: Request, next: Next, shutdown: CancellationToken) -> Response {
    let response = next.run(request).await;
    let is_stream =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !is_stream {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = body.into_data_stream().take_until(shutdown.cancelled_owned());
    Response::from_parts(parts, Body::from_stream(body))
}

/// A text served on every page of customer sites (`/widget.js`): compressed once, at the best
/// ratio, and sent as the client accepts it (brotli, gzip, or plain).
pub struct Precompressed {
    plain: &'static str,
    brotli: Vec<u8>,
    gzip: Vec<u8>,
}

impl Precompressed {
    pub fn new(plain: &'static str) -> Self {
        let mut brotli = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
        // Writing into memory cannot fail; an empty result would only mean sending it plain.
        let _ = brotli::BrotliCompress(&mut plain.as_bytes(), &mut brotli, &params);
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = std::io::Write::write_all(&mut gzip, plain.as_bytes());
        let gzip = gzip.finish().unwrap_or_default();
        Precompressed { plain, brotli, gzip }
    }

    /// The answer for a request with these headers.
    pub fn respond(
        &self,
        request: &axum::http::HeaderMap,
        content_type: &'static str,
        cache: &'static str,
    ) -> Response {
        let accepts = |coding: &str| {
            request
                .get_all(header::ACCEPT_ENCODING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|item| {
                    let mut parts = item.split(';').map(str::trim);
                    parts.next().is_some_and(|name| name.eq_ignore_ascii_case(coding))
                        && parts.all(|p| p.strip_prefix("q=").is_none_or(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0)))
                })
        };
        // Set, not appended: the body's own `Content-Type` (octet-stream) gives way to ours.
        let respond = |body: Response, encoding: Option<&'static str>| {
            let mut response = body;
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            if let Some(encoding) = encoding {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
            }
            response
        };
        if !self.brotli.is_empty() && accepts("br") {
            respond(self.brotli.clone().into_response(), Some("br"))
        } else if !self.gzip.is_empty() && accepts("gzip") {
            respond(self.gzip.clone().into_response(), Some("gzip"))
        } else {
            respond(self.plain.into_response(), None)
        }
    }
}
