//! Segments: saved filters (list, create, read, redefine, delete), the live count while one is
//! edited, and per lead the segments it matches now, its facts and its timeline of entries and exits.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use leadcard_core::locale::{Message, k};
use leadcard_core::segment::parse_segment_name;
use leadcard_core::wire::ErrorBody;
use leadcard_core::{
    CountRequest, Filter, LeadFacts, NewSegment, Segment, SegmentCount, SegmentError, SegmentHistoryEntry, SegmentRef,
    ValidFilter, depending_on, matching_segments, referring_to,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, page_size};
use crate::segments::{checked, lead_facts, rebuild_soon};
use crate::store::StoreError;

/// The live count is exact up to this many leads.
pub const COUNT_CAP: i64 = 100_000;

const SEGMENT_NOT_FOUND: ApiError = ApiError::NotFound(k::ERROR_SEGMENT_NOT_FOUND);

/// `NewSegment` with the filter still raw JSON, so that a shape error in it names its field.
#[derive(Deserialize)]
struct RawSegment {
    name: String,
    filter: serde_json::Value,
}

#[derive(Deserialize)]
struct RawCount {
    filter: serde_json::Value,
}

fn segment_error(e: SegmentError) -> ApiError {
    if e.field == "name" {
        ApiError::invalid("name", e.message)
    } else {
        ApiError::InvalidFilter(leadcard_core::FilterError { index: 0, field: e.field, message: e.message })
    }
}

/// The name and the filter, checked against the `saved` segments (`own`: the one redefined):
/// 422 naming the field otherwise.
fn parse_segment(
    raw: RawSegment,
    saved: &[Segment],
    own: Option<i64>,
) -> Result<(String, Filter, ValidFilter), ApiError> {
    // The name's refusal as a sentence of its own ("The segment needs a name.").
    parse_segment_name(&raw.name).map_err(|e| ApiError::invalid("name", e.sentence()))?;
    let filter = Filter::from_json(raw.filter)?;
    let (name, valid) =
        NewSegment { name: raw.name, filter: filter.clone() }.check(saved, own).map_err(segment_error)?;
    Ok((name, filter, valid))
}

fn duplicate(e: StoreError) -> ApiError {
    match e {
        StoreError::Duplicate(_) => {
            ApiError::Duplicate { field: "name".to_owned(), message: k::ERROR_SEGMENT_DUPLICATE.into() }
        }
        other => other.into(),
    }
}

/// Every segment, by name.
#[utoipa::path(
    get, path = "/segments", tag = "segments", security(("session" = [])),
    responses(
        (status = 200, body = Vec<Segment>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn list_segments(State(state): State<AppState>) -> Result<Json<Vec<Segment>>, ApiError> {
    Ok(Json(state.store.segments().await?))
}

/// Creates a segment; its members are filled in the background, with no timeline entries.
#[utoipa::path(
    post, path = "/segments", tag = "segments", security(("session" = [])), request_body = NewSegment,
    responses(
        (status = 201, body = Segment),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 409, description = "`duplicate`, field `name`", body = ErrorBody),
        (status = 422, description = "`invalid` (field `name`) or `invalid_filter` (field `filter...`)", body = ErrorBody),
    )
)]
async fn create_segment(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiJson(body): ApiJson<RawSegment>,
) -> Result<(StatusCode, Json<Segment>), ApiError> {
    let (name, filter, _) = parse_segment(body, &state.store.segments().await?, None)?;
    let segment =
        state.store.create_segment(&name, &filter, session.operator.id, state.clock.now()).await.map_err(duplicate)?;
    rebuild_soon(&state);
    Ok((StatusCode::CREATED, Json(segment)))
}

#[utoipa::path(
    get, path = "/segments/{id}", tag = "segments", security(("session" = [])),
    params(("id" = i64, Path, description = "The segment's id")),
    responses(
        (status = 200, body = Segment),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn get_segment(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Segment>, ApiError> {
    let id = segment_id(&id)?;
    state.store.segment(id).await?.map(Json).ok_or(SEGMENT_NOT_FOUND)
}

/// Renames and redefines a segment. Its members, and those of the segments that refer to it, are
/// recomputed in the background; each lead that enters or leaves gets the timeline entry "segment
/// definition changed". A definition that refers back to the segment (a cycle) is refused.
#[utoipa::path(
    put, path = "/segments/{id}", tag = "segments", security(("session" = [])), request_body = NewSegment,
    params(("id" = i64, Path, description = "The segment's id")),
    responses(
        (status = 200, body = Segment),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`duplicate`, field `name`", body = ErrorBody),
        (status = 422, description = "`invalid` (field `name`) or `invalid_filter` (field `filter...`)", body = ErrorBody),
    )
)]
async fn update_segment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RawSegment>,
) -> Result<Json<Segment>, ApiError> {
    let id = segment_id(&id)?;
    let saved = state.store.segments().await?;
    if !saved.iter().any(|s| s.id == id) {
        return Err(SEGMENT_NOT_FOUND);
    }
    let (name, filter, _) = parse_segment(body, &saved, Some(id))?;
    let now = state.clock.now();
    let segment =
        state.store.update_segment(id, &name, &filter, now).await.map_err(duplicate)?.ok_or(SEGMENT_NOT_FOUND)?;
    state.store.redefined_through(&depending_on(&saved, id), now).await?;
    rebuild_soon(&state);
    Ok(Json(segment))
}

