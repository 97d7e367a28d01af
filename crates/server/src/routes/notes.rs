//! Operators' notes on a lead: list (newest first), add, and edit or delete one's own.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use leadcard_core::locale::k;
use leadcard_core::tag::parse_note;
use leadcard_core::wire::{ErrorBody, NewNote, Note};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::store::{NoteDeletion, NoteEdit};
use leadcard_core::LiveEvent;

const NOTE_NOT_FOUND: ApiError = ApiError::NotFound(k::ERROR_NOTE_NOT_FOUND);

/// The lead's notes, newest first.
#[utoipa::path(
    get, path = "/leads/{id}/notes", tag = "leads", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, body = Vec<Note>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn list_notes(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Vec<Note>>, ApiError> {
    let id = lead_id(&id)?;
    state.store.notes(id).await?.map(Json).ok_or(LEAD_NOT_FOUND)
}

/// Adds a note by the signed-in operator: plain text, trimmed, 1 to 5,000 characters.
#[utoipa::path(
    post, path = "/leads/{id}/notes", tag = "leads", security(("session" = [])), request_body = NewNote,
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 201, body = Note),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `body`", body = ErrorBody),
    )
)]
async fn add_note(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewNote>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let id = lead_id(&id)?;
    let text = parse_note(&body.body).map_err(|e| ApiError::invalid("body", e.note_message()))?;
    let note = state.store.add_note(id, &session.operator, &text, state.clock.now()).await?.ok_or(LEAD_NOT_FOUND)?;
    state.live.publish(LiveEvent::LeadChanged { lead_id: id }).await;
    Ok((StatusCode::CREATED, Json(note)))
}

/// Deletes one of the signed-in operator's own notes.
#[utoipa::path(
    delete, path = "/leads/{id}/notes/{note_id}", tag = "leads", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id"), ("note_id" = i64, Path, description = "The note's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another operator's note, or `csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn delete_note(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path((id, note_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = lead_id(&id)?;
    let note_id = note_id.parse::<i64>().map_err(|_| NOTE_NOT_FOUND)?;
    match state.store.delete_note(id, note_id, session.operator.id).await? {
        NoteDeletion::Deleted => {
            state.live.publish(LiveEvent::LeadChanged { lead_id: id }).await;
            Ok(StatusCode::NO_CONTENT)
        }
        NoteDeletion::NotFound => Err(NOTE_NOT_FOUND),
        NoteDeletion::NotAuthor => Err(ApiError::Forbidden(k::ERROR_NOTE_DELETE_NOT_AUTHOR)),
    }
}

/// Replaces the body of one of the signed-in operator's own notes (checked as a new note's); the
/// note then carries `edited_at`.
#[utoipa::path(
    patch, path = "/leads/{id}/notes/{note_id}", tag = "leads", security(("session" = [])), request_body = NewNote,
    params(("id" = i64, Path, description = "The lead's id"), ("note_id" = i64, Path, description = "The note's id")),
    responses(
        (status = 200, body = Note),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: another operator's note, or `csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `body`", body = ErrorBody),
    )
)]
async fn edit_note(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path((id, note_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<NewNote>,
) -> Result<Json<Note>, ApiError> {
    let id = lead_id(&id)?;
    let note_id = note_id.parse::<i64>().map_err(|_| NOTE_NOT_FOUND)?;
    let text = parse_note(&body.body).map_err(|e| ApiError::invalid("body", e.note_message()))?;
    match state.store.edit_note(id, note_id, session.operator.id, &text, state.clock.now()).await? {
        NoteEdit::Edited(note) => {
            state.live.publish(LiveEvent::LeadChanged { lead_id: id }).await;
            Ok(Json(note))
        }
        NoteEdit::NotFound => Err(NOTE_NOT_FOUND),
        NoteEdit::NotAuthor => Err(ApiError::Forbidden(k::ERROR_NOTE_EDIT_NOT_AUTHOR)),
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_notes, add_note)).routes(routes!(edit_note, delete_note))
}
