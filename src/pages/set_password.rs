//! `/set-password?token=…`: the page a one-time set-password link opens (outside the signed-in
//! frame): the operator chooses a password (the core rule checked here first), then signs in.

use leadcard_core::account::{SetPassword, check_password_shape};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, t};
use crate::components::field_error::{elsewhere, refused, under};
use crate::paths;
use crate::title::page_title;

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    page_title(t(k::SET_PASSWORD_TITLE));
    let navigate = use_navigate();
    let password = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<ApiError>);
    let pending = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // The server also refuses the account's email as a password; the page does not know it.
        if let Err(e) = check_password_shape(&password.get_untracked(), "", "password") {
            return problem.set(Some(refused(e)));
        }
        let body = SetPassword { token: token().unwrap_or_default(), password: password.get_untracked() };
        pending.set(true);
        problem.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::use_password_link(&body).await {
                Ok(()) => navigate(paths::LOGIN, NavigateOptions { replace: true, ..Default::default() }),
                Err(error) => {
                    problem.try_set(Some(error));
                    pending.try_set(false);
                }
            }
        });
    };
    view! {
        <main class="login">
            <form class="login__card" data-testid="set-password-form" on:submit=submit novalidate>
                <div class="login__brand">"leadcard"</div>
                <h1 class="login__title">{t(k::SET_PASSWORD_HEADING)}</h1>
                <p class="login__lead">{t(k::SET_PASSWORD_LEAD)}</p>
                <label class="field">
                    <span class="field__label">{t(k::SET_PASSWORD_NEW)}</span>
                    <input class="input" type="password" name="password" autocomplete="new-password"
                        prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
                {under(problem, "password")}
                {elsewhere(problem, &["password"])}
                <button type="submit" class="button button--primary login__submit" data-testid="set-password-save"
                    disabled=move || pending.get()>{t(k::SET_PASSWORD_SAVE)}</button>
            </form>
        </main>
    }
}

/// `?token=` of the page's address: the link's one-time token.
fn token() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get("token")
}
