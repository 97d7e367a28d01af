//! `/settings/operators` (admins): every operator with their role, state and open sessions; adding
//! one (with a password, or with a one-time set-password link to hand over), changing a role,
//! disabling (their sessions end at once) or enabling, and a new set-password link.

use leadcard_core::account::{NewOperatorAccount, OperatorAccount, OperatorChange, PasswordLink, check_password_shape};
use leadcard_core::wire::Role;
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::browser::clipboard::copy_text;
use crate::browser::i18n::{k, t};
use crate::components::error_notice::ErrorNotice;
use crate::components::field_error::{elsewhere, refused, under};
use crate::session::Session;
use crate::time;
use crate::title::page_title;

#[component]
pub fn OperatorsPage() -> impl IntoView {
    page_title(t(k::NAV_OPERATORS));
    let session = Session::expect();
    let admin = Signal::derive(move || session.me.get().and_then(Result::ok).is_some_and(|me| me.role == Role::Admin));
    view! {
        <div class="settings-page">
            <h1>{t(k::NAV_OPERATORS)}</h1>
            <Show
                when=move || admin.get()
                fallback=|| view! { <p class="settings-form__note" data-testid="operators-admins-only">{t(k::OPERATORS_ADMINS_ONLY)}</p> }
            >
                <Operators/>
            </Show>
        </div>
    }
}

/// The list, the add form, and the latest set-password link made.
#[component]
fn Operators() -> impl IntoView {
    let link = RwSignal::new(None::<(String, PasswordLink)>);
    let change = Action::new_local(move |(id, body): &(i64, OperatorChange)| {
        let (id, body) = (*id, body.clone());
        async move { api::change_operator(id, &body).await }
    });
    let reset = Action::new_local(move |account: &OperatorAccount| {
        let account = account.clone();
        async move {
            let made = api::password_link(account.id).await;
            if let Ok(new) = &made {
                link.try_set(Some((account.email, new.clone())));
            }
            made
        }
    });
    // Read again after each change (disabling ends sessions: their count changes too).
    let operators = LocalResource::new(move || {
        change.version().get();
        api::operator_accounts()
    });
    let error = move || {
        let failed_change = change.value().get().and_then(Result::err);
        let failed_reset = || reset.value().get().and_then(Result::err);
        failed_change.or_else(failed_reset).or_else(|| operators.get().and_then(Result::err))
    };
    let listed = move || operators.get().and_then(Result::ok).unwrap_or_default();
    let change = move |id: i64, body: OperatorChange| {
        change.dispatch((id, body));
    };
    let reset = move |account: OperatorAccount| {
        reset.dispatch(account);
    };
    view! {
        <AddOperator on_added=move |added, new_link| {
            link.set(new_link.map(|l| (added, l)));
            operators.refetch();
        }/>
        {move || link.get().map(|(email, link)| view! { <LinkToHandOver email link/> })}
        <section class="settings-section" aria-labelledby="operators-title">
            <div class="settings-section__bar">
                <h2 id="operators-title">{t(k::OPERATORS_EVERYONE)}</h2>
                <button type="button" class="button button--ghost" data-testid="operators-refresh" on:click=move |_| operators.refetch()>{t(k::COMMON_REFRESH)}</button>
            </div>
            {move || error().map(|error| view! { <ErrorNotice error/> })}
            <table class="outbox" data-testid="operators">
                <thead>
                    <tr><th>{t(k::COMMON_EMAIL)}</th><th>{t(k::COMMON_NAME)}</th><th>{t(k::OPERATORS_ROLE)}</th><th>{t(k::OPERATORS_STATE)}</th><th>{t(k::ACCOUNT_SESSIONS)}</th><th>{t(k::OPERATORS_ADDED)}</th><th></th></tr>
                </thead>
                <tbody>
                    <For each=listed key=|o| (o.id, o.role == Role::Admin, o.disabled, o.sessions, o.has_password) let:account>
                        {let id = account.id;
                        let disabled = account.disabled;
                        let for_reset = account.clone();
                        let state = if account.disabled { t(k::OPERATORS_DISABLED) } else if account.has_password { t(k::OPERATORS_ENABLED) } else { t(k::OPERATORS_WAITING) };
                        view! {
                        <tr data-testid="operator-row" data-email=account.email.clone() data-disabled=disabled.to_string()>
                            <td>{account.email.clone()}</td>
                            <td>{account.name.clone()}</td>
                            <td>
                                <select class="input" data-testid="operator-role" aria-label=t(k::OPERATORS_ROLE)
                                    on:change=move |ev| {
                                        let role = if event_target_value(&ev) == "admin" { Role::Admin } else { Role::Operator };
                                        change(id, OperatorChange { role: Some(role), disabled: None });
                                    }>
                                    <option value="operator" selected=account.role == Role::Operator>{t(k::MESSAGE_OPERATOR)}</option>
                                    <option value="admin" selected=account.role == Role::Admin>{t(k::OPERATORS_ADMIN)}</option>
                                </select>
                            </td>
                            <td data-testid="operator-state">{state}</td>
                            <td data-testid="operator-sessions">{account.sessions}</td>
                            <td>{time::local(account.created_at)}</td>
                            <td>
                                <button type="button" class="button button--ghost" data-testid="operator-toggle"
                                    on:click=move |_| change(id, OperatorChange { role: None, disabled: Some(!disabled) })>
                                    {if disabled { t(k::OPERATORS_ENABLE) } else { t(k::OPERATORS_DISABLE) }}
                                </button>
                                <button type="button" class="button button--ghost" data-testid="operator-reset"
                                    hidden=disabled on:click=move |_| reset(for_reset.clone())>{t(k::OPERATORS_NEW_LINK)}</button>
                            </td>
                        </tr>
                        }}
                    </For>
                </tbody>
            </table>
        </section>
    }
}

