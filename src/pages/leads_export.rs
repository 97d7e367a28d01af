//! "Export CSV" in the Leads Database: the leads the current search and filter find, with the
//! columns the operator ticks (and a byte-order mark for Excel), downloaded by the browser from
//! the server's streamed export.

use leadcard_core::export::{CREATED_COLUMN, DEFAULT_COLUMNS, ID_COLUMN, STATUS_COLUMN, TAGS_COLUMN};
use leadcard_core::filter::Filter;
use leadcard_core::wire::PropertyInfo;
use leptos::prelude::*;

use leadcard_core::locale::Text;

use crate::api;
use crate::browser::i18n::{k, t};

/// The columns offered besides properties, with their labels.
const LEAD_COLUMNS: [(&str, Text); 4] = [
    (ID_COLUMN, k::EXPORT_ID),
    (TAGS_COLUMN, k::CARD_TAGS),
    (STATUS_COLUMN, k::FILTER_SUBSCRIPTION_STATUS),
    (CREATED_COLUMN, k::EXPORT_CREATED),
];

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
            LEAD_COLUMNS.iter().map(|(name, label)| ((*name).to_owned(), t(*label).to_owned())).collect();
        all.extend(
            properties
                .get()
                .into_iter()
                .map(|p| (crate::browser::i18n::property_label(&p.name), p.name))
                .map(|(label, name)| (name, label)),
        );
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
            {t(k::EXPORT_OPEN)}
        </button>
        <Show when=move || open.get()>
            <section class="settings-form leads-export" data-testid="export-panel" aria-label=t(k::EXPORT_OPEN)>
                <p class="settings-form__note">{t(k::EXPORT_NOTE)}</p>
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
                    {t(k::EXPORT_EXCEL)}
                </label>
                <div class="editor__actions">
                    <a class="button button--primary" data-testid="export-download" download="" href=href>{t(k::EXPORT_DOWNLOAD)}</a>
                </div>
            </section>
        </Show>
    }
}
