//! `/leads`: the Leads Database. The search (`?q=`) and the filter (`?filter=`) live in the URL, so
//! a view is a link that reloads to the same list; the list loads more as the operator scrolls.
//! The rows and their total are two requests: the rows show as soon as they come.

use chrono::{DateTime, Utc};
use futures::future::join;
use leadcard_core::filter::Filter;
use leadcard_core::wire::{LeadPage, Total};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_use::use_debounce_fn_with_arg;

use crate::api::{self, ApiError, LeadQuery};
use crate::browser::json;
use crate::components::clock::use_now;
use crate::components::error_notice::api_error_fallback;
use crate::components::filter_builder::FilterBuilder;
use crate::components::lead_table::LeadTable;
use crate::paged::{Page, Paged};
use crate::paths;

/// Typing pauses this long before the search runs.
const SEARCH_DEBOUNCE_MS: f64 = 300.0;

#[component]
pub fn LeadsPage() -> impl IntoView {
    let query_map = use_query_map();
    let q = Memo::new(move |_| query_map.with(|m| m.get("q").unwrap_or_default()));
    let raw_filter = Memo::new(move |_| query_map.with(|m| m.get("filter").unwrap_or_default()));
    let filter = Memo::new(move |_| {
        raw_filter.with(|raw| if raw.is_empty() { Ok(Filter::default()) } else { json::filter_from_query(raw) })
    });

    let first_page = LocalResource::new(move || {
        let (q, filter) = (q.get(), filter.get());
        async move {
            let filter = filter?;
            // Segment conditions are opened by the server, which knows the saved segments.
            if filter.segment_ids().is_empty() {
                filter.check()?;
            }
            let query = LeadQuery { q, filter, after: None };
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
            api::lead_count(LeadQuery { q, filter, after: None }).await
        }
    });
    let total = Signal::derive(move || {
        count.with(|c| c.as_ref().and_then(|r| r.as_ref().ok()).map(Total::label)).unwrap_or_default()
    });
    // What the filter builder offers: both lists in one resource, asked for at the same time.
    let options = LocalResource::new(|| join(api::properties(), api::tags()));
    let now = use_now();

    let navigate = use_navigate();
    let search = use_debounce_fn_with_arg(
        {
            let navigate = navigate.clone();
            move |text: String| {
                let to = paths::leads(&text, &raw_filter.get_untracked());
                navigate(&to, NavigateOptions { replace: true, scroll: false, ..Default::default() });
            }
        },
        SEARCH_DEBOUNCE_MS,
    );
    let apply = move |filter: Filter| {
        let raw = if filter.is_empty() { String::new() } else { json::filter_to_query(&filter) };
        navigate(&paths::leads(&q.get_untracked(), &raw), NavigateOptions { scroll: false, ..Default::default() });
    };
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
                <h1 class="leads__title">"Leads Database"</h1>
                <input
                    type="search"
                    class="input leads__search"
                    data-testid="leads-search"
                    placeholder="Search by name, email, phone or user ID"
                    aria-label="Search leads"
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
                    "Save this filter as a segment"
                </a>
            })}
            <Transition fallback=|| view! { <p class="leads__status" aria-busy="true">"Loading leads…"</p> }>
                <ErrorBoundary fallback=api_error_fallback>
                    {move || Suspend::new(async move {
                        match first_page.await {
                            Err(error) if error.is_filter_error() => {
                                Ok(view! { <p class="leads__status">"Fix the filter above to see leads."</p> }.into_any())
                            }
                            result => result.map(|(query, page)| view! { <LeadsResults query page total now/> }.into_any()),
                        }
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

/// One search's results: the total (when its count arrives), and the table that grows page by
/// page (keyset `after`). A new search makes a new `LeadsResults`, so nothing of the previous one
/// is kept.
#[component]
fn LeadsResults(query: LeadQuery, page: LeadPage, total: Signal<String>, now: Signal<DateTime<Utc>>) -> impl IntoView {
    let LeadPage { items, next } = page;
    let searching = !query.q.trim().is_empty() || !query.filter.is_empty();
    if items.is_empty() {
        let message = if searching { "No leads match this search and filter." } else { "No leads yet." };
        return view! {
            <p class="leads__total" data-testid="leads-total">{total}</p>
            <div class="leads__empty">{message}</div>
        }
        .into_any();
    }

    // A new search makes a new list: a page still on its way for the old one lands nowhere.
    let query = StoredValue::new(query);
    let results = Paged::new(move |after: Option<String>| {
        let query = query.with_value(|query| LeadQuery { after, ..query.clone() });
        async move {
            let page = api::leads(query).await?;
            Ok(Page { items: page.items, next: page.next })
        }
    })
    .seed(Page { items, next });
    let fetch_next = move || results.load_more();
    // After a failure, more pages come only when the operator asks again.
    let on_near_end = move || {
        if results.error.with_untracked(Option::is_none) {
            fetch_next();
        }
    };
    let footer = move || {
        if results.loading.get() {
            view! { <p class="lead-table__footer" aria-busy="true">"Loading more…"</p> }.into_any()
        } else if let Some(error) = results.error.get() {
            view! {
                <p class="lead-table__footer lead-table__footer--error" role="alert">
                    {error.message}
                    " "
                    <button type="button" class="button button--ghost" on:click=move |_| fetch_next()>
                        "Try again"
                    </button>
                </p>
            }
            .into_any()
        } else if results.next.with(Option::is_none) {
            view! { <p class="lead-table__footer">"End of the list"</p> }.into_any()
        } else {
            ().into_any()
        }
    };

    view! {
        <p class="leads__total" data-testid="leads-total">{total}</p>
        <LeadTable rows=results.items now on_near_end=Callback::new(move |()| on_near_end())>
            {footer}
        </LeadTable>
    }
    .into_any()
}
