//! The widget's side of the Inbox, with the project's public key like the tracking routes: the
//! lead's chat and pop-up messages, its own chat messages, what it has shown, and a live stream
//! of new messages. The visitor id is the lead's credential for its own chat.

use leadcard_core::locale::{Message, k};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::options;
use futures::Stream;
use leadcard_core::inbox::{self, Channel, WidgetMessage, WidgetMessages, WidgetSeen, WidgetSend};
use leadcard_core::tracking::{TrackAccepted, check_client_id};
use leadcard_core::wire::ErrorBody;
use leadcard_core::{LiveEvent, LiveMessage};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::track::{MAX_BODY_BYTES, ProjectKey, TrackBody, authorized, invalid, preflight};
use crate::app::AppState;
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::segments::{self, Cause};
use crate::store::{Project, Store, WidgetSendOutcome};
use crate::tracking::StreamPermit;

/// A stream ends after this long; EventSource reconnects with `Last-Event-ID`.
const MAX_STREAM: Duration = Duration::from_secs(300);
/// Most message ids one `seen` call may carry.
const MAX_SEEN: usize = 200;
/// The SSE event name of a message.
const MESSAGE_EVENT: &str = "message";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WidgetParams {
    /// The widget's visitor id.
    #[param(required = true, pattern = "^[A-Za-z0-9_.:-]{1,64}$")]
    visitor_id: Option<String>,
    /// Only messages with a higher id (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    after: Option<String>,
}

/// The project of a GET's key (header, else query), the limits of the client, the visitor and
/// the project checked, and the visitor id.
async fn project_of(
    state: &AppState,
    ClientAddr(client): ClientAddr,
    key: &ProjectKey,
    params: &WidgetParams,
) -> Result<(Project, String), ApiError> {
    state.tracking.check_client(client)?;
    let project = key.project(state).await?;
    let visitor_id = params.visitor_id.clone().unwrap_or_default();
    state.tracking.admit(project.id, client, &visitor_id)?;
    check_client_id(&visitor_id, "visitor_id").map_err(invalid)?;
    Ok((project, visitor_id))
}

fn after_param(raw: Option<&str>, field: &str) -> Result<i64, ApiError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid(field, k::ERROR_WIDGET_LAST_MESSAGE_ID)),
        None => Ok(0),
    }
}

