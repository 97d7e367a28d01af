//! The property operations besides setting a value, where they make sense for a person: "Increase
//! by" on a number (core's `Add`) and "Add item" / "Remove item" on a list (`Union` / `Exclude`).
//! They commute, so they go without the card's version and can never conflict; core checks each
//! against the value shown before it is sent (limits, the type), and the server again.

use leadcard_core::operation::check_operator_batch;
use leadcard_core::{Operation, PropertyName, PropertyType, PropertyValue};
use leptos::prelude::*;

use crate::browser::i18n::{k, say, t};

use super::editor::{InlineError, value_of};
use super::state::CardState;

/// Which operation the row's editor builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Increase,
    AddItem,
    RemoveItem,
}

impl OperationKind {
    /// The operations a value of type `ty` offers, in menu order.
    pub fn offered_for(ty: PropertyType) -> &'static [OperationKind] {
        match ty {
            PropertyType::Number => &[OperationKind::Increase],
            PropertyType::List => &[OperationKind::AddItem, OperationKind::RemoveItem],
            _ => &[],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OperationKind::Increase => t(k::CARD_OPERATION_INCREASE),
            OperationKind::AddItem => t(k::CARD_OPERATION_ADD_ITEM),
            OperationKind::RemoveItem => t(k::CARD_OPERATION_REMOVE_ITEM),
        }
    }

    pub fn test_id(self) -> &'static str {
        match self {
            OperationKind::Increase => "property-increase",
            OperationKind::AddItem => "property-add-item",
            OperationKind::RemoveItem => "property-remove-item",
        }
    }

    /// The operation on `name` that the operator's `draft` stands for, checked by core against
    /// `current` (the value shown), or why it cannot be sent.
    pub fn operation(self, name: &PropertyName, current: &PropertyValue, draft: &str) -> Result<Operation, String> {
        let name = name.clone();
        let op = match self {
            OperationKind::Increase => match value_of(PropertyType::Number, draft)? {
                PropertyValue::Number(by) => Operation::Add { name, by },
                _ => return Err(t(k::CARD_EDITOR_ENTER_NUMBER).to_owned()),
            },
            OperationKind::AddItem | OperationKind::RemoveItem => {
                let item = draft.trim();
                if item.is_empty() {
                    return Err(if self == OperationKind::AddItem {
                        t(k::CARD_OPERATION_ENTER_ITEM)
                    } else {
                        t(k::CARD_OPERATION_CHOOSE_ITEM)
                    }
                    .to_owned());
                }
                let values = vec![item.to_owned()];
                if self == OperationKind::AddItem {
                    Operation::Union { name, values }
                } else {
                    Operation::Exclude { name, values }
                }
            }
        };
        check_operator_batch(std::slice::from_ref(&op)).map_err(|e| say(&e.error.message()))?;
        op.apply(Some(current)).map_err(|e| say(&e.message()))?;
        Ok(op)
    }
}

/// The editor of one operation on `name`, in place of the value: a number to add, an item to add,
/// or one of the list's items to remove. Closes when the server has applied it.
#[component]
pub fn OperationEditor(
    name: PropertyName,
    kind: OperationKind,
    #[prop(into)] current: Signal<PropertyValue>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let state = CardState::expect();
    let draft = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let refusal = RwSignal::new(None::<String>);
    let verdict = {
        let name = name.clone();
        Memo::new(move |_| draft.with(|draft| current.with(|current| kind.operation(&name, current, draft))))
    };
    let apply = Action::new_local(move |op: &Operation| {
        let op = op.clone();
        async move {
            match state.apply(op).await {
                Ok(()) => on_close.run(()),
                Err(error) => refusal.set(Some(error.message)),
            }
        }
    });
    let saving = apply.pending();
    let message =
        move || refusal.get().or_else(|| verdict.with(|v| v.as_ref().err().filter(|_| touched.get()).cloned()));
    let typed = move |ev| {
        draft.set(event_target_value(&ev));
        touched.set(true);
        refusal.set(None);
    };
    let input = match kind {
        OperationKind::Increase => view! {
            <input class="input" type="number" step="any" name="operand" data-testid="operation-input"
                autocomplete="off" aria-label=kind.label() autofocus prop:value=draft on:input=typed/>
        }
        .into_any(),
        OperationKind::AddItem => view! {
            <input class="input" type="text" name="operand" data-testid="operation-input"
                autocomplete="off" aria-label=kind.label() autofocus prop:value=draft on:input=typed/>
        }
        .into_any(),
        OperationKind::RemoveItem => {
            // Items may repeat (an append from the site); each is offered once.
            let items = move || match current.get() {
                PropertyValue::List(mut items) => {
                    let mut seen = std::collections::HashSet::new();
                    items.retain(|item| seen.insert(item.clone()));
                    items
                }
                _ => Vec::new(),
            };
            view! {
                <select class="select" name="operand" data-testid="operation-input" aria-label=kind.label()
                    prop:value=draft on:change=typed>
                    <option value="">{t(k::CARD_OPERATION_CHOOSE_ITEM_OPTION)}</option>
                    <For each=items key=|item| item.clone() let:item>
                        <option value=item.clone()>{item.clone()}</option>
                    </For>
                </select>
            }
            .into_any()
        }
    };
    view! {
        <form
            class="editor"
            data-testid="operation-editor"
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    on_close.run(());
                }
            }
            on:submit=move |ev| {
                ev.prevent_default();
                touched.set(true);
                if let Some(op) = verdict.with_untracked(|v| v.as_ref().ok().cloned()) {
                    apply.dispatch(op);
                }
            }
        >
            <label class="editor__label">{kind.label()}</label>
            {input}
            <div class="editor__actions">
                <button type="submit" class="button button--primary" data-testid="operation-save" disabled=saving>
                    {kind.label().split(' ').next().unwrap_or(t(k::COMMON_SAVE))}
                </button>
                <button type="button" class="button button--ghost" data-testid="operation-cancel" on:click=move |_| on_close.run(())>
                    {t(k::COMMON_CANCEL)}
                </button>
            </div>
            <InlineError message=Signal::derive(message) testid="operation-error"/>
        </form>
    }
}
