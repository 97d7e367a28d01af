//! `GET /stream`: live updates as Server-Sent Events. A page that reconnects sends
//! `Last-Event-ID` (the browser's EventSource does it by itself) and is sent every message after
//! it, in order, once; when it is too far behind it gets a `reset` event and reloads what it shows.
//! The stream ends within seconds of its session ending (`auth::streams`) and at shutdown.

use leadcard_core::locale::k;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use leadcard_core::LiveMessage;
use leadcard_core::live::RESET;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::auth::streams::OpenStream;
use crate::error::ApiError;
use crate::live::Live;

/// A stream ends after this long; the browser reconnects at once with `Last-Event-ID`, and the
/// session is checked again.
const MAX_STREAM: Duration = Duration::from_secs(300);

#[utoipa::path(
    get, path = "/stream", tag = "live",
    params(
        ("Last-Event-ID" = Option<i64>, Header, description = "The id of the last message received"),
        ("last_event_id" = Option<i64>, Query, description = "The same, for a new EventSource (the header wins)"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: each event's `data` is a `LiveMessage`; an event named `reset` means reload", content_type = "text/event-stream", body = LiveMessage),
        (status = 401, body = leadcard_core::wire::ErrorBody),
    ),
    security(("session" = []))
)]
async fn stream(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    // The header (sent by EventSource when it reconnects) wins over the query (a new EventSource).
    let header = headers.get("last-event-id").and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    let last = match (header, query.last_event_id.as_deref().filter(|v| !v.is_empty())) {
        (Some(v), _) => Some(("last-event-id", v)),
        (None, Some(v)) => Some(("last_event_id", v)),
        (None, None) => None,
    }
    .map(|(field, v)| v.trim().parse::<i64>().map_err(|_| ApiError::invalid(field, k::ERROR_STREAM_LAST_EVENT_ID)))
    .transpose()?;
    let subscription = state.live.subscribe();
    let upto = subscription.upto;
    let (start, pending, reset) = match last {
        None => (upto, VecDeque::new(), false),
        Some(last) if last >= upto => (last, VecDeque::new(), false),
        Some(last) => match state.live.backlog(last, upto).await? {
            Some(backlog) => (last, backlog, false),
            None => (upto, VecDeque::new(), true),
        },
    };
    let open = state.stream_sessions.open(&session.token_hash, &state.shutdown);
    let events = events(state.live.clone(), subscription.receiver, start, pending, reset, open);
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(([("x-accel-buffering", "no"), ("cache-control", "no-store")], sse).into_response())
}

#[derive(Deserialize)]
struct StreamQuery {
    last_event_id: Option<String>,
}

struct Streaming {
    live: Live,
    receiver: broadcast::Receiver<Arc<LiveMessage>>,
    /// The last id sent.
    last: i64,
    pending: VecDeque<LiveMessage>,
    reset: bool,
    deadline: tokio::time::Instant,
    open: OpenStream,
}

fn events(
    live: Live,
    receiver: broadcast::Receiver<Arc<LiveMessage>>,
    last: i64,
    pending: VecDeque<LiveMessage>,
    reset: bool,
    open: OpenStream,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let deadline = tokio::time::Instant::now() + MAX_STREAM;
    let state = Streaming { live, receiver, last, pending, reset, deadline, open };
    futures::stream::unfold(state, |mut s| async move {
        if s.reset {
            s.reset = false;
            let event = Event::default().event(RESET).id(s.last.to_string()).data("");
            return Some((Ok(event), s));
        }
        loop {
            if let Some(message) = s.pending.pop_front() {
                if message.id <= s.last {
                    continue;
                }
                s.last = message.id;
                return Some((Ok(message_event(&message)), s));
            }
            let received = tokio::select! {
                biased;
                () = s.open.ended.cancelled() => return None,
                received = tokio::time::timeout_at(s.deadline, s.receiver.recv()) => received,
            };
            match received {
                Err(_) | Ok(Err(RecvError::Closed)) => return None,
                Ok(Ok(message)) => {
                    if message.id > s.last {
                        s.last = message.id;
                        return Some((Ok(message_event(&message)), s));
                    }
                }
                // This page fell behind the broadcast: read what it missed from the table.
                Ok(Err(RecvError::Lagged(_))) => match s.live.backlog(s.last, s.live.cursor()).await {
                    Ok(Some(missed)) => s.pending = missed,
                    Ok(None) | Err(_) => {
                        s.last = s.live.cursor();
                        let event = Event::default().event(RESET).id(s.last.to_string()).data("");
                        return Some((Ok(event), s));
                    }
                },
            }
        }
    })
}

fn message_event(message: &LiveMessage) -> Event {
    let data = serde_json::to_string(message).unwrap_or_default();
    Event::default().id(message.id.to_string()).data(data)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}
