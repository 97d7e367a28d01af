//! "Actions…" on selected leads: one of the card's actions (add or remove a tag, set a property,
//! unsubscribe, hide, remove completely) over the ticked rows or every lead of the filter, run as a
//! job whose progress, cancel and result show here. Removal asks for the number of leads, typed.
//! In the release build the dialog sits in the occasional chunk (`crate::occasional`).

use leadcard_core::bulk::{BulkAction, BulkCount, BulkRequest, BulkSelection, confirms_bulk_removal};
use leadcard_core::locale::Text;
use leadcard_core::wire::Job;
use leadcard_core::{Operation, PropertyName, PropertyValue};
use leptos::prelude::*;

use crate::api;
use crate::browser::i18n::{k, plural_with, t, tf};
use crate::components::job_progress::JobProgress;

/// The dialog over `selection`; `described` says what it holds ("3 selected leads").
#[component]
pub fn BulkDialog(selection: BulkSelection, described: String, #[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let args = StoredValue::new((selection, described));
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (selection, described) = args.get_value();
                Suspend::new(crate::occasional(crate::Occasional::BulkDialog { selection, described, on_close }))
            }}
        </Suspense>
    }
}

/// The dialog's view, behind the occasional chunk's split point (`crate::occasional`).
pub(crate) fn dialog_view(selection: BulkSelection, described: String, on_close: Callback<()>) -> AnyView {
    view! { <Dialog selection described on_close/> }.into_any()
}

/// The actions offered, as the select's values.
const ACTIONS: [(&str, Text); 6] = [
    ("add_tag", k::BULK_ACTION_ADD_TAG),
    ("remove_tag", k::BULK_ACTION_REMOVE_TAG),
    ("set_property", k::BULK_ACTION_SET_PROPERTY),
    ("unsubscribe", k::CARD_MENU_UNSUBSCRIBE),
    ("hide", k::BULK_ACTION_HIDE),
    ("remove", k::CARD_MENU_REMOVE),
];

