//! The conflict view: someone changed a property while the operator was editing it. The fresh value
//! and the operator's stand side by side; keeping the operator's writes it on the fresh version.

use leadcard_core::PropertyValue;
use leptos::prelude::*;

use crate::browser::i18n::{k, t};

use super::editor::InlineError;
use super::properties::{label_of, value_text};
use super::state::{CardState, Clash, WriteFailure};

#[component]
pub fn ConflictView() -> impl IntoView {
    let state = CardState::expect();
    move || state.clash.get().map(|clash| view! { <ClashPanel clash/> })
}

fn shown(value: Option<&PropertyValue>, absent: &'static str) -> String {
    value.map_or_else(|| absent.to_owned(), value_text)
}

#[component]
fn ClashPanel(clash: Clash) -> impl IntoView {
    let state = CardState::expect();
    let Clash { name, current, mine } = clash;
    let label = label_of(name.as_str());
    let current_text = shown(current.as_ref(), t(k::CARD_CONFLICT_NOT_SET));
    let mine_text = shown(mine.as_ref(), t(k::CARD_CONFLICT_DELETED));
    let refusal = RwSignal::new(None::<String>);
    let keep = Action::new_local(move |(): &()| {
        let (name, current, mine) = (name.clone(), current.clone(), mine.clone());
        async move {
            match state.write(name, mine, current).await {
                Ok(()) => state.clash.set(None),
                // A newer change again: the view now shows that one.
                Err(WriteFailure::Clashed) => {}
                Err(WriteFailure::Refused(error)) => refusal.set(Some(error.message)),
            }
        }
    });
    let saving = keep.pending();
    let keep_mine = move |_| {
        keep.dispatch(());
    };
    view! {
        <div class="conflict" role="alert" data-testid="conflict">
            <p class="conflict__title">
                {t(k::CARD_CONFLICT_BEFORE)} <strong>{label}</strong> {t(k::CARD_CONFLICT_AFTER)}
            </p>
            <div class="conflict__values">
                <div class="conflict__value">
                    <span class="conflict__label">{t(k::CARD_CONFLICT_NOW)}</span>
                    <span class="conflict__text" data-testid="conflict-current">{current_text}</span>
                </div>
                <div class="conflict__value conflict__value--mine">
                    <span class="conflict__label">{t(k::CARD_CONFLICT_YOURS)}</span>
                    <span class="conflict__text" data-testid="conflict-mine">{mine_text}</span>
                </div>
            </div>
            <div class="conflict__actions">
                <button type="button" class="button button--secondary" data-testid="conflict-keep-current" on:click=move |_| state.clash.set(None)>
                    {t(k::CARD_CONFLICT_KEEP_CURRENT)}
                </button>
                <button type="button" class="button button--primary" data-testid="conflict-keep-mine" disabled=saving on:click=keep_mine>
                    {t(k::CARD_CONFLICT_KEEP_MINE)}
                </button>
            </div>
            <InlineError message=refusal/>
        </div>
    }
}
