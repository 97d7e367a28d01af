//! The operator's frame around every signed-in page: the session guard, the navigation, who is
//! signed in, and signing out.

use leadcard_core::LiveEvent;
use leadcard_core::wire::Operator;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_use::use_debounce_fn;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, t};
use crate::browser::theme::ThemeSwitch;
use crate::components::avatar::{Avatar, AvatarSize};
use crate::components::error_notice::{ErrorNotice, SignInAgain};
use crate::components::language_switch::LanguageSwitch;
use crate::live::Live;
use crate::session::Session;
use crate::{paths, pending};

/// Shows its child route only with a session; without one, goes to the sign-in page.
#[component]
pub fn Shell() -> impl IntoView {
    let session = Session::expect();
    view! {
        <Transition fallback=|| view! { <div class="app-loading" aria-busy="true">{t(k::COMMON_LOADING)}</div> }>
            {move || Suspend::new(async move {
                match session.me.await {
                    Ok(operator) => view! { <Frame operator/> }.into_any(),
                    Err(error) if error.is_unauthenticated() => to_sign_in(&error),
                    Err(error) => view! {
                        <main class="app-main">
                            <ErrorNotice error/>
                        </main>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

/// Without a session: the sign-in page, coming back here afterwards unless the operator signed out.
pub fn to_sign_in(error: &ApiError) -> AnyView {
    if error.is_signed_out() {
        view! { <Redirect path=paths::LOGIN options=NavigateOptions { replace: true, ..Default::default() }/> }
            .into_any()
    } else {
        view! { <SignInAgain/> }.into_any()
    }
}

#[component]
fn Frame(operator: Operator) -> impl IntoView {
    let session = Session::expect();
    let live = Live::provide();
    // Sends a previous page left unconfirmed go out again.
    if pending::left_over() {
        leptos::task::spawn_local(resume_sends());
    }
    // A successful sign-out disposes this frame (the guard above leaves for the sign-in page).
    let sign_out = Action::new_local(move |&(): &()| async move {
        match api::sign_out().await {
            Err(error) if !error.is_unauthenticated() => Err(error.message),
            _ => {
                session.signed_out();
                Ok(())
            }
        }
    });
    let signing_out = sign_out.pending();
    let sign_out_error = Memo::new(move |_| {
        if signing_out.get() {
            return None;
        }
        sign_out.value().with(|answer| answer.as_ref().and_then(|r| r.as_ref().err()).cloned())
    });
    view! {
        <div class="app">
            <header class="app-nav">
                <span class="app-nav__brand">"leadcard"</span>
                <nav class="app-nav__links" aria-label=t(k::NAV_MAIN)>
                    <A href=paths::LEADS>{t(k::NAV_LEADS)}</A>
                    <InboxLink live/>
                    <A href=paths::VISITORS>{t(k::NAV_VISITORS)}</A>
                    <A href=paths::SEGMENTS>{t(k::NAV_SEGMENTS)}</A>
                    <A href=paths::SETTINGS>{t(k::NAV_SETTINGS)}</A>
                    <A href=paths::ACCOUNT>{t(k::NAV_ACCOUNT)}</A>
                </nav>
                <div class="app-nav__operator">
                    // The state in words beside its dot: colour alone says nothing to many.
                    <span
                        class="app-nav__live"
                        class:app-nav__live--on=move || live.connected.get()
                        data-testid="live-status"
                        data-connected=move || live.connected.get().to_string()
                        role="status"
                    >
                        {move || if live.connected.get() { t(k::NAV_LIVE) } else { t(k::NAV_RECONNECTING) }}
                    </span>
                    <LanguageSwitch/>
                    <ThemeSwitch/>
                    <Avatar name=operator.name.clone() url=None size=AvatarSize::Small/>
                    <span class="app-nav__name" data-testid="me" title=operator.email>
                        {operator.name}
                    </span>
                    <button
                        type="button"
                        class="button button--ghost"
                        data-testid="sign-out"
                        disabled=signing_out
                        on:click=move |_| {
                            sign_out.dispatch(());
                        }
                    >
                        {t(k::NAV_SIGN_OUT)}
                    </button>
                    {move || sign_out_error.get().map(|message| view! { <span class="app-nav__error" role="alert">{message}</span> })}
                </div>
            </header>
            <main class="app-main">
                <Outlet/>
            </main>
        </div>
    }
}

/// Starts the pending-send queue. In the release build the queue's code is a chunk of its own,
/// fetched only when there is something to send: a page that writes nothing never loads it.
async fn resume_sends() {
    pending::start();
}

/// The Inbox link with the number of open conversations that have unread messages, kept current
/// as conversations change.
#[component]
fn InboxLink(live: Live) -> impl IntoView {
    let count = LocalResource::new(api::unread_conversations);
    // Kept while a new count is on its way; none until the first.
    let unread = Signal::derive(move || count.with(|c| c.as_ref().and_then(|c| c.as_ref().ok()).copied()).unwrap_or(0));
    // Changes come in bursts (a message, then its read mark): count once after them.
    let refetch = use_debounce_fn(move || count.refetch(), 300.0);
    live.on_message(move |event| {
        if matches!(event, LiveEvent::ConversationChanged { .. }) {
            refetch();
        }
    });
    live.on_reset(move || count.refetch());
    view! {
        <A href=paths::INBOX>
            {t(k::NAV_INBOX)}
            <span class="app-nav__badge" data-testid="inbox-unread" hidden=move || unread.get() == 0>
                {move || unread.get()}
            </span>
        </A>
    }
}
