//! What tracked sites load: the widget (`/widget.js`), and on a database that `--seed-demo`
//! seeded itself a small demo shop at `/demo/` whose pages carry the widget with the project's key.

use axum::Json;
use axum::extract::{Path, Query, State};
use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use leadcard_core::EmailAddress;
use leadcard_core::locale::{self, Language, k};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::layers::Precompressed;
use crate::tracking::user_hash;

pub const WIDGET_JS: &str = include_str!("../widget/widget.js");

/// The demo shop's files: name, content type, text.
const DEMO_FILES: &[(&str, &str, &str)] = &[
    ("index.html", "text/html; charset=utf-8", include_str!("../demo-site/index.html")),
    ("product.html", "text/html; charset=utf-8", include_str!("../demo-site/product.html")),
    ("cart.html", "text/html; charset=utf-8", include_str!("../demo-site/cart.html")),
    ("shop.js", "text/javascript; charset=utf-8", include_str!("../demo-site/shop.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("../demo-site/style.css")),
];

/// The widget's texts in every language (`widget.*` of the catalogues), as widget.js takes them:
/// `{"en": {"send": "Send", ...}, "ru": {...}}`.
fn widget_texts() -> String {
    let texts: serde_json::Map<String, serde_json::Value> = Language::ALL
        .into_iter()
        .map(|language| {
            let texts: serde_json::Map<String, serde_json::Value> = [
                ("chat_title", k::WIDGET_CHAT_TITLE),
                ("chat", k::WIDGET_CHAT),
                ("unread", k::WIDGET_UNREAD),
                ("placeholder", k::WIDGET_PLACEHOLDER),
                ("message", k::WIDGET_MESSAGE),
                ("send", k::WIDGET_SEND),
                ("close", k::WIDGET_CLOSE),
            ]
            .into_iter()
            .map(|(name, text)| (name.to_owned(), text.get(language).into()))
            .collect();
            (language.as_str().to_owned(), texts.into())
        })
        .collect();
    serde_json::Value::Object(texts).to_string()
}

/// widget.js with its texts written in.
pub fn widget_js() -> &'static str {
    static JS: LazyLock<&'static str> =
        LazyLock::new(|| WIDGET_JS.replace("__LEADCARD_TEXTS__", &widget_texts()).leak());
    &JS
}

async fn widget(headers: HeaderMap) -> Response {
    static WIDGET: LazyLock<Precompressed> = LazyLock::new(|| Precompressed::new(widget_js()));
    WIDGET.respond(&headers, "text/javascript; charset=utf-8", "public, max-age=300")
}

#[derive(Deserialize)]
struct DemoQuery {
    /// `data-heartbeat-seconds` for the page's widget (tests use a short one).
    hb: Option<u32>,
}

async fn demo_index(state: State<AppState>, query: Query<DemoQuery>) -> Result<Response, ApiError> {
    demo_file(state, Path("index.html".to_owned()), query).await
}

async fn demo_file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<DemoQuery>,
) -> Result<Response, ApiError> {
    let Some((_, content_type, text)) = DEMO_FILES.iter().find(|(file, _, _)| *file == name) else {
        return Ok((StatusCode::NOT_FOUND, "No such page in the demo shop.").into_response());
    };
    let body = if name.ends_with(".html") {
        let project = state.store.ensure_project(state.clock.now()).await?;
        let heartbeat = match query.hb.filter(|n| (1..=3600).contains(n)) {
            Some(n) => format!(r#" data-heartbeat-seconds="{n}""#),
            None => String::new(),
        };
        text.replace("__LEADCARD_KEY__", &project.public_key).replace("__LEADCARD_HEARTBEAT__", &heartbeat)
    } else {
        (*text).to_owned()
    };
    let content_type = HeaderValue::from_static(content_type);
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))], body)
        .into_response())
}

#[derive(Deserialize)]
struct DemoSignIn {
    email: String,
}

#[derive(Serialize)]
struct Signed {
    user_id: String,
    user_hash: String,
}

/// The demo shop's "server": signs a customer's user id (their email, lower-cased) with the
/// project's secret key, as a real site's server would.
async fn demo_sign_in(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<DemoSignIn>,
) -> Result<Json<Signed>, ApiError> {
    let email = EmailAddress::parse(&body.email).map_err(|e| ApiError::invalid("email", e.sentence()))?;
    let user_id = email.to_string().to_lowercase();
    let project = state.store.ensure_project(state.clock.now()).await?;
    Ok(Json(Signed { user_hash: user_hash(&project.secret_key, &user_id), user_id }))
}

async fn no_demo() -> Response {
    (StatusCode::NOT_FOUND, "The demo shop runs only on a database that --seed-demo seeded.").into_response()
}

/// The Russian table the console's start script fetches when the page shows Russian
/// (`locale::RU_JSON`, led by the catalogue's hash: a page of another build ignores it).
async fn catalogue(Path(file): Path<String>, headers: HeaderMap) -> Response {
    static RU: LazyLock<Precompressed> = LazyLock::new(|| Precompressed::new(locale::RU_JSON));
    if file != "ru.json" {
        return (StatusCode::NOT_FOUND, "No such catalogue.").into_response();
    }
    RU.respond(&headers, "application/json", "no-cache")
}

/// `/widget.js`, the console's Russian catalogue, and the demo shop when `demo` is on (404 otherwise).
pub fn routes(demo: bool) -> axum::Router<AppState> {
    let router = axum::Router::new().route("/widget.js", get(widget)).route("/locales/{file}", get(catalogue));
    if !demo {
        return router.route("/demo", any(no_demo)).route("/demo/", any(no_demo)).route("/demo/{*rest}", any(no_demo));
    }
    router
        .route("/demo", get(demo_index))
        .route("/demo/", get(demo_index))
        .route("/demo/sign-in", post(demo_sign_in))
        .route("/demo/{file}", get(demo_file))
}
