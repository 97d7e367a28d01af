//! The card's menu (upper right): "Copy link" to the card, confirmed in the card's toast; and the
//! open-menu list that the property menus share.

use leptos::html::Div;
use leptos::prelude::*;
use leptos_use::on_click_outside;

use super::state::CardState;
use crate::paths;

#[component]
pub fn CardMenu(id: i64) -> impl IntoView {
    let state = CardState::expect();
    let open = RwSignal::new(false);
    let root = NodeRef::<Div>::new();
    let copy_link = move |_| {
        open.set(false);
        state.copy(paths::absolute(&paths::lead(id)));
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
                <MenuList root open>
                    <button type="button" class="card-menu__item" role="menuitem" data-testid="copy-link" on:click=copy_link>
                        "Copy link"
                    </button>
                </MenuList>
            </Show>
        </div>
    }
}

/// An open menu; a click outside `root` (the menu with its button) closes it. Only an open menu
/// listens for clicks.
#[component]
pub fn MenuList(root: NodeRef<Div>, open: RwSignal<bool>, children: Children) -> impl IntoView {
    let _ = on_click_outside(root, move |_| open.set(false));
    view! { <div class="card-menu__list" role="menu">{children()}</div> }
}
