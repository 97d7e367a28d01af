//! Import leads from a CSV file (`/leads/import`, a chunk of its own): upload the file, see its
//! first rows with the guessed target of each column and change them (a system property, a custom
//! property with its type, tags, the subscription status, or left out), choose what a row that
//! matches an existing lead does, check every row first (a dry run that writes nothing), then
//! import. Both run as background jobs: a live progress bar, Cancel, and the report of every row
//! not taken, with its line and reason.

use leadcard_core::PropertyType;
use leadcard_core::import::{ImportRun, ImportUpload, OnMatch, Target, check_mapping};
use leadcard_core::property::SYSTEM_PROPERTIES;
use leadcard_core::wire::{Job, JobState};
use leptos::prelude::*;
use leptos_router::components::A;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, t, tf};
use crate::components::field_error::refused;
use crate::components::job_progress::JobProgress;
use crate::paths;

/// The select's value for a custom property.
const CUSTOM: &str = "custom";
/// Report rows shown in the page (the CSV download has them all).
const PROBLEMS_SHOWN: usize = 100;

/// What the operator chose for one column.
#[derive(Clone, Copy)]
struct Column {
    index: usize,
    /// `skip`, `tags`, `status`, a system property's name, or [`CUSTOM`].
    choice: RwSignal<String>,
    /// A custom property's name and type.
    name: RwSignal<String>,
    ty: RwSignal<PropertyType>,
}

impl Column {
    fn of(index: usize, header: &str, guess: &Target) -> Column {
        let (choice, name, ty) = match guess {
            Target::Skip => ("skip".to_owned(), header.trim().to_owned(), PropertyType::Text),
            Target::Tags => ("tags".to_owned(), header.trim().to_owned(), PropertyType::Text),
            Target::Status => ("status".to_owned(), header.trim().to_owned(), PropertyType::Text),
            Target::Property { name, ty } if name.starts_with('$') => (name.clone(), header.trim().to_owned(), *ty),
            Target::Property { name, ty } => (CUSTOM.to_owned(), name.clone(), *ty),
        };
        Column { index, choice: RwSignal::new(choice), name: RwSignal::new(name), ty: RwSignal::new(ty) }
    }

    fn target(&self) -> Target {
        match self.choice.get_untracked().as_str() {
            "skip" => Target::Skip,
            "tags" => Target::Tags,
            "status" => Target::Status,
            CUSTOM => {
                Target::Property { name: self.name.get_untracked().trim().to_owned(), ty: self.ty.get_untracked() }
            }
            system => Target::Property {
                name: system.to_owned(),
                ty: SYSTEM_PROPERTIES.iter().find(|p| p.name == system).map_or(PropertyType::Text, |p| p.ty),
            },
        }
    }
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let upload = RwSignal::new(None::<ImportUpload>);
    let columns = RwSignal::new(Vec::<Column>::new());
    let on_match = RwSignal::new(OnMatch::Update);
    let problem = RwSignal::new(None::<ApiError>);
    let job = RwSignal::new(None::<Job>);
    // A real import uses the upload up: choose the file again for another run.
    let used = RwSignal::new(false);

