//! `/settings`: the project's email settings (Double Opt-In, soft-bounce cool-down and how many
//! soft bounces make a hard one), the outbox (every mail and where it is; with no SMTP server
//! configured, mail waits here), and a plain-text campaign to the subscribed leads of a filter.
//! Everyone may read the settings; only admins change them, see the outbox and send campaigns.

use leadcard_core::mail::{EmailSettingsBody, NewCampaign, OutboxMail, OutboxPage};
use leadcard_core::wire::Role;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, plural_with, say, t, tf};
use crate::browser::json;
use crate::components::error_notice::ErrorNotice;
use crate::session::Session;
use crate::title::page_title;
use crate::{paths, time};

#[component]
pub fn SettingsPage() -> impl IntoView {
    page_title(t(k::NAV_SETTINGS));
    let session = Session::expect();
    let admin = Signal::derive(move || session.me.get().and_then(Result::ok).is_some_and(|me| me.role == Role::Admin));
    view! {
        <div class="settings-page">
            <h1>{t(k::NAV_SETTINGS)}</h1>
            <EmailSettingsForm admin/>
            <Show when=move || admin.get()>
                <p><A href=paths::OPERATORS attr:data-testid="operators-link">{t(k::SETTINGS_OPERATORS_LINK)}</A></p>
                <CampaignForm/>
                <Outbox/>
            </Show>
        </div>
    }
}