/// The lead's chat and pop-up messages after `after`, oldest first (at most 200).
#[utoipa::path(
    get, path = "/track/messages", tag = "tracking", params(WidgetParams), security(("project_key" = []), ("project_key_query" = [])),
    responses(
        (status = 200, description = "An unknown visitor has no messages", body = WidgetMessages),
        (status = 401, description = "`invalid_key`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `visitor_id` or `after`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    client: ClientAddr,
    key: ProjectKey,
    ApiQuery(params): ApiQuery<WidgetParams>,
) -> Result<Json<WidgetMessages>, ApiError> {
    let (project, visitor_id) = project_of(&state, client, &key, &params).await?;
    let after = after_param(params.after.as_deref(), "after")?;
    let items = match state.store.lead_of_visitor(project.id, &visitor_id).await? {
        Some(lead) => state.store.widget_messages(lead, after).await?,
        None => Vec::new(),
    };
    Ok(Json(WidgetMessages { items }))
}

/// The lead writes in the chat: its open chat conversation, its newest closed one (reopened), or
/// a new one. The same key again stores nothing new.
#[utoipa::path(
    post, path = "/track/messages", tag = "tracking", request_body = WidgetSend, security(("project_key" = []), ("project_key_query" = [])),
    responses(
        (status = 201, description = "Stored", body = WidgetMessage),
        (status = 200, description = "The key was used before: the message stored then", body = WidgetMessage),
        (status = 401, description = "`invalid_key`", body = ErrorBody),
        (status = 409, description = "`idempotency_conflict`, field `idempotency_key`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `visitor_id`, `body` or `idempotency_key`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    )
)]
async fn send(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    key: ProjectKey,
    TrackBody(body): TrackBody,
) -> Result<(StatusCode, Json<WidgetMessage>), ApiError> {
    let (project, request): (_, WidgetSend) = authorized(&state, ClientAddr(client), &key, body).await?;
    check_client_id(&request.visitor_id, "visitor_id").map_err(invalid)?;
    let message = inbox::check_message(Channel::Chat, &request.body, None, &request.idempotency_key)?;
    state.tracking.admit_message(project.id, client, &request.visitor_id)?;
    let outcome = state
        .store
        .send_widget_message(
            project.id,
            &request.visitor_id,
            &message.body,
            &message.idempotency_key,
            state.clock.now(),
        )
        .await?;
    match outcome {
        WidgetSendOutcome::Sent { message, lead_id, created: true } => {
            let event = LiveEvent::ConversationChanged {
                conversation_id: message.conversation_id,
                lead_id,
                message_id: Some(message.id),
            };
            state.live.publish(event).await;
            // A visitor seen for the first time became a lead here: it enters the segments that
            // hold for a new lead (for a known lead nothing changed, and nothing is written).
            let state = state.clone();
            tokio::spawn(async move {
                segments::recompute_lead_logged(&state, lead_id, Cause::Other(k::REASON_WROTE_IN_CHAT.into())).await;
            });
            Ok((StatusCode::CREATED, Json(message)))
        }
        WidgetSendOutcome::Sent { message, .. } => Ok((StatusCode::OK, Json(message))),
        WidgetSendOutcome::KeyConflict => Err(ApiError::IdempotencyConflict),
    }
}

/// The widget showed these operator messages (chat read, pop-up shown): delivered, and a chat
/// copy still waiting is not mailed. Ids of another lead are ignored.
#[utoipa::path(
    post, path = "/track/messages/seen", tag = "tracking", request_body = WidgetSeen, security(("project_key" = []), ("project_key_query" = [])),
    responses(
        (status = 200, description = "How many messages were newly marked", body = TrackAccepted),
        (status = 401, description = "`invalid_key`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `visitor_id` or `message_ids`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    )
)]
async fn seen(
    State(state): State<AppState>,
    client: ClientAddr,
    key: ProjectKey,
    TrackBody(body): TrackBody,
) -> Result<Json<TrackAccepted>, ApiError> {
    let (project, request): (_, WidgetSeen) = authorized(&state, client, &key, body).await?;
    check_client_id(&request.visitor_id, "visitor_id").map_err(invalid)?;
    if request.message_ids.len() > MAX_SEEN {
        return Err(ApiError::invalid("message_ids", Message::new(k::ERROR_WIDGET_SEEN_TOO_MANY).arg("max", MAX_SEEN)));
    }
    let Some(lead_id) = state.store.lead_of_visitor(project.id, &request.visitor_id).await? else {
        return Ok(Json(TrackAccepted { accepted: 0 }));
    };
    let (marked, conversations) = state.store.mark_seen(lead_id, &request.message_ids, state.clock.now()).await?;
    for conversation_id in conversations {
        state.live.publish(LiveEvent::ConversationChanged { conversation_id, lead_id, message_id: None }).await;
    }
    Ok(Json(TrackAccepted { accepted: u32::try_from(marked).unwrap_or(u32::MAX) }))
}

/// The lead's messages as Server-Sent Events: first every one after `after` (or
/// `Last-Event-ID`), then each new one as it is stored.
#[utoipa::path(
    get, path = "/track/stream", tag = "tracking", security(("project_key" = []), ("project_key_query" = [])),
    params(
        WidgetParams,
        ("Last-Event-ID" = Option<i64>, Header, description = "The last message id received (wins over `after`)"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: events named `message`, `id` the message id, `data` a `WidgetMessage`", content_type = "text/event-stream", body = WidgetMessage),
        (status = 401, description = "`invalid_key`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `visitor_id`, `after` or `last-event-id`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    )
)]
async fn stream(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    key: ProjectKey,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<WidgetParams>,
) -> Result<Response, ApiError> {
    let (project, visitor_id) = project_of(&state, ClientAddr(client), &key, &params).await?;
    let permit = state.tracking.open_stream(project.id, client, &visitor_id)?;
    let header = headers.get("last-event-id").and_then(|v| v.to_str().ok()).filter(|v| !v.trim().is_empty());
    let after = match header {
        Some(header) => after_param(Some(header), "last-event-id")?,
        None => after_param(params.after.as_deref(), "after")?,
    };
    // Subscribed before the first read: a message stored in between is announced to this stream.
    let receiver = state.live.subscribe().receiver;
    let lead = state.store.lead_of_visitor(project.id, &visitor_id).await?;
    let streaming = Streaming {
        store: state.store.clone(),
        project_id: project.id,
        visitor_id,
        receiver,
        lead,
        last: after,
        pending: VecDeque::new(),
        fetch: true,
        deadline: tokio::time::Instant::now() + MAX_STREAM,
        _permit: permit,
    };
    let sse = Sse::new(events(streaming)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(([("x-accel-buffering", "no"), ("cache-control", "no-store")], sse).into_response())
}

struct Streaming {
    store: Store,
    project_id: i64,
    visitor_id: String,
    receiver: broadcast::Receiver<std::sync::Arc<LiveMessage>>,
    /// The visitor's lead (none yet: it has not written or been seen).
    lead: Option<i64>,
    /// The last message id sent.
    last: i64,
    pending: VecDeque<WidgetMessage>,
    /// Read the lead's messages after `last` before waiting again.
    fetch: bool,
    deadline: tokio::time::Instant,
    /// This stream's place in the open-stream limits, given back when the stream is dropped.
    _permit: StreamPermit,
}

impl Streaming {
    /// Whether a live message may concern this stream's lead.
    fn concerns(&mut self, event: &LiveEvent) -> bool {
        match event {
            LiveEvent::ConversationChanged { lead_id, message_id: Some(_), .. } => {
                self.lead.is_none() || self.lead == Some(*lead_id)
            }
            // Identify or an operator merged the lead away: the visitor has another lead now.
            LiveEvent::LeadRemoved { lead_id } | LiveEvent::LeadMerged { lead_id, .. }
                if self.lead == Some(*lead_id) =>
            {
                self.lead = None;
                true
            }
            _ => false,
        }
    }

    async fn read(&mut self) -> Result<(), crate::store::StoreError> {
        if self.lead.is_none() {
            self.lead = self.store.lead_of_visitor(self.project_id, &self.visitor_id).await?;
        }
        if let Some(lead) = self.lead {
            let messages = self.store.widget_messages(lead, self.last).await?;
            // A full page: there may be more after it.
            self.fetch = messages.len() as i64 == crate::store::WIDGET_MESSAGES;
            self.pending.extend(messages);
        }
        Ok(())
    }
}

fn events(streaming: Streaming) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(streaming, |mut s| async move {
        loop {
            if let Some(message) = s.pending.pop_front() {
                if message.id <= s.last {
                    continue;
                }
                s.last = message.id;
                return Some((Ok(message_event(&message)), s));
            }
            if s.fetch {
                s.fetch = false;
                if let Err(e) = s.read().await {
                    // The widget reconnects and resumes from its last id.
                    tracing::warn!(error = %e, "cannot read the widget's messages");
                    return None;
                }
                continue;
            }
            match tokio::time::timeout_at(s.deadline, s.receiver.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => return None,
                Ok(Ok(message)) => s.fetch = s.concerns(&message.event),
                Ok(Err(RecvError::Lagged(_))) => s.fetch = true,
            }
        }
    })
}

fn message_event(message: &WidgetMessage) -> Event {
    let data = serde_json::to_string(message).unwrap_or_default();
    Event::default().event(MESSAGE_EVENT).id(message.id.to_string()).data(data)
}

/// Any origin, no credentials, `Retry-After` readable; preflights cached for a day.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("x-leadcard-key"),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(86_400))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, send))
        .routes(routes!(seen))
        .routes(routes!(stream))
        .route("/track/messages", options(preflight))
        .route("/track/messages/seen", options(preflight))
        .route("/track/stream", options(preflight))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors())
}
