//! The card's menu (upper right): "Copy link" to the card, confirmed in the card's toast, the
//! email actions, "Merge with…" (a dialog of its own chunk), hide and remove; and the ellipsis
//! menu that the property menus share.

use leptos::html::{Button, Dialog, Div};
use leptos::prelude::*;
use leptos_use::on_click_outside;
use wasm_bindgen::JsCast;

use leadcard_core::locale::English;
use leadcard_core::mail::{Availability, RemoveLead, confirms_removal_in};

use leadcard_core::wire::LeadCard;

use super::state::{CardState, Toast};
use crate::browser::i18n::{k, t};
use crate::components::merge_dialog::MergeDialog;
use crate::{api, paths};

#[component]
pub fn CardMenu(id: i64) -> impl IntoView {
    let state = CardState::expect();
    let open = RwSignal::new(false);
    let removing = RwSignal::new(false);
    // The menu's button: where the focus goes back when the remove dialog closes.
    let button = NodeRef::<Button>::new();
    let merging = RwSignal::new(false);
    let copy_link = move |_| {
        open.set(false);
        state.copy(paths::absolute(&paths::lead(id)));
    };
    let actions = Memo::new(move |_| state.card.with(|c| c.subscription.actions.clone()));
    // Runs a menu action; its answer (the card's subscription now) is shown at once.
    let email_action = Action::new_local(move |&confirmation: &bool| async move {
        let answer = if confirmation { api::send_confirmation(id).await } else { api::unsubscribe(id).await };
        match answer {
            Ok(subscription) => {
                state.card.update(|c| c.subscription = subscription);
                state.show(Toast::Done(if confirmation {
                    t(k::CARD_MENU_CONFIRMATION_QUEUED).to_owned()
                } else {
                    t(k::CARD_MENU_UNSUBSCRIBED).to_owned()
                }));
            }
            Err(error) => state.show(Toast::Failed(error.message)),
        }
    });
    let busy = email_action.pending();
    let run_email_action = move |confirmation: bool| {
        open.set(false);
        email_action.dispatch(confirmation);
    };
    let hide_action = Action::new_local(move |&(): &()| async move {
        match api::hide(id).await {
            Ok(()) => state.show(Toast::Done(t(k::CARD_MENU_HIDDEN).to_owned())),
            Err(error) => state.show(Toast::Failed(error.message)),
        }
    });
    let hide = move |_| {
        open.set(false);
        hide_action.dispatch(());
    };

    view! {
        <Menu open class="card-menu" button_class="card-menu__button" test_id="card-menu" label=t(k::CARD_MENU_LABEL) button>
            <button type="button" class="card-menu__item" role="menuitem" tabindex="-1" data-testid="copy-link" on:click=copy_link>
                {t(k::CARD_MENU_COPY_LINK)}
            </button>
            <MenuAction
                label=t(k::CARD_MENU_UNSUBSCRIBE)
                test_id="menu-unsubscribe"
                availability=Signal::derive(move || actions.get().unsubscribe)
                busy
                on_click=move || run_email_action(false)
            />
            <MenuAction
                label=t(k::CARD_MENU_SEND_CONFIRMATION)
                test_id="menu-confirmation"
                availability=Signal::derive(move || actions.get().send_confirmation)
                busy
                on_click=move || run_email_action(true)
            />
            <button
                type="button"
                class="card-menu__item"
                role="menuitem"
                tabindex="-1"
                data-testid="menu-merge"
                on:click=move |_| {
                    open.set(false);
                    merging.set(true);
                }
            >
                {t(k::CARD_MENU_MERGE)}
            </button>
            <button type="button" class="card-menu__item" role="menuitem" tabindex="-1" data-testid="menu-hide" on:click=hide>
                {t(k::CARD_MENU_HIDE)}
            </button>
            <button
                type="button"
                class="card-menu__item card-menu__item--danger"
                role="menuitem" tabindex="-1"
                data-testid="menu-remove"
                on:click=move |_| {
                    open.set(false);
                    removing.set(true);
                }
            >
                {t(k::CARD_MENU_REMOVE)}
            </button>
        </Menu>
        {move || removing.get().then(|| view! { <RemoveDialog id return_focus=button on_close=move || removing.set(false)/> })}
        {move || merging.get().then(|| view! {
            <MergeDialog
                kept=id
                other=None
                on_merged=move |card: LeadCard| {
                    merging.set(false);
                    state.card.set(card);
                    state.show(Toast::Done(t(k::CARD_MENU_MERGED).to_owned()));
                }
                on_close=move |()| merging.set(false)
            />
        })}
    }
}

