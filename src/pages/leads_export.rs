//! "Export CSV" in the Leads Database: the leads the current search and filter find, with the
//! columns the operator ticks (and a byte-order mark for Excel), downloaded by the browser from
//! the server's streamed export.

use leadcard_core::export::{CREATED_COLUMN, DEFAULT_COLUMNS, ID_COLUMN, STATUS_COLUMN, TAGS_COLUMN};
use leadcard_core::filter::Filter;
use leadcard_core::wire::PropertyInfo;
use leptos::prelude::*;

use crate::api;

/// The columns offered besides properties, with their labels.
const LEAD_COLUMNS: [(&str, &str); 4] =
    [(ID_COLUMN, "ID"), (TAGS_COLUMN, "Tags"), (STATUS_COLUMN, "Subscription status"), (CREATED_COLUMN, "Created")];

/// The button, and the panel once it is pressed. `q` and `filter` are the list's own.
#[component]
pub fn ExportLeads(
    #[prop(into)] q: Signal<String>,
    #[prop(into)] filter: Signal<Filter>,
    #[prop(into)] properties: Signal<Vec<PropertyInfo>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let chosen = RwSignal::new(DEFAULT_COLUMNS.map(str::to_owned).to_vec());
    let bom = RwSignal::new(false);
    let href = move || chosen.with(|columns| api::leads_export_url(&q.get(), &filter.get(), columns, bom.get()));
    let offered = move || {
        let mut all: Vec<(String, String)> =
            LEAD_COLUMNS.iter().map(|(name, label)| ((*name).to_owned(), (*label).to_owned())).collect();
        all.extend(properties.get().into_iter().map(|p| (p.name, p.label)));
        all
    };
    let toggle = move |name: String, on: bool| {
        chosen.update(|columns| {
            columns.retain(|c| *c != name);
            if on {
                columns.push(name);
            }
        })
    };
    view! {
        <button type="button" class="button button--ghost" data-testid="export-open" on:click=move |_| open.update(|o| *o = !*o)>
            "Export CSV"
        </button>
        <Show when=move || open.get()>
            <section class="settings-form leads-export" data-testid="export-panel" aria-label="Export CSV">
                <p class="settings-form__note">"The leads this search and filter find, one row each, with these columns:"</p>
                <div class="leads-export__columns">
                    <For each=offered key=|(name, _)| name.clone() let:column>
                        {let (name, label) = column;
                        let checked = { let name = name.clone(); move || chosen.with(|c| c.contains(&name)) };
                        view! {
                            <label class="settings-form__check">
                                <input type="checkbox" data-testid="export-column" data-name=name.clone() prop:checked=checked
                                    on:change={let name = name.clone(); move |ev| toggle(name.clone(), event_target_checked(&ev))}/>
                                " " {label}
                            </label>
                        }}
                    </For>
                </div>
                <label class="settings-form__check">
                    <input type="checkbox" data-testid="export-bom" prop:checked=bom on:change=move |ev| bom.set(event_target_checked(&ev))/>
                    " For Excel (UTF-8 with a byte-order mark)"
                </label>
                <div class="editor__actions">
                    <a class="button button--primary" data-testid="export-download" download="" href=href>"Download CSV"</a>
                </div>
            </section>
        </Show>
    }
}
