//! The card's toast: "Copied", the text to copy by hand when the browser refuses, a deleted
//! property with Undo, or a failure.

use leadcard_core::{PropertyName, PropertyValue};
use leptos::prelude::*;

use crate::browser::i18n::{k, t};

use super::properties::label_of;
use super::state::{CardState, Toast, WriteFailure};

fn select_all(ev: leptos::ev::FocusEvent) {
    event_target::<web_sys::HtmlInputElement>(&ev).select();
}

#[component]
pub fn CardToast() -> impl IntoView {
    let state = CardState::expect();
    let close = move |_| state.hide_toast();
    // Undo of a deletion: the value written back.
    let restore = Action::new_local(move |(name, value): &(PropertyName, PropertyValue)| {
        let (name, value) = (name.clone(), value.clone());
        async move {
            if let Err(WriteFailure::Refused(error)) = state.write(name, Some(value), None).await {
                state.show(Toast::Failed(error.message));
            }
        }
    });
    // Both live regions are in the page before any toast: a screen reader announces what comes
    // into a region it already knows (a region created with its content may go unheard).
    // Failures go to the assertive one.
    let failed = move || state.toast.with(|t| matches!(t, Some((_, Toast::Failed(_) | Toast::CopyRefused(_)))));
    let toast = move || {
        state.toast.get().map(|(_, toast)| match toast {
            Toast::Copied => view! { <div class="toast" data-testid="toast">{t(k::CARD_TOAST_COPIED)}</div> }.into_any(),
            Toast::CopyRefused(text) => view! {
                <div class="toast toast--warning" data-testid="toast">
                    <span>{t(k::CARD_TOAST_COPY_REFUSED)}</span>
                    <input class="input toast__link" readonly value=text aria-label=t(k::CARD_TOAST_TEXT_TO_COPY) on:focus=select_all/>
                    <button type="button" class="button button--ghost" on:click=close>{t(k::COMMON_CLOSE)}</button>
                </div>
            }
            .into_any(),
            Toast::Deleted { name, value } => {
                let label = label_of(name.as_str());
                let undo = move |_| {
                    state.hide_toast();
                    let (name, value) = (name.clone(), value.clone());
                    restore.dispatch((name, value));
                };
                view! {
                    <div class="toast" data-testid="toast">
                        <span>{t(k::CARD_TOAST_DELETED)} {label}</span>
                        <button type="button" class="button toast__action" data-testid="toast-undo" on:click=undo>{t(k::CARD_TOAST_UNDO)}</button>
                    </div>
                }
                .into_any()
            }
            Toast::Done(message) => view! {
                <div class="toast" data-testid="toast">
                    <span>{message}</span>
                </div>
            }
            .into_any(),
            Toast::Failed(message) => view! {
                <div class="toast toast--error" data-testid="toast">
                    <span>{message}</span>
                    <button type="button" class="button toast__action" on:click=close>{t(k::COMMON_CLOSE)}</button>
                </div>
            }
            .into_any(),
        })
    };
    view! {
        <div class="toast-region" role="status" data-testid="toast-status">{move || if failed() { None } else { toast() }}</div>
        <div class="toast-region" role="alert" data-testid="toast-alert">{move || if failed() { toast() } else { None }}</div>
    }
}
