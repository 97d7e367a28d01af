//! Signing in and out, and who is signed in.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use leadcard_core::locale::k;
use leadcard_core::wire::{ErrorBody, Operator, SignIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::password::{MAX_PASSWORD_CHARS, verify_password};
use crate::auth::{CurrentSession, token};
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::extract::ApiJson;

/// Sign in with email and password. Sets the session cookie; a new token every time.
#[utoipa::path(
    post, path = "/session", tag = "session", request_body = SignIn,
    responses(
        (status = 200, description = "Signed in; `Set-Cookie: leadcard_session=...`", body = Operator),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 422, description = "`invalid`: empty email or password", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    )
)]
async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<impl IntoResponse, ApiError> {
    let email = body.email.trim().to_owned();
    if email.is_empty() {
        return Err(ApiError::invalid("email", k::ERROR_SIGN_IN_EMAIL));
    }
    if body.password.is_empty() {
        return Err(ApiError::invalid("password", k::ERROR_SIGN_IN_PASSWORD));
    }
    state.sign_in_limiter.check(client, &email).map_err(|wait| ApiError::RateLimited {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    })?;
    if body.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::InvalidCredentials);
    }

    // A disabled operator, or one whose set-password link is unused, has no password to match.
    let found = state.store.operator_by_email(&email).await?.filter(|f| !f.disabled && !f.password_hash.is_empty());
    let stored_hash = found.as_ref().map(|f| f.password_hash.clone());
    let password = body.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, stored_hash.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(format!("password check failed: {e}")))?;
    let operator = match found {
        Some(found) if matches => found.operator,
        _ => return Err(ApiError::InvalidCredentials),
    };

    // Rotation: the session this browser had, if any, ends; the new one gets a fresh token.
    if let Some(old) = state.sessions.cookie_in(&headers).and_then(token::token_hash) {
        state.store.delete_session(&old).await?;
        state.stream_sessions.end(&old);
    }
    let (cookie_token, token_hash) =
        token::new_token().map_err(|e| ApiError::Internal(format!("no randomness for a token: {e}")))?;
    let now = state.clock.now();
    let agent = super::accounts::user_agent(&headers);
    state.store.create_session(&token_hash, operator.id, &agent, now, now + state.sessions.absolute).await?;
    tracing::info!(operator = operator.id, "signed in");
    Ok(([(header::SET_COOKIE, state.sessions.cookie(&cookie_token))], Json(operator)))
}

/// Sign out: the session ends on the server and the cookie is cleared.
#[utoipa::path(
    delete, path = "/session", tag = "session", security(("session" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
    )
)]
async fn sign_out(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Result<impl IntoResponse, ApiError> {
    state.store.delete_session(&session.token_hash).await?;
    state.stream_sessions.end(&session.token_hash);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, state.sessions.clearing_cookie())]))
}

/// The signed-in operator.
#[utoipa::path(
    get, path = "/me", tag = "session", security(("session" = [])),
    responses(
        (status = 200, body = Operator),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn me(Extension(session): Extension<CurrentSession>) -> Json<Operator> {
    Json(session.operator)
}

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_in))
}

pub fn operator_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_out)).routes(routes!(me))
}
