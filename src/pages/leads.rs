//! `/leads`: the Leads Database. The search (`?q=`) and the filter (`?filter=`) live in the URL, so
//! a view is a link that reloads to the same list; the list loads more as the operator scrolls.
//! The rows and their total are two requests: the rows show as soon as they come. The list is
//! live: rows follow edits and removals in place, new leads are announced above it, and the total
//! follows.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use futures::future::join;
use leadcard_core::bulk::BulkSelection;
use leadcard_core::filter::Filter;
use leadcard_core::lead_sort::{LeadSort, SortKey};
use leadcard_core::wire::{LeadPage, LeadSummary, Total};
use leadcard_core::{LiveEvent, ValidCondition};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_use::utils::DebounceOptions;
use leptos_use::{use_debounce_fn_with_arg, use_debounce_fn_with_options};

use crate::api::{self, ApiError, LeadQuery};
use crate::browser::i18n::{k, plural, t};
use crate::browser::json;
use crate::components::bulk_dialog::BulkDialog;
use crate::components::clock::use_now;
use crate::components::error_notice::api_error_fallback;
use crate::components::filter_builder::FilterBuilder;
use crate::components::lead_table::{LeadTable, RowSelection};
use crate::live::Live;
use crate::paged::{Page, Paged};
use crate::pages::leads_export::ExportLeads;
use crate::pages::leads_selection::SelectionBarArgs;
use crate::pages::new_lead::NewLead;
use crate::paths;
use crate::title::page_title;

/// Typing pauses this long before the search runs.
const SEARCH_DEBOUNCE_MS: f64 = 300.0;

