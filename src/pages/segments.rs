//! `/segments` and `/segments/:id`: saved filters. The list, and an editor (name + the Leads
//! filter builder) that counts the matching leads whenever the conditions are applied and as leads
//! change (live), saves, and deletes. A saved segment's editor has its own URL, which reloads to
//! it; a segment opens in the Leads Database as its filter.

use leadcard_core::LiveEvent;
use leadcard_core::filter::Filter;
use leadcard_core::segment::{NewSegment, Segment, SegmentCount, check_segment_name};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_use::use_debounce_fn_with_options;
use leptos_use::utils::DebounceOptions;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, plural, say, t, tf};
use crate::browser::json;
use crate::components::error_notice::ErrorNotice;
use crate::components::filter_builder::FilterBuilder;
use crate::live::Live;
use crate::paths;
use crate::title::page_title;

/// Leads changing (or turning online, sleeping, offline) are counted again after this pause...
const RECOUNT_WAIT_MS: f64 = 1_000.0;
/// ...and at least this often while they keep changing.
const RECOUNT_MAX_WAIT_MS: f64 = 5_000.0;

/// What the editor holds: a segment being changed, or a new one.
#[derive(Debug, Clone, PartialEq)]
enum Editing {
    New(Filter),
    Existing(Segment),
}

