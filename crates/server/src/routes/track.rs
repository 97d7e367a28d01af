//! The tracking API the site's widget calls: `/track/events`, `/track/heartbeat` and
//! `/track/identify`, with the project's public key. Any origin may call them, without
//! credentials; each answers once what it carried is committed.

use leadcard_core::locale::{Message, k};
use std::collections::HashMap;
use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::routing::options;
use leadcard_core::event::{PAGE_VIEW, SESSION_START};
use leadcard_core::operation::check_operator_batch;
use leadcard_core::tracking::{
    KEY_HEADER, KEY_QUERY, TrackAccepted, TrackEvents, TrackHeartbeat, TrackIdentify, check_client_id, check_events,
    check_title, check_url, check_user_id,
};
use leadcard_core::wire::ErrorBody;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::extract::{from_json_value, is_json, parse_json_value};
use crate::ingest::IngestError;
use crate::segments::{self, Cause};
use crate::store::{PreparedEvent, Project, StoreError, TrackKind, TrackWrite};
use crate::tracking::verify_user_hash;

/// Largest tracking body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A tracking body: JSON sent as `application/json`, or as `text/plain` (what a page can send
/// without a CORS preflight), or with no type at all.
pub(super) struct TrackBody(pub(super) Value);

impl<S: Send + Sync> FromRequest<S> for TrackBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE);
        let plain = content_type
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("text/plain"));
        if content_type.is_some() && !plain && !is_json(content_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest { code: "invalid_body", message: Message::plain(e.body_text()) }
            }
        })?;
        parse_json_value(&bytes).map(TrackBody)
    }
}

/// The project's public key as the request carries it: the `X-Leadcard-Key` header, else the
/// `key` query parameter (what `sendBeacon` and `EventSource` can send). Never the body: the key
/// is read before the body is.
pub(super) struct ProjectKey(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ProjectKey {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let header = parts.headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let from_query = || {
            let Query(mut query) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri).ok()?;
            query.remove(KEY_QUERY)
        };
        Ok(ProjectKey(header.or_else(from_query)))
    }
}

impl ProjectKey {
    /// The key's project (401 `invalid_key` when missing or unknown).
    pub(super) async fn project(&self, state: &AppState) -> Result<Project, ApiError> {
        state.tracking.project(&state.store, self.0.as_deref()).await
    }
}

/// The caller's project (by its key), the limits of the client, the visitor and the project
/// checked, then the body as `T`: a wrong key is 401 whatever the body holds.
pub(super) async fn authorized<T: DeserializeOwned>(
    state: &AppState,
    ClientAddr(client): ClientAddr,
    key: &ProjectKey,
    body: Value,
) -> Result<(Project, T), ApiError> {
    state.tracking.check_client(client)?;
    let project = key.project(state).await?;
    let visitor_id = body.get("visitor_id").and_then(Value::as_str).unwrap_or_default();
    state.tracking.admit(project.id, client, visitor_id)?;
    Ok((project, from_json_value(body)?))
}

pub(super) fn invalid(e: leadcard_core::tracking::FieldError) -> ApiError {
    ApiError::invalid(e.field, e.message)
}

async fn submit(state: &AppState, write: TrackWrite) -> Result<Json<TrackAccepted>, ApiError> {
    match state.ingest.submit(write).await {
        Ok(accepted) => Ok(Json(TrackAccepted { accepted })),
        Err(IngestError::Busy) => Err(ApiError::Busy { retry_after_secs: 1 }),
        Err(IngestError::Refused(e @ StoreError::InvalidProperty { .. })) => Err(e.into()),
        // The store's own words (a tag over its limit): for the site's developer, who reads English.
        Err(IngestError::Refused(e)) => Err(ApiError::invalid("properties", Message::plain(e.to_string()))),
        Err(IngestError::Failed(e)) => Err(ApiError::Internal(e)),
    }
}

