//! The Inbox for operators: the conversation list, threads, replies, sends from the card, assign,
//! close, reopen and read; and the operators for the assignee menu. Every change announces
//! `conversation_changed` once it is committed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use leadcard_core::LiveEvent;
use leadcard_core::inbox::{
    self, Assign, AssigneeChoice, Channel, Channels, Conversation, ConversationFilter, ConversationPage,
    ConversationStatus, MessagePage, NewMessage, OperatorRef, SendMessage, Sent, Thread,
};
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, cursor_id, page_size, query_id};
use crate::send::{self, OperatorSend, SendOutcome, SendTarget};
use crate::store::{AssignOutcome, AssigneeFilter, Changed, ConversationQuery, parse_conversation_cursor};

const CONVERSATION_NOT_FOUND: ApiError = ApiError::NotFound(k::ERROR_CONVERSATION_NOT_FOUND);

fn conversation_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| CONVERSATION_NOT_FOUND)
}

fn me(session: &CurrentSession) -> OperatorRef {
    OperatorRef { id: session.operator.id, name: session.operator.name.clone() }
}

/// A number parameter in `range`, or the default when absent or empty.
/// Tells open pages; a new message names itself.
async fn announce(state: &AppState, conversation: &Conversation, message_id: Option<i64>) {
    let event =
        LiveEvent::ConversationChanged { conversation_id: conversation.id, lead_id: conversation.lead.id, message_id };
    state.live.publish(event).await;
}

