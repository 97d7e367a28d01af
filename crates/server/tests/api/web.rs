//! The built app beside the API: files, index.html for app routes, JSON for unknown API paths.

use crate::helpers::{error_of, spawn_app, spawn_app_with};

#[tokio::test]
async fn app_routes_get_index_html_files_are_served_and_api_paths_stay_json() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<!doctype html><title>leadcard</title>").unwrap();
    std::fs::write(dist.path().join("app.js"), "console.log('hi')").unwrap();
    let path = dist.path().to_owned();
    let app = spawn_app_with(move |c| c.dist = path).await;

    for route in ["/", "/leads", "/leads/42", "/login?next=%2Fleads"] {
        let response = app.get(route).await;
        assert_eq!(response.status(), 200, "{route}");
        assert!(response.text().await.unwrap().contains("<title>leadcard</title>"), "{route}");
    }
    assert_eq!(app.get("/app.js").await.text().await.unwrap(), "console.log('hi')");
    assert_eq!(app.get("/missing.js").await.status(), 404);

    let (status, error) = error_of(app.get("/api/v1/no-such-thing").await).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    let (status, error) = error_of(app.client.put(app.url("/api/v1/health")).send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (405, Some("method_not_allowed")));
    assert_eq!(app.get_json("/api/v1/health").await, serde_json::json!({ "status": "ok" }));
}

#[tokio::test]
async fn files_go_out_compressed_as_built_and_hashed_ones_are_cached_for_good() {
    let dist = tempfile::tempdir().unwrap();
    let d = dist.path();
    std::fs::write(d.join("index.html"), "<!doctype html><title>leadcard</title>").unwrap();
    std::fs::write(d.join("index.html.br"), b"br-index").unwrap();
    std::fs::write(d.join("index.html.gz"), b"gz-index").unwrap();
    let wasm = "leadcard-f4c1dca6e3773402-chunk_9.wasm";
    std::fs::write(d.join(wasm), b"\0asm-raw").unwrap();
    std::fs::write(d.join(format!("{wasm}.br")), b"br-wasm").unwrap();
    std::fs::write(d.join(format!("{wasm}.gz")), b"gz-wasm").unwrap();
    std::fs::write(d.join("robots.txt"), "User-agent: *").unwrap();
    let path = d.to_owned();
    let app = spawn_app_with(move |c| c.dist = path).await;
    let get = |path: &str, encoding: &str| {
        let request = app.client.get(app.url(path));
        let request = if encoding.is_empty() { request } else { request.header("accept-encoding", encoding) };
        async move {
            let response = request.send().await.unwrap();
            let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
            let (status, encoding, cache, vary) =
                (response.status(), header("content-encoding"), header("cache-control"), header("vary"));
            (status, encoding, cache, vary, response.bytes().await.unwrap().to_vec())
        }
    };
    const FOREVER: &str = "public, max-age=31536000, immutable";

    let (status, encoding, cache, vary, body) = get(&format!("/{wasm}"), "gzip, deflate, br, zstd").await;
    assert_eq!((status.as_u16(), encoding.as_deref(), body.as_slice()), (200, Some("br"), &b"br-wasm"[..]));
    assert_eq!((cache.as_deref(), vary.as_deref()), (Some(FOREVER), Some("accept-encoding")));
    let (_, encoding, _, _, body) = get(&format!("/{wasm}"), "gzip").await;
    assert_eq!((encoding.as_deref(), body.as_slice()), (Some("gzip"), &b"gz-wasm"[..]));
    let (_, encoding, cache, _, body) = get(&format!("/{wasm}"), "").await;
    assert_eq!((encoding, cache.as_deref(), body.as_slice()), (None, Some(FOREVER), &b"\0asm-raw"[..]));

    // The page itself and files without a build hash are asked for again on every load.
    for route in ["/", "/leads/42", "/index.html"] {
        let (status, encoding, cache, _, body) = get(route, "br").await;
        assert_eq!(
            (status.as_u16(), encoding.as_deref(), cache.as_deref()),
            (200, Some("br"), Some("no-cache")),
            "{route}"
        );
        assert_eq!(body, b"br-index", "{route}");
    }
    let (status, encoding, cache, _, body) = get("/robots.txt", "gzip, br").await;
    assert_eq!((status.as_u16(), encoding, cache.as_deref()), (200, None, Some("no-cache")));
    assert_eq!(body, b"User-agent: *");
    let (status, _, cache, _, _) = get("/leadcard-0000000000000000-chunk_1.wasm", "br").await;
    assert_eq!((status.as_u16(), cache), (404, None), "a missing file is not cached");
}

#[tokio::test]
async fn without_a_built_app_pages_say_how_to_build_it() {
    let app = spawn_app().await;
    let response = app.get("/leads").await;
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("cargo xtask run"));
}
