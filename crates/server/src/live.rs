//! Live updates: a change is stored in `live_events` (so its id orders it and a page that
//! reconnects can be sent what it missed) and then broadcast to every open stream.
//!
//! One reader per instance tails the table in id order and broadcasts each message once. It is
//! woken at once by a publish on this instance, by `NOTIFY live_events` from another instance
//! (PostgreSQL), and otherwise looks every second. An id can become visible after a higher one
//! (PostgreSQL hands out ids before commit), so the reader stops at a gap and waits for it to
//! fill; a gap still open after [`GAP_WAIT`] is an insert that rolled back and is passed over.
//! Streams therefore never see ids out of order, and none twice.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use leadcard_core::{LiveEvent, LiveMessage};
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;

use crate::clock::{Clock, to_ms};
use crate::store::{Backend, Store, StoreResult};

/// How long a message is kept for pages that reconnect.
pub const KEEP: chrono::Duration = chrono::Duration::hours(1);
/// How long the reader waits for a missing id before passing over it.
const GAP_WAIT: Duration = Duration::from_secs(1);
/// How often the reader looks when nothing woke it.
const POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 500;
/// Most messages a reconnecting page is sent; further behind, it is told to reload instead.
pub const MAX_BACKLOG: i64 = 10_000;

/// The bus. Cheap to clone.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<Clock>,
    sender: broadcast::Sender<Arc<LiveMessage>>,
    wake: Notify,
    /// The highest id broadcast so far; every id below it was broadcast or passed over.
    cursor: AtomicI64,
}

/// What a new stream starts from: messages broadcast from now on, and the id up to which the
/// table holds the ones before.
pub struct Subscription {
    pub receiver: broadcast::Receiver<Arc<LiveMessage>>,
    pub upto: i64,
}

impl Live {
    /// Starts the reader (and, on PostgreSQL, the listener for other instances' messages).
    pub async fn start(store: Store, clock: Arc<Clock>, database_url: &str) -> StoreResult<Live> {
        let cursor = store.last_live_event_id().await?;
        let (sender, _) = broadcast::channel(4096);
        let inner = Arc::new(Inner { store, clock, sender, wake: Notify::new(), cursor: AtomicI64::new(cursor) });
        tokio::spawn(tail(Arc::downgrade(&inner)));
        if inner.store.backend() == Backend::Postgres {
            tokio::spawn(listen(Arc::downgrade(&inner), database_url.to_owned()));
        }
        Ok(Live { inner })
    }

    /// Stores and announces a change. A failure is logged, not returned: the change itself is
    /// already saved, and pages also reload what they show when they reconnect.
    pub async fn publish(&self, event: LiveEvent) {
        let at = to_ms(self.inner.clock.now());
        let payload = match serde_json::to_string(&event) {
            Ok(p) => p,
            Err(e) => return tracing::error!(error = %e, "cannot serialize a live event"),
        };
        match self.inner.store.insert_live_event(&payload, at).await {
            Ok(_) => self.inner.wake.notify_one(),
            Err(e) => tracing::warn!(error = %e, "cannot store a live event"),
        }
    }

    /// Wakes the reader after messages were stored by another transaction (the ingest writer's).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub async fn publish_all(&self, events: impl IntoIterator<Item = LiveEvent>) {
        for event in events {
            self.publish(event).await;
        }
    }

    pub fn subscribe(&self) -> Subscription {
        let receiver = self.inner.sender.subscribe();
        Subscription { receiver, upto: self.inner.cursor.load(Ordering::Acquire) }
    }

    /// The id of the last message broadcast.
    pub fn cursor(&self) -> i64 {
        self.inner.cursor.load(Ordering::Acquire)
    }

    /// Stored messages with `after < id <= upto`, oldest first; `None` when some of them are no
    /// longer kept or there are more than [`MAX_BACKLOG`].
    pub async fn backlog(&self, after: i64, upto: i64) -> StoreResult<Option<VecDeque<LiveMessage>>> {
        if after >= upto {
            return Ok(Some(VecDeque::new()));
        }
        if upto - after > MAX_BACKLOG {
            return Ok(None);
        }
        match self.inner.store.first_live_event_id().await? {
            Some(first) if first <= after + 1 => {}
            _ => return Ok(None),
        }
        let rows = self.inner.store.live_events(after, upto, MAX_BACKLOG).await?;
        Ok(Some(rows.into_iter().filter_map(decode).collect()))
    }

    /// Drops messages older than [`KEEP`].
    pub async fn forget_old(&self) -> StoreResult<u64> {
        self.inner.store.delete_live_events_before(to_ms(self.inner.clock.now() - KEEP)).await
    }
}

fn decode(row: crate::store::LiveRow) -> Option<LiveMessage> {
    match serde_json::from_str::<LiveEvent>(&row.payload) {
        Ok(event) => Some(LiveMessage { id: row.id, at: row.created_at, event }),
        Err(e) => {
            // A message this version cannot read (written by a newer one): skip it, loudly.
            tracing::warn!(id = row.id, error = %e, "unreadable live event skipped");
            None
        }
    }
}

/// The reader: broadcasts stored messages in id order, each once.
async fn tail(inner: Weak<Inner>) {
    let mut gap_since: Option<(i64, Instant)> = None;
    loop {
        let Some(live) = inner.upgrade() else { return };
        let wait = if gap_since.is_some() { Duration::from_millis(50) } else { POLL };
        tokio::select! {
            () = live.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
        if let Err(e) = drain(&live, &mut gap_since).await {
            tracing::warn!(error = %e, "cannot read live events");
        }
    }
}

async fn drain(live: &Inner, gap_since: &mut Option<(i64, Instant)>) -> StoreResult<()> {
    loop {
        let cursor = live.cursor.load(Ordering::Acquire);
        let rows = live.store.live_events(cursor, i64::MAX, BATCH).await?;
        let full = rows.len() as i64 == BATCH;
        let mut at = cursor;
        for row in rows {
            if row.id != at + 1 {
                let since = match gap_since {
                    Some((after, since)) if *after == at => *since,
                    _ => {
                        *gap_since = Some((at, Instant::now()));
                        return Ok(());
                    }
                };
                if since.elapsed() < GAP_WAIT {
                    return Ok(());
                }
                tracing::debug!(after = at, next = row.id, "live event ids skipped (rolled back)");
            }
            *gap_since = None;
            at = row.id;
            live.cursor.store(at, Ordering::Release);
            if let Some(message) = decode(row) {
                // No receivers is fine: nobody has a page open.
                let _ = live.sender.send(Arc::new(message));
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// PostgreSQL: wakes the reader when any instance publishes.
async fn listen(inner: Weak<Inner>, url: String) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen("live_events").await {
                Ok(()) => {
                    backoff = Duration::from_millis(200);
                    loop {
                        let got = tokio::time::timeout(POLL * 5, listener.try_recv()).await;
                        let Some(live) = inner.upgrade() else { return };
                        match got {
                            Ok(Ok(Some(_))) => live.wake.notify_one(),
                            // The connection dropped; the next call reconnects. Look now in
                            // case a notification was lost.
                            Ok(Ok(None)) => live.wake.notify_one(),
                            // Timed out: look again whether the bus still exists.
                            Err(_) => {}
                            // Connection lost: notifications in between are found by the poll.
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "live listener lost its connection");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN live_events"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot connect the live listener"),
        }
        if inner.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
