//! "Merge with…": two cards of one person side by side. The operator finds the other card (or
//! brings it from two selected rows), picks for each property the cards hold differently the
//! value to keep, and the other card goes into the kept one. In the release build the dialog sits
//! in the occasional chunk (with the import page, `crate::occasional`), fetched when it first opens.

use std::collections::BTreeSet;

use leadcard_core::PropertyValue;
use leadcard_core::merge::{COMBINED, MergeLeads, differences, refusal_text};
use leadcard_core::wire::LeadCard;
use leptos::prelude::*;

use crate::api::{self, LeadQuery};
use crate::browser::i18n::{k, t, tf};
use crate::components::error_notice::api_error_fallback;

/// The dialog: `kept` stays; `other`, when known, is merged into it (else the operator searches
/// for it). `on_merged` receives the kept card as the merge left it.
#[component]
pub fn MergeDialog(
    kept: i64,
    other: Option<i64>,
    #[prop(into)] on_merged: Callback<LeadCard>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(crate::occasional(crate::Occasional::MergeDialog { kept, other, on_merged, on_close }))}
        </Suspense>
    }
}

/// The dialog's view, behind the occasional chunk's split point (`crate::occasional`).
pub(crate) fn dialog_view(
    kept: i64,
    other: Option<i64>,
    on_merged: Callback<LeadCard>,
    on_close: Callback<()>,
) -> AnyView {
    view! { <Dialog kept other on_merged on_close/> }.into_any()
}

