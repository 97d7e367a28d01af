//! The ingest writer: tracking calls wait in a bounded queue and one task writes them in batches,
//! each batch one transaction (up to `batch_events` events, or whatever arrived within
//! `batch_wait` of the first). A call is answered only after the transaction holding it
//! committed; a full queue refuses at once (503), so memory stays bounded under any load. At
//! shutdown the queue closes and the writer commits every call already in it before it stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::live::Live;
use crate::store::{Store, StoreError, TrackKind, TrackWrite};

/// How the writer batches.
#[derive(Debug, Clone, Copy)]
pub struct IngestSettings {
    /// Calls that may wait for the writer; one more is refused with 503.
    pub queue: usize,
    /// A batch closes when it holds this many events (a heartbeat or identify counts as one).
    pub batch_events: usize,
    /// ...or this long after its first call arrived, whichever comes first. Zero: a batch is
    /// whatever is already waiting when the writer is free (group commit).
    pub batch_wait: Duration,
}

/// Why a call was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the ingest queue is full")]
    Busy,
    /// The rules refused this call (its batch was stored without it).
    #[error(transparent)]
    Refused(StoreError),
    #[error("the ingest writer failed: {0}")]
    Failed(String),
}

struct Request {
    write: TrackWrite,
    reply: oneshot::Sender<Result<u32, IngestError>>,
}

/// The queue's sending side. Cheap to clone; the writer stops when every clone is dropped or
/// [`Ingest::close`] is called.
#[derive(Clone)]
pub struct Ingest {
    sender: mpsc::Sender<Request>,
    closing: CancellationToken,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Ingest {
    pub fn start(store: Store, clock: Arc<Clock>, live: Live, settings: IngestSettings) -> Ingest {
        let (sender, receiver) = mpsc::channel(settings.queue.max(1));
        let closing = CancellationToken::new();
        let writer = tokio::spawn(writer(receiver, closing.clone(), store, clock, live, settings));
        Ingest { sender, closing, writer: Arc::new(Mutex::new(Some(writer))) }
    }

    /// Refuses new calls and waits until every queued one is committed (or failed) and answered.
    pub async fn close(&self) {
        self.closing.cancel();
        if let Some(writer) = self.writer.lock().await.take()
            && let Err(e) = writer.await
        {
            tracing::error!(error = %e, "the ingest writer ended abnormally");
        }
    }

    /// Queues a write and waits until it is committed; how many events it stored.
    pub async fn submit(&self, write: TrackWrite) -> Result<u32, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.sender.try_send(Request { write, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => IngestError::Busy,
            mpsc::error::TrySendError::Closed(_) => IngestError::Failed("the writer has stopped".to_owned()),
        })?;
        answer.await.map_err(|_| IngestError::Failed("the writer dropped the call".to_owned()))?
    }
}

fn weight(write: &TrackWrite) -> usize {
    match &write.kind {
        TrackKind::Events { events, .. } => events.len().max(1),
        TrackKind::Heartbeat { .. } | TrackKind::Identify { .. } => 1,
    }
}

async fn writer(
    mut receiver: mpsc::Receiver<Request>,
    closing: CancellationToken,
    store: Store,
    clock: Arc<Clock>,
    live: Live,
    settings: IngestSettings,
) {
    let mut closed = false;
    loop {
        let first = tokio::select! {
            biased;
            first = receiver.recv() => first,
            // Closed: `recv` still hands out what was queued, then `None`.
            () = closing.cancelled(), if !closed => {
                receiver.close();
                closed = true;
                continue;
            }
        };
        let Some(first) = first else { break };
        let deadline = Instant::now() + settings.batch_wait;
        let mut events = weight(&first.write);
        let mut batch = vec![first];
        while events < settings.batch_events {
            let next = match receiver.try_recv() {
                Ok(request) => Some(request),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) if settings.batch_wait.is_zero() => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(deadline, receiver.recv()).await.ok().flatten()
                }
            };
            let Some(request) = next else { break };
            events += weight(&request.write);
            batch.push(request);
        }
        let (writes, replies): (Vec<TrackWrite>, Vec<_>) = batch.into_iter().map(|r| (r.write, r.reply)).unzip();
        match store.write_tracking_batch(&writes, clock.now()).await {
            Ok(outcome) => {
                if outcome.live_messages > 0 {
                    live.wake();
                }
                for (reply, result) in replies.into_iter().zip(outcome.results) {
                    // The caller may have gone away (client closed the request): nothing to do.
                    let _ = reply.send(result.map_err(IngestError::Refused));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, calls = writes.len(), "an ingest batch failed");
                for reply in replies {
                    let _ = reply.send(Err(IngestError::Failed(e.to_string())));
                }
            }
        }
    }
}
