//! Background jobs: an import or a bulk action that runs after its request has been answered.
//!
//! A route starts a job with [`Jobs::start`] (a `jobs` row, state `running`), answers 202 with it,
//! and runs the work with [`spawn`] in a tokio task (blocking parts on `spawn_blocking` or a
//! thread). The work goes in batches, one store transaction each (e.g. 500 rows); between batches
//! it reports [`JobHandle::progress`] (the row is written and a `job_changed` live update
//! published at most [`PUBLISH_EVERY`]), looks at [`JobHandle::is_cancelled`] (an operator's
//! `POST /jobs/{id}/cancel`) and stops there, keeping what it did. Rows or leads it cannot take go
//! to the report with [`JobHandle::problem`]; [`JobHandle::finish`] ends it. Leads it changed get
//! their segments recomputed and a live update each with [`leads_changed`], as an edit would.
//!
//! While a job runs, [`spawn`] keeps its heartbeat (`updated_at`) fresh; a job still `running`
//! whose heartbeat stopped belongs to a process that died, and is marked `failed` ("interrupted")
//! at start and by the housekeeping sweep ([`Jobs::fail_interrupted`]).

use leadcard_core::locale::{Message, k};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use leadcard_core::wire::{Job, JobKind, JobResult, JobState, Operator};
use leadcard_core::{LiveEvent, segment::CheckedSegment};
use tokio::time::Instant;

use crate::app::AppState;
use crate::clock::{Clock, to_ms};
use crate::language::{self, said};
use crate::live::Live;
use crate::store::{Backend, LeadScope, NewJob, Reason, Store, StoreResult};

/// At most one progress write and live update per job this often.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// A running job's heartbeat, even in a long batch.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// A running job without a heartbeat for this long is taken as interrupted.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(60);
/// Rows kept in one job's report; beyond them only counted.
pub const PROBLEMS_KEPT: u64 = 100_000;
/// A batch that changed more leads than this does not announce each of them live.
const ANNOUNCE_AT_MOST: usize = 1_000;

/// Starts and ends jobs. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    store: Store,
    live: Live,
    clock: Arc<Clock>,
}

impl Jobs {
    pub fn new(store: Store, live: Live, clock: Arc<Clock>) -> Jobs {
        Jobs { store, live, clock }
    }

    pub fn of(state: &AppState) -> Jobs {
        Jobs::new(state.store.clone(), state.live.clone(), state.clock.clone())
    }

    /// Adds a running job and announces it.
    pub async fn start(
        &self,
        kind: JobKind,
        operator: Option<&Operator>,
        summary: impl Into<Message>,
        params: serde_json::Value,
        total: Option<u64>,
    ) -> StoreResult<JobHandle> {
        // Written once, in the language of the operator who started it.
        let summary = said(&summary.into());
        let new = NewJob { kind, operator_id: operator.map(|o| o.id), summary, params, total };
        let id = self.store.insert_job(&new, self.clock.now()).await?;
        let handle = JobHandle {
            inner: Arc::new(Inner {
                id,
                jobs: self.clone(),
                progress: Mutex::new(Progress { total, ..Progress::default() }),
            }),
        };
        handle.publish().await;
        Ok(handle)
    }

    /// Marks `failed` the jobs a dead process left `running`: on SQLite (one process owns the
    /// database) every running job when `at_start`; otherwise those whose heartbeat is older
    /// than [`STALE_AFTER`]. Returns how many.
    pub async fn fail_interrupted(&self, at_start: bool) -> StoreResult<usize> {
        let now = self.clock.now();
        let stale_before =
            if at_start && self.store.backend() == Backend::Sqlite { None } else { Some(now - STALE_AFTER) };
        let ended = self.store.fail_interrupted_jobs(stale_before, now).await?;
        let n = ended.len();
        for job in ended {
            self.live.publish(LiveEvent::JobChanged { job: Box::new(job) }).await;
        }
        Ok(n)
    }
}

/// A running job, for the work that does it. Cheap to clone.
#[derive(Clone)]
pub struct JobHandle {
    inner: Arc<Inner>,
}

struct Inner {
    id: i64,
    jobs: Jobs,
    progress: Mutex<Progress>,
}

