//! The built app: files from `dist/`, `index.html` for the app's own routes (the router runs in
//! the browser), JSON 404 for unknown API paths, and a clear 503 when the app is not built.
//!
//! Files go out as the build compressed them (`F.br`, `F.gz` beside `F`, written by `cargo xtask
//! build`) when the browser accepts that encoding. A file whose name carries the build's hash
//! (`leadcard-<16 hex>_bg.wasm`, `main-<16 hex>.css`) never changes: browsers keep it for a year
//! without asking again. Anything else, index.html first, is revalidated on every load, so a new
//! build reaches operators at their next reload.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower::service_fn;
use tower::util::BoxCloneSyncService;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;

type Fallback = BoxCloneSyncService<Request, Response, Infallible>;

/// The service for every request no API route matched.
pub fn app_or_not_found(dist: &Path) -> Fallback {
    let dist: PathBuf = dist.to_owned();
    let index = dist.join("index.html");
    let files = ServeDir::new(&dist).precompressed_br().precompressed_gzip();
    let files_or_index = files.clone().fallback(ServeFile::new(&index).precompressed_br().precompressed_gzip());
    BoxCloneSyncService::new(service_fn(move |request: Request| {
        let (files, files_or_index, index) = (files.clone(), files_or_index.clone(), index.clone());
        async move {
            let path = request.uri().path();
            if path == "/api" || path.starts_with("/api/") {
                return Ok(ApiError::NotFound(leadcard_core::locale::k::ERROR_ENDPOINT_NOT_FOUND).into_response());
            }
            if !index.is_file() {
                return Ok(not_built(&index));
            }
            // A path whose last part has a dot asks for a file: a missing one is a 404, while any
            // other path is a route of the app and gets index.html.
            let wants_file = path.rsplit('/').next().is_some_and(|last| last.contains('.'));
            let cache = if wants_file && is_hashed(path) { IMMUTABLE } else { REVALIDATE };
            let response =
                if wants_file { files.oneshot(request).await } else { files_or_index.oneshot(request).await };
            let mut response = response.unwrap_or_else(|e| match e {}).map(axum::body::Body::new);
            if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
                // The body depends on Accept-Encoding: a shared cache must not mix them up.
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            }
            Ok(response)
        }
    }))
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Whether a file's name carries a build hash: a `-` then the hash in hex (Trunk writes a u64 in
/// hex, so 16 digits or fewer when it starts with zeros) up to the next `.`, `_` or `-` (Trunk's
/// names and the split chunks named after them).
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.match_indices('-').any(|(at, _)| {
        let rest = &name[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        (12..=16).contains(&digits) && matches!(rest.as_bytes().get(digits), Some(b'.' | b'_' | b'-'))
    })
}

fn not_built(index: &Path) -> Response {
    let message = format!(
        "The leadcard app is not built: {} is missing.\n\
         Build it with `cargo xtask run` (which builds the app and starts the server), \
         or point --dist / LEADCARD_DIST at Trunk's output.\n",
        index.display()
    );
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
}

#[cfg(test)]
mod tests {
    use super::is_hashed;

    #[test]
    fn build_hashed_names_are_told_from_others() {
        for name in [
            "/leadcard-f4c1dca6e3773402_bg.wasm",
            "/leadcard-f4c1dca6e3773402.js",
            "/leadcard-f4c1dca6e3773402-chunk_10.wasm",
            "/leadcard-f4c1dca6e3773402-split_leads_page_3575157506428685891.wasm",
            "/leadcard-f4c1dca6e3773402-pack_leads_page.pack",
            "/main-1679ed38df239ae7.css",
            "/favicon-25b6933637ab1486.svg",
            "/a-bc0cda58404903e.css",
        ] {
            assert!(is_hashed(name), "{name}");
        }
        for name in [
            "/index.html",
            "/widget.js",
            "/public/favicon.svg",
            "/demo/shop-page.html",
            "/a-f4c1dca6e37.js",
            "/a-f4c1dca6e3773402",
            "/a-f4c1dca6e3773402ff.js",
        ] {
            assert!(!is_hashed(name), "{name}");
        }
    }
}
