//! Operator accounts over HTTP: admins list, add, change and disable operators and make
//! set-password links; every operator changes their own password and sees and ends their own
//! sessions; a set-password link is used without a session.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use leadcard_core::account::{
    AddedOperator, ChangePassword, NewOperatorAccount, OperatorAccount, OperatorChange, PasswordLink, SessionInfo,
    SetPassword,
};
use leadcard_core::locale::Language;
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::{AccountSettings, ErrorBody, Operator};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{self, AccountError};
use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::ApiJson;

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(e) => e.into(),
            AccountError::NotFound => ApiError::NotFound(k::ERROR_OPERATOR_NOT_FOUND),
            AccountError::Duplicate => {
                ApiError::Duplicate { field: "email".to_owned(), message: k::ERROR_OPERATOR_DUPLICATE.into() }
            }
            AccountError::LinkGone => ApiError::Unprocessable {
                code: "link_gone",
                field: "token".to_owned(),
                message: k::ERROR_OPERATOR_LINK_GONE.into(),
            },
            AccountError::WrongPassword => ApiError::invalid("current_password", k::ERROR_OPERATOR_WRONG_PASSWORD),
            AccountError::Conflict(code, e) => ApiError::Conflict { code, field: e.field, message: e.message },
            AccountError::Store(e) => e.into(),
            AccountError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

/// Ends the open streams of sessions that just ended.
fn end_streams(state: &AppState, ended: &[String]) {
    for token_hash in ended {
        state.stream_sessions.end(token_hash);
    }
}

fn operator_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(k::ERROR_OPERATOR_NOT_FOUND))
}

/// Every operator, by email (admins).
#[utoipa::path(
    get, path = "/operator-accounts", tag = "operators", security(("session" = [])),
    responses(
        (status = 200, body = Vec<OperatorAccount>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Result<Json<Vec<OperatorAccount>>, ApiError> {
    session.require_admin()?;
    Ok(Json(state.store.operator_accounts(state.clock.now()).await?))
}

/// Adds an operator (admins): with `password` ready to sign in, without it with a one-time
/// set-password link (valid 24 hours) to hand over.
#[utoipa::path(
    post, path = "/operator-accounts", tag = "operators", security(("session" = [])), request_body = NewOperatorAccount,
    responses(
        (status = 201, body = AddedOperator),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; `csrf`", body = ErrorBody),
        (status = 409, description = "`duplicate`: the email is taken", body = ErrorBody),
        (status = 422, description = "`invalid`: email, name or password (too short, common, the email)", body = ErrorBody),
    )
)]
async fn add(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiJson(body): ApiJson<NewOperatorAccount>,
) -> Result<(StatusCode, Json<AddedOperator>), ApiError> {
    session.require_admin()?;
    let added = accounts::add(&state.store, &body, &state.mailer.public_url, state.clock.now()).await?;
    tracing::info!(by = session.operator.id, operator = added.operator.id, "operator added");
    Ok((StatusCode::CREATED, Json(added)))
}

/// Changes an operator's role, or disables (every session ends at once, open consoles within
/// seconds) or enables them (admins). The last enabled admin stays one.
#[utoipa::path(
    patch, path = "/operator-accounts/{id}", tag = "operators", security(("session" = [])), request_body = OperatorChange,
    params(("id" = i64, Path, description = "The operator's id")),
    responses(
        (status = 200, body = OperatorAccount),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; `csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`last_admin` (field `role` or `disabled`): it would leave no enabled admin", body = ErrorBody),
        (status = 422, description = "`invalid`", body = ErrorBody),
    )
)]
async fn change(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OperatorChange>,
) -> Result<Json<OperatorAccount>, ApiError> {
    session.require_admin()?;
    let (account, ended) = accounts::change(&state.store, operator_id(&id)?, &body, state.clock.now()).await?;
    end_streams(&state, &ended);
    tracing::info!(by = session.operator.id, operator = account.id, role = ?account.role, disabled = account.disabled, "operator changed");
    Ok(Json(account))
}

/// A new one-time link that sets the operator's password (admins; earlier links stop working).
#[utoipa::path(
    post, path = "/operator-accounts/{id}/password-link", tag = "operators", security(("session" = [])),
    params(("id" = i64, Path, description = "The operator's id")),
    responses(
        (status = 200, body = PasswordLink),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; `csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`operator_disabled` (field `disabled`): enable the operator first", body = ErrorBody),
    )
)]
async fn new_link(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
) -> Result<Json<PasswordLink>, ApiError> {
    session.require_admin()?;
    let link =
        accounts::password_link(&state.store, operator_id(&id)?, &state.mailer.public_url, state.clock.now()).await?;
    Ok(Json(link))
}