#[component]
pub fn LeadsPage() -> impl IntoView {
    page_title(t(k::NAV_LEADS_TITLE));
    let query_map = use_query_map();
    let q = Memo::new(move |_| query_map.with(|m| m.get("q").unwrap_or_default()));
    let raw_filter = Memo::new(move |_| query_map.with(|m| m.get("filter").unwrap_or_default()));
    let filter = Memo::new(move |_| {
        raw_filter.with(|raw| if raw.is_empty() { Ok(Filter::default()) } else { json::filter_from_query(raw) })
    });
    // An order the URL names wrongly (edited by hand) is the default order.
    let sort =
        Memo::new(move |_| query_map.with(|m| LeadSort::parse(&m.get("sort").unwrap_or_default()).unwrap_or_default()));

    let first_page = LocalResource::new(move || {
        let (q, filter, sort) = (q.get(), filter.get(), sort.get());
        async move {
            let filter = filter?;
            // Segment conditions are opened by the server, which knows the saved segments.
            if filter.segment_ids().is_empty() {
                filter.check()?;
            }
            let query = LeadQuery { q, filter, sort, ..LeadQuery::default() };
            let page = api::leads(query.clone()).await?;
            Ok::<_, ApiError>((query, page))
        }
    });
    // The total, asked for beside the first page (counting may take longer than the rows).
    let count = LocalResource::new(move || {
        let (q, filter) = (q.get(), filter.get());
        async move {
            let filter = filter?;
            // Segment conditions are opened by the server, which knows the saved segments.
            if filter.segment_ids().is_empty() {
                filter.check()?;
            }
            api::lead_count(LeadQuery { q, filter, ..LeadQuery::default() }).await
        }
    });
    let recount = Callback::new(move |()| count.refetch());
    // The bulk dialog lives here, above the results: its job goes on while the list it changes
    // follows live (rows leave, the results may empty).
    let bulk = RwSignal::new(None::<(BulkSelection, String)>);
    let on_bulk = Callback::new(move |chosen: (BulkSelection, String)| bulk.set(Some(chosen)));
    let total = Signal::derive(move || {
        count.with(|c| c.as_ref().and_then(|r| r.as_ref().ok()).map(total_label)).unwrap_or_default()
    });
    // What the filter builder offers: both lists in one resource, asked for at the same time.
    let options = LocalResource::new(|| join(api::properties(), api::tags()));
    let now = use_now();

    let navigate = use_navigate();
    let search = use_debounce_fn_with_arg(
        {
            let navigate = navigate.clone();
            move |text: String| {
                let to = paths::leads_sorted(&text, &raw_filter.get_untracked(), &sort.get_untracked().as_query());
                navigate(&to, NavigateOptions { replace: true, scroll: false, ..Default::default() });
            }
        },
        SEARCH_DEBOUNCE_MS,
    );
    let apply = {
        let navigate = navigate.clone();
        move |filter: Filter| {
            let raw = if filter.is_empty() { String::new() } else { json::filter_to_query(&filter) };
            let to = paths::leads_sorted(&q.get_untracked(), &raw, &sort.get_untracked().as_query());
            navigate(&to, NavigateOptions { scroll: false, ..Default::default() });
        }
    };
    let on_sort = Callback::new(move |order: LeadSort| {
        let to = paths::leads_sorted(&q.get_untracked(), &raw_filter.get_untracked(), &order.as_query());
        navigate(&to, Default::default());
    });
    let server_error = Signal::derive(move || {
        first_page.with(|page| page.as_ref().and_then(|r| r.as_ref().err()).filter(|e| e.is_filter_error()).cloned())
    });
    let properties = Signal::derive(move || {
        options.with(|o| o.as_ref().and_then(|(p, _)| p.as_ref().ok()).cloned().unwrap_or_default())
    });
    let tags = Signal::derive(move || {
        options.with(|o| o.as_ref().and_then(|(_, t)| t.as_ref().ok()).cloned().unwrap_or_default())
    });

    view! {
        <section class="leads">
            <header class="leads__header">
                <h1 class="leads__title">{t(k::NAV_LEADS)}</h1>
                <NewLead/>
                <ExportLeads q filter=Signal::derive(move || filter.get().unwrap_or_default()) properties/>
                // The import is a page (a chunk) of its own: nothing of it loads with this one.
                <A href=paths::LEADS_IMPORT attr:class="button button--ghost" attr:data-testid="import-open">{t(k::LEADS_IMPORT)}</A>
                <input
                    type="search"
                    class="input leads__search"
                    data-testid="leads-search"
                    placeholder=t(k::LEADS_SEARCH_PLACEHOLDER)
                    aria-label=t(k::LEADS_SEARCH)
                    prop:value=q
                    on:input=move |ev| {
                        search(event_target_value(&ev));
                    }
                />
            </header>
            {move || {
                view! {
                    <FilterBuilder
                        initial=filter.get().unwrap_or_default()
                        server_error
                        properties
                        tags
                        on_apply=apply.clone()
                    />
                }
            }}
            {move || (!raw_filter.get().is_empty() && filter.with(Result::is_ok)).then(|| view! {
                <a class="leads__save-segment" data-testid="filter-save-segment" href=paths::segments_from(&raw_filter.get())>
                    {t(k::LEADS_SAVE_SEGMENT)}
                </a>
            })}
            <Transition fallback=|| view! { <p class="leads__status" aria-busy="true">{t(k::LEADS_LOADING)}</p> }>
                <ErrorBoundary fallback=api_error_fallback>
                    {move || Suspend::new(async move {
                        match first_page.await {
                            Err(error) if error.is_filter_error() => {
                                Ok(view! { <p class="leads__status">{t(k::LEADS_FIX_FILTER)}</p> }.into_any())
                            }
                            result => result.map(|(query, page)| {
                                view! { <LeadsResults query page total now on_sort on_changes=recount on_bulk/> }.into_any()
                            }),
                        }
                    })}
                </ErrorBoundary>
            </Transition>
            {move || bulk.get().map(|(selection, described)| view! {
                <BulkDialog selection described on_close=move |()| bulk.set(None)/>
            })}
        </section>
    }
}