/// Every operator, by name.
#[utoipa::path(
    get, path = "/operators", tag = "inbox", security(("session" = [])),
    responses(
        (status = 200, body = Vec<OperatorRef>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn operators(State(state): State<AppState>) -> Result<Json<Vec<OperatorRef>>, ApiError> {
    Ok(Json(state.store.operator_refs().await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// `open` (default), `closed` or `all`.
    #[param(pattern = "^(open|closed|all)?$")]
    status: Option<String>,
    /// `any` (default), `me` or `unassigned`.
    #[param(pattern = "^(any|me|unassigned)?$")]
    assignee: Option<String>,
    /// Only this lead's conversations.
    #[param(value_type = Option<i64>, minimum = 0)]
    lead_id: Option<String>,
    /// The `next` of the previous page: `<last activity ms>.<conversation id>`.
    #[param(pattern = r"^(-?[0-9]{1,15}\.-?[0-9]{1,18})?$")]
    after: Option<String>,
    /// 1 to 100 (default 30).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// The Inbox list: newest activity first, keyset paging.
#[utoipa::path(
    get, path = "/conversations", tag = "inbox", params(ListParams), security(("session" = [])),
    responses(
        (status = 200, body = ConversationPage),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `status`, `assignee`, `lead_id`, `after` or `limit`", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ConversationPage>, ApiError> {
    let filter = ConversationFilter::parse(params.status.as_deref(), params.assignee.as_deref())?;
    let assignee = match filter.assignee {
        AssigneeChoice::Any => AssigneeFilter::Any,
        AssigneeChoice::Me => AssigneeFilter::Operator(session.operator.id),
        AssigneeChoice::Unassigned => AssigneeFilter::Unassigned,
    };
    let lead_id = query_id(params.lead_id.as_deref(), "lead_id")?;
    let after = match params.after.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(parse_conversation_cursor(raw).ok_or_else(|| ApiError::invalid("after", k::ERROR_AFTER))?),
        None => None,
    };
    let limit = page_size(params.limit.as_deref(), inbox::MAX_PAGE, inbox::DEFAULT_PAGE)?;
    let query = ConversationQuery { status: filter.status, assignee, lead_id, after, limit };
    Ok(Json(state.store.conversations(&query).await?))
}

/// Every conversation of the lead, newest activity first (the card's history).
#[utoipa::path(
    get, path = "/leads/{id}/conversations", tag = "inbox", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, body = Vec<Conversation>),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn lead_conversations(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Conversation>>, ApiError> {
    let id = lead_id(&id)?;
    state.store.lead_conversations(id).await?.map(Json).ok_or(LEAD_NOT_FOUND)
}

/// Which channels the card may use for the lead now, and why not.
#[utoipa::path(
    get, path = "/leads/{id}/channels", tag = "inbox", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, body = Channels),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn channels(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Channels>, ApiError> {
    let id = lead_id(&id)?;
    state.store.lead_channels(id, state.clock.now()).await?.map(Json).ok_or(LEAD_NOT_FOUND)
}

/// A conversation with its newest messages (oldest first).
#[utoipa::path(
    get, path = "/conversations/{id}", tag = "inbox", security(("session" = [])),
    params(("id" = i64, Path, description = "The conversation's id")),
    responses(
        (status = 200, body = Thread),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn thread(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Thread>, ApiError> {
    let id = conversation_id(&id)?;
    state.store.thread(id).await?.map(Json).ok_or(CONVERSATION_NOT_FOUND)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MessagesParams {
    /// Older messages than this id.
    #[param(value_type = Option<i64>, minimum = 0)]
    before: Option<String>,
    /// Newer messages than this id (what a live update fetches).
    #[param(value_type = Option<i64>, minimum = 0)]
    after: Option<String>,
    /// 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

/// A conversation's messages, oldest first.
#[utoipa::path(
    get, path = "/conversations/{id}/messages", tag = "inbox", params(("id" = i64, Path, description = "The conversation's id"), MessagesParams),
    security(("session" = [])),
    responses(
        (status = 200, body = MessagePage),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `before`, `after` or `limit`", body = ErrorBody),
    )
)]
async fn messages(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<MessagesParams>,
) -> Result<Json<MessagePage>, ApiError> {
    let id = conversation_id(&id)?;
    let before = cursor_id(params.before.as_deref(), "before", 0)?;
    let after = cursor_id(params.after.as_deref(), "after", 0)?;
    let limit = page_size(params.limit.as_deref(), inbox::MAX_MESSAGES_PAGE, inbox::DEFAULT_MESSAGES_PAGE)?;
    state.store.messages_page(id, before, after, limit).await?.map(Json).ok_or(CONVERSATION_NOT_FOUND)
}

/// The answer to a send: 201 for a new message, 200 for a key used before.
async fn send(
    state: &AppState,
    target: SendTarget,
    operator: &OperatorRef,
    message: &inbox::CheckedMessage,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    let send = OperatorSend { target, operator, message, reply_domain: &state.mailer.reply_domain };
    match send::operator_message(&state.store, send, state.clock.now()).await? {
        SendOutcome::Sent { sent, .. } => {
            let status = if sent.created { StatusCode::CREATED } else { StatusCode::OK };
            if sent.created {
                announce(state, &sent.conversation, Some(sent.message.id)).await;
            }
            Ok((status, Json(*sent)))
        }
        SendOutcome::NotFound => Err(match target {
            SendTarget::Conversation(_) => CONVERSATION_NOT_FOUND,
            SendTarget::Lead { .. } => LEAD_NOT_FOUND,
        }),
        SendOutcome::Refused { channel, reason } => {
            let code = match (target, channel) {
                (SendTarget::Conversation(_), Channel::Email) => "email_refused",
                _ => "channel_refused",
            };
            let message = Message::new(k::ERROR_CHANNEL_REFUSED).with("channel", channel.text()).with("reason", reason);
            // The lead's state refuses the channel now (unsubscribed, no address, not on the site).
            Err(ApiError::Conflict { code, field: "channel".to_owned(), message })
        }
        SendOutcome::KeyConflict => Err(ApiError::IdempotencyConflict),
    }
}

/// An operator's reply in a conversation (its channel). A closed conversation reopens.
#[utoipa::path(
    post, path = "/conversations/{id}/messages", tag = "inbox", request_body = NewMessage, security(("session" = [])),
    params(("id" = i64, Path, description = "The conversation's id")),
    responses(
        (status = 201, description = "Stored (and sent or queued)", body = Sent),
        (status = 200, description = "The key was used before: the message stored then; nothing sent again", body = Sent),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`email_refused` / `channel_refused` (field `channel`): the lead's state refuses the channel now, with the reason; or `idempotency_conflict` (field `idempotency_key`)", body = ErrorBody),
        (status = 422, description = "`invalid` (field `body`, `subject`, `idempotency_key`)", body = ErrorBody),
    )
)]
async fn reply(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewMessage>,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    let id = conversation_id(&id)?;
    let Some(conversation) = state.store.conversation(id).await? else {
        return Err(CONVERSATION_NOT_FOUND);
    };
    let message =
        inbox::check_message(conversation.channel, &body.body, body.subject.as_deref(), &body.idempotency_key)?;
    send(&state, SendTarget::Conversation(id), &me(&session), &message).await
}

/// Sends from the card: continues the lead's open conversation of the channel, or starts one.
#[utoipa::path(
    post, path = "/leads/{id}/messages", tag = "inbox", request_body = SendMessage, security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 201, description = "Stored (and sent or queued)", body = Sent),
        (status = 200, description = "The key was used before: the message stored then; nothing sent again", body = Sent),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`channel_refused` (field `channel`): the lead's state refuses the channel now, with the reason; or `idempotency_conflict` (field `idempotency_key`)", body = ErrorBody),
        (status = 422, description = "`invalid` (field `channel`, `body`, `subject`, `idempotency_key`)", body = ErrorBody),
    )
)]
async fn send_from_card(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    let id = lead_id(&id)?;
    let message = body.check()?;
    send(&state, SendTarget::Lead { lead_id: id, channel: body.channel }, &me(&session), &message).await
}

