//! The signed-in operator's pinned properties (`GET`/`PUT /pins`), the same on every card.

use axum::extract::State;
use axum::{Extension, Json};
use leadcard_core::pin::parse_pins;
use leadcard_core::wire::{ErrorBody, Pins};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::ApiJson;

/// The signed-in operator's pinned property names, in pin order.
#[utoipa::path(
    get, path = "/pins", tag = "pins", security(("session" = [])),
    responses(
        (status = 200, body = Pins),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn get_pins(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Result<Json<Pins>, ApiError> {
    Ok(Json(Pins { names: state.store.pins(session.operator.id).await? }))
}

/// Replaces the signed-in operator's pins: at most 20 property names, in pin order (a name
/// given twice keeps its first place).
#[utoipa::path(
    put, path = "/pins", tag = "pins", security(("session" = [])), request_body = Pins,
    responses(
        (status = 200, description = "The pins as stored", body = Pins),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid`: field `names` (more than 20) or `names[i]` (not a property name)"),
    )
)]
async fn put_pins(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiJson(body): ApiJson<Pins>,
) -> Result<Json<Pins>, ApiError> {
    let names = parse_pins(&body.names).map_err(|e| ApiError::invalid(e.field(), e.message()))?;
    Ok(Json(Pins { names: state.store.set_pins(session.operator.id, &names).await? }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_pins, put_pins))
}
