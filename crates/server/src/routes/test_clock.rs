//! `POST /test/clock`: moves the server's clock. Mounted only in test mode (`LEADCARD_TEST_MODE`).

use axum::Json;
use axum::extract::State;
use leadcard_core::locale::k;
use leadcard_core::tracking::{ClockAdvance, ClockNow};
use leadcard_core::wire::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;

/// Farthest one call may move the clock: a year.
const MAX_ADVANCE_MS: i64 = 366 * 24 * 3600 * 1000;

/// Moves the server's clock (test mode only; absent otherwise).
#[utoipa::path(
    post, path = "/test/clock", tag = "test", request_body = ClockAdvance,
    responses(
        (status = 200, body = ClockNow),
        (status = 422, description = "`invalid`, field `advance_ms`", body = ErrorBody),
    )
)]
async fn advance_clock(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ClockAdvance>,
) -> Result<Json<ClockNow>, ApiError> {
    if body.advance_ms.abs() > MAX_ADVANCE_MS {
        return Err(ApiError::invalid("advance_ms", k::ERROR_CLOCK_TOO_FAR));
    }
    state.clock.advance(chrono::Duration::milliseconds(body.advance_ms));
    tracing::info!(advance_ms = body.advance_ms, offset_ms = state.clock.offset_ms(), "test clock moved");
    Ok(Json(ClockNow { now: state.clock.now(), offset_ms: state.clock.offset_ms() }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(advance_clock))
}
