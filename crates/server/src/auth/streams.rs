//! Open event streams by session. A stream does not keep its session alive (its reconnects are
//! not the operator's activity), and it ends within [`CHECK_EVERY`] of its session ending —
//! signed out (here or on another instance), idle, past its absolute limit, or its operator
//! disabled — so a console that walked away is signed out, not fed forever.
//!
//! One task per instance checks every open stream's session in one query per round, so the cost
//! follows the number of distinct sessions with a stream open, not the number of requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::AppState;

/// How often open streams' sessions are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct StreamSessions {
    /// Session token hash -> the streams open on it (id, their end).
    open: Mutex<HashMap<String, Vec<(u64, CancellationToken)>>>,
    next_id: AtomicU64,
}

/// One open stream; dropping it (the client went away) forgets it.
pub struct OpenStream {
    registry: Arc<StreamSessions>,
    token_hash: String,
    id: u64,
    /// Cancelled when the session ends or the server shuts down.
    pub ended: CancellationToken,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(streams) = open.get_mut(&self.token_hash) {
            streams.retain(|(id, _)| *id != self.id);
            if streams.is_empty() {
                open.remove(&self.token_hash);
            }
        }
    }
}

impl StreamSessions {
    /// Registers a stream of the session `token_hash`; it also ends with `shutdown`.
    pub fn open(self: &Arc<Self>, token_hash: &str, shutdown: &CancellationToken) -> OpenStream {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let ended = shutdown.child_token();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.entry(token_hash.to_owned()).or_default().push((id, ended.clone()));
        OpenStream { registry: self.clone(), token_hash: token_hash.to_owned(), id, ended }
    }

    fn sessions(&self) -> Vec<String> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect()
    }

    /// Ends every stream of a session now (sign-out on this instance).
    pub fn end(&self, token_hash: &str) {
        if let Some(streams) = self.open.lock().unwrap_or_else(PoisonError::into_inner).remove(token_hash) {
            streams.iter().for_each(|(_, ended)| ended.cancel());
        }
    }

    pub fn open_streams(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).values().map(Vec::len).sum()
    }
}

/// Every [`CHECK_EVERY`]: ends the streams whose session is gone or no longer live.
pub async fn watch(state: AppState) {
    let mut every = tokio::time::interval(CHECK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let sessions = state.stream_sessions.sessions();
        if sessions.is_empty() {
            continue;
        }
        let times = match state.store.session_times(&sessions).await {
            Ok(times) => times,
            Err(e) => {
                tracing::warn!(error = %e, "cannot check the sessions of open streams");
                continue;
            }
        };
        let now = state.clock.now();
        for token_hash in sessions {
            let live = times
                .get(&token_hash)
                .is_some_and(|(last_used_at, expires_at)| state.sessions.is_live(now, *last_used_at, *expires_at));
            if !live {
                state.stream_sessions.end(&token_hash);
            }
        }
    }
}
