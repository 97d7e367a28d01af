//! Sends that must be neither lost nor doubled. A message gets its idempotency key before the
//! first attempt and keeps it for every retry, so the server stores it once however often it is
//! sent. Until the server confirms, it waits in `localStorage` (`leadcard.pending`), shows as
//! pending, and is retried after a network failure or a 5xx with growing pauses (1 s, 2 s, 4 s …
//! at most 30 s), at once when the browser comes back online, and after a reload. A refusal (4xx)
//! is final: the message shows the server's reason and its text goes back to the composer.
//! Messages to the same place go one after another, in the order they were written.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use leadcard_core::inbox::{Channel, CheckedMessage, NewMessage, SendMessage, Sent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use crate::api::{self, ApiError};
use crate::browser::{self, json, storage};
use crate::drafts::{self, Draft};
use crate::listeners::{Listeners, listen};

/// Where pending sends are kept across reloads.
pub const STORAGE_KEY: &str = "leadcard.pending";

/// The first pause after a failed attempt; each next one doubles, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Target {
    /// A reply in an Inbox conversation.
    Conversation { id: i64 },
    /// A message from the card by a channel.
    Lead { id: i64, channel: Channel },
}

impl Target {
    /// The composer draft this message was written in.
    pub fn draft_key(self) -> String {
        match self {
            Target::Conversation { id } => drafts::conversation_key(id),
            Target::Lead { id, channel } => drafts::lead_key(id, channel),
        }
    }
}

/// A message handed to the queue and not yet confirmed by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSend {
    /// The idempotency key, made before the first attempt.
    pub key: String,
    pub target: Target,
    pub body: String,
    #[serde(default)]
    pub subject: Option<String>,
    /// When it was written, unix milliseconds (its place among the pending ones).
    pub written_at: i64,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
}

/// The pause before the next attempt after `failed` failed attempts: 1 s, 2 s, 4 s … 30 s.
pub fn backoff(failed: u32) -> Duration {
    let doublings = failed.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2_u32.pow(doublings)).min(MAX_BACKOFF)
}

/// What an answer means for a pending send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Stored,
    /// The server was not reached, had a problem, or asked to come back later: try again.
    Retry,
    /// The server refused the message itself: trying again would be refused again.
    Final,
}

/// The verdict on an answer with HTTP `status` (0: no answer at all).
pub fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Stored,
        // Timeouts and rate limits are about the moment, not the message.
        0 | 408 | 429 | 500.. => Verdict::Retry,
        _ => Verdict::Final,
    }
}

/// The pending sends of a `leadcard.pending` text; anything unreadable is dropped.
pub fn parse_stored(text: Option<&str>) -> Vec<PendingSend> {
    text.and_then(|text| json::from_str(text).ok()).unwrap_or_default()
}

/// `list` with `send` in it (replacing the one with its key), in the order written.
pub fn with_send(mut list: Vec<PendingSend>, send: PendingSend) -> Vec<PendingSend> {
    list.retain(|s| s.key != send.key);
    list.push(send);
    list.sort_by_key(|s| s.written_at);
    list
}

/// `list` without the send with `key`.
pub fn without(mut list: Vec<PendingSend>, key: &str) -> Vec<PendingSend> {
    list.retain(|s| s.key != key);
    list
}

/// The send that goes next to `target`: the oldest one still waiting.
pub fn next_for(list: &[PendingSend], target: Target) -> Option<&PendingSend> {
    list.iter().filter(|s| s.target == target).min_by_key(|s| s.written_at)
}

/// A pending send as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub send: PendingSend,
    /// The server refused it (final); the reason.
    pub refused: Option<String>,
}

/// A refused message given back to its composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    pub target: Target,
    pub draft: Draft,
    pub reason: String,
}

struct Queue {
    items: ArcRwSignal<Vec<Item>>,
    /// Targets with an attempt on the way.
    in_flight: RefCell<HashSet<Target>>,
    /// Counts the timers of each target, so a retry replaced by an earlier one does nothing.
    timers: RefCell<HashMap<Target, u64>>,
    started: RefCell<bool>,
}

thread_local! {
    static QUEUE: Queue = Queue {
        items: ArcRwSignal::new(Vec::new()),
        in_flight: RefCell::new(HashSet::new()),
        timers: RefCell::new(HashMap::new()),
        started: RefCell::new(false),
    };
    static CONFIRMED: Listeners<Sent> = const { Listeners::new() };
    static RETURNED: Listeners<Returned> = const { Listeners::new() };
}

/// Every pending (and refused, until dismissed) send of this page.
pub fn items() -> ArcRwSignal<Vec<Item>> {
    QUEUE.with(|q| q.items.clone())
}

/// Calls `f` with each send the server confirms from now on, while the calling component lives.
pub fn on_confirmed(f: impl Fn(&Sent) + 'static) {
    listen(&CONFIRMED, f);
}

/// Calls `f` with each message refused and given back to its composer from now on, while the
/// calling component lives.
pub fn on_returned(f: impl Fn(&Returned) + 'static) {
    listen(&RETURNED, f);
}

/// Whether an earlier page left sends pending (the frame then starts the queue at once).
pub fn left_over() -> bool {
    storage::get(STORAGE_KEY).is_some()
}

