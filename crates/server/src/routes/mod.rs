//! The HTTP surface: `/api/v1` (public and operator routes, described by one OpenAPI document)
//! and the built app for every other path.

mod accounts;
mod avatar;
mod bulk;
mod catalog;
mod document;
mod email;
mod events;
mod export;
mod health;
mod import;
mod inbox;
mod intake;
mod jobs;
mod leads;
mod links;
mod menu;
mod merge;
mod notes;
mod pins;
mod properties;
mod segments;
mod session;
mod stream;
mod tags;
mod test_clock;
mod track;
mod visitors;
mod webhooks;
mod widget_chat;

use std::path::Path;
use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Router, middleware};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{SESSION_COOKIE, require_session, require_session_passively};
use crate::error::ApiError;
use crate::{layers, security_headers, site, web};

pub const API_BASE: &str = "/api/v1";
pub use import::UPLOAD_PATH as IMPORT_UPLOAD_PATH;

#[derive(OpenApi)]
#[openapi(
    info(title = "leadcard API", description = "The operators' console API. Errors are `ErrorBody`."),
    components(schemas(leadcard_core::wire::ErrorBody, leadcard_core::Filter, leadcard_core::LiveEvent)),
    modifiers(&SessionCookie),
    tags(
        (name = "meta", description = "Health and this document"),
        (name = "session", description = "Signing in and out"),
        (name = "leads", description = "The Leads Database and the card"),
        (name = "catalog", description = "Property names and tags in use"),
        (name = "pins", description = "Each operator's pinned properties"),
        (name = "live", description = "Live updates (Server-Sent Events)"),
        (name = "segments", description = "Saved filters, the card's segments and their timeline"),
        (name = "tracking", description = "The site's widget: events, heartbeats, identify (project key)"),
        (name = "visitors", description = "Who is on the site now, and the project's keys"),
        (name = "events", description = "A lead's events, their groups, and its session's pages"),
        (name = "test", description = "Test mode only"),
        (name = "email", description = "Email status actions, settings, campaigns, the outbox and bounces"),
        (name = "links", description = "The links in mails, for leads (HTML pages outside /api/v1)"),
        (name = "inbox", description = "Conversations with leads by chat, email and pop-up; mailed replies"),
        (name = "operators", description = "Operator accounts (admins), one's own password and sessions"),
        (name = "jobs", description = "Background jobs (imports, bulk actions): progress, cancel, report"),
    )
)]
struct ApiDoc;

/// The `session` security scheme: the cookie set by `POST /api/v1/session`.
struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))));
        components.add_security_scheme(
            "project_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(leadcard_core::tracking::KEY_HEADER))),
        );
        // The same key as a query parameter, for what a page sends without headers (sendBeacon,
        // EventSource): either scheme authenticates a widget route.
        components.add_security_scheme(
            "project_key_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                leadcard_core::tracking::KEY_QUERY,
                "The project's public key, when the request cannot carry the X-Leadcard-Key header",
            ))),
        );
        components.add_security_scheme(
            "webhook_secret",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Leadcard-Webhook-Secret",
                "The shared secret (`--webhook-secret`)",
            ))),
        );
    }
}

/// The OpenAPI document, served as it was generated at start.
struct Document(String);

#[utoipa::path(
    get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This API's OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json(Extension(doc): Extension<Arc<Document>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0.clone())
}

/// Which optional parts a server has, and its time limit per request.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub request_timeout: std::time::Duration,
    /// `POST /test/clock`.
    pub test_mode: bool,
    /// The demo shop at `/demo/`.
    pub demo_site: bool,
    /// Served behind HTTPS (`--secure-cookies`): HSTS on every answer.
    pub https: bool,
}

/// Every route, the app and the error fallbacks, ready to serve.
pub fn router(state: AppState, dist: &Path, options: Options) -> Router {
    // The layer goes last, over every operator route merged above it.
    let operator = OpenApiRouter::new()
        .merge(session::operator_routes())
        .merge(leads::routes())
        .merge(avatar::routes())
        .merge(intake::routes())
        .merge(export::routes())
        .merge(jobs::routes())
        .merge(import::routes())
        .merge(properties::routes())
        .merge(tags::routes())
        .merge(notes::routes())
        .merge(pins::routes())
        .merge(catalog::routes())
        .merge(segments::routes())
        .merge(menu::routes())
        .merge(merge::routes())
        .merge(bulk::routes())
        .merge(email::routes())
        .merge(visitors::routes())
        .merge(events::routes())
        .merge(inbox::routes())
        .merge(accounts::operator_routes())
        .layer(middleware::from_fn_with_state(state.clone(), require_session))
        .merge(stream::routes().layer(middleware::from_fn_with_state(state.clone(), require_session_passively)));
    let mut public = OpenApiRouter::new()
        .merge(health::routes())
        .merge(session::public_routes())
        .merge(accounts::public_routes())
        .merge(webhooks::routes())
        .merge(track::routes())
        .merge(widget_chat::routes())
        .routes(routes!(openapi_json));
    if options.test_mode {
        public = public.merge(test_clock::routes());
    }

    // The links in mails live outside /api/v1 and before the app's fallback, which would
    // otherwise answer them with index.html.
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(API_BASE, public.merge(operator))
        .merge(links::routes())
        .split_for_parts();
    let doc = document::render(&doc).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialize the OpenAPI document");
        "{}".to_owned()
    });

    let router = api
        .route_layer(middleware::from_fn(crate::extract::refuse_nul_in_url))
        .layer(Extension(Arc::new(Document(doc))))
        .merge(site::routes(options.demo_site))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback_service(web::app_or_not_found(dist))
        .layer(middleware::from_fn_with_state(security_headers::Https(options.https), security_headers::add));
    layers::wrap(router, &state, options.request_timeout).with_state(state)
}