/// Sets a password with a one-time link's token (no session needed); every session of that
/// operator ends.
#[utoipa::path(
    post, path = "/password-links/use", tag = "operators", request_body = SetPassword,
    responses(
        (status = 204, description = "The password is set; sign in with it"),
        (status = 422, description = "`link_gone` (field `token`): used or expired; `invalid`: the password", body = ErrorBody),
    )
)]
async fn use_link(State(state): State<AppState>, ApiJson(body): ApiJson<SetPassword>) -> Result<StatusCode, ApiError> {
    let ended = accounts::set_password_with_link(&state.store, &body.token, &body.password, state.clock.now()).await?;
    end_streams(&state, &ended);
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the signed-in operator's password (the current one first); their other sessions end.
#[utoipa::path(
    put, path = "/account/password", tag = "operators", security(("session" = [])), request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed; this session stays signed in"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, description = "`invalid`: `current_password` wrong, or `new_password` refused", body = ErrorBody),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let ended = accounts::change_own_password(
        &state.store,
        session.operator.id,
        &session.operator.email,
        &session.token_hash,
        &body.current_password,
        &body.new_password,
    )
    .await?;
    end_streams(&state, &ended);
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the signed-in operator's own settings: the console's language (`en`, `ru`; null: the
/// browser's), remembered for every device they sign in on.
#[utoipa::path(
    patch, path = "/account", tag = "operators", security(("session" = [])), request_body = AccountSettings,
    responses(
        (status = 200, description = "Changed: the operator as `GET /me` now answers", body = Operator),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 422, description = "`invalid`: `language` is not one the product speaks", body = ErrorBody),
    )
)]
async fn change_account(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiJson(body): ApiJson<AccountSettings>,
) -> Result<Json<Operator>, ApiError> {
    let language = match body.language.as_deref() {
        None => None,
        Some(code) => Some(Language::parse(code).ok_or_else(|| {
            let known = Language::ALL.map(Language::as_str).join(", ");
            ApiError::invalid("language", Message::new(k::ERROR_LANGUAGE).arg("known", known))
        })?),
    };
    state.store.set_operator_language(session.operator.id, language).await?;
    Ok(Json(Operator { language: language.map(|l| l.as_str().to_owned()), ..session.operator }))
}

/// What names a session to its operator: the start of its token's hash (never the token).
fn session_id(token_hash: &str) -> String {
    token_hash.chars().take(16).collect()
}

/// The signed-in operator's sessions, most recently used first.
#[utoipa::path(
    get, path = "/account/sessions", tag = "operators", security(("session" = [])),
    responses(
        (status = 200, body = Vec<SessionInfo>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn sessions(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    let now = state.clock.now();
    let sessions = state.store.sessions_of(session.operator.id, now).await?;
    Ok(Json(
        sessions
            .into_iter()
            .filter(|s| state.sessions.is_live(now, s.last_used_at, s.expires_at))
            .map(|s| SessionInfo {
                id: session_id(&s.token_hash),
                current: s.token_hash == session.token_hash,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                user_agent: s.user_agent,
            })
            .collect(),
    ))
}

/// Ends one of the signed-in operator's sessions (this one too: then the cookie is cleared).
#[utoipa::path(
    delete, path = "/account/sessions/{id}", tag = "operators", security(("session" = [])),
    params(("id" = String, Path, description = "The session's id from the list")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such session of yours", body = ErrorBody),
    )
)]
async fn end_session(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let mine = state.store.sessions_of(session.operator.id, now).await?;
    let target = mine
        .into_iter()
        .find(|s| session_id(&s.token_hash) == id)
        .ok_or(ApiError::NotFound(k::ERROR_SESSION_NOT_FOUND))?;
    state.store.delete_session(&target.token_hash).await?;
    state.stream_sessions.end(&target.token_hash);
    if target.token_hash == session.token_hash {
        return Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, state.sessions.clearing_cookie())]).into_response());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The browser a sign-in came from, for the operator's list of sessions.
pub fn user_agent(headers: &HeaderMap) -> String {
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    agent.chars().filter(|c| !c.is_control()).take(300).collect()
}

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(use_link))
}

pub fn operator_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(change))
        .routes(routes!(new_link))
        .routes(routes!(change_password))
        .routes(routes!(change_account))
        .routes(routes!(sessions))
        .routes(routes!(end_session))
}