/// Picks up what an earlier page left pending and retries it; retries at once whenever the
/// browser comes back online. Runs once per page load: when the frame finds sends left over, or
/// with the first send.
pub fn start() {
    if QUEUE.with(|q| q.started.replace(true)) {
        return;
    }
    let stored = parse_stored(storage::get(STORAGE_KEY).as_deref());
    let items = items();
    items.update(|items| {
        for send in stored {
            if !items.iter().any(|i| i.send.key == send.key) {
                items.push(Item { send, refused: None });
            }
        }
    });
    browser::on_online(retry_now);
    retry_now();
}

/// Hands a checked message (its key made with [`browser::random_key`]) to the queue: kept in `localStorage`
/// first, then sent.
pub fn enqueue(target: Target, message: CheckedMessage) -> PendingSend {
    start();
    let CheckedMessage { body, subject, idempotency_key: key } = message;
    let send = PendingSend { key, target, body, subject, written_at: browser::now_ms() as i64, attempts: 0 };
    persist_with(send.clone());
    items().update(|items| items.push(Item { send: send.clone(), refused: None }));
    attempt(target);
    send
}

/// Takes a refused message off the page.
pub fn dismiss(key: &str) {
    items().update(|items| items.retain(|i| i.send.key != key));
}

/// Tries every target's next send now (the network is back, or the page just loaded).
pub fn retry_now() {
    let targets: HashSet<Target> =
        items().with_untracked(|items| items.iter().filter(|i| i.refused.is_none()).map(|i| i.send.target).collect());
    for target in targets {
        cancel_timer(target);
        attempt(target);
    }
}

fn waiting(target: Target) -> Option<PendingSend> {
    items().with_untracked(|items| {
        let sends: Vec<PendingSend> = items.iter().filter(|i| i.refused.is_none()).map(|i| i.send.clone()).collect();
        next_for(&sends, target).cloned()
    })
}

fn attempt(target: Target) {
    if QUEUE.with(|q| !q.in_flight.borrow_mut().insert(target)) {
        return;
    }
    let Some(send) = waiting(target) else {
        QUEUE.with(|q| q.in_flight.borrow_mut().remove(&target));
        return;
    };
    spawn_local(async move {
        let answer = transmit(&send).await;
        QUEUE.with(|q| q.in_flight.borrow_mut().remove(&target));
        let status = answer.as_ref().map_or_else(|e| e.status, |_| 200);
        match (verdict(status), answer) {
            (_, Ok(sent)) => {
                persist_without(&send.key);
                items().update(|items| items.retain(|i| i.send.key != send.key));
                CONFIRMED.with(|listeners| listeners.emit(&sent));
                attempt(target);
            }
            (Verdict::Final, Err(error)) => {
                refuse(&send, error);
                attempt(target);
            }
            (_, Err(_)) => {
                let failed = PendingSend { attempts: send.attempts + 1, ..send };
                persist_with(failed.clone());
                let pause = backoff(failed.attempts);
                items().update(|items| {
                    if let Some(item) = items.iter_mut().find(|i| i.send.key == failed.key) {
                        item.send = failed;
                    }
                });
                schedule(target, pause);
            }
        }
    });
}

async fn transmit(send: &PendingSend) -> Result<Sent, ApiError> {
    let PendingSend { key, target, body, subject, .. } = send.clone();
    match target {
        Target::Conversation { id } => api::reply(id, &NewMessage { body, subject, idempotency_key: key }).await,
        Target::Lead { id, channel } => {
            api::send_to_lead(id, &SendMessage { channel, body, subject, idempotency_key: key }).await
        }
    }
}

fn refuse(send: &PendingSend, error: ApiError) {
    persist_without(&send.key);
    let draft = Draft { body: send.body.clone(), subject: send.subject.clone().unwrap_or_default() };
    drafts::give_back(&send.target.draft_key(), &draft);
    items().update(|items| {
        if let Some(item) = items.iter_mut().find(|i| i.send.key == send.key) {
            item.refused = Some(error.message.clone());
        }
    });
    RETURNED.with(|listeners| listeners.emit(&Returned { target: send.target, draft, reason: error.message }));
}

fn schedule(target: Target, pause: Duration) {
    let number = QUEUE.with(|q| {
        let mut timers = q.timers.borrow_mut();
        let n = timers.entry(target).or_default();
        *n += 1;
        *n
    });
    set_timeout(
        move || {
            if QUEUE.with(|q| q.timers.borrow().get(&target) == Some(&number)) {
                attempt(target);
            }
        },
        pause,
    );
}

fn cancel_timer(target: Target) {
    QUEUE.with(|q| *q.timers.borrow_mut().entry(target).or_default() += 1);
}

// Read, change, write: another tab of the app may have changed the list meanwhile.
fn persist_with(send: PendingSend) {
    let list = with_send(parse_stored(storage::get(STORAGE_KEY).as_deref()), send);
    store(&list);
}

fn persist_without(key: &str) {
    let list = without(parse_stored(storage::get(STORAGE_KEY).as_deref()), key);
    store(&list);
}

fn store(list: &[PendingSend]) {
    if list.is_empty() {
        storage::remove(STORAGE_KEY);
    } else if let Some(text) = json::to_string(&list) {
        storage::set(STORAGE_KEY, &text);
    }
}