/// A menu item the rules may refuse: disabled then, with the reason under it.
#[component]
fn MenuAction(
    label: &'static str,
    test_id: &'static str,
    availability: Signal<Availability>,
    busy: Memo<bool>,
    on_click: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="card-menu__item"
            role="menuitem" tabindex="-1"
            data-testid=test_id
            disabled=move || busy.get() || !availability.get().allowed
            on:click=move |_| on_click()
        >
            {label}
            {move || availability.get().reason.map(|reason| view! { <span class="card-menu__reason">{reason}</span> })}
        </button>
    }
}

/// *Remove completely*: the operator types the lead's name or email (the same check as the
/// server's), then everything about the lead is erased.
#[component]
fn RemoveDialog(
    id: i64,
    return_focus: NodeRef<Button>,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let state = CardState::expect();
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let dialog = NodeRef::<Dialog>::new();
    let close = move || {
        if let Some(dialog) = dialog.get_untracked() {
            dialog.close();
        }
    };
    let remove = Action::new_local(move |confirm: &String| {
        let confirm = confirm.clone();
        async move {
            match api::remove_lead(id, &RemoveLead { confirm }).await {
                Ok(()) => {
                    close();
                    state.removed.set(true);
                }
                Err(e) => error.set(Some(e.message)),
            }
        }
    });
    let removing = remove.pending();
    let who = Memo::new(move |_| {
        state.card.with(|c| {
            let text = |name: &str| c.property(name).and_then(|v| v.as_text()).map(str::to_owned);
            (text("$name"), text("$email"), c.display_name.clone())
        })
    });
    let confirmed = move || {
        let (name, email, _) = who.get();
        confirms_removal_in(
            &typed.get(),
            name.as_deref(),
            email.as_deref(),
            id,
            &[&English, crate::browser::i18n::texts()],
        )
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !confirmed() {
            return error.set(Some(t(k::CARD_MENU_TYPE_TO_CONFIRM).to_owned()));
        }
        remove.dispatch(typed.get_untracked());
    };
    // A native modal dialog: the page behind it is inert, Tab stays inside, Escape closes it, and
    // closing gives the focus back to the card's menu button.
    dialog.on_load(|dialog| {
        let _ = dialog.show_modal();
    });
    view! {
        <dialog
            class="dialog"
            node_ref=dialog
            aria-labelledby="remove-title"
            data-testid="remove-dialog"
            on:close=move |_| {
                on_close();
                if let Some(button) = return_focus.get_untracked() {
                    let _ = button.focus();
                }
            }
            on:click=move |ev| {
                // A click on the backdrop lands on the dialog itself, outside its form.
                if event_target::<web_sys::Element>(&ev).node_name().eq_ignore_ascii_case("dialog") {
                    close();
                }
            }
        >
            <form class="dialog__form" on:submit=submit>
                <h2 id="remove-title">{t(k::CARD_MENU_REMOVE_TITLE)}</h2>
                <p>
                    {t(k::CARD_MENU_REMOVE_TEXT)}
                </p>
                <label class="field">
                    <span class="field__label">
                        {t(k::CARD_MENU_TYPE_BEFORE)} <strong>{move || { let (name, email, shown) = who.get(); name.or(email).unwrap_or(shown) }}</strong> {t(k::CARD_MENU_TYPE_AFTER)}
                    </span>
                    <input
                        class="input"
                        name="confirm"
                        data-testid="remove-confirm"
                        autocomplete="off"
                        autofocus
                        prop:value=typed
                        on:input=move |ev| {
                            typed.set(event_target_value(&ev));
                            error.set(None);
                        }
                    />
                </label>
                {move || error.get().map(|message| view! { <p class="editor__error" role="alert" data-testid="remove-error">{message}</p> })}
                <div class="editor__actions">
                    <button
                        type="submit"
                        class="button button--danger"
                        data-testid="remove-submit"
                        disabled=move || removing.get() || !confirmed()
                    >
                        {t(k::CARD_MENU_REMOVE)}
                    </button>
                    <button type="button" class="button button--ghost" data-testid="remove-cancel" on:click=move |_| close()>
                        {t(k::COMMON_CANCEL)}
                    </button>
                </div>
            </form>
        </dialog>
    }
}