/// One search's results: the total (when its count arrives), and the table that grows page by
/// page (keyset `after`), kept current live (see [`LiveRows`]). A new search makes a new
/// `LeadsResults`, so nothing of the previous one is kept.
#[component]
fn LeadsResults(
    query: LeadQuery,
    page: LeadPage,
    total: Signal<String>,
    now: Signal<DateTime<Utc>>,
    on_sort: Callback<LeadSort>,
    /// The leads this list shows may have changed: the total is counted again.
    on_changes: Callback<()>,
    /// Opens the bulk dialog over a selection (described as "3 selected leads").
    on_bulk: Callback<(BulkSelection, String)>,
) -> impl IntoView {
    let sort = query.sort;
    let LeadPage { items, next } = page;
    let searching = !query.q.trim().is_empty() || !query.filter.is_empty();
    // A new search makes a new list: a page still on its way for the old one lands nowhere.
    let query = StoredValue::new(query);
    let results = Paged::new(move |after: Option<String>| {
        let query = query.with_value(|query| LeadQuery { after, ..query.clone() });
        async move {
            let page = api::leads(query).await?;
            Ok(Page { items: page.items, next: page.next })
        }
    });
    // Newest first, live rows join in their place; another order keeps the pages' own.
    let newest = sort == LeadSort::default();
    let results = if newest { results.sorted_by(newest_first) } else { results }.seed(Page { items, next });
    let rows = LiveRows::follow(results, query, on_changes);
    let to_top = Trigger::new();
    let fetch_next = move || results.load_more();
    // After a failure, more pages come only when the operator asks again.
    let on_near_end = move || {
        if results.error.with_untracked(Option::is_none) {
            fetch_next();
        }
    };
    let footer = move || {
        if results.loading.get() {
            view! { <p class="lead-table__footer" aria-busy="true">{t(k::LEADS_LOADING_MORE)}</p> }.into_any()
        } else if let Some(error) = results.error.get() {
            view! {
                <p class="lead-table__footer lead-table__footer--error" role="alert">
                    {error.message}
                    " "
                    <button type="button" class="button button--ghost" on:click=move |_| fetch_next()>
                        {t(k::COMMON_TRY_AGAIN)}
                    </button>
                </p>
            }
            .into_any()
        } else if results.next.with(Option::is_none) {
            view! { <p class="lead-table__footer">{t(k::LEADS_END)}</p> }.into_any()
        } else {
            ().into_any()
        }
    };
    let show_arrived = move |_| {
        rows.show_arrived();
        to_top.notify();
    };
    let empty = move || results.items.with(Vec::is_empty);
    let selection = RowSelection::new();

    let orders = SortKey::ALL.into_iter().flat_map(|key| {
        [!key.first_descending(), key.first_descending()].map(|descending| LeadSort { key, descending })
    });
    let choose = move |ev: leptos::ev::Event| {
        if let Some(chosen) = LeadSort::parse(&event_target_value(&ev)) {
            on_sort.run(chosen);
        }
    };
    view! {
        <p class="leads__total" data-testid="leads-total">{total}</p>
        <label class="leads__sort">
            {t(k::LEADS_ORDER)}
            <select class="select" data-testid="leads-sort" on:change=choose>
                {orders.map(|order| {
                    let arrow = if order.descending { "↓" } else { "↑" };
                    view! {
                        <option value=order.as_query() selected=order == sort>{format!("{} {arrow}", t(order.key.text()))}</option>
                    }
                }).collect_view()}
            </select>
        </label>
        {move || match rows.arrived.with(Vec::len) {
            0 => ().into_any(),
            n => view! {
                <p class="leads__arrived" role="status" data-testid="leads-arrived">
                    {plural(k::LEADS_NEW_LEADS, n as u64)}
                    " — "
                    <button type="button" class="link-button" data-testid="leads-arrived-show" on:click=show_arrived>
                        {t(k::LEADS_SHOW)}
                    </button>
                </p>
            }
            .into_any(),
        }}
        <Show
            when=move || !empty()
            fallback=move || view! {
                <div class="leads__empty">
                    {if searching { t(k::LEADS_NONE_MATCH) } else { t(k::LEADS_NONE) }}
                </div>
            }
        >
            <SelectionBar selection total searching q=query.with_value(|q| q.q.clone()) filter=query.with_value(|q| q.filter.clone()) on_bulk/>
            <LeadTable rows=results.items now on_near_end=Callback::new(move |()| on_near_end()) sort on_sort to_top selection>
                {footer}
            </LeadTable>
        </Show>
    }
}

