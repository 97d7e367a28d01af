//! The card's menu (upper right): "Copy link" to the card, confirmed in the card's toast; and the
//! ellipsis menu that the property menus share.

use leptos::html::Div;
use leptos::prelude::*;
use leptos_use::on_click_outside;

use super::state::CardState;
use crate::paths;

#[component]
pub fn CardMenu(id: i64) -> impl IntoView {
    let state = CardState::expect();
    let open = RwSignal::new(false);
    let copy_link = move |_| {
        open.set(false);
        state.copy(paths::absolute(&paths::lead(id)));
    };

    view! {
        <Menu open class="card-menu" button_class="card-menu__button" test_id="card-menu" label="Card menu">
            <button type="button" class="card-menu__item" role="menuitem" data-testid="copy-link" on:click=copy_link>
                "Copy link"
            </button>
        </Menu>
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