    let send_file = Action::new_local(move |file: &SendWrapper<web_sys::File>| {
        let file = file.clone();
        async move {
            match api::upload_import(file.take()).await {
                Ok(taken) => {
                    let chosen =
                        taken.header.iter().zip(&taken.mapping).enumerate().map(|(i, (h, t))| Column::of(i, h, t));
                    columns.set(chosen.collect());
                    upload.set(Some(taken));
                    used.set(false);
                    job.set(None);
                }
                Err(error) => {
                    upload.set(None);
                    problem.set(Some(error));
                }
            }
        }
    });
    let uploading = send_file.pending();
    let start = Action::new_local(move |dry_run: &bool| {
        let dry_run = *dry_run;
        let id = upload.with_untracked(|u| u.as_ref().map(|u| u.id.clone())).unwrap_or_default();
        let run = ImportRun {
            mapping: columns.with_untracked(|c| c.iter().map(Column::target).collect()),
            on_match: on_match.get_untracked(),
            dry_run,
        };
        async move {
            match api::run_import(&id, &run).await {
                Ok(started) => {
                    if !dry_run {
                        used.set(true);
                    }
                    job.set(Some(started));
                }
                Err(error) => {
                    problem.set(Some(error));
                }
            }
        }
    });
    let starting = start.pending();
    let running = move || job.with(|j| j.as_ref().is_some_and(|j| j.state == JobState::Running));
    let go = move |dry_run: bool| {
        let header: Vec<String> = upload.with_untracked(|u| u.as_ref().map(|u| u.header.clone()).unwrap_or_default());
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        let mapping: Vec<Target> = columns.with_untracked(|c| c.iter().map(Column::target).collect());
        // The server's own check, first in the page.
        if let Err(e) = check_mapping(&names, &mapping) {
            return problem.set(Some(refused(e)));
        }
        problem.set(None);
        start.dispatch(dry_run);
    };
    let on_file = move |ev: leptos::ev::Event| {
        let file = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0));
        if let Some(file) = file {
            problem.set(None);
            send_file.dispatch(SendWrapper::new(file));
        }
    };
    let job_id = Memo::new(move |_| job.with(|j| j.as_ref().map(|j| j.id)));

    view! {
        <div class="settings-page leads-import" data-testid="import-page">
            <p><A href=paths::LEADS>{t(k::IMPORT_BACK)}</A></p>
            <h1>{t(k::IMPORT_TITLE)}</h1>
            <section class="settings-section">
                <p class="settings-form__note">
                    {t(k::IMPORT_NOTE)}
                </p>
                <label class="field">
                    <span class="field__label">{t(k::IMPORT_FILE)}</span>
                    <input type="file" accept=".csv,text/csv" data-testid="import-file" on:change=on_file
                        disabled=move || uploading.get() || running()/>
                </label>
                <Show when=move || uploading.get()>
                    <p class="settings-form__note" role="status">{t(k::IMPORT_UPLOADING)}</p>
                </Show>
                {move || problem.get().map(|e| view! {
                    <p class="editor__error" role="alert" data-testid="import-error">{e.message}</p>
                })}
            </section>
            {move || upload.get().map(|file| view! {
                <Preview file columns/>
                <section class="settings-section">
                    <fieldset class="leads-import__match">
                        <legend>{t(k::IMPORT_MATCH)}</legend>
                        <label class="settings-form__check">
                            <input type="radio" name="on-match" data-testid="import-on-match-update"
                                prop:checked=move || on_match.get() == OnMatch::Update
                                on:change=move |_| on_match.set(OnMatch::Update)/>
                            {t(k::IMPORT_UPDATES)}
                        </label>
                        <label class="settings-form__check">
                            <input type="radio" name="on-match" data-testid="import-on-match-skip"
                                prop:checked=move || on_match.get() == OnMatch::Skip
                                on:change=move |_| on_match.set(OnMatch::Skip)/>
                            {t(k::IMPORT_SKIPPED)}
                        </label>
                    </fieldset>
                    <div class="editor__actions">
                        <button type="button" class="button button--ghost" data-testid="import-check"
                            disabled=move || starting.get() || running() || used.get() on:click=move |_| go(true)>
                            {t(k::IMPORT_CHECK)}
                        </button>
                        <button type="button" class="button button--primary" data-testid="import-run"
                            disabled=move || starting.get() || running() || used.get() on:click=move |_| go(false)>
                            {t(k::IMPORT_RUN)}
                        </button>
                    </div>
                </section>
            })}
            {move || job_id.get().map(|id| view! {
                <section class="settings-section" data-testid="import-job">
                    <JobProgress id job/>
                    <Problems id job/>
                </section>
            })}
        </div>
    }
}

