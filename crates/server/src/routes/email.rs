//! The project's email settings (Double Opt-In, soft-bounce rules), campaigns and the outbox.

use axum::extract::State;
use axum::{Extension, Json};
use leadcard_core::locale::k;
use leadcard_core::mail::{CampaignQueued, EmailSettingsBody, NewCampaign, OutboxPage, OutboxStatus};
use leadcard_core::wire::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, cursor_id, page_size};

/// The project's email settings (any operator may read them).
#[utoipa::path(
    get, path = "/settings/email", tag = "email", security(("session" = [])),
    responses(
        (status = 200, body = EmailSettingsBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn get_settings(State(state): State<AppState>) -> Result<Json<EmailSettingsBody>, ApiError> {
    Ok(Json(EmailSettingsBody::from(&state.store.email_settings().await?)))
}

/// Changes the project's email settings (admins only). Turning Double Opt-In on affects
/// addresses seen from then on; addresses already known keep their status.
#[utoipa::path(
    put, path = "/settings/email", tag = "email", security(("session" = [])), request_body = EmailSettingsBody,
    responses(
        (status = 200, description = "The settings now", body = EmailSettingsBody),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden` (not an admin) or `csrf`", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid`, field `soft_bounce_cool_down_hours` or `soft_bounces_to_hard` (or a missing field)"),
    )
)]
async fn put_settings(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiJson(body): ApiJson<EmailSettingsBody>,
) -> Result<Json<EmailSettingsBody>, ApiError> {
    session.require_admin()?;
    let settings = body.check()?;
    Ok(Json(EmailSettingsBody::from(&state.store.set_email_settings(&settings).await?)))
}

/// Sends a campaign (admins only): one plain-text mail to each distinct Subscribed address among
/// the leads the filter matches (every lead without a filter), queued at once. Each mail carries
/// one-click unsubscribe (`List-Unsubscribe`, RFC 8058).
#[utoipa::path(
    post, path = "/campaigns", tag = "email", security(("session" = [])), request_body = NewCampaign,
    responses(
        (status = 200, description = "Queued", body = CampaignQueued),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden` (not an admin) or `csrf`", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid`, field `subject`, `body` or `filter.all[i]...`"),
    )
)]
async fn send_campaign(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiJson(body): ApiJson<NewCampaign>,
) -> Result<Json<CampaignQueued>, ApiError> {
    session.require_admin()?;
    let campaign = body.check()?;
    let filter = serde_json::to_string(&body.filter).map_err(|e| ApiError::Internal(e.to_string()))?;
    let queued = state.store.queue_campaign(&campaign, &filter, session.operator.id, state.clock.now()).await?;
    tracing::info!(campaign = queued.id, recipients = queued.recipients, "campaign queued");
    Ok(Json(queued))
}

/// The outbox page's query, as sent.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OutboxParams {
    /// Only mails in this status: queued, sending, sent, failed or dropped.
    #[param(pattern = "^(queued|sending|sent|failed|dropped)?$")]
    status: Option<String>,
    /// The `next` cursor of the previous page: the last mail's id.
    #[param(pattern = r"^([1-9][0-9]{0,17})?$")]
    after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

/// The outbox (admins only): every mail, newest first, in keyset pages.
#[utoipa::path(
    get, path = "/outbox", tag = "email", params(OutboxParams), security(("session" = [])),
    responses(
        (status = 200, body = OutboxPage),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden` (not an admin)", body = ErrorBody),
        (status = 422, description = "`invalid`, field `status`, `after` or `limit`", body = ErrorBody),
    )
)]
async fn outbox(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiQuery(params): ApiQuery<OutboxParams>,
) -> Result<Json<OutboxPage>, ApiError> {
    session.require_admin()?;
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(OutboxStatus::parse(raw).ok_or_else(|| ApiError::invalid("status", k::ERROR_OUTBOX_STATUS))?),
        None => None,
    };
    let after = cursor_id(params.after.as_deref(), "after", 1)?;
    let limit = page_size(params.limit.as_deref(), MAX_LIMIT, DEFAULT_LIMIT)?;
    Ok(Json(state.store.outbox_page(status, after, limit).await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(send_campaign))
        .routes(routes!(outbox))
}
