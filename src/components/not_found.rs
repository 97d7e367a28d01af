//! What an address that leads nowhere shows: an unknown page or an unknown lead.

use leptos::prelude::*;

use crate::browser::i18n::{k, t};

#[component]
pub fn NotFound(#[prop(optional, into)] message: Option<String>) -> impl IntoView {
    view! {
        <section class="not-found" data-testid="not-found">
            <h1 class="not-found__title">{t(k::NOT_FOUND_TITLE)}</h1>
            <p class="not-found__message">
                {message.unwrap_or_else(|| t(k::NOT_FOUND_MESSAGE).to_owned())}
            </p>
            <a class="button button--secondary" href="/">{t(k::NOT_FOUND_BACK)}</a>
        </section>
    }
}
