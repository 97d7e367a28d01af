//! The message composer of the Inbox thread and of the card: body (and subject for email),
//! checked inline with the server's own rules; the draft is kept per place across reloads, and a
//! send goes through the pending-send queue (shown at once, retried, stored once).

use leadcard_core::inbox::{Channel, check_message};
use leptos::prelude::*;

use crate::browser;
use crate::browser::i18n::{k, say, t, tf};
use crate::components::lead_card::InlineError;
use crate::drafts::{self, Draft};
use crate::pending::{self, Target};

/// Writes to `target` by `channel`. `refusal`: why this channel cannot be used now (sending is
/// off and the reason shows). `testid` tells composers apart where two share a page (the Inbox's
/// thread and the card beside it); `composer` by default.
#[component]
pub fn Composer(
    #[prop(into)] target: Signal<Target>,
    #[prop(into)] channel: Signal<Channel>,
    #[prop(optional, into)] refusal: Signal<Option<String>>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let key = Memo::new(move |_| target.get().draft_key());
    let draft = RwSignal::new(drafts::load(&key.get_untracked()));
    let problem = RwSignal::new(None::<String>);
    // Another place (a conversation switched in the same composer) has its own draft.
    let loaded_for = StoredValue::new(key.get_untracked());
    Effect::new(move |_| {
        let key = key.get();
        if loaded_for.with_value(|loaded| *loaded != key) {
            draft.set(drafts::load(&key));
            problem.set(None);
            loaded_for.set_value(key);
        }
    });
    // A message the server refused comes back here, with the reason.
    pending::on_returned(move |returned| {
        if returned.target == target.get_untracked() {
            draft.set(drafts::load(&key.get_untracked()));
            problem.set(Some(returned.reason.clone()));
        }
    });
    let edit = move |change: &dyn Fn(&mut Draft)| {
        draft.update(|d| change(d));
        draft.with_untracked(|d| drafts::save(&key.get_untracked(), d));
        problem.set(None);
    };
    let send = move || {
        if refusal.with_untracked(Option::is_some) {
            return;
        }
        let channel = channel.get_untracked();
        let Draft { body, subject } = draft.get_untracked();
        let subject = (channel == Channel::Email).then_some(subject);
        match check_message(channel, &body, subject.as_deref(), &browser::random_key()) {
            Ok(checked) => {
                pending::enqueue(target.get_untracked(), checked);
                draft.set(Draft::default());
                drafts::clear(&key.get_untracked());
                problem.set(None);
            }
            Err(error) => problem.set(Some(say(&error.message))),
        }
    };
    let is_email = move || channel.get() == Channel::Email;
    view! {
        <form
            class="composer"
            data-testid=testid.unwrap_or("composer")
            on:submit=move |ev| {
                ev.prevent_default();
                send();
            }
        >
            <Show when=is_email>
                <input
                    class="input composer__subject"
                    name="subject"
                    placeholder=t(k::COMPOSER_SUBJECT_PLACEHOLDER)
                    aria-label=t(k::COMPOSER_SUBJECT)
                    autocomplete="off"
                    prop:value=move || draft.with(|d| d.subject.clone())
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        edit(&|d| d.subject = value.clone());
                    }
                />
            </Show>
            <textarea
                class="input composer__body"
                name="body"
                rows="3"
                aria-label=t(k::COMPOSER_MESSAGE)
                placeholder=move || tf(k::COMPOSER_PLACEHOLDER, &[("channel", &t(channel.get().text()).to_lowercase())])
                prop:value=move || draft.with(|d| d.body.clone())
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    edit(&|d| d.body = value.clone());
                }
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <div class="composer__actions">
                <button
                    type="submit"
                    class="button button--primary"
                    data-testid="send"
                    disabled=move || refusal.with(Option::is_some)
                    title=move || refusal.get().unwrap_or_default()
                >
                    {t(k::COMPOSER_SEND)}
                </button>
            </div>
            <InlineError message=problem testid="composer-error"/>
        </form>
    }
}
