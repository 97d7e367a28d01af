//! One background job (an import, a bulk action) as it goes: a progress bar and its counts that
//! follow the job's live `job_changed` updates, Cancel, and once it has ended its result, why it
//! stopped early, and the report of what it did not take (a CSV download).

use leadcard_core::LiveEvent;
use leadcard_core::wire::{Job, JobState};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, say, t};
use crate::live::Live;

/// Whether `incoming` is at least as far along as `known` (updates can arrive out of order: the
/// answer to a request and a live update about the same job).
pub fn is_newer(incoming: &Job, known: Option<&Job>) -> bool {
    let rank = |j: &Job| (j.state.is_finished(), j.done, j.cancel_requested);
    known.is_none_or(|known| known.id != incoming.id || rank(incoming) >= rank(known))
}

/// Keeps `incoming` in `job` when it is newer than what `job` holds.
fn keep(job: RwSignal<Option<Job>>, incoming: &Job) {
    if job.with_untracked(|known| is_newer(incoming, known.as_ref())) {
        job.set(Some(incoming.clone()));
    }
}

/// The job `id`. `job` is where the job as last heard of lives (the page may hold it: the answer
/// that started the job, and it reads the result from it); without one the component keeps its
/// own. It is fetched once on mount (an update may have come before the component listened) and
/// follows live updates after.
#[component]
pub fn JobProgress(id: i64, #[prop(optional)] job: Option<RwSignal<Option<Job>>>) -> impl IntoView {
    let job = job.unwrap_or_else(|| RwSignal::new(None));
    let problem = RwSignal::new(None::<ApiError>);
    let fetched = LocalResource::new(move || async move {
        match api::job(id).await {
            Ok(now) => {
                keep(job, &now);
                Ok(())
            }
            Err(error) => Err(error),
        }
    });
    if let Some(live) = Live::use_live() {
        live.on_message(move |event| {
            if let LiveEvent::JobChanged { job: changed } = event
                && changed.id == id
            {
                keep(job, changed);
            }
        });
        live.on_reset(move || fetched.refetch());
    }
    let cancel = Action::new_local(move |_: &()| async move {
        match api::cancel_job(id).await {
            Ok(now) => keep(job, &now),
            // Ended meanwhile: the live update shows how.
            Err(error) if error.status == 409 => fetched.refetch(),
            Err(error) => {
                problem.set(Some(error));
            }
        }
    });
    let cancelling = cancel.pending();

    let state = move || job.with(|j| j.as_ref().map_or("loading", |j| j.state.as_str()));
    let running = move || job.with(|j| j.as_ref().is_some_and(|j| j.state == JobState::Running));
    let summary = move || job.with(|j| j.as_ref().map(|j| j.summary.clone()).unwrap_or_default());
    let bar = move || {
        job.with(|j| {
            let j = j.as_ref()?;
            let total = j.total.filter(|t| *t > 0)?;
            Some((total, j.done.min(total)))
        })
    };
    let counts = move || {
        job.with(|j| match j {
            Some(j) => format!("{} — {}", say(&j.progress_message()), say(&j.result_message())),
            None => String::new(),
        })
    };
    let message = move || {
        job.with(|j| {
            let j = j.as_ref()?;
            match (&j.result.message, j.state) {
                (Some(message), _) => Some(message.clone()),
                (None, JobState::Running) if j.cancel_requested => Some(t(k::JOB_CANCELLING).to_owned()),
                (None, JobState::Done) => Some(t(k::JOB_DONE).to_owned()),
                _ => None,
            }
        })
    };
    let has_report = move || {
        job.with(|j| j.as_ref().is_some_and(|j| j.state.is_finished() && j.result.failed + j.result.skipped > 0))
    };
    let load_error = move || match fetched.get() {
        Some(Err(error)) if job.with(Option::is_none) => Some(error.message),
        _ => None,
    };

    view! {
        <section class="job" data-testid="job-progress" data-state=state data-job=id.to_string() aria-label=t(k::JOB_PROGRESS)>
            <p class="job__summary">{summary}</p>
            {move || match bar() {
                Some((total, done)) => view! {
                    <progress class="job__bar" data-testid="job-bar" max=total.to_string() value=done.to_string()></progress>
                }.into_any(),
                None if running() => view! { <progress class="job__bar" data-testid="job-bar"></progress> }.into_any(),
                None => ().into_any(),
            }}
            <p class="job__counts" data-testid="job-counts" aria-live="polite">{counts}</p>
            {move || message().map(|m| view! { <p class="job__message" data-testid="job-message" role="status">{m}</p> })}
            <div class="job__actions">
                <Show when=running>
                    <button type="button" class="button button--ghost" data-testid="job-cancel"
                        disabled=move || cancelling.get() || job.with(|j| j.as_ref().is_some_and(|j| j.cancel_requested))
                        on:click=move |_| { cancel.dispatch(()); }>
                        {t(k::COMMON_CANCEL)}
                    </button>
                </Show>
                <Show when=has_report>
                    <a class="button button--ghost" data-testid="job-report" download="" href=api::job_report_url(id)>
                        {t(k::JOB_REPORT)}
                    </a>
                </Show>
            </div>
            {move || problem.get().map(|e| view! { <p class="editor__error" role="alert">{e.message}</p> })}
            {move || load_error().map(|m| view! { <p class="editor__error" role="alert">{m}</p> })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use leadcard_core::wire::{JobKind, JobResult};

    use super::*;

    fn job(state: JobState, done: u64) -> Job {
        Job {
            id: 1,
            kind: JobKind::Import,
            state,
            summary: String::new(),
            total: Some(10),
            done,
            result: JobResult::default(),
            cancel_requested: false,
            created_at: chrono::DateTime::default(),
            finished_at: None,
            by: None,
        }
    }

    #[test]
    fn an_older_update_never_replaces_a_newer_one() {
        assert!(is_newer(&job(JobState::Running, 5), Some(&job(JobState::Running, 2))));
        assert!(!is_newer(&job(JobState::Running, 2), Some(&job(JobState::Running, 5))));
        assert!(!is_newer(&job(JobState::Running, 9), Some(&job(JobState::Cancelled, 4))));
        assert!(is_newer(&job(JobState::Done, 10), None));
    }
}
