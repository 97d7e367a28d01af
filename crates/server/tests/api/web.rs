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
async fn without_a_built_app_pages_say_how_to_build_it() {
    let app = spawn_app().await;
    let response = app.get("/leads").await;
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("cargo xtask run"));
}
