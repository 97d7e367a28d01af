//! Leads that come in by an operator's hand: `POST /leads` creates one from its properties and
//! tags, with the card's checks, and refuses a second card for a user id or address.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use leadcard_core::intake::{NewLeadBody, check_new_lead};
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::{ErrorBody, LeadCard};
use leadcard_core::{FieldError, LiveEvent};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::API_BASE;
use crate::app::AppState;
use crate::error::{ApiError, etag};
use crate::extract::ApiJson;
use crate::segments::{Cause, recompute_lead_logged};
use crate::store::{Clash, NewLead};

/// A refusal of the core checks: one naming a property of the body is `invalid_property` (as the
/// card's are), others (`properties`, `tags[i]`) are `invalid`.
fn refusal(body: &NewLeadBody, error: FieldError) -> ApiError {
    if body.properties.iter().any(|p| p.name.trim() == error.field) {
        ApiError::InvalidProperty { field: error.field, message: error.message }
    } else {
        ApiError::invalid(error.field, error.message)
    }
}

/// Adds a lead by hand. Blank text values are left out; at least one of `$name`, `$email`,
/// `$phone` or `$user_id` is needed. The address gets its status by the usual rules (Subscribed;
/// Waiting for confirmation with Double Opt-In, which queues the mail; Invalid email).
#[utoipa::path(
    post, path = "/leads", tag = "leads", security(("session" = [])), request_body = NewLeadBody,
    responses(
        (status = 201, description = "Created: the new card", body = LeadCard,
            headers(("ETag" = String, description = "`\"<version>\"`"), ("Location" = String, description = "The card"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "`duplicate`: a lead already has this user id (field `$user_id`) or address (field `$email`)"),
        (status = 422, body = ErrorBody,
            description = "`invalid_property` (field: the property's name) or `invalid` (`properties`, `tags[i]`, or where the body's shape is wrong)"),
    )
)]
async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewLeadBody>,
) -> Result<impl IntoResponse, ApiError> {
    let checked = check_new_lead(&body).map_err(|e| refusal(&body, e))?;
    let now = state.clock.now();
    let lead = NewLead {
        created_at: now,
        properties: checked.properties,
        tags: checked.tags,
        last_heartbeat: None,
        last_active: None,
        events: Vec::new(),
    };
    let card = match state.store.create_lead_by_hand(&lead, now).await? {
        Ok(card) => card,
        Err(Clash::UserId(id)) => {
            return Err(ApiError::Duplicate {
                field: "$user_id".to_owned(),
                message: Message::new(k::ERROR_LEAD_USER_ID_TAKEN).arg("id", id),
            });
        }
        Err(Clash::Email(id)) => {
            return Err(ApiError::Duplicate {
                field: "$email".to_owned(),
                message: Message::new(k::ERROR_LEAD_EMAIL_TAKEN).arg("id", id),
            });
        }
    };
    let changes = lead.properties.iter().map(|(name, value)| (name.as_str().to_owned(), Some(value.clone()))).collect();
    recompute_lead_logged(&state, card.id, Cause::Properties(changes)).await;
    state.live.publish(LiveEvent::LeadChanged { lead_id: card.id }).await;
    let location = format!("{API_BASE}/leads/{}", card.id);
    Ok((
        StatusCode::CREATED,
        [(header::ETAG, etag(card.version).to_str().unwrap_or_default().to_owned()), (header::LOCATION, location)],
        Json(card),
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create))
}