#[component]
fn EmailSettingsForm(admin: Signal<bool>) -> impl IntoView {
    let loaded = LocalResource::new(api::email_settings);
    view! {
        <section class="settings-section" aria-labelledby="email-settings-title">
            <h2 id="email-settings-title">{t(k::COMMON_EMAIL)}</h2>
            <Transition fallback=|| view! { <p>{t(k::COMMON_LOADING)}</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok(settings) => view! { <EmailSettingsFields settings admin/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EmailSettingsFields(settings: EmailSettingsBody, admin: Signal<bool>) -> impl IntoView {
    let double_opt_in = RwSignal::new(settings.double_opt_in);
    let cool_down = RwSignal::new(settings.soft_bounce_cool_down_hours.to_string());
    let to_hard = RwSignal::new(settings.soft_bounces_to_hard.to_string());
    let problem = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);
    let store = Action::new_local(move |body: &EmailSettingsBody| {
        let body = *body;
        async move {
            match api::set_email_settings(&body).await {
                Ok(_) => {
                    problem.set(None);
                    saved.set(true);
                }
                Err(error) => problem.set(Some(error.message)),
            }
        }
    });
    let saving = store.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let number = |raw: String, what: &str| {
            raw.trim().parse::<u32>().map_err(|_| tf(k::SETTINGS_WHOLE_NUMBER, &[("what", what)]))
        };
        let body = match (
            number(cool_down.get_untracked(), t(k::SETTINGS_COOL_DOWN)),
            number(to_hard.get_untracked(), t(k::SETTINGS_SOFT_BOUNCES)),
        ) {
            (Ok(hours), Ok(count)) => EmailSettingsBody {
                double_opt_in: double_opt_in.get_untracked(),
                soft_bounce_cool_down_hours: hours,
                soft_bounces_to_hard: count,
            },
            (Err(e), _) | (_, Err(e)) => return problem.set(Some(e)),
        };
        // The rules the server checks, at once.
        if let Err(e) = body.check() {
            return problem.set(Some(say(&e.message)));
        }
        store.dispatch(body);
    };
    view! {
        <form class="settings-form" data-testid="email-settings" on:submit=submit on:input=move |_| saved.set(false)>
            <label class="settings-form__check">
                <input
                    type="checkbox"
                    name="double_opt_in"
                    data-testid="double-opt-in"
                    disabled=move || !admin.get()
                    prop:checked=double_opt_in
                    on:change=move |ev| double_opt_in.set(event_target_checked(&ev))
                />
                {t(k::SETTINGS_DOUBLE_OPT_IN)}
            </label>
            <label class="field">
                <span class="field__label">{t(k::SETTINGS_COOL_DOWN_HOURS)}</span>
                <input
                    class="input"
                    type="number"
                    min="1"
                    max="720"
                    name="soft_bounce_cool_down_hours"
                    disabled=move || !admin.get()
                    prop:value=cool_down
                    on:input=move |ev| cool_down.set(event_target_value(&ev))
                />
            </label>
            <label class="field">
                <span class="field__label">{t(k::SETTINGS_TO_HARD)}</span>
                <input
                    class="input"
                    type="number"
                    min="1"
                    max="100"
                    name="soft_bounces_to_hard"
                    disabled=move || !admin.get()
                    prop:value=to_hard
                    on:input=move |ev| to_hard.set(event_target_value(&ev))
                />
            </label>
            {move || problem.get().map(|m| view! { <p class="editor__error" role="alert" data-testid="settings-error">{m}</p> })}
            <Show
                when=move || admin.get()
                fallback=|| view! { <p class="settings-form__note">{t(k::SETTINGS_ADMINS_ONLY)}</p> }
            >
                <div class="editor__actions">
                    <button type="submit" class="button button--primary" data-testid="settings-save" disabled=saving>{t(k::COMMON_SAVE)}</button>
                    {move || saved.get().then(|| view! { <span class="settings-form__saved" data-testid="settings-saved">{t(k::SETTINGS_SAVED)}</span> })}
                </div>
            </Show>
        </form>
    }
}

/// A plain-text mail to every Subscribed address among the leads a filter matches (each address
/// once); the filter is the Leads Database's, pasted from its address bar or left empty for all.
#[component]
fn CampaignForm() -> impl IntoView {
    let subject = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let filter = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let result = RwSignal::new(None::<String>);
    let send = Action::new_local(move |campaign: &NewCampaign| {
        let campaign = campaign.clone();
        async move {
            match api::send_campaign(&campaign).await {
                Ok(queued) => {
                    let skipped: u64 = queued.skipped.values().sum();
                    let skipped = skipped.to_string();
                    result.set(Some(plural_with(k::SETTINGS_QUEUED, queued.recipients, &[("skipped", &skipped)])));
                    problem.set(None);
                }
                Err(error) => problem.set(Some(error.message)),
            }
        }
    });
    let sending = send.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        result.set(None);
        let raw = filter.get_untracked();
        let filter = if raw.trim().is_empty() {
            None
        } else {
            match json::filter_from_query(raw.trim()) {
                Ok(f) => Some(f),
                Err(e) => return problem.set(Some(tf(k::SETTINGS_FILTER_PROBLEM, &[("reason", &say(&e.message))]))),
            }
        };
        let campaign = NewCampaign { subject: subject.get_untracked(), body: body.get_untracked(), filter };
        if let Err(e) = campaign.check() {
            return problem.set(Some(say(&e.message)));
        }
        send.dispatch(campaign);
    };
    view! {
        <section class="settings-section" aria-labelledby="campaign-title">
            <h2 id="campaign-title">{t(k::SETTINGS_CAMPAIGN)}</h2>
            <form class="settings-form" data-testid="campaign-form" on:submit=submit on:input=move |_| problem.set(None)>
                <label class="field">
                    <span class="field__label">{t(k::COMPOSER_SUBJECT)}</span>
                    <input class="input" name="subject" prop:value=subject on:input=move |ev| subject.set(event_target_value(&ev))/>
                </label>
                <label class="field">
                    <span class="field__label">{t(k::SETTINGS_TEXT)}</span>
                    <textarea class="input" name="body" rows="6" prop:value=body on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                </label>
                <label class="field">
                    <span class="field__label">{t(k::SETTINGS_FILTER)}</span>
                    <input class="input" name="filter" prop:value=filter on:input=move |ev| filter.set(event_target_value(&ev))/>
                </label>
                {move || problem.get().map(|m| view! { <p class="editor__error" role="alert" data-testid="campaign-error">{m}</p> })}
                {move || result.get().map(|m| view! { <p class="settings-form__saved" data-testid="campaign-result">{m}</p> })}
                <div class="editor__actions">
                    <button type="submit" class="button button--primary" data-testid="campaign-send" disabled=sending>{t(k::SETTINGS_SEND)}</button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn Outbox() -> impl IntoView {
    let items = RwSignal::new(Vec::<OutboxMail>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<ApiError>);
    let load = move |after: Option<String>| {
        spawn_local(async move {
            match api::outbox(after.as_deref()).await {
                Ok(OutboxPage { items: page, next: more }) => {
                    if after.is_some() {
                        items.update(|items| items.extend(page));
                    } else {
                        items.set(page);
                    }
                    next.set(more);
                    error.set(None);
                }
                Err(e) => {
                    error.set(Some(e));
                }
            }
        })
    };
    load(None);
    view! {
        <section class="settings-section" aria-labelledby="outbox-title">
            <div class="settings-section__bar">
                <h2 id="outbox-title">{t(k::SETTINGS_OUTBOX)}</h2>
                <button type="button" class="button button--ghost" data-testid="outbox-refresh" on:click=move |_| load(None)>{t(k::COMMON_REFRESH)}</button>
            </div>
            {move || error.get().map(|error| view! { <ErrorNotice error/> })}
            <table class="outbox" data-testid="outbox">
                <thead>
                    <tr><th>{t(k::SETTINGS_TO)}</th><th>{t(k::SETTINGS_KIND)}</th><th>{t(k::COMPOSER_SUBJECT)}</th><th>{t(k::INBOX_STATUS)}</th><th>{t(k::SETTINGS_ATTEMPTS)}</th><th>{t(k::EXPORT_CREATED)}</th></tr>
                </thead>
                <tbody>
                    <For each=move || items.get() key=|m| (m.id, m.status, m.attempts) let:mail>
                        {let error = mail.last_error.clone();
                        view! {
                        <tr data-testid="outbox-row" data-status=mail.status.as_str()>
                            <td>{mail.to}</td>
                            <td>{mail.kind.as_str()}</td>
                            <td>{mail.subject}</td>
                            <td title=mail.last_error.clone().unwrap_or_default() data-error=mail.last_error.is_some().to_string()>
                                {mail.status.as_str()}
                                {error.map(|e| view! { <span class="outbox__error">{e}</span> })}
                            </td>
                            <td>{mail.attempts}</td>
                            <td>{time::local(mail.created_at)}</td>
                        </tr>
                        }}
                    </For>
                </tbody>
            </table>
            {move || items.with(Vec::is_empty).then(|| view! { <p class="events__empty">{t(k::SETTINGS_NO_MAIL)}</p> })}
            {move || next.get().map(|after| view! {
                <button type="button" class="button button--ghost" on:click=move |_| load(Some(after.clone()))>{t(k::SETTINGS_OLDER)}</button>
            })}
        </section>
    }
}

/// The settings' chunk: the email settings and campaigns (`/settings`), the operators
/// (`/settings/operators`) and the operator's own account (`/account`), by path.
#[component]
pub fn SettingsArea() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    move || match location.pathname.get().trim_end_matches('/') {
        p if p == crate::paths::OPERATORS => view! { <crate::pages::operators::OperatorsPage/> }.into_any(),
        p if p == crate::paths::ACCOUNT => view! { <crate::pages::account::AccountPage/> }.into_any(),
        _ => view! { <SettingsPage/> }.into_any(),
    }
}