#[derive(Default)]
struct Progress {
    done: u64,
    total: Option<u64>,
    result: JobResult,
    last_write: Option<Instant>,
    /// Whether the last write found a cancel request.
    cancelled: bool,
    problems: u64,
    finished: bool,
}

impl JobHandle {
    pub fn id(&self) -> i64 {
        self.inner.id
    }

    fn with<T>(&self, f: impl FnOnce(&mut Progress) -> T) -> T {
        f(&mut self.inner.progress.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The total, when it becomes known (or better known).
    pub fn set_total(&self, total: Option<u64>) {
        self.with(|p| p.total = total);
    }

    /// Where the job is: `done` rows or leads gone through, the counts so far. The row is written
    /// and a live update published at most every [`PUBLISH_EVERY`]. Returns whether an operator
    /// asked to cancel (as of the last write).
    pub async fn progress(&self, done: u64, counts: &JobResult) -> bool {
        let due = self.with(|p| {
            p.done = done;
            p.result = counts.clone();
            let due = p.last_write.is_none_or(|at| at.elapsed() >= PUBLISH_EVERY);
            if due {
                p.last_write = Some(Instant::now());
            }
            due
        });
        if due {
            self.write().await;
        }
        self.with(|p| p.cancelled)
    }

    async fn write(&self) {
        let (done, total, result) = self.with(|p| (p.done, p.total, p.result.clone()));
        let jobs = &self.inner.jobs;
        match jobs.store.job_progress(self.id(), done, total, &result, jobs.clock.now()).await {
            Ok(cancelled) => {
                self.with(|p| p.cancelled |= cancelled);
                self.publish().await;
            }
            Err(e) => tracing::warn!(job = self.id(), error = %e, "cannot write a job's progress"),
        }
    }

    /// Whether an operator asked the job to stop (read from the database: the request may have
    /// come to another instance).
    pub async fn is_cancelled(&self) -> bool {
        if self.with(|p| p.cancelled) {
            return true;
        }
        match self.inner.jobs.store.job_cancel_requested(self.id()).await {
            Ok(cancelled) => {
                self.with(|p| p.cancelled |= cancelled);
                cancelled
            }
            Err(e) => {
                tracing::warn!(job = self.id(), error = %e, "cannot read whether a job was cancelled");
                false
            }
        }
    }

    /// A row or lead the job did not take, for the report.
    pub async fn problem(&self, position: i64, reason: impl Into<String>) {
        self.problems(vec![(position, reason.into())]).await;
    }

    /// Rows or leads the job did not take, for the report (the first [`PROBLEMS_KEPT`] kept).
    pub async fn problems(&self, mut problems: Vec<(i64, String)>) {
        let room = self.with(|p| {
            let room = PROBLEMS_KEPT.saturating_sub(p.problems);
            p.problems += problems.len() as u64;
            room
        });
        problems.truncate(usize::try_from(room).unwrap_or(usize::MAX));
        if let Err(e) = self.inner.jobs.store.add_job_problems(self.id(), &problems).await {
            tracing::warn!(job = self.id(), error = %e, "cannot store a job's problems");
        }
    }

    /// Ends the job (once; later calls change nothing) and announces it. `done` stays what the
    /// last progress said.
    pub async fn finish(&self, state: JobState, result: JobResult) -> Option<Job> {
        let (done, total, first) = self.with(|p| (p.done, p.total, !std::mem::replace(&mut p.finished, true)));
        if !first {
            return None;
        }
        let jobs = &self.inner.jobs;
        match jobs.store.finish_job(self.id(), state, done, total, &result, jobs.clock.now()).await {
            Ok(job) => {
                if let Some(job) = &job {
                    jobs.live.publish(LiveEvent::JobChanged { job: Box::new(job.clone()) }).await;
                }
                job
            }
            Err(e) => {
                tracing::error!(job = self.id(), error = %e, "cannot end a job");
                None
            }
        }
    }

    /// The counts and `done` as last reported.
    pub fn last(&self) -> (u64, JobResult) {
        self.with(|p| (p.done, p.result.clone()))
    }

    async fn publish(&self) {
        let jobs = &self.inner.jobs;
        match jobs.store.job(self.id()).await {
            Ok(Some(job)) => jobs.live.publish(LiveEvent::JobChanged { job: Box::new(job) }).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(job = self.id(), error = %e, "cannot read a job to announce it"),
        }
    }

    async fn heartbeat(&self) {
        let jobs = &self.inner.jobs;
        if let Err(e) = jobs.store.job_heartbeat(self.id(), jobs.clock.now()).await {
            tracing::warn!(job = self.id(), error = %e, "cannot write a job's heartbeat");
        }
    }
}

/// How a job's work ended: its final state and result (a cancel says what it kept in
/// `result.message`).
pub type Outcome = (JobState, JobResult);

/// Runs a job's work in its own task, with its heartbeat, and ends the job with what the work
/// returns. An error (or a panic) ends it `failed`, keeping the last counts, with the error's
/// text as its message.
pub fn spawn<F>(handle: JobHandle, work: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = Result<Outcome, String>> + Send + 'static,
{
    let language = language::current();
    tokio::spawn(language::scoped(language, async move {
        let mut work = tokio::spawn(language::scoped(language, work));
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.tick().await;
        let joined = loop {
            tokio::select! {
                joined = &mut work => break joined,
                _ = beat.tick() => handle.heartbeat().await,
            }
        };
        let (state, result) = match joined {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(message)) => failed(&handle, message),
            Err(e) => {
                tracing::error!(job = handle.id(), error = %e, "a job's work panicked");
                failed(&handle, said(&k::JOB_SERVER_ERROR.into()))
            }
        };
        handle.finish(state, result).await;
    }))
}

fn failed(handle: &JobHandle, message: String) -> Outcome {
    let (done, mut result) = handle.last();
    let ended = Message::new(k::JOB_FAILED_AFTER).arg("message", message).with("done", Message::number(done));
    result.message = Some(said(&ended));
    (JobState::Failed, result)
}

/// The sentence a cancelled job ends with, in the language of the job.
pub fn cancelled_message(done: u64, total: Option<u64>) -> String {
    let message = match total {
        Some(total) => Message::new(k::JOB_CANCELLED_OF).with("total", Message::number(total)),
        None => Message::new(k::JOB_CANCELLED),
    };
    said(&message.with("done", Message::number(done)))
}

/// After a batch of a job changed these leads (already committed): their segment memberships
/// recomputed with `reason` in their timelines, and a live update each (one statement for the
/// batch; a batch larger than [`ANNOUNCE_AT_MOST`] is not announced lead by lead). Failures are
/// logged: the change is saved, and the segment job catches up.
pub async fn leads_changed(state: &AppState, ids: &[i64], reason: &str) {
    if ids.is_empty() {
        return;
    }
    if let Err(e) = recompute(state, ids, reason).await {
        tracing::warn!(error = %e, "cannot recompute the segments of a job's leads");
    }
    if ids.len() > ANNOUNCE_AT_MOST {
        return;
    }
    let payloads: Vec<String> = ids
        .iter()
        .filter_map(|lead_id| serde_json::to_string(&LiveEvent::LeadChanged { lead_id: *lead_id }).ok())
        .collect();
    match state.store.insert_live_events(payloads, to_ms(state.clock.now())).await {
        Ok(()) => state.live.wake(),
        Err(e) => tracing::warn!(error = %e, "cannot store a job's live updates"),
    }
}

async fn recompute(state: &AppState, ids: &[i64], reason: &str) -> StoreResult<()> {
    let segments: Vec<CheckedSegment> = crate::segments::checked(&state.store.segments().await?);
    if segments.is_empty() {
        return Ok(());
    }
    let scope = LeadScope::Ids(ids.to_vec());
    for segment in &segments {
        state.store.update_members(segment, &scope, state.clock.now(), Reason::Text(reason)).await?;
    }
    Ok(())
}

/// The housekeeping sweep: jobs whose process died are marked failed.
pub async fn sweep(state: &AppState) {
    match Jobs::of(state).fail_interrupted(false).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(jobs = n, "jobs without a heartbeat marked failed (interrupted)"),
        Err(e) => tracing::warn!(error = %e, "cannot look for interrupted jobs"),
    }
}
