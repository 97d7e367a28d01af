//! Tagging a lead by hand: add and remove; each change moves the card's version on.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use leadcard_core::tag::parse_tag;
use leadcard_core::wire::{ErrorBody, NewTag};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::error::{ApiError, etag};
use crate::extract::ApiJson;
use crate::segments::{Cause, recompute_lead_logged};
use crate::store::Written;
use leadcard_core::LiveEvent;

/// The lead's tags and its new version (as the ETag, for the next If-Match).
fn tags_response(written: Written<(Vec<String>, i64)>) -> Result<impl IntoResponse, ApiError> {
    match written {
        Written::Done((tags, version)) => Ok(([(header::ETAG, etag(version))], Json(tags))),
        Written::NotApplied => Err(LEAD_NOT_FOUND),
    }
}

/// Recomputes the lead's segments (recording why it entered or left any) and announces it.
async fn announce<T>(state: &AppState, lead_id: i64, written: &Written<T>, cause: Cause) {
    if matches!(written, Written::Done(_)) {
        recompute_lead_logged(state, lead_id, cause).await;
        state.live.publish(LiveEvent::LeadChanged { lead_id }).await;
    }
}

/// Adds a tag (trimmed, 1 to 64 characters, one line); adding one the lead has changes nothing
/// but its version.
#[utoipa::path(
    post, path = "/leads/{id}/tags", tag = "leads", security(("session" = [])), request_body = NewTag,
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, description = "The lead's tags, sorted", body = Vec<String>,
            headers(("ETag" = String, description = "The card's new version, `\"<version>\"`"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `tag`", body = ErrorBody),
    )
)]
async fn add_tag(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewTag>,
) -> Result<impl IntoResponse, ApiError> {
    let id = lead_id(&id)?;
    let tag = parse_tag(&body.tag).map_err(|e| ApiError::invalid("tag", e.tag_message()))?;
    let written = state.store.add_tag(id, &tag, state.clock.now()).await?;
    announce(&state, id, &written, Cause::TagAdded(tag.clone())).await;
    tags_response(written)
}

/// Removes a tag (URL-encoded in the path); removing one the lead does not have is no error.
#[utoipa::path(
    delete, path = "/leads/{id}/tags/{tag}", tag = "leads", security(("session" = [])),
    params(
        ("id" = i64, Path, description = "The lead's id"),
        ("tag" = String, Path, description = "The tag, URL-encoded"),
    ),
    responses(
        (status = 200, description = "The lead's tags, sorted", body = Vec<String>,
            headers(("ETag" = String, description = "The card's new version, `\"<version>\"`"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn remove_tag(
    State(state): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = lead_id(&id)?;
    let written = state.store.remove_tag(id, tag.trim(), state.clock.now()).await?;
    announce(&state, id, &written, Cause::TagRemoved(tag.trim().to_owned())).await;
    tags_response(written)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_tag)).routes(routes!(remove_tag))
}
