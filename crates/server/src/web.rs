//! The built app: files from `dist/`, `index.html` for the app's own routes (the router runs in
//! the browser), JSON 404 for unknown API paths, and a clear 503 when the app is not built.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{StatusCode, header};
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
    let files = ServeDir::new(&dist);
    let files_or_index = ServeDir::new(&dist).fallback(ServeFile::new(&index));
    BoxCloneSyncService::new(service_fn(move |request: Request| {
        let (files, files_or_index, index) = (files.clone(), files_or_index.clone(), index.clone());
        async move {
            let path = request.uri().path();
            if path == "/api" || path.starts_with("/api/") {
                return Ok(ApiError::NotFound("There is no such API endpoint.").into_response());
            }
            if !index.is_file() {
                return Ok(not_built(&index));
            }
            // A path whose last part has a dot asks for a file: a missing one is a 404, while any
            // other path is a route of the app and gets index.html.
            let wants_file = path.rsplit('/').next().is_some_and(|last| last.contains('.'));
            let response =
                if wants_file { files.oneshot(request).await } else { files_or_index.oneshot(request).await };
            Ok(response.unwrap_or_else(|e| match e {}).map(axum::body::Body::new))
        }
    }))
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