/// An ellipsis button and the menu it opens (the WAI-ARIA menu button pattern): opening moves the
/// focus to the first item, the arrow keys, Home and End move between the items, Escape closes the
/// menu and Tab leaves it; choosing an item or Escape gives the focus back to the button. A click
/// outside closes it too. Items close it through `open`. Only an open menu listens for clicks.
#[component]
pub fn Menu(
    open: RwSignal<bool>,
    class: &'static str,
    button_class: &'static str,
    test_id: &'static str,
    label: &'static str,
    /// The menu's button, for a caller that moves the focus back to it later.
    #[prop(optional)]
    button: NodeRef<Button>,
    children: ChildrenFn,
) -> impl IntoView {
    let root = NodeRef::<Div>::new();
    let focus_button = move || {
        if let Some(button) = button.get_untracked() {
            let _ = button.focus();
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        if !open.get_untracked() {
            if matches!(key.as_str(), "ArrowDown" | "ArrowUp") {
                ev.prevent_default();
                open.set(true);
            }
            return;
        }
        let Some(list) = root.get_untracked().and_then(|r| r.query_selector("[role=menu]").ok().flatten()) else {
            return;
        };
        let to = match key.as_str() {
            "Escape" => {
                ev.prevent_default();
                open.set(false);
                return focus_button();
            }
            "Tab" => return open.set(false),
            "ArrowDown" => Step::Next,
            "ArrowUp" => Step::Previous,
            "Home" => Step::First,
            "End" => Step::Last,
            _ => return,
        };
        ev.prevent_default();
        focus_item(&list, to);
    };
    view! {
        <div class=class node_ref=root on:keydown=on_keydown>
            <button
                type="button"
                class=format!("button button--icon {button_class}")
                node_ref=button
                data-testid=test_id
                aria-label=label
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                "⋯"
            </button>
            <Show when=move || open.get()>
                {
                    let _ = on_click_outside(root, move |_| open.set(false));
                    let list = NodeRef::<Div>::new();
                    list.on_load(|list| focus_item(&list, Step::First));
                    view! {
                        <div
                            class="card-menu__list"
                            role="menu"
                            aria-label=label
                            node_ref=list
                            on:click=move |ev| {
                                // An item was chosen (it closes the menu): the focus goes back to the button.
                                let chosen = event_target::<web_sys::Element>(&ev).closest("[role=menuitem]").ok().flatten();
                                if chosen.is_some() {
                                    focus_button();
                                }
                            }
                        >
                            {children()}
                        </div>
                    }
                }
            </Show>
        </div>
    }
}

/// Where the arrow keys move the focus among a menu's items.
#[derive(Clone, Copy)]
enum Step {
    First,
    Last,
    Next,
    Previous,
}

/// Focuses an item of `list` (disabled items are skipped; the ends wrap around).
fn focus_item(list: &web_sys::Element, to: Step) {
    let Ok(items) = list.query_selector_all("[role=menuitem]:not(:disabled)") else {
        return;
    };
    let items: Vec<web_sys::HtmlElement> =
        (0..items.length()).filter_map(|i| items.item(i)?.dyn_into::<web_sys::HtmlElement>().ok()).collect();
    if items.is_empty() {
        return;
    }
    let active = list.owner_document().and_then(|d| d.active_element());
    let current = items.iter().position(|item| active.as_ref().is_some_and(|a| a.is_same_node(Some(item.as_ref()))));
    let last = items.len() - 1;
    let index = match (to, current) {
        (Step::First, _) | (Step::Next, None) => 0,
        (Step::Last, _) | (Step::Previous, None) => last,
        (Step::Next, Some(i)) => {
            if i == last {
                0
            } else {
                i + 1
            }
        }
        (Step::Previous, Some(i)) => {
            if i == 0 {
                last
            } else {
                i - 1
            }
        }
    };
    let _ = items[index].focus();
}
