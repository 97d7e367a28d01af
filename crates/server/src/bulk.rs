//! Bulk actions as jobs: the leads of a selection, listed when the job starts, go through the
//! action [`Pace::batch`] at a time, one transaction each. After each batch its leads get their
//! segments recomputed and a live update, as a single edit would give them, and the job its
//! progress; a cancel stops between batches and keeps what was done.

use std::time::Duration;

use leadcard_core::LiveEvent;
use leadcard_core::bulk::CheckedAction;
use leadcard_core::wire::{JobResult, JobState};

use crate::app::AppState;
use crate::clock::to_ms;
use crate::jobs::{JobHandle, Outcome, cancelled_message, leads_changed};

/// How a bulk job goes: leads per transaction, and the most it pauses between two batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub batch: usize,
    /// After each batch the job waits as long as the batch took, up to this: operators' requests
    /// get the database's writer between batches.
    pub pause_max: Duration,
    /// A pause after every batch whatever it took (test mode: a job a page can watch and cancel).
    pub pause_min: Duration,
}

impl Pace {
    pub const NORMAL: Pace = Pace { batch: 500, pause_max: Duration::from_millis(500), pause_min: Duration::ZERO };
    /// `--test-mode`: small batches with a pause, so a Playwright spec can see a job run and stop it.
    pub const TEST: Pace =
        Pace { batch: 10, pause_max: Duration::from_millis(500), pause_min: Duration::from_millis(250) };
}

/// Runs the action over `ids` (ascending) for the job `handle`.
pub async fn run(state: AppState, handle: JobHandle, ids: Vec<i64>, action: CheckedAction) -> Result<Outcome, String> {
    let pace = state.bulk_pace;
    let reason = action.reason().to_stored();
    let total = ids.len() as u64;
    let mut result = JobResult::default();
    let mut done = 0_u64;
    for batch in ids.chunks(pace.batch.max(1)) {
        if handle.is_cancelled().await {
            result.message = Some(cancelled_message(done, Some(total)));
            return Ok((JobState::Cancelled, result));
        }
        let started = std::time::Instant::now();
        let applied = state.store.bulk_batch(batch, &action, state.clock.now()).await.map_err(|e| e.to_string())?;
        result.changed += (applied.changed.len() + applied.removed.len()) as u64;
        result.skipped += applied.skipped;
        result.failed += applied.failed.len() as u64;
        if !applied.failed.is_empty() {
            handle.problems(applied.failed).await;
        }
        announce_removed(&state, &applied.removed).await;
        leads_changed(&state, &applied.changed, &reason).await;
        // Other cards with an address the batch unsubscribed show the new status too.
        let mut followers: Vec<i64> = applied
            .addresses
            .iter()
            .flat_map(|change| change.lead_ids.iter().copied())
            .filter(|id| applied.changed.binary_search(id).is_err())
            .collect();
        followers.sort_unstable();
        followers.dedup();
        leads_changed(&state, &followers, &reason).await;
        done += batch.len() as u64;
        handle.progress(done, &result).await;
        let took = started.elapsed();
        tokio::time::sleep(took.min(pace.pause_max).max(pace.pause_min)).await;
    }
    Ok((JobState::Done, result))
}

/// A live `lead_removed` for each removed lead (one statement for the batch).
async fn announce_removed(state: &AppState, removed: &[i64]) {
    if removed.is_empty() {
        return;
    }
    let payloads: Vec<String> = removed
        .iter()
        .filter_map(|lead_id| serde_json::to_string(&LiveEvent::LeadRemoved { lead_id: *lead_id }).ok())
        .collect();
    match state.store.insert_live_events(payloads, to_ms(state.clock.now())).await {
        Ok(()) => state.live.wake(),
        Err(e) => tracing::warn!(error = %e, "cannot store a bulk removal's live updates"),
    }
}
