//! The language switch in the navigation, beside the theme's: the operator's choice is kept on
//! the server (every device they sign in on shows it) and in this browser, and the page loads
//! again in it.

use leadcard_core::locale::Language;
use leptos::prelude::*;

use crate::api;
use crate::browser::i18n::{self, k, t};

#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let current = i18n::language();
    let failed = RwSignal::new(None::<String>);
    let choose = move |code: String| {
        let Some(language) = Language::parse(&code) else { return };
        leptos::task::spawn_local(async move {
            match api::change_language(Some(language.as_str())).await {
                Ok(_) => i18n::switch_to(language),
                Err(error) => {
                    failed.try_set(Some(error.message));
                }
            }
        });
    };
    view! {
        <select
            class="select language-switch"
            data-testid="language-switch"
            aria-label=t(k::LANGUAGE_LABEL)
            prop:value=current.as_str()
            on:change=move |ev| choose(event_target_value(&ev))
        >
            {Language::ALL
                .into_iter()
                .map(|l| view! { <option value=l.as_str() lang=l.as_str() selected=l == current>{l.name()}</option> })
                .collect_view()}
        </select>
        {move || failed.get().map(|message| view! { <span class="app-nav__error" role="alert">{message}</span> })}
    }
}
