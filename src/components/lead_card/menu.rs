//! The card's menu (upper right): "Copy link" to the card, with a visible confirmation.

use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_use::{UseTimeoutFnReturn, on_click_outside, use_timeout_fn};

use crate::components::clipboard::copy_text;
use crate::paths;

/// How long "Copied" stays on screen.
const TOAST_MS: f64 = 2_500.0;

#[derive(Debug, Clone, PartialEq)]
enum CopyOutcome {
    Done,
    /// The browser refused; the operator copies the link by hand.
    Refused(String),
}

fn select_all(ev: leptos::ev::FocusEvent) {
    event_target::<web_sys::HtmlInputElement>(&ev).select();
}

#[component]
pub fn CardMenu(id: i64) -> impl IntoView {
    let open = RwSignal::new(false);
    let outcome = RwSignal::new(None::<CopyOutcome>);
    let root = NodeRef::<Div>::new();
    let _ = on_click_outside(root, move |_| open.set(false));
    let UseTimeoutFnReturn { start: hide_later, .. } = use_timeout_fn(move |()| outcome.set(None), TOAST_MS);

    let copy_link = move |_| {
        open.set(false);
        let link = paths::absolute(&paths::lead(id));
        let hide_later = hide_later.clone();
        spawn_local(async move {
            if copy_text(&link).await {
                outcome.set(Some(CopyOutcome::Done));
                hide_later(());
            } else {
                outcome.set(Some(CopyOutcome::Refused(link)));
            }
        });
    };

    view! {
        <div
            class="card-menu"
            node_ref=root
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    open.set(false);
                }
            }
        >
            <button
                type="button"
                class="button button--icon card-menu__button"
                data-testid="card-menu"
                aria-label="Card menu"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                "⋯"
            </button>
            <Show when=move || open.get()>
                <div class="card-menu__list" role="menu">
                    <button type="button" class="card-menu__item" role="menuitem" data-testid="copy-link" on:click=copy_link.clone()>
                        "Copy link"
                    </button>
                </div>
            </Show>
            {move || outcome.get().map(|shown| match shown {
                CopyOutcome::Done => view! { <div class="toast" role="status">"Copied"</div> }.into_any(),
                CopyOutcome::Refused(link) => view! {
                    <div class="toast toast--warning" role="alert">
                        <span>"The browser did not allow copying. Copy the link yourself:"</span>
                        <input class="input toast__link" readonly value=link on:focus=select_all/>
                        <button type="button" class="button button--ghost" on:click=move |_| outcome.set(None)>"Close"</button>
                    </div>
                }
                .into_any(),
            })}
        </div>
    }
}
