//! The leads table. Rows have one fixed height and only the rows in view (plus a few either side)
//! are in the DOM, between two spacers, so the page stays light however many leads are loaded.
//! With a [`RowSelection`] each row has a checkbox (shift-click ticks a range) and the header one
//! ticks every loaded row.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use leadcard_core::lead_sort::{LeadSort, SortKey};
use leadcard_core::wire::LeadSummary;
use leptos::html::Div;
use leptos::prelude::*;
use leptos_use::{UseElementSizeReturn, use_element_size};

use crate::browser::i18n::{k, t, tf};
use crate::components::avatar::{Avatar, AvatarSize, lead_avatar_src};
use crate::components::presence_badge::PresenceBadge;
use crate::components::tag_list::TagList;
use crate::{paths, time};

/// Height of every row, in CSS pixels; the windowing arithmetic depends on it.
pub const ROW_HEIGHT: f64 = ROW_HEIGHT_PX as f64;
/// The same, for styles: whole pixels print without the float formatting code.
const ROW_HEIGHT_PX: usize = 52;
/// Rows rendered above and below the visible ones, so fast scrolling shows no gaps.
const OVERSCAN: usize = 8;
/// Ask for more rows when the window comes this close to the end of the loaded ones.
const NEAR_END: usize = 20;

/// Which loaded rows to render, `first..end`, for a scroll position and a viewport height.
pub fn visible_range(scroll_top: f64, viewport: f64, len: usize) -> (usize, usize) {
    let first = (scroll_top.max(0.0) / ROW_HEIGHT).floor() as usize;
    let last = ((scroll_top.max(0.0) + viewport.max(0.0)) / ROW_HEIGHT).ceil() as usize;
    (first.saturating_sub(OVERSCAN).min(len), last.saturating_add(OVERSCAN).min(len))
}

/// The ticked rows of a table, and whether the operator chose every lead the search and filter
/// find ("all N leads matching this filter") instead.
#[derive(Clone, Copy)]
pub struct RowSelection {
    pub ticked: RwSignal<BTreeSet<i64>>,
    pub all_matching: RwSignal<bool>,
    /// The row last ticked or unticked by hand: a shift-click spans from it.
    anchor: RwSignal<Option<i64>>,
}

impl Default for RowSelection {
    fn default() -> Self {
        Self::new()
    }
}

impl RowSelection {
    pub fn new() -> Self {
        Self { ticked: RwSignal::new(BTreeSet::new()), all_matching: RwSignal::new(false), anchor: RwSignal::new(None) }
    }

    pub fn clear(self) {
        self.ticked.set(BTreeSet::new());
        self.all_matching.set(false);
        self.anchor.set(None);
    }

    /// Ticks or unticks `id`; with `range`, every row from the anchor to it too (in `rows`'
    /// order), as a list's shift-click does.
    pub fn click(self, id: i64, on: bool, range: bool, rows: &[LeadSummary]) {
        let anchor = self.anchor.get_untracked();
        let span = match (range, anchor) {
            (true, Some(anchor)) => spanned(rows, anchor, id),
            _ => vec![id],
        };
        self.ticked.update(|ticked| {
            for id in span {
                if on {
                    ticked.insert(id);
                } else {
                    ticked.remove(&id);
                }
            }
        });
        self.all_matching.set(false);
        self.anchor.set(Some(id));
    }

    /// Ticks (or unticks) every loaded row.
    pub fn page(self, on: bool, rows: &[LeadSummary]) {
        self.ticked.update(|ticked| {
            for lead in rows {
                if on {
                    ticked.insert(lead.id);
                } else {
                    ticked.remove(&lead.id);
                }
            }
        });
        if !on {
            self.all_matching.set(false);
        }
    }
}