async fn changed(state: &AppState, changed: Option<Changed>) -> Result<Json<Conversation>, ApiError> {
    let changed = changed.ok_or(CONVERSATION_NOT_FOUND)?;
    if let Some(entry) = changed.entry {
        announce(state, &changed.conversation, Some(entry)).await;
    }
    Ok(Json(changed.conversation))
}

/// Assigns the conversation (`operator_id` null unassigns), with a system entry.
#[utoipa::path(
    post, path = "/conversations/{id}/assign", tag = "inbox", request_body = Assign, security(("session" = [])),
    params(("id" = i64, Path, description = "The conversation's id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `operator_id` (no such operator)", body = ErrorBody),
    )
)]
async fn assign(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Assign>,
) -> Result<Json<Conversation>, ApiError> {
    let id = conversation_id(&id)?;
    match state.store.assign_conversation(id, body.operator_id, &me(&session), state.clock.now()).await? {
        AssignOutcome::Done(done) => changed(&state, Some(*done)).await,
        AssignOutcome::NotFound => Err(CONVERSATION_NOT_FOUND),
        AssignOutcome::UnknownOperator => Err(ApiError::invalid("operator_id", k::ERROR_OPERATOR_NOT_FOUND)),
    }
}

async fn set_status(
    state: &AppState,
    session: &CurrentSession,
    id: &str,
    status: ConversationStatus,
) -> Result<Json<Conversation>, ApiError> {
    let id = conversation_id(id)?;
    let done = state.store.set_conversation_status(id, status, &me(session), state.clock.now()).await?;
    changed(state, done).await
}

/// Closes the conversation, with a system entry (nothing when it is closed already).
#[utoipa::path(
    post, path = "/conversations/{id}/close", tag = "inbox", security(("session" = [])),
    params(("id" = i64, Path, description = "The conversation's id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn close(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    set_status(&state, &session, &id, ConversationStatus::Closed).await
}

/// Reopens the conversation, with a system entry (nothing when it is open already).
#[utoipa::path(
    post, path = "/conversations/{id}/reopen", tag = "inbox", security(("session" = [])),
    params(("id" = i64, Path, description = "The conversation's id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn reopen(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    set_status(&state, &session, &id, ConversationStatus::Open).await
}

/// The thread was read: unread 0.
#[utoipa::path(
    post, path = "/conversations/{id}/read", tag = "inbox", security(("session" = [])),
    params(("id" = i64, Path, description = "The conversation's id")),
    responses(
        (status = 200, body = Conversation),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn read(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Conversation>, ApiError> {
    let id = conversation_id(&id)?;
    let (conversation, was_unread) = state.store.mark_conversation_read(id).await?.ok_or(CONVERSATION_NOT_FOUND)?;
    if was_unread {
        announce(&state, &conversation, None).await;
    }
    Ok(Json(conversation))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(operators))
        .routes(routes!(list))
        .routes(routes!(lead_conversations))
        .routes(routes!(channels))
        .routes(routes!(thread))
        .routes(routes!(messages, reply))
        .routes(routes!(send_from_card))
        .routes(routes!(assign))
        .routes(routes!(close))
        .routes(routes!(reopen))
        .routes(routes!(read))
}