/// Adds an operator: with a password ready to sign in, or (left empty) with a one-time link.
#[component]
fn AddOperator(on_added: impl Fn(String, Option<PasswordLink>) + Copy + Send + Sync + 'static) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let admin = RwSignal::new(false);
    let password = RwSignal::new(String::new());
    let add = Action::new_local(move |body: &NewOperatorAccount| {
        let body = body.clone();
        async move {
            let added = api::add_operator(&body).await;
            if let Ok(added) = &added {
                on_added(added.operator.email.clone(), added.password_link.clone());
                email.try_set(String::new());
                name.try_set(String::new());
                password.try_set(String::new());
            }
            added.map(|_| ())
        }
    });
    // What the page's own check refused, else what the server answered to the last request.
    let checked = RwSignal::new(None::<ApiError>);
    let adding = add.pending();
    let problem = Signal::derive(move || {
        checked.get().or_else(|| (!adding.get()).then(|| add.value().get().and_then(Result::err)).flatten())
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = NewOperatorAccount {
            email: email.get_untracked().trim().to_owned(),
            name: name.get_untracked().trim().to_owned(),
            role: if admin.get_untracked() { Role::Admin } else { Role::Operator },
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
        };
        if let Some(password) = &body.password
            && let Err(e) = check_password_shape(password, &body.email, "password")
        {
            return checked.set(Some(refused(e)));
        }
        checked.set(None);
        add.dispatch(body);
    };
    view! {
        <section class="settings-section" aria-labelledby="add-operator-title">
            <h2 id="add-operator-title">{t(k::OPERATORS_ADD_TITLE)}</h2>
            <form class="settings-form" data-testid="add-operator" on:submit=submit novalidate>
                <label class="field">
                    <span class="field__label">{t(k::COMMON_EMAIL)}</span>
                    <input class="input" type="email" name="email" prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/>
                </label>
                {under(problem, "email")}
                <label class="field">
                    <span class="field__label">{t(k::COMMON_NAME)}</span>
                    <input class="input" name="name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                {under(problem, "name")}
                <label class="settings-form__check">
                    <input type="checkbox" name="admin" prop:checked=admin on:change=move |ev| admin.set(event_target_checked(&ev))/>
                    {t(k::OPERATORS_ADMIN_CHECK)}
                </label>
                <label class="field">
                    <span class="field__label">{t(k::OPERATORS_PASSWORD)}</span>
                    <input class="input" type="password" name="password" autocomplete="new-password"
                        prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
                {under(problem, "password")}
                {elsewhere(problem, &["email", "name", "password"])}
                <div class="editor__actions">
                    <button type="submit" class="button button--primary" data-testid="add-operator-save" disabled=move || adding.get()>{t(k::COMMON_ADD)}</button>
                </div>
            </form>
        </section>
    }
}

/// A set-password link to hand over (it works once, until it expires).
#[component]
fn LinkToHandOver(email: String, link: PasswordLink) -> impl IntoView {
    let text = link.link.clone();
    let copy = Action::new_local(move |(): &()| {
        let text = text.clone();
        async move { copy_text(&text).await }
    });
    let copied = copy.value();
    view! {
        <section class="settings-section" data-testid="password-link-box">
            <p>{t(k::OPERATORS_SEND_LINK)} <strong>{email}</strong> {t(k::OPERATORS_WORKS_ONCE)} {time::local(link.expires_at)} "):"</p>
            <p><code data-testid="password-link">{link.link}</code></p>
            <button type="button" class="button button--ghost" data-testid="password-link-copy" on:click=move |_| { copy.dispatch(()); }>{t(k::COMMON_COPY)}</button>
            {move || copied.get().map(|ok| view! {
                <span class="settings-form__saved">{if ok { t(k::OPERATORS_COPIED) } else { t(k::OPERATORS_COPY_BY_HAND) }}</span>
            })}
        </section>
    }
}
