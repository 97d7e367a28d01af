//! Bulk actions over a selection of leads: `POST /leads/bulk` starts one as a job (202), and
//! `POST /leads/bulk/count` says how many leads a selection holds (what a removal is confirmed by).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use leadcard_core::bulk::{BulkAction, BulkCount, BulkRequest, BulkSelection, confirms_bulk_removal, grouped};
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::{ErrorBody, Job, JobKind, Total};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{parse_filter, parse_search, segments_for, within_segment};
use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::jobs::{Jobs, spawn};
use crate::store::ExportScope;

/// The leads a selection holds now, in id order.
async fn selected(state: &AppState, selection: &BulkSelection) -> Result<Vec<i64>, ApiError> {
    let ids = selection.checked_ids()?;
    let raw_filter = selection.filter.as_ref().map(|f| f.to_query());
    let saved = segments_for(state, raw_filter.as_deref()).await?;
    let filter = parse_filter(raw_filter.as_deref(), &saved).map_err(|e| within("selection", e))?;
    let segment = selection.segment.map(|s| s.to_string());
    let filter = within_segment(state, segment.as_deref(), filter).await.map_err(|e| within("selection", e))?;
    let search = parse_search(Some(&selection.q)).map_err(|e| within("selection", e))?;
    let scope = ExportScope { filter, search, ids };
    Ok(state.store.selection_ids(&scope, state.clock.now()).await?)
}

/// The error with its field named inside `prefix` (`filter.all[0]` -> `selection.filter.all[0]`).
fn within(prefix: &str, error: ApiError) -> ApiError {
    match error {
        ApiError::Invalid { field, message } => ApiError::Invalid {
            field: Some(field.map_or_else(|| prefix.to_owned(), |f| format!("{prefix}.{f}"))),
            message,
        },
        ApiError::InvalidFilter(mut e) => {
            e.field = format!("{prefix}.{}", e.field);
            ApiError::InvalidFilter(e)
        }
        other => other,
    }
}

/// How many leads the selection holds now (exact): the number a removal is confirmed with.
#[utoipa::path(
    post, path = "/leads/bulk/count", tag = "leads", security(("session" = [])), request_body = BulkCount,
    responses(
        (status = 200, body = Total),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid` or `invalid_filter` naming the field inside `selection`"),
    )
)]
async fn count(State(state): State<AppState>, ApiJson(body): ApiJson<BulkCount>) -> Result<Json<Total>, ApiError> {
    let ids = selected(&state, &body.selection).await?;
    Ok(Json(Total { count: ids.len() as u64, exact: true }))
}

/// Starts a bulk action as a job and answers at once with it (202): the leads the selection holds
/// now go through the action 500 a transaction; each changed lead gets its segments recomputed
/// and a live update, as a single edit would; the job reports its progress live
/// (`job_changed`), can be cancelled between batches (`POST /jobs/{id}/cancel`) and records who
/// did what to how many leads, with which selection. A removal needs `confirm`: the number of
/// leads the selection holds (`POST /leads/bulk/count`).
#[utoipa::path(
    post, path = "/leads/bulk", tag = "leads", security(("session" = [])), request_body = BulkRequest,
    responses(
        (status = 202, description = "Started; the job now", body = Job),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid`, `invalid_filter` or `invalid_property`: \
            the field inside `selection` or `action` (`action.tag`, the property's name, `action.confirm`: not \
            the number of leads; `selection`: no lead selected)"),
    )
)]
async fn start(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiJson(body): ApiJson<BulkRequest>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let action = body.action.check().map_err(|e| {
        if e.field.starts_with("action") {
            ApiError::from(e)
        } else {
            ApiError::InvalidProperty { field: e.field, message: e.message }
        }
    })?;
    let ids = selected(&state, &body.selection).await?;
    let count = ids.len() as u64;
    if ids.is_empty() {
        return Err(ApiError::invalid("selection", k::ERROR_BULK_NOTHING));
    }
    if let BulkAction::Remove { confirm } = &body.action
        && !confirms_bulk_removal(confirm, count)
    {
        return Err(ApiError::invalid(
            "action.confirm",
            Message::count(k::ERROR_BULK_CONFIRM, count).arg("grouped", grouped(count)),
        ));
    }
    let params = serde_json::json!({ "selection": body.selection, "action": body.action.recorded() });
    let handle = Jobs::of(&state)
        .start(JobKind::Bulk, Some(&session.operator), action.summary(count), params, Some(count))
        .await?;
    let job = state.store.job(handle.id()).await?.ok_or_else(|| ApiError::Internal("a new job vanished".to_owned()))?;
    spawn(handle.clone(), crate::bulk::run(state.clone(), handle, ids, action));
    Ok((StatusCode::ACCEPTED, Json(job)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start)).routes(routes!(count))
}
