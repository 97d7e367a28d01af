//! The card's menu (upper right): "Copy link" to the card, confirmed in the card's toast; and the
//! ellipsis menu that the property menus share.

use leptos::html::Div;
use leptos::prelude::*;
use leptos_use::on_click_outside;

use leadcard_core::mail::{Availability, RemoveLead, confirms_removal};

use super::state::{CardState, Toast};
use crate::{api, paths};

#[component]
pub fn CardMenu(id: i64) -> impl IntoView {
    let state = CardState::expect();
    let open = RwSignal::new(false);
    let removing = RwSignal::new(false);
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
                    "Confirmation email queued.".to_owned()
                } else {
                    "Unsubscribed from emails, on every card with this address.".to_owned()
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
            Ok(()) => state.show(Toast::Done("Hidden from Visitors until the lead is active again.".to_owned())),
            Err(error) => state.show(Toast::Failed(error.message)),
        }
    });
    let hide = move |_| {
        open.set(false);
        hide_action.dispatch(());
    };

    view! {
        <Menu open class="card-menu" button_class="card-menu__button" test_id="card-menu" label="Card menu">
            <button type="button" class="card-menu__item" role="menuitem" data-testid="copy-link" on:click=copy_link>
                "Copy link"
            </button>
            <MenuAction
                label="Unsubscribe from emails"
                test_id="menu-unsubscribe"
                availability=Signal::derive(move || actions.get().unsubscribe)
                busy
                on_click=move || run_email_action(false)
            />
            <MenuAction
                label="Send subscription confirmation"
                test_id="menu-confirmation"
                availability=Signal::derive(move || actions.get().send_confirmation)
                busy
                on_click=move || run_email_action(true)
            />
            <button type="button" class="card-menu__item" role="menuitem" data-testid="menu-hide" on:click=hide>
                "Hide"
            </button>
            <button
                type="button"
                class="card-menu__item card-menu__item--danger"
                role="menuitem"
                data-testid="menu-remove"
                on:click=move |_| {
                    open.set(false);
                    removing.set(true);
                }
            >
                "Remove completely"
            </button>
        </Menu>
        {move || removing.get().then(|| view! { <RemoveDialog id on_close=move || removing.set(false)/> })}
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
            role="menuitem"
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
fn RemoveDialog(id: i64, on_close: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let state = CardState::expect();
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let remove = Action::new_local(move |confirm: &String| {
        let confirm = confirm.clone();
        async move {
            match api::remove_lead(id, &RemoveLead { confirm }).await {
                Ok(()) => state.removed.set(true),
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
        confirms_removal(&typed.get(), name.as_deref(), email.as_deref(), id)
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !confirmed() {
            return error.set(Some("Type the lead's name or email exactly to confirm.".to_owned()));
        }
        remove.dispatch(typed.get_untracked());
    };
    view! {
        <div class="dialog-backdrop" on:click=move |_| on_close()></div>
        <form
            class="dialog"
            role="dialog"
            aria-modal="true"
            aria-labelledby="remove-title"
            data-testid="remove-dialog"
            on:submit=submit
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    on_close();
                }
            }
        >
            <h2 id="remove-title">"Remove this lead completely?"</h2>
            <p>
                "The card and all of its properties, events, notes, tags, segment history, conversations and messages are "
                "erased, and no mail is sent to it any more. This cannot be undone."
            </p>
            <label class="field">
                <span class="field__label">
                    "Type " <strong>{move || { let (name, email, shown) = who.get(); name.or(email).unwrap_or(shown) }}</strong> " to confirm"
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
                    "Remove completely"
                </button>
                <button type="button" class="button button--ghost" on:click=move |_| on_close()>"Cancel"</button>
            </div>
        </form>
    }
}

/// An ellipsis button and the menu it opens; Escape or a click outside closes it. Items close it
/// through `open`. Only an open menu listens for clicks.
#[component]
pub fn Menu(
    open: RwSignal<bool>,
    class: &'static str,
    button_class: &'static str,
    test_id: &'static str,
    label: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let root = NodeRef::<Div>::new();
    view! {
        <div
            class=class
            node_ref=root
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    open.set(false);
                }
            }
        >
            <button
                type="button"
                class=format!("button button--icon {button_class}")
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
                    view! { <div class="card-menu__list" role="menu">{children()}</div> }
                }
            </Show>
        </div>
    }
}
