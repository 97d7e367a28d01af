//! Segment membership over time: which leads enter and leave which segments, and why.
//!
//! - After a change to one lead, [`recompute_lead`] evaluates every segment over the lead's facts
//!   with the core evaluator (the rule the card runs in the browser) and records each entry or
//!   exit with the change that caused it.
//! - After a segment is created or redefined, [`rebuild_pending`] recomputes its members for
//!   every lead through the SQL compiler, in batches of lead ids.
//! - Windows pass without any change to a lead ("at least 2 times in the last 7 days"), so
//!   [`window_tick`] looks, for each segment with a windowed event condition, only at the leads
//!   whose counted events left the window since its last run, a bounded number per run; and,
//!   for a segment with a presence condition, at the leads with a recent heartbeat (presence
//!   changes when heartbeats stop), recording their new presence as the reason.
//!
//! The periodic work runs on one instance at a time (a PostgreSQL advisory lock); every write is
//! idempotent (a membership row added or removed once is recorded once), so an overlap costs
//! time, never a duplicate entry.

use leadcard_core::locale::{Message, k};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadcard_core::filter::DAY_MS;
use leadcard_core::presence::PRESENCE_WINDOW;
use leadcard_core::{CheckedSegment, LeadFacts, LiveEvent, PropertyValue, Segment, ValidCondition, ValidFilter};

use crate::app::AppState;
use crate::clock::to_ms;
use crate::store::{LeadMembershipChange, LeadScope, Reason, Store, StoreError, StoreResult};

/// Leads per batch when a segment's members are recomputed.
pub const REBUILD_BATCH: i64 = 10_000;
/// Between two batches of a rebuild the job pauses as long as the batch took (at most this long),
/// so a fill over a million leads takes at most half of the database's writer and operators'
/// requests are not queued behind it.
pub const REBUILD_PAUSE_MAX: std::time::Duration = std::time::Duration::from_secs(1);
/// Most events whose window closed that one run of the window job looks at, per condition.
pub const WINDOW_BATCH: i64 = 1_000;
/// The most leads on the site one presence re-evaluation takes at once (they are bound as a
/// list: SQLite allows 32,766 parameters in a statement).
pub const PRESENCE_SLICE: usize = 5_000;
/// How often the periodic job runs.
pub const JOB_EVERY: Duration = Duration::from_secs(30);
/// The advisory lock key of the periodic segment job ("seg" in ASCII).
const JOB_LOCK_KEY: i64 = 0x0073_6567;
/// A batch that changes more leads than this does not announce each of them live.
const ANNOUNCE_AT_MOST: usize = 500;

/// What changed a lead, for the reason its timeline entries give.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// Properties set (`Some`) or removed (`None`), by name.
    Properties(Vec<(String, Option<PropertyValue>)>),
    TagAdded(String),
    TagRemoved(String),
    /// The lead performed an event (tracked or added by hand).
    Event(String),
    /// Anything else.
    Other(Message),
}

/// The segments with their filters checked (segment conditions opened from the same list); a
/// stored filter that no longer checks is skipped.
pub fn checked(segments: &[Segment]) -> Vec<CheckedSegment> {
    segments
        .iter()
        .filter_map(|s| {
            let checked = s.checked(segments);
            if checked.is_none() {
                tracing::warn!(segment = s.id, "a stored segment filter does not check; skipped");
            }
            checked
        })
        .collect()
}

/// The event names any segment counts, and from when their times are needed (unix ms): the
/// start of the longest window (`now` when no segment has a window).
pub fn facts_scope(segments: &[CheckedSegment], now: DateTime<Utc>) -> (Vec<String>, Option<i64>) {
    let mut names: Vec<String> = Vec::new();
    let mut longest = 0;
    for segment in segments {
        for leaf in segment.filter.leaves() {
            if let ValidCondition::Event(test) = leaf {
                if !names.iter().any(|n| n == test.name.as_str()) {
                    names.push(test.name.as_str().to_owned());
                }
                longest = longest.max(test.days.unwrap_or(0));
            }
        }
    }
    (names, Some(to_ms(now) - longest * DAY_MS))
}

/// The facts the card's evaluator needs for a lead, as `GET /leads/{id}/facts` sends them.
pub async fn lead_facts(store: &Store, lead_id: i64, now: DateTime<Utc>) -> StoreResult<Option<LeadFacts>> {
    let segments = checked(&store.segments().await?);
    let (names, since) = facts_scope(&segments, now);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    store.lead_facts(lead_id, &names, since, now).await
}

