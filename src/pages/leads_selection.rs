//! The Leads Database's selection bar: what the operator can do with the ticked rows — tick
//! every lead the search and filter find, export them, merge two of them, run a bulk action on
//! them — and untick. It sits in the occasional chunk (`crate::occasional`) with the dialogs it
//! opens: the page fetches it when the first row is ticked.

use leadcard_core::bulk::BulkSelection;
use leadcard_core::wire::LeadCard;
use leptos::prelude::*;

use crate::api;
use crate::browser::i18n::{k, plural, t, tf};
use crate::components::lead_table::RowSelection;
use crate::components::merge_dialog;

/// What the bar works on: the page's selection and total, and every lead the search finds.
pub struct SelectionBarArgs {
    pub selection: RowSelection,
    pub total: Signal<String>,
    /// Whether a search or filter narrows the list (the bar says "matching this search").
    pub searching: bool,
    /// "Select all N": every lead of the search and filter.
    pub matching: BulkSelection,
    /// Opens the bulk dialog, held by the page, over a selection and its description.
    pub on_bulk: Callback<(BulkSelection, String)>,
}

/// The bar's view, behind the occasional chunk's split point.
pub(crate) fn bar_view(args: SelectionBarArgs) -> AnyView {
    let SelectionBarArgs { selection, total, searching, matching, on_bulk } = args;
    view! { <Bar selection total searching matching on_bulk/> }.into_any()
}

#[component]
fn Bar(
    selection: RowSelection,
    total: Signal<String>,
    searching: bool,
    matching: BulkSelection,
    on_bulk: Callback<(BulkSelection, String)>,
) -> impl IntoView {
    let ticked = Memo::new(move |_| selection.ticked.with(|t| t.iter().copied().collect::<Vec<i64>>()));
    let merging = RwSignal::new(false);
    let matching = StoredValue::new(matching);
    let described = move || {
        if selection.all_matching.get() {
            let total = total.get();
            let text = if searching { k::LEADS_SELECTION_ALL_MATCHING } else { k::LEADS_SELECTION_ALL };
            tf(text, &[("total", &total)])
        } else {
            plural(k::LEADS_SELECTION_COUNT, ticked.with(Vec::len) as u64)
        }
    };
    view! {
        <Show when=move || ticked.with(|t| !t.is_empty())>
            <div class="leads__selection" role="region" aria-label=t(k::LEADS_SELECTION_LABEL) data-testid="selection-bar">
                <strong data-testid="selection-count">{move || described()}</strong>
                <Show when=move || !selection.all_matching.get()>
                    <button type="button" class="button button--ghost" data-testid="select-all-matching" on:click=move |_| selection.all_matching.set(true)>
                        {move || tf(k::LEADS_SELECTION_SELECT_ALL, &[("total", &total.get())])}
                    </button>
                </Show>
                <button type="button" class="button button--primary" data-testid="bulk-open" on:click=move |_| {
                    let chosen = if selection.all_matching.get_untracked() {
                        matching.get_value()
                    } else {
                        BulkSelection { ids: Some(ticked.get_untracked()), ..Default::default() }
                    };
                    on_bulk.run((chosen, untrack(described)));
                }>
                    {t(k::LEADS_SELECTION_ACTIONS)}
                </button>
                <Show when=move || !selection.all_matching.get()>
                    <a class="button button--ghost" data-testid="export-selected" download="" href=move || api::leads_export_ids_url(&ticked.get())>
                        {t(k::LEADS_SELECTION_EXPORT)}
                    </a>
                </Show>
                <Show when=move || !selection.all_matching.get() && ticked.with(Vec::len) == 2>
                    <button type="button" class="button button--ghost" data-testid="merge-selected" on:click=move |_| merging.set(true)>
                        {t(k::LEADS_SELECTION_MERGE)}
                    </button>
                </Show>
                <button type="button" class="button button--ghost" data-testid="selection-clear" on:click=move |_| selection.clear()>
                    {t(k::LEADS_SELECTION_CLEAR)}
                </button>
            </div>
        </Show>
        {move || merging.get().then(|| {
            let ids = ticked.get_untracked();
            let on_merged = Callback::new(move |_: LeadCard| {
                merging.set(false);
                selection.clear();
            });
            merge_dialog::dialog_view(ids[0], ids.get(1).copied(), on_merged, Callback::new(move |()| merging.set(false)))
        })}
    }
}
