//! `/account`: every operator changes their own password (the current one first; the core rule is
//! checked here before asking) and sees their own sessions, this one marked, ending any of them.

use leadcard_core::account::{ChangePassword, SessionInfo, check_password_shape};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiError};
use crate::components::error_notice::ErrorNotice;
use crate::components::field_error::{elsewhere, refused, under};
use crate::session::Session;
use crate::time;

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <div class="settings-page">
            <h1>"Account"</h1>
            <PasswordForm/>
            <Sessions/>
        </div>
    }
}

#[component]
fn PasswordForm() -> impl IntoView {
    let session = Session::expect();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let saving = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let email = session.me.get_untracked().and_then(Result::ok).map(|me| me.email).unwrap_or_default();
        let body = ChangePassword { current_password: current.get_untracked(), new_password: new.get_untracked() };
        if body.current_password.is_empty() {
            return problem.set(Some(refused(leadcard_core::field::FieldError::new(
                "current_password",
                "Enter your current password.",
            ))));
        }
        if let Err(e) = check_password_shape(&body.new_password, &email, "new_password") {
            return problem.set(Some(refused(e)));
        }
        saving.set(true);
        problem.set(None);
        spawn_local(async move {
            match api::change_password(&body).await {
                Ok(()) => {
                    current.try_set(String::new());
                    new.try_set(String::new());
                    saved.try_set(true);
                }
                Err(error) => {
                    problem.try_set(Some(error));
                }
            }
            saving.try_set(false);
        });
    };
    view! {
        <section class="settings-section" aria-labelledby="password-title">
            <h2 id="password-title">"Password"</h2>
            <form class="settings-form" data-testid="password-form" on:submit=submit novalidate>
                <label class="field">
                    <span class="field__label">"Current password"</span>
                    <input class="input" type="password" name="current_password" autocomplete="current-password"
                        prop:value=current on:input=move |ev| current.set(event_target_value(&ev))/>
                </label>
                {under(problem, "current_password")}
                <label class="field">
                    <span class="field__label">"New password (at least 12 characters, not a common one)"</span>
                    <input class="input" type="password" name="new_password" autocomplete="new-password"
                        prop:value=new on:input=move |ev| new.set(event_target_value(&ev))/>
                </label>
                {under(problem, "new_password")}
                {elsewhere(problem, &["current_password", "new_password"])}
                <div class="editor__actions">
                    <button type="submit" class="button button--primary" data-testid="password-save" disabled=saving>"Change password"</button>
                    {move || saved.get().then(|| view! {
                        <span class="settings-form__saved" data-testid="password-saved">"Changed. Your other sessions have ended."</span>
                    })}
                </div>
            </form>
        </section>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let session = Session::expect();
    let sessions = RwSignal::new(Vec::<SessionInfo>::new());
    let error = RwSignal::new(None::<ApiError>);
    let load = move || {
        spawn_local(async move {
            match api::my_sessions().await {
                Ok(list) => {
                    sessions.try_set(list);
                    error.try_set(None);
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        })
    };
    load();
    let end = move |info: SessionInfo| {
        spawn_local(async move {
            match api::end_session(&info.id).await {
                // Ending this browser's session signs it out.
                Ok(()) if info.current => session.signed_out(),
                Ok(()) => load(),
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        })
    };
    view! {
        <section class="settings-section" aria-labelledby="sessions-title">
            <div class="settings-section__bar">
                <h2 id="sessions-title">"Sessions"</h2>
                <button type="button" class="button button--ghost" data-testid="sessions-refresh" on:click=move |_| load()>"Refresh"</button>
            </div>
            {move || error.get().map(|error| view! { <ErrorNotice error/> })}
            <table class="outbox" data-testid="sessions">
                <thead>
                    <tr><th>"Browser"</th><th>"Signed in"</th><th>"Last used"</th><th></th></tr>
                </thead>
                <tbody>
                    <For each=move || sessions.get() key=|s| s.id.clone() let:info>
                        {let ending = info.clone();
                        view! {
                        <tr data-testid="session-row" data-current=info.current.to_string()>
                            <td>
                                {info.user_agent.clone()}
                                {info.current.then(|| view! { <strong class="settings-form__saved">" (this browser)"</strong> })}
                            </td>
                            <td>{time::local(info.created_at)}</td>
                            <td>{time::local(info.last_used_at)}</td>
                            <td>
                                <button type="button" class="button button--ghost" data-testid="session-end"
                                    on:click=move |_| end(ending.clone())>"End"</button>
                            </td>
                        </tr>
                        }}
                    </For>
                </tbody>
            </table>
        </section>
    }
}
