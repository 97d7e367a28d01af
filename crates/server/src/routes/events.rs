//! A lead's events on the card: the list (newest first, keyset), the groups by name, adding one
//! by hand, and the pages of its current site session.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use leadcard_core::LiveEvent;
use leadcard_core::locale::k;
use leadcard_core::tracking::{AddEvent, EventGroup, EventPage, LeadEvent, SessionPages};
use leadcard_core::wire::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, page_size};
use crate::segments::{self, Cause};
use crate::store::parse_event_cursor;

pub const DEFAULT_EVENTS: u32 = 50;
pub const MAX_EVENTS: u32 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsParams {
    /// The `next` cursor of the previous page: `<ms>.<event id>`.
    #[param(pattern = r"^(-?[0-9]{1,15}\.[1-9][0-9]{0,17})?$")]
    after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// Only events with this exact name (one group of the Groups tab).
    name: Option<String>,
}

/// A page of the lead's events, newest first.
#[utoipa::path(
    get, path = "/leads/{id}/events", tag = "events", params(("id" = i64, Path, description = "The lead's id"), EventsParams),
    security(("session" = [])),
    responses(
        (status = 200, body = EventPage),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `after`, `limit` or `name`", body = ErrorBody),
    )
)]
async fn list_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<EventsParams>,
) -> Result<Json<EventPage>, ApiError> {
    let id = lead_id(&id)?;
    let after = match params.after.as_deref().filter(|a| !a.is_empty()) {
        Some(raw) => Some(parse_event_cursor(raw).ok_or_else(|| ApiError::invalid("after", k::ERROR_CURSOR))?),
        None => None,
    };
    let limit = page_size(params.limit.as_deref(), MAX_EVENTS, DEFAULT_EVENTS)?;
    let name = params.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > leadcard_core::event::MAX_EVENT_NAME_CHARS) {
        return Err(ApiError::invalid("name", k::ERROR_EVENT_NAME_TOO_LONG));
    }
    state.store.lead_events(id, after, limit, name).await?.map(Json).ok_or(LEAD_NOT_FOUND)
}

/// Adds an event by hand (source `manual`); its time defaults to now.
#[utoipa::path(
    post, path = "/leads/{id}/events", tag = "events", request_body = AddEvent,
    params(("id" = i64, Path, description = "The lead's id")), security(("session" = [])),
    responses(
        (status = 201, body = LeadEvent),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `name`, `properties.<name>`, `properties` or `occurred_at`", body = ErrorBody),
    )
)]
async fn add_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddEvent>,
) -> Result<(StatusCode, Json<LeadEvent>), ApiError> {
    let id = lead_id(&id)?;
    let now = state.clock.now();
    let name = body.check(now).map_err(|e| ApiError::invalid(e.field, e.message))?;
    let at = body.occurred_at.unwrap_or(now);
    let event = state.store.add_manual_event(id, name.as_str(), &body.properties, at).await?.ok_or(LEAD_NOT_FOUND)?;
    segments::recompute_lead_logged(&state, id, Cause::Event(name.as_str().to_owned())).await;
    state.live.publish(LiveEvent::LeadChanged { lead_id: id }).await;
    Ok((StatusCode::CREATED, Json(event)))
}

/// The lead's events grouped by name (count, first, last), the most recent first.
#[utoipa::path(
    get, path = "/leads/{id}/event-groups", tag = "events",
    params(("id" = i64, Path, description = "The lead's id")), security(("session" = [])),
    responses(
        (status = 200, body = Vec<EventGroup>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn event_groups(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventGroup>>, ApiError> {
    let id = lead_id(&id)?;
    state.store.event_groups(id).await?.map(Json).ok_or(LEAD_NOT_FOUND)
}

/// The pages viewed in the lead's current (latest) site session, in order, with time on each.
#[utoipa::path(
    get, path = "/leads/{id}/session-pages", tag = "events",
    params(("id" = i64, Path, description = "The lead's id")), security(("session" = [])),
    responses(
        (status = 200, body = SessionPages),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn session_pages(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<SessionPages>, ApiError> {
    let id = lead_id(&id)?;
    state.store.session_pages(id).await?.map(Json).ok_or(LEAD_NOT_FOUND)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events, add_event))
        .routes(routes!(event_groups))
        .routes(routes!(session_pages))
}