#[component]
pub fn SegmentsPage() -> impl IntoView {
    page_title(t(k::NAV_SEGMENTS));
    let query = use_query_map();
    let params = use_params_map();
    let navigate = use_navigate();
    let list = LocalResource::new(api::segments);
    // The segment open in the editor is the URL's (`/segments/:id`); a new one is the page's own.
    let open_id = Memo::new(move |_| params.with(|p| p.get("id")));
    let new_segment = RwSignal::new(None::<Filter>);
    // `?filter=` (from the Leads Database's "Save as segment") starts a new segment from it.
    if let Some(raw) = query.with_untracked(|q| q.get("filter")).filter(|raw| !raw.is_empty())
        && let Ok(filter) = json::filter_from_query(&raw)
    {
        new_segment.set(Some(filter));
    }
    let editing = Memo::new(move |_| match open_id.get() {
        Some(raw) => {
            let found = list.with(|list| match list {
                Some(Ok(list)) => {
                    Some(raw.parse::<i64>().ok().and_then(|id| list.iter().find(|s| s.id == id).cloned()))
                }
                _ => None,
            });
            // Loading: nothing yet; loaded without it: no such segment.
            found.map(|segment| segment.map(Editing::Existing).ok_or(raw))
        }
        None => new_segment.get().map(|filter| Ok(Editing::New(filter))),
    });
    let saved = Callback::new({
        let navigate = navigate.clone();
        move |segment: Option<Segment>| {
            new_segment.set(None);
            list.refetch();
            navigate(&segment.map_or_else(|| paths::SEGMENTS.to_owned(), |s| paths::segment(s.id)), Default::default());
        }
    });

    view! {
        <div class="segments-page">
            <section class="settings-section">
                <div class="settings-section__bar">
                    <h1>{t(k::NAV_SEGMENTS)}</h1>
                    <button
                        type="button"
                        class="button button--primary"
                        data-testid="segment-new"
                        on:click={
                            let navigate = navigate.clone();
                            move |_| {
                                new_segment.set(Some(Filter::default()));
                                navigate(paths::SEGMENTS, Default::default());
                            }
                        }
                    >
                        {t(k::SEGMENTS_NEW)}
                    </button>
                </div>
                {move || match list.get() {
                    None => view! { <p>{t(k::COMMON_LOADING)}</p> }.into_any(),
                    Some(Err(error)) => view! { <ErrorNotice error/> }.into_any(),
                    Some(Ok(segments)) if segments.is_empty() => view! {
                        <p class="events__empty">{t(k::SEGMENTS_NONE)}</p>
                    }
                    .into_any(),
                    Some(Ok(segments)) => view! {
                        <ul class="segment-list">
                            {segments
                                .into_iter()
                                .map(|segment| {
                                    let leads = paths::leads("", &json::filter_to_query(&segment.filter));
                                    let id = segment.id;
                                    view! {
                                        <li
                                            class="segment-row"
                                            class:segment-row--open=move || open_id.get() == Some(id.to_string())
                                            data-testid="segment-row"
                                            data-id=id
                                        >
                                            <a class="segment-row__name" href=paths::segment(id) data-testid="segment-open">
                                                {segment.name.clone()}
                                            </a>
                                            <a href=leads data-testid="segment-leads">{t(k::SEGMENTS_SHOW_LEADS)}</a>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                }}
            </section>
            {move || {
                editing.get().map(|editing| match editing {
                    Ok(editing) => view! { <SegmentEditor editing on_saved=saved/> }.into_any(),
                    Err(raw) => view! {
                        <p class="editor__error" role="alert" data-testid="segment-missing">
                            {tf(k::SEGMENTS_MISSING, &[("id", &raw)])}
                        </p>
                    }
                    .into_any(),
                })
            }}
        </div>
    }
}

/// Edits a segment; `on_saved` gets it as saved, or `None` once deleted.
#[component]
fn SegmentEditor(editing: Editing, on_saved: Callback<Option<Segment>>) -> impl IntoView {
    let (id, initial_name, initial_filter) = match editing {
        Editing::New(filter) => (None, String::new(), filter),
        Editing::Existing(segment) => (Some(segment.id), segment.name, segment.filter),
    };
    let name = RwSignal::new(initial_name);
    let filter = RwSignal::new(initial_filter.clone());
    let problem = RwSignal::new(None::<String>);
    // The server's refusal of the filter on saving; a refused count speaks too.
    let refused_filter = RwSignal::new(None::<ApiError>);
    // Counted whenever conditions are applied (none to count: no figure).
    let count = LocalResource::new(move || {
        let current = filter.get();
        async move { if current.is_empty() { None } else { Some(api::count_segment(&current).await) } }
    });
    // The count follows the leads as they change (at most one count a second while they do).
    let recount = use_debounce_fn_with_options(
        move || count.refetch(),
        RECOUNT_WAIT_MS,
        DebounceOptions::default().max_wait(Some(RECOUNT_MAX_WAIT_MS)),
    );
    if let Some(live) = Live::use_live() {
        let on_change = recount.clone();
        live.on_message(move |event| {
            if !matches!(event, LiveEvent::ConversationChanged { .. } | LiveEvent::JobChanged { .. }) {
                on_change();
            }
        });
        live.on_reset(move || {
            recount();
        });
    }
    let count = Signal::derive(move || count.get().flatten());
    let server_error = Signal::derive(move || {
        refused_filter.get().or_else(|| count.with(|c| c.as_ref().and_then(|c| c.as_ref().err()).cloned()))
    });

    let applied = Callback::new(move |applied: Filter| {
        refused_filter.set(None);
        filter.set(applied);
    });
    let store = Action::new_local(move |segment: &NewSegment| {
        let segment = segment.clone();
        async move {
            let result = match id {
                Some(id) => api::update_segment(id, &segment).await,
                None => api::create_segment(&segment).await,
            };
            match result {
                Ok(segment) => on_saved.run(Some(segment)),
                Err(error) => {
                    if error.field.as_deref().is_some_and(|f| f.starts_with("filter")) {
                        refused_filter.set(Some(error.clone()));
                    }
                    problem.set(Some(error.message));
                }
            }
        }
    });
    let saving = store.pending();
    let remove = Action::new_local(move |&id: &i64| async move {
        match api::delete_segment(id).await {
            Ok(()) => on_saved.run(None),
            Err(error) => problem.set(Some(error.message)),
        }
    });
    let save = move |_| {
        let segment = NewSegment { name: name.get_untracked(), filter: filter.get_untracked() };
        if let Err(e) = check_segment_name(&segment.name) {
            return problem.set(Some(say(&e.message)));
        }
        if segment.filter.is_empty() {
            return problem.set(Some(t(k::SEGMENTS_NEED_CONDITION).to_owned()));
        }
        store.dispatch(segment);
    };
    let delete = move |_| {
        if let Some(id) = id {
            remove.dispatch(id);
        }
    };
    let options = LocalResource::new(|| futures::future::join(api::properties(), api::tags()));
    let properties = Signal::derive(move || options.get().and_then(|(p, _)| p.ok()).unwrap_or_default());
    let tags = Signal::derive(move || options.get().and_then(|(_, t)| t.ok()).unwrap_or_default());

    view! {
        <section class="settings-section segment-editor" data-testid="segment-editor">
            <h2>{if id.is_some() { t(k::SEGMENTS_EDIT) } else { t(k::SEGMENTS_NEW) }}</h2>
            <label class="field">
                <span class="field__label">{t(k::COMMON_NAME)}</span>
                <input
                    class="input"
                    name="segment-name"
                    autocomplete="off"
                    placeholder=t(k::SEGMENTS_PLACEHOLDER)
                    prop:value=name
                    on:input=move |ev| {
                        name.set(event_target_value(&ev));
                        problem.set(None);
                    }
                />
            </label>
            <FilterBuilder
                initial=initial_filter
                server_error
                properties
                tags
                on_apply=applied
                own_segment=id
            />
            <p class="segment-editor__count" data-testid="segment-count">
                {move || match count.get() {
                    None => t(k::SEGMENTS_APPLY_TO_COUNT).to_owned(),
                    Some(Err(_)) => t(k::SEGMENTS_CANNOT_COUNT).to_owned(),
                    Some(Ok(SegmentCount { count, exact: true })) => {
                        plural(k::SEGMENTS_MATCH_NOW, count)
                    }
                    Some(Ok(SegmentCount { count, exact: false })) => {
                        plural(k::SEGMENTS_MATCH_AT_LEAST, count)
                    }
                }}
            </p>
            {move || problem.get().map(|m| view! { <p class="editor__error" role="alert" data-testid="segment-error">{m}</p> })}
            <div class="editor__actions">
                <button type="button" class="button button--primary" data-testid="segment-save" disabled=saving on:click=save>
                    {t(k::SEGMENTS_SAVE)}
                </button>
                {id.map(|_| view! {
                    <button type="button" class="button button--ghost" data-testid="segment-delete" on:click=delete>
                        {t(k::COMMON_DELETE)}
                    </button>
                })}
            </div>
        </section>
    }
}