/// The ids of `rows` from `from` to `to`, both included, in either direction; just `to` when
/// `from` is not among them.
pub fn spanned(rows: &[LeadSummary], from: i64, to: i64) -> Vec<i64> {
    let at = |id: i64| rows.iter().position(|lead| lead.id == id);
    match (at(from), at(to)) {
        (Some(a), Some(b)) => rows[a.min(b)..=a.max(b)].iter().map(|lead| lead.id).collect(),
        _ => vec![to],
    }
}

/// `rows` are the loaded leads; `on_near_end` asks for the next page; `to_top` scrolls back to
/// the first row; `children` go below the last row (loading, end of list, retry).
#[component]
pub fn LeadTable(
    #[prop(into)] rows: Signal<Vec<LeadSummary>>,
    #[prop(into)] now: Signal<DateTime<Utc>>,
    #[prop(into)] on_near_end: Callback<()>,
    /// The list's order, when its headers may change it (`on_sort` gets the order asked for).
    #[prop(optional)]
    sort: Option<LeadSort>,
    #[prop(optional)] on_sort: Option<Callback<LeadSort>>,
    #[prop(optional)] to_top: Option<Trigger>,
    /// Checkboxes on the rows, when given.
    #[prop(optional)]
    selection: Option<RowSelection>,
    children: Children,
) -> impl IntoView {
    let body = NodeRef::<Div>::new();
    let scroll_top = RwSignal::new(0.0);
    let UseElementSizeReturn { height, .. } = use_element_size(body);
    // Never more than the window's height, so the DOM stays bounded even if the style sheet does
    // not constrain the container.
    let viewport = Memo::new(move |_| {
        let window_height = window().inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(f64::MAX);
        height.get().min(window_height)
    });
    let on_scroll = move |_| {
        if let Some(el) = body.get_untracked() {
            scroll_top.set(f64::from(el.scroll_top()));
        }
    };

    if let Some(to_top) = to_top {
        Effect::new(move |notified: Option<()>| {
            to_top.track();
            if let (Some(()), Some(el)) = (notified, body.get_untracked()) {
                el.set_scroll_top(0);
            }
        });
    }

    let len = Memo::new(move |_| rows.with(Vec::len));
    let range = Memo::new(move |_| visible_range(scroll_top.get(), viewport.get(), len.get()));
    Effect::new(move || {
        let (_, end) = range.get();
        if viewport.get() > 0.0 && end + NEAR_END >= len.get() {
            untrack(|| on_near_end.run(()));
        }
    });
    let spacer = |rows: usize| format!("{}px", rows * ROW_HEIGHT_PX);

    view! {
        <div class="lead-table" class:lead-table--selectable=selection.is_some() role="table" aria-label=t(k::NAV_LEADS_TITLE)>
            <div class="lead-table__head" role="row">
                {selection.map(|selection| {
                    let all_ticked = move || {
                        selection.ticked.with(|ticked| rows.with(|rows| !rows.is_empty() && rows.iter().all(|l| ticked.contains(&l.id))))
                    };
                    view! {
                        <span role="columnheader" class="lead-table__check">
                            <input
                                type="checkbox"
                                data-testid="select-page"
                                aria-label=t(k::LEAD_TABLE_SELECT_PAGE)
                                prop:checked=all_ticked
                                on:change=move |ev| rows.with_untracked(|rows| selection.page(event_target_checked(&ev), rows))
                            />
                        </span>
                    }
                })}
                <span role="columnheader" class="lead-table__avatar-head"></span>
                {sort_header(SortKey::Name, sort, on_sort)}
                {sort_header(SortKey::Email, sort, on_sort)}
                <span role="columnheader">{t(k::LEAD_TABLE_PRESENCE)}</span>
                {sort_header(SortKey::LastSeen, sort, on_sort)}
                <span role="columnheader">{t(k::LEAD_TABLE_LOCATION)}</span>
                <span role="columnheader">{t(k::CARD_TAGS)}</span>
            </div>
            <div class="lead-table__body" role="rowgroup" node_ref=body on:scroll=on_scroll>
                <div class="lead-table__spacer" aria-hidden="true" style:height=move || spacer(range.get().0)></div>
                <For
                    each=move || {
                        let (first, end) = range.get();
                        rows.with(|rows| rows[first..end].to_vec())
                    }
                    key=|lead| lead.clone()
                    let:lead
                >
                    <LeadRow lead now selection rows/>
                </For>
                <div
                    class="lead-table__spacer"
                    aria-hidden="true"
                    style:height=move || spacer(len.get() - range.get().1)
                ></div>
                {children()}
            </div>
        </div>
    }
}