/// Deletes a segment; the timeline entries it caused stay, with its name. A segment that another
/// segment's conditions name stays until that condition is removed.
#[utoipa::path(
    delete, path = "/segments/{id}", tag = "segments", security(("session" = [])),
    params(("id" = i64, Path, description = "The segment's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`refused`: another segment refers to it", body = ErrorBody),
    )
)]
async fn delete_segment(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = segment_id(&id)?;
    let saved = state.store.segments().await?;
    let users: Vec<String> = referring_to(&saved, id).iter().map(|s| format!("\"{}\"", s.name)).collect();
    if !users.is_empty() {
        return Err(ApiError::Refused(Message::new(k::ERROR_SEGMENT_USED).arg("names", users.join(", "))));
    }
    if state.store.delete_segment(id).await? { Ok(StatusCode::NO_CONTENT) } else { Err(SEGMENT_NOT_FOUND) }
}

/// How many leads match a filter now: the live count while a segment is edited. Exact up to
/// 100,000; above, `{count: 100000, exact: false}`.
#[utoipa::path(
    post, path = "/segments/count", tag = "segments", security(("session" = [])), request_body = CountRequest,
    responses(
        (status = 200, body = SegmentCount),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 422, description = "`invalid_filter`, field `filter...`", body = ErrorBody),
    )
)]
async fn count(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RawCount>,
) -> Result<Json<SegmentCount>, ApiError> {
    let filter = Filter::from_json(body.filter)?;
    let filter = filter.check_with(&state.store.segments().await?, None)?;
    Ok(Json(state.store.count_matching(&filter, COUNT_CAP, state.clock.now()).await?))
}

/// The segments the lead matches now (the core evaluator over the lead's facts), by name.
#[utoipa::path(
    get, path = "/leads/{id}/segments", tag = "segments", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, body = Vec<SegmentRef>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn lead_segments(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<SegmentRef>>, ApiError> {
    let id = lead_id(&id)?;
    let now = state.clock.now();
    let segments = checked(&state.store.segments().await?);
    let facts = lead_facts(&state.store, id, now).await?.ok_or(LEAD_NOT_FOUND)?;
    Ok(Json(matching_segments(&segments, &facts, now)))
}

/// What the page's evaluator needs of a lead: properties, tags, subscription, presence inputs,
/// and the events that segments count (times from the start of the longest window).
#[utoipa::path(
    get, path = "/leads/{id}/facts", tag = "segments", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, body = LeadFacts),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn facts(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<LeadFacts>, ApiError> {
    let id = lead_id(&id)?;
    lead_facts(&state.store, id, state.clock.now()).await?.map(Json).ok_or(LEAD_NOT_FOUND)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// Entries older than this entry id (the next page).
    #[param(value_type = Option<i64>)]
    before: Option<String>,
    /// 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

/// The lead's entries into and exits from segments, with why, newest first.
#[utoipa::path(
    get, path = "/leads/{id}/segment-history", tag = "segments", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id"), HistoryParams),
    responses(
        (status = 200, body = Vec<SegmentHistoryEntry>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `before` or `limit`", body = ErrorBody),
    )
)]
async fn segment_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<Vec<SegmentHistoryEntry>>, ApiError> {
    let id = lead_id(&id)?;
    let before = match params.before.as_deref().filter(|b| !b.is_empty()) {
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| ApiError::invalid("before", k::ERROR_ENTRY_ID))?),
        None => None,
    };
    let limit = page_size(params.limit.as_deref(), 200, 50)?;
    state.store.segment_history(id, before, limit).await?.map(Json).ok_or(LEAD_NOT_FOUND)
}

/// A segment id from the path; one that is not a number names no segment.
fn segment_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| SEGMENT_NOT_FOUND)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_segments, create_segment))
        .routes(routes!(count))
        .routes(routes!(get_segment, update_segment, delete_segment))
        .routes(routes!(lead_segments))
        .routes(routes!(facts))
        .routes(routes!(segment_history))
}