/// Recomputes one lead's membership of every segment after `cause`, with the core evaluator over
/// the lead's facts, records the entries and exits, and announces the lead when any happened.
/// Returns how many. The tracking and card routes call it after their change commits.
pub async fn recompute_lead(state: &AppState, lead_id: i64, cause: Cause) -> StoreResult<usize> {
    let now = state.clock.now();
    let segments = checked(&state.store.segments().await?);
    if segments.is_empty() {
        return Ok(0);
    }
    let (names, since) = facts_scope(&segments, now);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let Some(facts) = state.store.lead_facts(lead_id, &names, since, now).await? else {
        return Ok(0);
    };
    let members = state.store.memberships(lead_id).await?;
    let changes: Vec<LeadMembershipChange> = segments
        .iter()
        .filter_map(|segment| {
            let matches = segment.filter.matches(&facts, now);
            (matches != members.contains(&segment.id)).then(|| LeadMembershipChange {
                segment_id: segment.id,
                segment_name: segment.name.clone(),
                entered: matches,
                reason: reason(&cause, &segment.filter, &facts),
            })
        })
        .collect();
    let applied = state.store.record_lead_memberships(lead_id, changes, now).await?;
    if !applied.is_empty() {
        state.live.publish(LiveEvent::LeadChanged { lead_id }).await;
    }
    Ok(applied.len())
}

/// [`recompute_lead`] for a route whose change is already saved: a failure is logged, not
/// returned, and the next change of the lead (or the segment job) catches up.
pub async fn recompute_lead_logged(state: &AppState, lead_id: i64, cause: Cause) {
    if let Err(e) = recompute_lead(state, lead_id, cause).await {
        tracing::warn!(lead_id, error = %e, "cannot recompute the lead's segments");
    }
}

/// Why a change moved a lead in or out of a segment, for the operator.
/// Why, as a stored message (each reader sees it in their language).
fn reason(cause: &Cause, filter: &ValidFilter, facts: &LeadFacts) -> String {
    let said = match cause {
        Cause::Properties(changes) => {
            let used = |name: &str| {
                filter
                    .leaves()
                    .iter()
                    .any(|c| matches!(c, ValidCondition::Property { name: n, .. } if n.as_str() == name))
            };
            match changes.iter().find(|(name, _)| used(name)).or(changes.first()) {
                None => Message::new(k::REASON_PROPERTIES_CHANGED),
                Some((name, Some(value))) => {
                    Message::new(k::REASON_BECAME).arg("name", name).arg("value", value.display())
                }
                Some((name, None)) => Message::new(k::REASON_REMOVED).arg("name", name),
            }
        }
        Cause::TagAdded(tag) => Message::new(k::REASON_TAG_ADDED).arg("tag", tag),
        Cause::TagRemoved(tag) => Message::new(k::REASON_TAG_REMOVED).arg("tag", tag),
        Cause::Event(name) => {
            let count = facts.event_count(name, None);
            Message::new(k::REASON_PERFORMED).arg("name", name).with("ordinal", Message::ordinal(count.max(0) as u64))
        }
        Cause::Other(said) => said.clone(),
    };
    said.to_stored()
}

/// Recomputes the members of every segment created or redefined since, for all leads in
/// batches of [`REBUILD_BATCH`] ids; a redefinition records "segment definition changed" for
/// each lead that entered or left. Returns how many leads entered or left.
///
/// A new segment's first fill is silent (no timeline entries). A lead edited while that fill
/// runs may be taken in by the fill just before its own recomputation looks, and then enters
/// without an entry; its membership is right either way.
///
/// One rebuild runs at a time (`AppState::segment_rebuild`): a call waits for the running one,
/// then reads what is still pending. Fifty segments created at once are filled one after the
/// other, not by fifty concurrent fills over every lead each holding a pooled connection.
pub async fn rebuild_pending(state: &AppState) -> StoreResult<usize> {
    let _one_at_a_time = state.segment_rebuild.lock().await;
    let mut moved = 0;
    let saved = state.store.segments().await?;
    for pending in state.store.pending_rebuilds().await? {
        let Some(segment) = pending.segment.checked(&saved) else {
            continue;
        };
        let redefined = Message::new(k::REASON_REDEFINED).to_stored();
        let reason = if pending.silent { Reason::Silent } else { Reason::Text(&redefined) };
        let upto_id = state.store.max_lead_id().await?;
        let mut after = 0;
        while after < upto_id {
            let upto = (after + REBUILD_BATCH).min(upto_id);
            let started = std::time::Instant::now();
            let changes = state
                .store
                .update_members(&segment, &LeadScope::Range { after, upto }, state.clock.now(), reason)
                .await?;
            if upto < upto_id {
                tokio::time::sleep(started.elapsed().min(REBUILD_PAUSE_MAX)).await;
            }
            moved += changes.entered.len() + changes.left.len();
            if !pending.silent {
                announce(state, changes.entered.iter().chain(&changes.left).copied()).await;
            }
            after = upto;
        }
        state.store.finish_rebuild(&pending.segment).await?;
    }
    Ok(moved)
}

