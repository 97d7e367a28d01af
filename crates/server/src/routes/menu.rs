//! The card menu's actions: unsubscribe the address, send the Double Opt-In mail again, hide the
//! lead from Visitors, and remove it completely.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use leadcard_core::LiveEvent;
use leadcard_core::locale::k;
use leadcard_core::mail::{MenuRefusal, RemoveLead};
use leadcard_core::wire::{ErrorBody, Subscription};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::mail::announce;
use crate::store::{MenuDone, Removal};

async fn menu_answer(
    state: &AppState,
    outcome: Option<Result<MenuDone, MenuRefusal>>,
) -> Result<Json<Subscription>, ApiError> {
    match outcome.ok_or(LEAD_NOT_FOUND)? {
        Ok(MenuDone { change, subscription }) => {
            if let Some(change) = change {
                announce(&state.live, &change).await;
            }
            Ok(Json(subscription))
        }
        // The core's reasons are written to follow "because"; a message is a sentence.
        Err(refusal) => Err(ApiError::Refused(refusal.message().sentence())),
    }
}

/// *Unsubscribe from emails*: the lead's address becomes Unsubscribed, on every card that has
/// it. An address already unsubscribed stays as it is (200, no change).
#[utoipa::path(
    post, path = "/leads/{id}/unsubscribe", tag = "email", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, description = "The card's subscription now", body = Subscription),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`refused`: no address, invalid, or hard-bounced (the reason)", body = ErrorBody),
    )
)]
async fn unsubscribe(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Subscription>, ApiError> {
    let id = lead_id(&id)?;
    let outcome = state.store.unsubscribe_lead(id, state.clock.now()).await?;
    menu_answer(&state, outcome).await
}

/// *Send subscription confirmation*: queues the Double Opt-In mail for the lead's address.
#[utoipa::path(
    post, path = "/leads/{id}/confirmation", tag = "email", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, description = "Queued; the card's subscription now", body = Subscription),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "`refused`: Double Opt-In is off, or the status does not allow it (the reason)"),
    )
)]
async fn confirmation(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Subscription>, ApiError> {
    let id = lead_id(&id)?;
    let outcome = state.store.resend_confirmation(id, state.clock.now()).await?;
    menu_answer(&state, outcome).await
}

/// *Hide*: the lead leaves Visitors until its next activity.
#[utoipa::path(
    post, path = "/leads/{id}/hide", tag = "email", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 204, description = "Hidden"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn hide(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = lead_id(&id)?;
    if !state.store.hide_lead(id, state.clock.now()).await? {
        return Err(LEAD_NOT_FOUND);
    }
    state.live.publish(LiveEvent::LeadChanged { lead_id: id }).await;
    Ok(StatusCode::NO_CONTENT)
}

/// *Remove completely*: erases the lead and everything of it in one transaction. `confirm` must
/// be the lead's name or email (any case), or `Lead #<id>` for a lead with neither.
#[utoipa::path(
    delete, path = "/leads/{id}", tag = "email", security(("session" = [])), request_body = RemoveLead,
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 204, description = "Removed; the card's link now answers 404"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `confirm`: not the lead's name or email", body = ErrorBody),
    )
)]
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RemoveLead>,
) -> Result<StatusCode, ApiError> {
    let id = lead_id(&id)?;
    match state.store.remove_lead(id, &body.confirm, state.clock.now()).await? {
        Removal::Removed { .. } => {
            state.live.publish(LiveEvent::LeadRemoved { lead_id: id }).await;
            Ok(StatusCode::NO_CONTENT)
        }
        Removal::NotConfirmed => Err(ApiError::invalid("confirm", k::ERROR_REMOVE_CONFIRM)),
        Removal::NotFound => Err(LEAD_NOT_FOUND),
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(unsubscribe))
        .routes(routes!(confirmation))
        .routes(routes!(hide))
        .routes(routes!(remove))
}
