//! `/login`: operators sign in with email and password, then go where they were headed.

use leadcard_core::wire::SignIn;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;
use wasm_bindgen::JsCast;

use crate::api;
use crate::browser::i18n::{self, k, t};
use crate::paths;
use crate::session::Session;
use crate::title::page_title;

/// The first page of every new session, so the lightest: its inputs keep their own values (read
/// from the form on submit) and the request runs in a plain task, which keeps two-way bindings,
/// actions and the query-map memo out of the first load.
#[component]
pub fn LoginPage() -> impl IntoView {
    page_title(t(k::LOGIN_TITLE));
    let session = Session::expect();
    let navigate = use_navigate();
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The console's code, fetched while the operator types (not part of the sign-in page's load).
    let preloaded = StoredValue::new(false);
    let preload = move || {
        if !preloaded.get_value() {
            preloaded.set_value(true);
            crate::preload_console(&paths::after_sign_in(next().as_deref()));
        }
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok()) else { return };
        let Ok(data) = web_sys::FormData::new_with_form(&form) else { return };
        if pending.get_untracked() {
            return;
        }
        let field = |name: &str| data.get(name).as_string().unwrap_or_default();
        let credentials = SignIn { email: field("email"), password: field("password") };
        preload();
        pending.set(true);
        error.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::sign_in(&credentials).await {
                Ok(operator) => {
                    let to = paths::after_sign_in(next().as_deref());
                    // The operator reads another language: the console loads in it.
                    if i18n::follow_operator(operator.language.as_deref()) {
                        if let Some(window) = web_sys::window() {
                            let _ = window.location().replace(&to);
                        }
                        return;
                    }
                    session.signed_in(operator);
                    navigate(&to, NavigateOptions { replace: true, ..Default::default() });
                }
                Err(e) => {
                    // The page may be gone by now (the operator went elsewhere): nothing to show then.
                    error.try_set(Some(e.message));
                    pending.try_set(false);
                }
            }
        });
    };

    view! {
        <main class="login">
            <form class="login__card" on:submit=submit on:focusin=move |_| preload() novalidate>
                <div class="login__brand">"leadcard"</div>
                <h1 class="login__title">{t(k::LOGIN_TITLE)}</h1>
                <p class="login__lead">{t(k::LOGIN_LEAD)}</p>
                <label class="field">
                    <span class="field__label">{t(k::COMMON_EMAIL)}</span>
                    <input class="input" type="email" name="email" autocomplete="username" required/>
                </label>
                <label class="field">
                    <span class="field__label">{t(k::COMMON_PASSWORD)}</span>
                    <input
                        class="input"
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        required
                    />
                </label>
                {move || error.get().map(|message| view! {
                    <p class="login__error" role="alert" data-testid="login-error">{message}</p>
                })}
                <button type="submit" class="button button--primary login__submit" disabled=move || pending.get()>
                    {move || if pending.get() { t(k::LOGIN_SIGNING_IN) } else { t(k::LOGIN_SUBMIT) }}
                </button>
            </form>
        </main>
    }
}

/// `?next=` of the page's address: where the operator was headed before being sent here.
fn next() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get("next")
}