#[component]
fn Dialog(selection: BulkSelection, described: String, on_close: Callback<()>) -> impl IntoView {
    let selection = StoredValue::new(selection);
    let kind = RwSignal::new("add_tag".to_owned());
    let tag = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let number = RwSignal::new(false);
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let job = RwSignal::new(None::<Job>);
    // How many leads the selection holds, for a removal's confirmation.
    let count = LocalResource::new(move || {
        let removing = kind.get() == "remove";
        async move {
            if !removing {
                return None;
            }
            api::bulk_count(&BulkCount { selection: selection.get_value() }).await.ok().map(|total| total.count)
        }
    });
    let action = move || -> Result<BulkAction, String> {
        Ok(match kind.get().as_str() {
            "add_tag" => BulkAction::AddTag { tag: tag.get() },
            "remove_tag" => BulkAction::RemoveTag { tag: tag.get() },
            "set_property" => {
                let name = PropertyName::parse(&name.get()).map_err(|e| crate::browser::i18n::say(&e.message()))?;
                let value = if number.get() {
                    PropertyValue::Number(
                        value.get().trim().parse::<f64>().map_err(|_| t(k::BULK_NOT_A_NUMBER).to_owned())?,
                    )
                } else {
                    PropertyValue::Text(value.get())
                };
                BulkAction::Properties { operations: vec![Operation::Set { name, value }] }
            }
            "unsubscribe" => BulkAction::Unsubscribe,
            "hide" => BulkAction::Hide,
            _ => BulkAction::Remove { confirm: confirm.get() },
        })
    };
    let start = Action::new_local(move |request: &BulkRequest| {
        let request = request.clone();
        async move {
            match api::start_bulk(&request).await {
                Ok(started) => job.set(Some(started)),
                Err(e) => error.set(Some(e.message)),
            }
        }
    });
    let starting = start.pending();
    // The job once started: its progress is followed in place (`job` changes with every update;
    // the view of it must not be built again for each).
    let started = Memo::new(move |_| job.with(|j| j.as_ref().map(|j| (j.id, j.summary.clone()))));
    let confirmed = move || {
        kind.get() != "remove"
            || count.get().flatten().is_some_and(|count| confirms_bulk_removal(&confirm.get(), count))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match action() {
            Ok(action) => {
                error.set(None);
                start.dispatch(BulkRequest { selection: selection.get_value(), action });
            }
            Err(message) => error.set(Some(message)),
        }
    };

    // A native modal dialog, as the merge and remove dialogs.
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    dialog.on_load(|dialog| crate::components::merge_dialog::open_modal(dialog, 0));
    let close = move || {
        if let Some(dialog) = dialog.get_untracked() {
            dialog.close();
        }
    };

    view! {
        <dialog
            class="dialog"
            node_ref=dialog
            aria-labelledby="bulk-title"
            data-testid="bulk-dialog"
            on:close=move |_| {
                let _ = on_close.try_run(());
            }
        >
        <form class="dialog__form" on:submit=submit>
            <h2 id="bulk-title">{tf(k::BULK_TITLE, &[("described", &described)])}</h2>
            {move || match started.get() {
                Some((id, summary)) => view! {
                    <p data-testid="bulk-summary">{summary}</p>
                    <div data-testid="bulk-job"><JobProgress id job/></div>
                }.into_any(),
                None => view! {
                    <label class="field">
                        <span class="field__label">{t(k::BULK_ACTION)}</span>
                        <select class="select" data-testid="bulk-action" aria-label=t(k::BULK_ACTION) on:change=move |ev| kind.set(event_target_value(&ev))>
                            {ACTIONS.iter().map(|(value, label)| view! { <option value=*value selected=*value == "add_tag">{t(*label)}</option> }).collect_view()}
                        </select>
                    </label>
                    <Show when=move || kind.get().ends_with("_tag")>
                        <label class="field">
                            <span class="field__label">{t(k::BULK_TAG)}</span>
                            <input class="input" data-testid="bulk-tag" prop:value=tag on:input=move |ev| tag.set(event_target_value(&ev))/>
                        </label>
                    </Show>
                    <Show when=move || kind.get() == "set_property">
                        <label class="field">
                            <span class="field__label">{t(k::COMMON_PROPERTY)}</span>
                            <input class="input" data-testid="bulk-property-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                        </label>
                        <label class="field">
                            <span class="field__label">{t(k::COMMON_VALUE)}</span>
                            <input class="input" data-testid="bulk-property-value" prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
                        </label>
                        <label class="settings-form__check">
                            <input type="checkbox" data-testid="bulk-property-number" prop:checked=number on:change=move |ev| number.set(event_target_checked(&ev))/>
                            {t(k::BULK_A_NUMBER)}
                        </label>
                    </Show>
                    <Show when=move || kind.get() == "remove">
                        <label class="field">
                            <span class="field__label">
                                {move || match count.get().flatten() {
                                    Some(n) => plural_with(k::BULK_REMOVE_CONFIRM, n, &[("n", &n.to_string())]),
                                    None => t(k::BULK_COUNTING).to_owned(),
                                }}
                            </span>
                            <input class="input" data-testid="bulk-confirm" autocomplete="off" prop:value=confirm on:input=move |ev| confirm.set(event_target_value(&ev))/>
                        </label>
                    </Show>
                }.into_any(),
            }}
            {move || error.get().map(|message| view! { <p class="editor__error" role="alert" data-testid="bulk-error">{message}</p> })}
            <div class="editor__actions">
                <Show when=move || started.with(Option::is_none)>
                    <button
                        type="submit"
                        class=move || if kind.get() == "remove" { "button button--danger" } else { "button button--primary" }
                        data-testid="bulk-start"
                        disabled=move || starting.get() || !confirmed()
                    >
                        {t(k::BULK_START)}
                    </button>
                </Show>
                <button type="button" class="button button--ghost" data-testid="bulk-close" on:click=move |_| close()>{t(k::COMMON_CLOSE)}</button>
            </div>
        </form>
        </dialog>
    }
}