/// Stores a batch of events the visitor performed (1 to 100).
#[utoipa::path(
    post, path = "/track/events", tag = "tracking", request_body = TrackEvents, security(("project_key" = []), ("project_key_query" = [])),
    responses(
        (status = 200, description = "Committed", body = TrackAccepted),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`invalid_key`", body = ErrorBody),
        (status = 413, description = "`payload_too_large` (over 256 KB)", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid`, field e.g. `events[3].name`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`busy`: the queue is full, with `Retry-After`", body = ErrorBody),
    )
)]
async fn events(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    key: ProjectKey,
    headers: HeaderMap,
    TrackBody(body): TrackBody,
) -> Result<Json<TrackAccepted>, ApiError> {
    let (project, request): (_, TrackEvents) = authorized(&state, ClientAddr(client), &key, body).await?;
    check_client_id(&request.visitor_id, "visitor_id").map_err(invalid)?;
    if let Some(session) = &request.session_id {
        check_client_id(session, "session_id").map_err(invalid)?;
    }
    let now = state.clock.now();
    let events = check_events(&request.events, now).map_err(invalid)?;
    if request.session_id.is_none()
        && let Some(i) = events.iter().position(|e| [SESSION_START, PAGE_VIEW].contains(&e.name.as_str()))
    {
        let message = Message::new(k::ERROR_TRACK_SESSION_NEEDED).arg("event", events[i].name.as_str()).arg("index", i);
        return Err(ApiError::invalid("session_id", message));
    }
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    // The lead's segments follow what it did: the last custom event names the cause.
    // A new site session sets properties ($browser, $utm_*, ...) and may be a new lead.
    let performed = events
        .iter()
        .rev()
        .map(|e| e.name.as_str())
        .find(|name| !name.starts_with('$'))
        .map(|name| Cause::Event(name.to_owned()))
        .or_else(|| {
            events.iter().any(|e| e.name.as_str() == SESSION_START).then(|| Cause::Other(k::REASON_VISIT_BEGAN.into()))
        });
    // A new session looks the visitor's address up (here, not in the ingest writer).
    let place = match &state.geoip {
        Some(geoip) if events.iter().any(|e| e.name.as_str() == SESSION_START) => geoip.locate(client).await,
        _ => None,
    };
    let events = events
        .into_iter()
        .map(|e| PreparedEvent::located(e, user_agent, place.as_ref()))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let kind = TrackKind::Events { session_key: request.session_id, events };
    let visitor_id = request.visitor_id.clone();
    let accepted =
        submit(&state, TrackWrite { project_id: project.id, visitor_id: request.visitor_id, received_at: now, kind })
            .await?;
    if let Some(cause) = performed {
        recompute_visitor_lead(&state, project.id, visitor_id, cause);
    }
    Ok(accepted)
}

/// After the answer: the write is stored; the lead's segment entries follow at once, off the
/// request's latency.
fn recompute_visitor_lead(state: &AppState, project_id: i64, visitor_id: String, cause: Cause) {
    let state = state.clone();
    tokio::spawn(async move {
        match state.store.lead_of_visitor(project_id, &visitor_id).await {
            Ok(Some(lead)) => segments::recompute_lead_logged(&state, lead, cause).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot find the visitor's lead for its segments"),
        }
    });
}

/// The visitor's page is open; `active`: the person did something since the last beat.
#[utoipa::path(
    post, path = "/track/heartbeat", tag = "tracking", request_body = TrackHeartbeat, security(("project_key" = []), ("project_key_query" = [])),
    responses(
        (status = 200, description = "Committed; a `presence` live event follows", body = TrackAccepted),
        (status = 401, description = "`invalid_key`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `visitor_id`, `session_id`, `url` or `title`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`busy`, with `Retry-After`", body = ErrorBody),
    )
)]
async fn heartbeat(
    State(state): State<AppState>,
    client: ClientAddr,
    key: ProjectKey,
    TrackBody(body): TrackBody,
) -> Result<Json<TrackAccepted>, ApiError> {
    let (project, request): (_, TrackHeartbeat) = authorized(&state, client, &key, body).await?;
    check_client_id(&request.visitor_id, "visitor_id").map_err(invalid)?;
    check_client_id(&request.session_id, "session_id").map_err(invalid)?;
    check_url(&request.url, "url").map_err(invalid)?;
    if let Some(title) = &request.title {
        check_title(title, "title").map_err(invalid)?;
    }
    let kind = TrackKind::Heartbeat {
        session_key: request.session_id,
        url: request.url,
        title: request.title.filter(|t| !t.is_empty()),
        active: request.active,
    };
    let now = state.clock.now();
    submit(&state, TrackWrite { project_id: project.id, visitor_id: request.visitor_id, received_at: now, kind }).await
}

/// The visitor is the site's user `user_id` (signed by `user_hash`): its history joins that
/// user's lead, and the property operations apply to it.
#[utoipa::path(
    post, path = "/track/identify", tag = "tracking", request_body = TrackIdentify, security(("project_key" = []), ("project_key_query" = [])),
    responses(
        (status = 200, description = "Committed", body = TrackAccepted),
        (status = 401, description = "`invalid_key`, or `invalid_user_hash` (nothing changed)", body = ErrorBody),
        (status = 422, description = "`invalid` (`visitor_id`, `user_id`, `properties[i]...`) or `invalid_property`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
        (status = 503, description = "`busy`, with `Retry-After`", body = ErrorBody),
    )
)]
async fn identify(
    State(state): State<AppState>,
    client: ClientAddr,
    key: ProjectKey,
    TrackBody(body): TrackBody,
) -> Result<Json<TrackAccepted>, ApiError> {
    let (project, request): (_, TrackIdentify) = authorized(&state, client, &key, body).await?;
    check_client_id(&request.visitor_id, "visitor_id").map_err(invalid)?;
    let user_id = check_user_id(&request.user_id).map_err(invalid)?.to_owned();
    if !verify_user_hash(&project.secret_key, &request.user_id, &request.user_hash) {
        return Err(ApiError::InvalidUserHash);
    }
    check_operator_batch(&request.properties).map_err(|e| ApiError::InvalidProperty {
        field: if e.name.is_empty() { "properties".to_owned() } else { e.name },
        message: e.error.message(),
    })?;
    let cause = Cause::Other(Message::new(k::REASON_IDENTIFIED).arg("user_id", &user_id));
    let kind = TrackKind::Identify { user_id, operations: request.properties };
    let now = state.clock.now();
    let visitor_id = request.visitor_id.clone();
    let accepted =
        submit(&state, TrackWrite { project_id: project.id, visitor_id: request.visitor_id, received_at: now, kind })
            .await?;
    // The user's properties (and a merged history) may move the lead into or out of segments.
    recompute_visitor_lead(&state, project.id, visitor_id, cause);
    Ok(accepted)
}

/// Any origin, no credentials, `Retry-After` readable; preflights cached for a day.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE, HeaderName::from_static("x-leadcard-key")])
        // The widget waits as long as a 429 or 503 says.
        .expose_headers([header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// Preflights are answered by the CORS layer; this only gives OPTIONS a route to be layered on
/// (the API's method-not-allowed fallback is not).
pub(super) async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(heartbeat))
        .routes(routes!(identify))
        .route("/track/events", options(preflight))
        .route("/track/heartbeat", options(preflight))
        .route("/track/identify", options(preflight))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors())
}
