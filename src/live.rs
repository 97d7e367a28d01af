//! Live updates from the server (`GET /api/v1/stream`, Server-Sent Events), shared by every page
//! of a signed-in operator. The browser's EventSource reconnects by itself and sends
//! `Last-Event-ID`, so no update is missed or received twice; when the server closes a stream for
//! good (e.g. the session ended), the page opens a new one after a pause, from the last id seen.
//! When a stream closes, the page asks who is signed in: a session that ended (the operator was
//! disabled, or ended it elsewhere) goes to the sign-in page within seconds.
//!
//! The stream's presence messages also land in one map of the newest presence inputs per lead,
//! which every presence badge reads ([`presence_inputs`]): a lead shown anywhere — a card, a row
//! of the Leads Database, a thread's header — follows its heartbeats without a request.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadcard_core::live::RESET;
use leadcard_core::{LiveEvent, LiveMessage, Presence};
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{EventSource, MessageEvent};

use crate::api;
use crate::browser::{self, json};
use crate::components::clock::{observe_server_now, server_now};
use crate::listeners::{Listeners, listen};
use crate::session::Session;

const STREAM: &str = "/api/v1/stream";
const REOPEN_AFTER: Duration = Duration::from_secs(3);
/// Messages within this long of opening may be a replay of older ones.
const REPLAY_MS: f64 = 1_500.0;

/// The live connection of this page. Messages and resets go to the callbacks registered with
/// [`Live::on_message`] and [`Live::on_reset`].
#[derive(Clone, Copy)]
pub struct Live {
    /// Whether the stream is open now.
    pub connected: RwSignal<bool>,
    /// Told when the session turns out to have ended.
    session: Option<Session>,
}

thread_local! {
    static MESSAGES: Listeners<LiveEvent> = const { Listeners::new() };
    /// A `reset`: the page was too far behind and reloads what it shows.
    static RESETS: Listeners<()> = const { Listeners::new() };
    /// The newest presence inputs the stream told of, per lead.
    static PRESENCES: ArcRwSignal<HashMap<i64, PresenceInputs>> = ArcRwSignal::new(HashMap::new());
}

/// A lead's presence inputs: its last heartbeat and its last activity.
pub type PresenceInputs = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Beyond this many leads in the map, those offline are dropped (what was loaded says as much).
const PRESENCES_KEPT: usize = 2_000;

/// The presence inputs of lead `lead`: the newer of `loaded` (what the page loaded with the lead)
/// and what the live stream said since, each time on its own. Reactive: a badge reading it
/// follows the lead's heartbeats.
pub fn presence_inputs(lead: i64, loaded: PresenceInputs) -> PresenceInputs {
    let told = PRESENCES.with(|map| map.with(|map| map.get(&lead).copied()));
    match told {
        Some((beat, active)) => (loaded.0.max(beat), loaded.1.max(active)),
        None => loaded,
    }
}

/// Takes in a presence message's inputs (unix milliseconds).
fn record_presence(lead: i64, beat: Option<i64>, active: Option<i64>) {
    let at = |ms: Option<i64>| ms.and_then(DateTime::from_timestamp_millis);
    let told = (at(beat), at(active));
    PRESENCES.with(|map| {
        map.update(|map| {
            let known = map.entry(lead).or_insert(told);
            *known = (known.0.max(told.0), known.1.max(told.1));
            if map.len() > PRESENCES_KEPT {
                let now = server_now();
                map.retain(|_, (beat, active)| Presence::at(now, *beat, *active) != Presence::Offline);
            }
        });
    });
}

struct Connection {
    source: EventSource,
    _on_message: Closure<dyn Fn(MessageEvent)>,
    _on_reset: Closure<dyn Fn(MessageEvent)>,
    _on_open: Closure<dyn Fn(web_sys::Event)>,
    _on_error: Closure<dyn Fn(web_sys::Event)>,
}

impl Live {
    /// Opens the stream for the components below; it closes with the owner.
    pub fn provide() -> Self {
        let live = Live { connected: RwSignal::new(false), session: use_context::<Session>() };
        provide_context(live);
        let connection: StoredValue<Option<SendWrapper<Connection>>> = StoredValue::new(None);
        let last_id = Rc::new(Cell::new(None::<i64>));
        open(live, connection, last_id);
        on_cleanup(move || {
            if let Some(Some(c)) = connection.try_update_value(Option::take) {
                c.source.close();
            }
        });
        live
    }

    pub fn use_live() -> Option<Self> {
        use_context()
    }

    /// Calls `f` with each message received from now on, while the calling component lives.
    pub fn on_message(self, f: impl Fn(&LiveEvent) + 'static) {
        listen(&MESSAGES, f);
    }

    /// Calls `f` after each `reset` from now on, while the calling component lives.
    pub fn on_reset(self, f: impl Fn() + 'static) {
        listen(&RESETS, move |_: &()| f());
    }
}

fn open(live: Live, connection: StoredValue<Option<SendWrapper<Connection>>>, last_id: Rc<Cell<Option<i64>>>) {
    let url = match last_id.get() {
        Some(id) => format!("{STREAM}?last_event_id={id}"),
        None => STREAM.to_owned(),
    };
    let Ok(source) = EventSource::new(&url) else { return };
    let seen = last_id.clone();
    let opened_at = Rc::new(Cell::new(f64::INFINITY));
    let opened = opened_at.clone();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else { return };
        if let Ok(message) = json::from_str::<LiveMessage>(&text) {
            seen.set(Some(message.id));
            // Messages sent on connecting may be old; later ones were published just now, so
            // their time is the server's clock.
            if browser::now_ms() - opened.get() > REPLAY_MS
                && let Some(at) = DateTime::from_timestamp_millis(message.at)
            {
                observe_server_now(at);
            }
            if let LiveEvent::Presence { lead_id, last_heartbeat_at, last_active_at, .. } = &message.event {
                record_presence(*lead_id, *last_heartbeat_at, *last_active_at);
            }
            MESSAGES.with(|listeners| listeners.emit(&message.event));
        }
    });
    let seen = last_id.clone();
    let on_reset = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        if let Ok(id) = event.last_event_id().parse::<i64>() {
            seen.set(Some(id));
        }
        RESETS.with(|listeners| listeners.emit(&()));
    });
    let on_open = Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
        opened_at.set(browser::now_ms());
        live.connected.set(true);
    });
    let reopen_from = last_id.clone();
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
        live.connected.set(false);
        if let Some(session) = live.session {
            spawn_local(async move {
                if let Err(error) = api::me().await
                    && error.is_unauthenticated()
                {
                    session.me.try_set(Some(Err(error)));
                }
            });
        }
        let closed = event
            .target()
            .and_then(|t| t.dyn_into::<EventSource>().ok())
            .is_some_and(|s| s.ready_state() == EventSource::CLOSED);
        if closed {
            // The browser gave up (an error answer): try again later, from the last id seen.
            let last_id = reopen_from.clone();
            set_timeout(
                move || {
                    if connection.try_with_value(|c| c.is_some()) == Some(true) {
                        open(live, connection, last_id);
                    }
                },
                REOPEN_AFTER,
            );
        }
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let _ = source.add_event_listener_with_callback(RESET, on_reset.as_ref().unchecked_ref());
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let new =
        Connection { source, _on_message: on_message, _on_reset: on_reset, _on_open: on_open, _on_error: on_error };
    if let Some(Some(old)) = connection.try_update_value(|c| c.replace(SendWrapper::new(new))) {
        old.source.close();
    }
}
