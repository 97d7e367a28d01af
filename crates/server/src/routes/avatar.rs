//! `GET /leads/{id}/avatar`: the lead's `$avatar` picture, fetched by the server (see
//! `crate::avatar`), so the console shows it from our origin.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use leadcard_core::locale::k;
use leadcard_core::wire::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::error::ApiError;

/// The picture of the lead's `$avatar` address. Browsers keep it for an hour; the page adds the
/// address's hash to the URL, so a changed avatar is fetched anew.
#[utoipa::path(
    get, path = "/leads/{id}/avatar", tag = "leads", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, description = "The picture (PNG, JPEG, GIF, WebP or AVIF)", content_type = "image/*"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`not_found`: no such lead, no avatar, or the avatar \
            cannot be shown (not http(s), not a public address, unreachable, over 2 MB, not a picture: the \
            message says which)"),
    )
)]
async fn avatar(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = lead_id(&id)?;
    let url = state.store.lead_avatar_url(id).await?.ok_or(LEAD_NOT_FOUND)?;
    let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
        return Err(ApiError::NotFound(k::ERROR_AVATAR_NONE));
    };
    match state.avatars.picture(&url).await {
        Ok(picture) => Ok((
            [
                (header::CONTENT_TYPE, picture.content_type),
                (header::CACHE_CONTROL, "private, max-age=3600"),
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
            ],
            picture.bytes,
        )
            .into_response()),
        Err(refused) => {
            tracing::info!(lead_id = id, %refused, "avatar not shown");
            Err(ApiError::NotFoundBecause { field: "$avatar", message: refused.message() })
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(avatar))
}