async fn announce(state: &AppState, leads: impl Iterator<Item = i64> + Clone) {
    if leads.clone().count() <= ANNOUNCE_AT_MOST {
        for lead_id in leads {
            state.live.publish(LiveEvent::LeadChanged { lead_id }).await;
        }
    }
}

/// One run of the window job, for each segment with time-bound conditions:
/// - windowed event conditions: the leads whose counted events left a window since the last run
///   are re-evaluated (SQL, restricted to those leads) and their exits or entries recorded as
///   "N-day window for X passed". At most [`WINDOW_BATCH`] events per condition per run; the rest
///   wait for the next run.
/// - presence conditions: the leads with a heartbeat since two minutes before the last run (those
///   on the site now or who just left it; nobody else's presence can have changed) are
///   re-evaluated and their moves recorded with their new presence ("came online", "went
///   offline ..."). The cost follows the site's live traffic, not the number of leads.
///
/// Returns how many leads entered or left.
pub async fn window_tick(state: &AppState) -> StoreResult<usize> {
    let now = state.clock.now();
    let mut moved = 0;
    for segment in checked(&state.store.segments().await?) {
        let mut windows: Vec<(String, i64)> = Vec::new();
        for test in segment.filter.windowed_events() {
            let window = (test.name.as_str().to_owned(), test.days.unwrap_or(0));
            if !windows.contains(&window) {
                windows.push(window);
            }
        }
        let presence = segment.filter.leaves().iter().any(|c| matches!(c, ValidCondition::Presence(_)));
        if windows.is_empty() && !presence {
            continue;
        }
        let Some(from) = state.store.window_checked_at(segment.id).await? else {
            continue;
        };
        let to = to_ms(now);
        if to <= from {
            continue;
        }
        let mut checked_upto = to;
        for (name, days) in &windows {
            let span = days * DAY_MS;
            let closed = state.store.events_between(name, from - span, to - span, WINDOW_BATCH).await?;
            if closed.len() as i64 == WINDOW_BATCH
                && let Some((_, last)) = closed.last()
            {
                // Later events wait for the next run; the last millisecond is looked at again.
                checked_upto = checked_upto.min((last + span).max(from + 1));
            }
            let mut leads: Vec<i64> = closed.iter().map(|(lead, _)| *lead).collect();
            leads.sort_unstable();
            leads.dedup();
            let reason = Message::new(k::REASON_WINDOW_PASSED).arg("days", days).arg("name", name).to_stored();
            let changes =
                state.store.update_members(&segment, &LeadScope::Ids(leads), now, Reason::Text(&reason)).await?;
            moved += changes.entered.len() + changes.left.len();
            announce(state, changes.entered.iter().chain(&changes.left).copied()).await;
        }
        if presence {
            let since = from - PRESENCE_WINDOW.num_milliseconds();
            let leads = state.store.leads_beating_since(since).await?;
            // In slices: each is bound into the statements as a list of ids.
            for slice in leads.chunks(PRESENCE_SLICE) {
                let scope = LeadScope::Ids(slice.to_vec());
                let changes = state.store.update_members(&segment, &scope, now, Reason::Presence).await?;
                moved += changes.entered.len() + changes.left.len();
                announce(state, changes.entered.iter().chain(&changes.left).copied()).await;
            }
        }
        state.store.set_window_checked_at(segment.id, checked_upto).await?;
    }
    Ok(moved)
}

/// The periodic segment job, on one instance at a time: pending rebuilds, then window exits.
pub async fn run_job(state: &AppState) -> StoreResult<usize> {
    let Some(lock) = state.store.try_job_lock(JOB_LOCK_KEY).await? else {
        return Ok(0);
    };
    let result = async { Ok::<_, StoreError>(rebuild_pending(state).await? + window_tick(state).await?) }.await;
    lock.release().await;
    result
}

/// Runs [`run_job`] every [`JOB_EVERY`] (the first run one period after start) until the task is
/// dropped.
pub async fn job_loop(state: AppState) {
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + JOB_EVERY, JOB_EVERY);
    loop {
        every.tick().await;
        if let Err(e) = run_job(&state).await {
            tracing::warn!(error = %e, "segment job failed");
        }
    }
}

/// Starts a rebuild now (after a segment was created or redefined) rather than at the next run.
pub fn rebuild_soon(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = rebuild_pending(&state).await {
            tracing::warn!(error = %e, "segment rebuild failed; the segment job retries");
        }
    });
}