/// What the operator can do with the ticked rows ([`crate::pages::leads_selection`]). Its code
/// sits in the occasional chunk: fetched when the first row is ticked, not with the page.
#[component]
fn SelectionBar(
    selection: RowSelection,
    total: Signal<String>,
    searching: bool,
    q: String,
    filter: Filter,
    on_bulk: Callback<(BulkSelection, String)>,
) -> impl IntoView {
    let matching = StoredValue::new(BulkSelection {
        ids: None,
        q,
        filter: if filter.is_empty() { None } else { Some(filter) },
        segment: None,
    });
    let wanted =
        Memo::new(move |was: Option<&bool>| was.copied().unwrap_or(false) || selection.ticked.with(|t| !t.is_empty()));
    move || {
        wanted.get().then(|| {
            view! {
                <Suspense fallback=|| ()>
                    {move || {
                        let args = SelectionBarArgs { selection, total, searching, matching: matching.get_value(), on_bulk };
                        Suspend::new(crate::occasional(crate::Occasional::SelectionBar(args)))
                    }}
                </Suspense>
            }
        })
    }
}

fn newest_first(a: &LeadSummary, b: &LeadSummary) -> Ordering {
    b.id.cmp(&a.id)
}

/// How long changes gather before the list asks the server which of them it shows...
const CHANGES_WAIT_MS: f64 = 400.0;
/// ...and how long at most while they keep coming.
const CHANGES_MAX_WAIT_MS: f64 = 2_000.0;
/// Most leads asked about in one request (the server's limit).
const CHANGES_PER_REQUEST: usize = 200;

/// The live part of the list. Leads that changed (or were removed) gather for a moment; then one
/// request per 200 of them, `GET /leads` with the list's own search and filter restricted to
/// their ids, answers which of them belong in the list, with their rows, so the server's search
/// stays the one rule. A lead that belongs in the list is updated in place; one that no longer
/// does (or is gone) leaves it; one newer than every lead the list covers is announced above
/// it ("3 new leads — show") rather than pushed under the operator's cursor; one in the pages not
/// loaded yet comes with its page.
#[derive(Clone, Copy)]
struct LiveRows {
    results: Paged<LeadSummary>,
    /// New leads that match, newest first, until the operator shows them.
    arrived: RwSignal<Vec<LeadSummary>>,
    /// Leads with a higher id are new to the list.
    newest_shown: StoredValue<i64>,
    /// Sorted by other than creation: a changed lead's place is the server's to say, so rows only
    /// change in place or go, and showing the new leads loads the list again.
    in_place_only: bool,
}