#[component]
fn Dialog(kept: i64, other: Option<i64>, on_merged: Callback<LeadCard>, on_close: Callback<()>) -> impl IntoView {
    let other_id = RwSignal::new(other);
    let take = RwSignal::new(BTreeSet::<String>::new());
    let error = RwSignal::new(None::<String>);
    let cards = LocalResource::new(move || {
        let other = other_id.get();
        async move {
            let kept = api::lead(kept).await?;
            let other = match other {
                Some(id) => Some(api::lead(id).await?),
                None => None,
            };
            Ok::<_, api::ApiError>((kept, other))
        }
    });
    let merge = Action::new_local(move |body: &MergeLeads| {
        let body = body.clone();
        async move {
            match api::merge_leads(kept, &body).await {
                Ok(card) => on_merged.run(card),
                Err(e) => error.set(Some(e.message)),
            }
        }
    });
    let merging = merge.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(other) = other_id.get_untracked() {
            merge.dispatch(MergeLeads { other, take: take.get_untracked().into_iter().collect() });
        }
    };
    let choose = move |id: i64| {
        take.set(BTreeSet::new());
        error.set(None);
        other_id.set(Some(id));
    };

    // A native modal dialog (as the remove dialog): the page behind it is inert, Tab stays inside,
    // Escape closes it, and closing gives the focus back to what had it (the menu's button).
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    dialog.on_load(|dialog| open_modal(dialog, 0));
    let close = move || {
        if let Some(dialog) = dialog.get_untracked() {
            dialog.close();
        }
    };

    view! {
        <dialog
            class="dialog merge-dialog"
            node_ref=dialog
            aria-labelledby="merge-title"
            data-testid="merge-dialog"
            on:close=move |_| {
                // The close event comes a task later: the caller may have taken the dialog away.
                let _ = on_close.try_run(());
            }
            on:click=move |ev| {
                // A click on the backdrop lands on the dialog itself, outside its form.
                if event_target::<web_sys::Element>(&ev).node_name().eq_ignore_ascii_case("dialog") {
                    close();
                }
            }
        >
        <form class="dialog__form" on:submit=submit>
            <h2 id="merge-title">{t(k::MERGE_TITLE)}</h2>
            <Transition fallback=|| view! { <p aria-busy="true">{t(k::MERGE_LOADING)}</p> }>
                <ErrorBoundary fallback=api_error_fallback>
                    {move || Suspend::new(async move {
                        let (kept_card, other_card) = cards.await?;
                        Ok::<_, api::ApiError>(match other_card {
                            None => view! { <FindOther kept=kept_card.id on_choose=choose/> }.into_any(),
                            Some(other_card) => {
                                view! { <SideBySide kept=kept_card other=other_card take/> }.into_any()
                            }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
            {move || error.get().map(|message| view! { <p class="editor__error" role="alert" data-testid="merge-error">{message}</p> })}
            <div class="editor__actions">
                <button
                    type="submit"
                    class="button button--primary"
                    data-testid="merge-submit"
                    disabled=move || {
                        merging.get()
                            || other_id.get().is_none()
                            || cards.get().and_then(|r| r.ok()).is_none_or(|(k, o)| o.is_none_or(|o| refused(&k, &o).is_some()))
                    }
                >
                    {t(k::MERGE_SUBMIT)}
                </button>
                <Show when=move || other.is_none() && other_id.get().is_some()>
                    <button type="button" class="button button--ghost" data-testid="merge-other-card" on:click=move |_| other_id.set(None)>
                        {t(k::MERGE_ANOTHER_CARD)}
                    </button>
                </Show>
                <button type="button" class="button button--ghost" data-testid="merge-cancel" on:click=move |_| close()>{t(k::COMMON_CANCEL)}</button>
            </div>
        </form>
        </dialog>
    }
}

/// Why these two cards cannot be merged (the server's rule), or None.
fn refused(kept: &LeadCard, other: &LeadCard) -> Option<&'static str> {
    let user_id = |card: &LeadCard| card.property("$user_id").and_then(PropertyValue::as_text).map(str::to_owned);
    refusal_text(user_id(kept).as_deref(), user_id(other).as_deref()).map(t)
}

/// A search over the Leads Database for the other card (never the kept one).
#[component]
fn FindOther(kept: i64, on_choose: impl Fn(i64) + Copy + Send + Sync + 'static) -> impl IntoView {
    let q = RwSignal::new(String::new());
    let found = LocalResource::new(move || {
        let q = q.get();
        async move {
            if q.trim().chars().count() < 2 {
                return Ok(Vec::new());
            }
            api::leads(LeadQuery { q, ..Default::default() }).await.map(|page| page.items)
        }
    });
    view! {
        <label class="field">
            <span class="field__label">{t(k::MERGE_FIND)}</span>
            <input
                class="input"
                type="search"
                data-testid="merge-search"
                autocomplete="off"
                autofocus
                prop:value=q
                on:input=move |ev| q.set(event_target_value(&ev))
            />
        </label>
        <Transition fallback=|| ()>
            <ErrorBoundary fallback=api_error_fallback>
                {move || Suspend::new(async move {
                    let leads = found.await?;
                    Ok::<_, api::ApiError>(view! {
                        <ul class="merge-dialog__found">
                            {leads
                                .into_iter()
                                .filter(|lead| lead.id != kept)
                                .map(|lead| {
                                    let id = lead.id;
                                    view! {
                                        <li>
                                            <button type="button" class="button button--ghost" data-testid="merge-candidate" on:click=move |_| on_choose(id)>
                                                {lead.display_name} " "
                                                <span class="merge-dialog__muted">{lead.email.unwrap_or_default()} " · " {tf(k::COMMON_LEAD_NUMBER, &[("id", &id.to_string())])}</span>
                                            </button>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// Both cards, property by property: where they differ the operator picks the value to keep
/// (the kept card's by default); tags, events, notes and conversations all go together.
#[component]
fn SideBySide(kept: LeadCard, other: LeadCard, take: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let differing = differences(&kept, &other);
    let mut names: Vec<String> = kept.properties.iter().map(|p| p.name.clone()).collect();
    names.extend(other.properties.iter().map(|p| p.name.clone()).filter(|n| kept.property(n).is_none()));
    let shown = |value: Option<&PropertyValue>| value.map(PropertyValue::display).unwrap_or_default();
    let rows = names
        .into_iter()
        .map(|name| {
            let ours = shown(kept.property(&name));
            let theirs = shown(other.property(&name));
            let note = if COMBINED.contains(&name.as_str()) { t(k::MERGE_COMBINED) } else { "" };
            if differing.iter().any(|d| d.name == name) {
                let group = format!("merge-{name}");
                let (keep_name, take_name) = (name.clone(), name.clone());
                view! {
                    <tr data-testid="merge-difference" data-name=name.clone()>
                        <th scope="row">{name.clone()}</th>
                        <td>
                            <label>
                                <input type="radio" name=group.clone() data-testid="merge-keep"
                                    prop:checked=move || take.with(|t| !t.contains(&keep_name))
                                    on:change={let name = name.clone(); move |_| take.update(|t| { t.remove(&name); })}/>
                                " " {ours}
                            </label>
                        </td>
                        <td>
                            <label>
                                <input type="radio" name=group data-testid="merge-take"
                                    prop:checked=move || take.with(|t| t.contains(&take_name))
                                    on:change={let name = name.clone(); move |_| take.update(|t| { t.insert(name.clone()); })}/>
                                " " {theirs}
                            </label>
                        </td>
                    </tr>
                }
                .into_any()
            } else {
                view! {
                    <tr>
                        <th scope="row">{name} " " <span class="merge-dialog__muted">{note}</span></th>
                        <td>{ours}</td>
                        <td>{theirs}</td>
                    </tr>
                }
                .into_any()
            }
        })
        .collect_view();
    let reason = refused(&kept, &other);
    view! {
        <p>
            {t(k::MERGE_MOVES_BEFORE)} <strong>{other.display_name.clone()}</strong> {t(k::MERGE_MOVES_MIDDLE)}
            <strong>{kept.display_name.clone()}</strong> {t(k::MERGE_MOVES_AFTER)}
        </p>
        {reason.map(|reason| view! { <p class="editor__error" role="alert" data-testid="merge-refused">{reason}</p> })}
        <div class="merge-dialog__scroll">
            <table class="merge-dialog__table" data-testid="merge-preview">
                <thead>
                    <tr>
                        <th scope="col">{t(k::COMMON_PROPERTY)}</th>
                        <th scope="col">{tf(k::MERGE_KEPT, &[("name", &kept.display_name), ("id", &kept.id.to_string())])}</th>
                        <th scope="col">{tf(k::MERGE_MERGED, &[("name", &other.display_name), ("id", &other.id.to_string())])}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows}
                    <tr>
                        <th scope="row">{t(k::CARD_TAGS)}</th>
                        <td>{kept.tags.join(", ")}</td>
                        <td>{other.tags.join(", ")}</td>
                    </tr>
                    <tr>
                        <th scope="row">{t(k::MERGE_EMAIL_STATUS)}</th>
                        <td>{t(kept.subscription.status.text())}</td>
                        <td>{t(other.subscription.status.text())}</td>
                    </tr>
                </tbody>
            </table>
        </div>
    }
}

/// Opens the dialog as modal once it is in the document (a view a Suspense resolves may be
/// loaded before it is mounted, and `showModal` refuses a dialog outside the document).
pub(crate) fn open_modal(dialog: web_sys::HtmlDialogElement, tries: u32) {
    if dialog.is_connected() {
        if !dialog.open() {
            let _ = dialog.show_modal();
        }
    } else if tries < 120 {
        request_animation_frame(move || open_modal(dialog, tries + 1));
    }
}
