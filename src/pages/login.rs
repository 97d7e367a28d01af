//! `/login`: operators sign in with email and password, then go where they were headed.

use leadcard_core::wire::SignIn;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{self, ApiError};
use crate::paths;
use crate::session::Session;

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = Session::expect();
    let navigate = use_navigate();
    let query = use_query_map();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());

    let sign_in = Action::new_local(move |credentials: &SignIn| {
        let credentials = credentials.clone();
        let navigate = navigate.clone();
        async move {
            let operator = api::sign_in(&credentials).await?;
            session.signed_in(operator);
            let next = query.with_untracked(|q| paths::after_sign_in(q.get_str("next")));
            navigate(&next, NavigateOptions { replace: true, ..Default::default() });
            Ok::<(), ApiError>(())
        }
    });
    let pending = sign_in.pending();
    let error = move || sign_in.value().get().filter(|_| !pending.get()).and_then(Result::err).map(|e| e.message);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !pending.get_untracked() {
            sign_in.dispatch(SignIn { email: email.get_untracked(), password: password.get_untracked() });
        }
    };

    view! {
        <main class="login">
            <form class="login__card" on:submit=submit novalidate>
                <div class="login__brand">"leadcard"</div>
                <h1 class="login__title">"Sign in"</h1>
                <p class="login__lead">"The console for your team's leads and conversations."</p>
                <label class="field">
                    <span class="field__label">"Email"</span>
                    <input class="input" type="email" name="email" autocomplete="username" required bind:value=email/>
                </label>
                <label class="field">
                    <span class="field__label">"Password"</span>
                    <input
                        class="input"
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        required
                        bind:value=password
                    />
                </label>
                {move || error().map(|message| view! {
                    <p class="login__error" role="alert" data-testid="login-error">{message}</p>
                })}
                <button type="submit" class="button button--primary login__submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </main>
    }
}