impl LiveRows {
    fn follow(results: Paged<LeadSummary>, query: StoredValue<LeadQuery>, on_changes: Callback<()>) -> Self {
        let newest = results.items.with_untracked(|items| items.iter().map(|lead| lead.id).max().unwrap_or(0));
        let in_place_only = query.with_value(|q| q.sort != LeadSort::default());
        let rows = LiveRows {
            results,
            arrived: RwSignal::new(Vec::new()),
            newest_shown: StoredValue::new(newest),
            in_place_only,
        };
        // Leads changed since the last question.
        let changed = StoredValue::new(BTreeSet::<i64>::new());
        // Asks about the changed leads until none is left.
        let check = Action::new_local(move |(): &()| async move {
            loop {
                let asked: Vec<i64> = changed
                    .try_update_value(|ids| {
                        let asked: Vec<i64> = ids.iter().copied().take(CHANGES_PER_REQUEST).collect();
                        ids.retain(|id| !asked.contains(id));
                        asked
                    })
                    .unwrap_or_default();
                if asked.is_empty() {
                    return;
                }
                let Some(question) =
                    query.try_with_value(|q| LeadQuery { ids: asked.clone(), after: None, ..q.clone() })
                else {
                    return;
                };
                // A failed question is dropped: the next change or reconnect asks again.
                if let Ok(answer) = api::leads(question).await
                    && rows.apply(&asked, answer.items)
                {
                    on_changes.run(());
                }
            }
        });
        let ask = use_debounce_fn_with_options(
            move || {
                if !check.pending().get_untracked() {
                    check.dispatch(());
                }
            },
            CHANGES_WAIT_MS,
            DebounceOptions::default().max_wait(Some(CHANGES_MAX_WAIT_MS)),
        );
        // Changes that came while a question was on its way and after it looked for more.
        Effect::new({
            let ask = ask.clone();
            move |_| {
                if check.version().get() > 0 && changed.with_value(|ids| !ids.is_empty()) {
                    ask();
                }
            }
        });
        let presence_matters = query.with_value(|q| {
            q.filter.check().is_ok_and(|f| f.leaves().iter().any(|c| matches!(c, ValidCondition::Presence(_))))
        });
        if let Some(live) = Live::use_live() {
            live.on_message(move |event| {
                let lead = match event {
                    LiveEvent::LeadChanged { lead_id }
                    | LiveEvent::LeadRemoved { lead_id }
                    | LiveEvent::LeadMerged { lead_id, .. } => *lead_id,
                    LiveEvent::Presence { lead_id, .. } if presence_matters => *lead_id,
                    _ => return,
                };
                changed.update_value(|ids| {
                    ids.insert(lead);
                });
                ask();
            });
            // Too far behind to know what changed: the list's rows and the total, again.
            live.on_reset(move || {
                results.refresh();
                on_changes.run(());
            });
        }
        rows
    }

    /// Takes in the answer about `asked`: `matching` are those of them in the list's search.
    /// False when the list is gone meanwhile.
    fn apply(self, asked: &[i64], matching: Vec<LeadSummary>) -> bool {
        let Some(newest) = self.newest_shown.try_get_value() else { return false };
        let gone: Vec<i64> = asked.iter().copied().filter(|id| !matching.iter().any(|lead| lead.id == *id)).collect();
        // Below the last row loaded, while more pages are to come, a lead comes with its page.
        let loaded_down_to = match self.results.next.get_untracked() {
            Some(_) => self.results.items.with_untracked(|items| items.last().map_or(0, |lead| lead.id)),
            None => 0,
        };
        let (new, shown): (Vec<_>, Vec<_>) = matching.into_iter().partition(|lead| lead.id > newest);
        let shown: Vec<_> = if self.in_place_only {
            self.results.items.with_untracked(|items| {
                shown.into_iter().filter(|lead| items.iter().any(|known| known.id == lead.id)).collect()
            })
        } else {
            shown.into_iter().filter(|lead| lead.id > loaded_down_to).collect()
        };
        if !gone.is_empty() {
            self.results.items.update(|items| items.retain(|lead| !gone.contains(&lead.id)));
        }
        if !shown.is_empty() {
            self.results.merge(shown);
        }
        if !gone.is_empty() || !new.is_empty() {
            self.arrived.update(|arrived| {
                arrived.retain(|lead| !gone.contains(&lead.id));
                for lead in new {
                    arrived.retain(|known| known.id != lead.id);
                    arrived.push(lead);
                }
                arrived.sort_by(newest_first);
            });
        }
        true
    }

    /// Puts the announced leads at the top of the list.
    fn show_arrived(self) {
        let arrived = self.arrived.try_update(std::mem::take).unwrap_or_default();
        if let Some(newest) = arrived.first() {
            self.newest_shown.set_value(newest.id.max(self.newest_shown.get_value()));
        }
        if self.in_place_only {
            self.results.reload();
        } else {
            self.results.merge(arrived);
        }
    }
}

/// The total in the operator's locale: "1 lead", "1,234 leads", "10,000+ leads" at the cap.
fn total_label(total: &Total) -> String {
    if total.exact { plural(k::COMMON_LEADS, total.count) } else { plural(k::COMMON_LEADS_AT_LEAST, total.count) }
}
