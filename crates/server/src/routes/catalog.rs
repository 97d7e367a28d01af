//! Property names and tags in use, for the filter builder.

use axum::Json;
use axum::extract::State;
use leadcard_core::wire::{ErrorBody, PropertyInfo, TagInfo};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;

/// System properties in the card's order, then the custom names in use, by name.
#[utoipa::path(
    get, path = "/properties", tag = "catalog", security(("session" = [])),
    responses(
        (status = 200, body = Vec<PropertyInfo>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn properties(State(state): State<AppState>) -> Result<Json<Vec<PropertyInfo>>, ApiError> {
    Ok(Json(state.store.property_infos().await?))
}

/// Tags in use, most used first (the 1,000 most used).
#[utoipa::path(
    get, path = "/tags", tag = "catalog", security(("session" = [])),
    responses(
        (status = 200, body = Vec<TagInfo>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn tags(State(state): State<AppState>) -> Result<Json<Vec<TagInfo>>, ApiError> {
    Ok(Json(state.store.tag_infos().await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(properties)).routes(routes!(tags))
}