/// A column header that sorts by `key` when the list may be sorted: a button saying which way,
/// with `aria-sort` on the header the list is sorted by.
fn sort_header(key: SortKey, sort: Option<LeadSort>, on_sort: Option<Callback<LeadSort>>) -> AnyView {
    let (Some(on_sort), Some(sort)) = (on_sort, sort) else {
        return view! { <span role="columnheader">{t(key.text())}</span> }.into_any();
    };
    let (aria, arrow) = match (sort.key == key, sort.descending) {
        (true, true) => ("descending", " ↓"),
        (true, false) => ("ascending", " ↑"),
        (false, _) => ("none", ""),
    };
    view! {
        <span role="columnheader" aria-sort=aria>
            <button type="button" class="lead-table__sort" data-testid="sort-header" data-key=key.as_str()
                on:click=move |_| on_sort.run(sort.toggled(key))>
                {t(key.text())}{arrow}
            </button>
        </span>
    }
    .into_any()
}

#[component]
fn LeadRow(
    lead: LeadSummary,
    now: Signal<DateTime<Utc>>,
    selection: Option<RowSelection>,
    rows: Signal<Vec<LeadSummary>>,
) -> impl IntoView {
    let LeadSummary {
        id,
        display_name,
        email,
        avatar_url,
        city,
        country,
        last_seen,
        last_heartbeat,
        last_active,
        tags,
        ..
    } = lead;
    let place = [city, country].into_iter().flatten().filter(|s| !s.trim().is_empty()).collect::<Vec<_>>().join(", ");
    let seen = move || last_seen.map_or_else(|| t(k::LEAD_TABLE_NEVER).to_owned(), |t| time::relative(t, now.get()));
    view! {
        <div class="lead-row" role="row" data-testid="lead-row" data-lead-id=id style:height=format!("{ROW_HEIGHT_PX}px")>
            {selection.map(|selection| view! {
                <span class="lead-row__cell lead-table__check" role="cell">
                    <input
                        type="checkbox"
                        data-testid="select-row"
                        aria-label=tf(k::LEAD_TABLE_SELECT_ROW, &[("name", &display_name)])
                        prop:checked=move || selection.ticked.with(|ticked| ticked.contains(&id))
                        on:click=move |ev| {
                            let on = event_target_checked(&ev);
                            rows.with_untracked(|rows| selection.click(id, on, ev.shift_key(), rows));
                        }
                    />
                </span>
            })}
            <span class="lead-row__cell" role="cell">
                <Avatar name=display_name.clone() url=lead_avatar_src(id, avatar_url.as_deref()) size=AvatarSize::Small/>
            </span>
            <span class="lead-row__cell" role="cell">
                <a class="lead-row__name" href=paths::lead(id)>{display_name}</a>
            </span>
            <span class="lead-row__cell lead-row__muted" role="cell">{email}</span>
            <span class="lead-row__cell" role="cell">
                <PresenceBadge lead=id now last_heartbeat last_active/>
            </span>
            <span class="lead-row__cell lead-row__muted" role="cell" title=last_seen.map(time::local)>{seen}</span>
            <span class="lead-row__cell lead-row__muted" role="cell">{place}</span>
            <span class="lead-row__cell" role="cell">
                <TagList tags/>
            </span>
        </div>
    }
}
