//! What an address that leads nowhere shows: an unknown page or an unknown lead.

use leptos::prelude::*;

#[component]
pub fn NotFound(#[prop(optional, into)] message: Option<String>) -> impl IntoView {
    view! {
        <section class="not-found" data-testid="not-found">
            <h1 class="not-found__title">"Not found"</h1>
            <p class="not-found__message">
                {message.unwrap_or_else(|| "There is nothing at this address.".to_owned())}
            </p>
            <a class="button button--secondary" href="/">"Back to the start"</a>
        </section>
    }
}
