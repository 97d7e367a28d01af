//! `/account`: every operator changes their own password (the current one first; the core rule is
//! checked here before asking) and sees their own sessions, this one marked, ending any of them.

use leadcard_core::account::{ChangePassword, SessionInfo, check_password_shape};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, t};
use crate::components::error_notice::ErrorNotice;
use crate::components::field_error::{elsewhere, refused, under};
use crate::session::Session;
use crate::time;
use crate::title::page_title;

#[component]
pub fn AccountPage() -> impl IntoView {
    page_title(t(k::NAV_ACCOUNT));
    view! {
        <div class="settings-page">
            <h1>{t(k::NAV_ACCOUNT)}</h1>
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
    let change = Action::new_local(move |body: &ChangePassword| {
        let body = body.clone();
        async move {
            let changed = api::change_password(&body).await;
            if changed.is_ok() {
                // The form is empty again for whoever looks at the screen next.
                current.try_set(String::new());
                new.try_set(String::new());
            }
            changed
        }
    });
    // What the page's own check refused, else what the server answered to the last request.
    let checked = RwSignal::new(None::<ApiError>);
    let saving = change.pending();
    let problem = Signal::derive(move || {
        checked.get().or_else(|| (!saving.get()).then(|| change.value().get().and_then(Result::err)).flatten())
    });
    let saved = move || !saving.get() && checked.get().is_none() && matches!(change.value().get(), Some(Ok(())));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let email = session.me.get_untracked().and_then(Result::ok).map(|me| me.email).unwrap_or_default();
        let body = ChangePassword { current_password: current.get_untracked(), new_password: new.get_untracked() };
        if body.current_password.is_empty() {
            return checked.set(Some(refused(leadcard_core::field::FieldError::new(
                "current_password",
                k::ACCOUNT_CURRENT_REQUIRED,
            ))));
        }
        if let Err(e) = check_password_shape(&body.new_password, &email, "new_password") {
            return checked.set(Some(refused(e)));
        }
        checked.set(None);
        change.dispatch(body);
    };
    view! {
        <section class="settings-section" aria-labelledby="password-title">
            <h2 id="password-title">{t(k::COMMON_PASSWORD)}</h2>
            <form class="settings-form" data-testid="password-form" on:submit=submit novalidate>
                <label class="field">
                    <span class="field__label">{t(k::ACCOUNT_CURRENT)}</span>
                    <input class="input" type="password" name="current_password" autocomplete="current-password"
                        prop:value=current on:input=move |ev| current.set(event_target_value(&ev))/>
                </label>
                {under(problem, "current_password")}
                <label class="field">
                    <span class="field__label">{t(k::ACCOUNT_NEW)}</span>
                    <input class="input" type="password" name="new_password" autocomplete="new-password"
                        prop:value=new on:input=move |ev| new.set(event_target_value(&ev))/>
                </label>
                {under(problem, "new_password")}
                {elsewhere(problem, &["current_password", "new_password"])}
                <div class="editor__actions">
                    <button type="submit" class="button button--primary" data-testid="password-save" disabled=move || saving.get()>{t(k::ACCOUNT_CHANGE)}</button>
                    {move || saved().then(|| view! {
                        <span class="settings-form__saved" data-testid="password-saved">{t(k::ACCOUNT_CHANGED)}</span>
                    })}
                </div>
            </form>
        </section>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let session = Session::expect();
    let end = Action::new_local(move |info: &SessionInfo| {
        let info = info.clone();
        async move {
            let ended = api::end_session(&info.id).await;
            // Ending this browser's session signs it out.
            if ended.is_ok() && info.current {
                session.signed_out();
            }
            ended
        }
    });
    // Read again after each end (the action's version) and on Refresh.
    let sessions = LocalResource::new(move || {
        end.version().get();
        api::my_sessions()
    });
    let error = move || {
        let failed_end = end.value().get().and_then(Result::err);
        failed_end.or_else(|| sessions.get().and_then(Result::err))
    };
    let listed = move || sessions.get().and_then(Result::ok).unwrap_or_default();
    view! {
        <section class="settings-section" aria-labelledby="sessions-title">
            <div class="settings-section__bar">
                <h2 id="sessions-title">{t(k::ACCOUNT_SESSIONS)}</h2>
                <button type="button" class="button button--ghost" data-testid="sessions-refresh" on:click=move |_| sessions.refetch()>{t(k::COMMON_REFRESH)}</button>
            </div>
            {move || error().map(|error| view! { <ErrorNotice error/> })}
            <table class="outbox" data-testid="sessions">
                <thead>
                    <tr><th>{t(k::ACCOUNT_BROWSER)}</th><th>{t(k::ACCOUNT_SIGNED_IN)}</th><th>{t(k::ACCOUNT_LAST_USED)}</th><th></th></tr>
                </thead>
                <tbody>
                    <For each=listed key=|s| s.id.clone() let:info>
                        {let ending = info.clone();
                        view! {
                        <tr data-testid="session-row" data-current=info.current.to_string()>
                            <td>
                                {info.user_agent.clone()}
                                {info.current.then(|| view! { <strong class="settings-form__saved">{t(k::ACCOUNT_THIS_BROWSER)}</strong> })}
                            </td>
                            <td>{time::local(info.created_at)}</td>
                            <td>{time::local(info.last_used_at)}</td>
                            <td>
                                <button type="button" class="button button--ghost" data-testid="session-end"
                                    on:click=move |_| { end.dispatch(ending.clone()); }>{t(k::ACCOUNT_END)}</button>
                            </td>
                        </tr>
                        }}
                    </For>
                </tbody>
            </table>
        </section>
    }
}