/// The file's first rows, each column with its target.
#[component]
fn Preview(file: ImportUpload, columns: RwSignal<Vec<Column>>) -> impl IntoView {
    let header = file.header.clone();
    let width = header.len();
    view! {
        <section class="settings-section">
            <h2>{tf(k::IMPORT_FIRST_ROWS, &[("file", &file.name)])}</h2>
            <div class="leads-import__scroll">
                <table class="leads-import__preview" data-testid="import-preview">
                    <thead>
                        <tr>
                            <th scope="col">{t(k::IMPORT_LINE)}</th>
                            {header.iter().map(|h| view! { <th scope="col">{h.clone()}</th> }).collect_view()}
                        </tr>
                        <tr>
                            <th scope="row">{t(k::IMPORT_AS)}</th>
                            {move || columns.get().into_iter().map(|column| {
                                let name = header.get(column.index).cloned().unwrap_or_default();
                                view! { <td><TargetPicker column header=name/></td> }
                            }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {file.rows.iter().map(|row| view! {
                            <tr data-testid="import-row">
                                <th scope="row">{row.line.to_string()}</th>
                                {(0..width).map(|i| view! { <td>{row.cells.get(i).cloned().unwrap_or_default()}</td> }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Where one column goes.
#[component]
fn TargetPicker(column: Column, header: String) -> impl IntoView {
    let systems = SYSTEM_PROPERTIES.iter().filter(|p| !p.read_only);
    let label = tf(k::IMPORT_COLUMN_AS, &[("column", &header)]);
    view! {
        <select class="select" data-testid="import-map" data-column=header.clone() aria-label=label
            prop:value=move || column.choice.get()
            on:change=move |ev| column.choice.set(event_target_value(&ev))>
            <option value="skip">{t(k::IMPORT_LEAVE_OUT)}</option>
            {systems.map(|p| view! { <option value=p.name>{t(p.label)}</option> }).collect_view()}
            <option value=CUSTOM>{t(k::IMPORT_CUSTOM)}</option>
            <option value="tags">{t(k::IMPORT_TAGS)}</option>
            <option value="status">{t(k::FILTER_SUBSCRIPTION_STATUS)}</option>
        </select>
        <Show when=move || column.choice.get() == CUSTOM>
            <input class="input" data-testid="import-custom-name" aria-label=tf(k::IMPORT_CUSTOM_NAME, &[("column", &header)])
                prop:value=move || column.name.get() on:input=move |ev| column.name.set(event_target_value(&ev))/>
            <select class="select" data-testid="import-custom-type" aria-label=tf(k::IMPORT_CUSTOM_TYPE, &[("column", &header)])
                prop:value=move || column.ty.get().as_str()
                on:change=move |ev| column.ty.set(PropertyType::parse(&event_target_value(&ev)).unwrap_or(PropertyType::Text))>
                {PropertyType::ALL.into_iter().map(|ty| view! { <option value=ty.as_str()>{t(ty.text())}</option> }).collect_view()}
            </select>
        </Show>
    }
}

/// The first rows of an ended job's report.
#[component]
fn Problems(id: i64, job: RwSignal<Option<Job>>) -> impl IntoView {
    let ended = Memo::new(move |_| {
        job.with(|j| j.as_ref().is_some_and(|j| j.state.is_finished() && j.result.failed + j.result.skipped > 0))
    });
    let rows = LocalResource::new(move || {
        let ended = ended.get();
        async move { if ended { Some(api::job_problems(id, None).await) } else { None } }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match rows.await {
                    Some(Ok(page)) => {
                        let more = page.items.len() > PROBLEMS_SHOWN || page.next.is_some();
                        view! {
                            <ul class="leads-import__problems" data-testid="import-problems">
                                {page.items.into_iter().take(PROBLEMS_SHOWN).map(|p| view! {
                                    <li data-testid="import-problem">{tf(k::IMPORT_PROBLEM, &[("line", &p.position.to_string()), ("reason", &p.reason)])}</li>
                                }).collect_view()}
                            </ul>
                            {more.then(|| view! { <p class="settings-form__note">{t(k::IMPORT_MORE)}</p> })}
                        }.into_any()
                    }
                    Some(Err(error)) => view! { <p class="editor__error" role="alert">{error.message}</p> }.into_any(),
                    None => ().into_any(),
                }
            })}
        </Transition>
    }
}
