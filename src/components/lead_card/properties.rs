//! The card's properties: system properties first with their labels, then custom ones, each value
//! formatted by its type and always as text. Each row pins, copies, edits and deletes its property,
//! increases a number and adds or removes a list's items.

use leadcard_core::property::SYSTEM_PROPERTIES;
use leadcard_core::wire::Property;
use leadcard_core::{PropertyName, PropertyValue};
use leptos::prelude::*;

use super::editor::PropertyEditor;
use super::menu::Menu;
use super::operation::{OperationEditor, OperationKind};
use super::state::{CardState, Toast, WriteFailure};
use crate::browser::i18n::{k, t, tf};
use crate::browser::intl;
use crate::time;

/// The card's properties as the card state holds them. A row lives as long as its property: a
/// value changed elsewhere (a live update) shows in place, and an editor open on it stays open.
#[component]
pub fn PropertyList() -> impl IntoView {
    let state = CardState::expect();
    let rows = move || {
        let mut properties = state.card.with(|card| card.properties.clone());
        // Stable: custom properties keep the server's order (by name) after the system ones.
        properties.sort_by_key(|p| SYSTEM_PROPERTIES.iter().position(|s| s.name == p.name).unwrap_or(usize::MAX));
        properties
    };
    view! {
        <dl class="property-list">
            <For each=rows key=|p| p.name.clone() let:property>
                <PropertyRow property/>
            </For>
        </dl>
    }
}

/// A value on one line, as the header shows it and Copy copies it: dates in the operator's zone.
pub fn value_text(value: &PropertyValue) -> String {
    match value {
        PropertyValue::DateTime(t) => time::local(*t),
        other => other.display(),
    }
}

/// What the card calls a property: a system property's label, otherwise its name.
pub fn label_of(name: &str) -> String {
    crate::browser::i18n::property_label(name)
}

#[component]
pub fn PropertyRow(property: Property) -> impl IntoView {
    let state = CardState::expect();
    let Property { name, value, .. } = property;
    // The value now: the row follows the card as it changes.
    let current = {
        let name = name.clone();
        Memo::new(move |_| state.card.with(|c| c.property(&name).cloned()).unwrap_or_else(|| value.clone()))
    };
    // Only properties an operator may change get Edit and Delete.
    let editable = PropertyName::parse(&name).ok().filter(PropertyName::editable_by_operator);
    let label = label_of(&name);
    let value_class = move || format!("property__value property__value--{}", current.with(|v| v.ty().as_str()));
    let editing = RwSignal::new(false);
    // The operation whose editor is open in place of the value, if any.
    let operating = RwSignal::new(None::<OperationKind>);
    let refusal = RwSignal::new(None::<String>);
    // The value the operator saw when they opened the editor: what their edit is based on.
    let stored = StoredValue::new(current.get_untracked());
    let pinnable = state.pins.with_untracked(Option::is_some);

    let copy = move || state.copy(current.with_untracked(value_text));
    let write = Action::new_local(move |(name, value): &(PropertyName, PropertyValue)| {
        let (name, value) = (name.clone(), value.clone());
        async move {
            match state.write(name, Some(value), Some(stored.get_value())).await {
                Ok(()) | Err(WriteFailure::Clashed) => editing.set(false),
                Err(WriteFailure::Refused(error)) => refusal.set(Some(error.message)),
            }
        }
    });
    let saving = write.pending();
    let save = move |change: (PropertyName, PropertyValue)| {
        write.dispatch(change);
    };
    let erase = Action::new_local(move |(name, value): &(PropertyName, PropertyValue)| {
        let (name, value) = (name.clone(), value.clone());
        async move {
            match state.write(name.clone(), None, Some(value.clone())).await {
                Ok(()) => state.show(Toast::Deleted { name, value }),
                Err(WriteFailure::Clashed) => {}
                Err(WriteFailure::Refused(error)) => state.show(Toast::Failed(error.message)),
            }
        }
    });
    let delete = editable.clone().map(|name| {
        move || {
            erase.dispatch((name.clone(), current.get_untracked()));
        }
    });
    let pin_name = name.clone();
    let pinned = move || state.is_pinned(&pin_name);
    let pin_label = tf(k::CARD_PROPERTY_PIN_NAMED, &[("name", &label)]);
    let toggle_pin = {
        let name = name.clone();
        move |_| state.toggle_pin(name.clone())
    };
    let editor_name = name.clone();
    let title = name.clone();
    let operable = editable.clone();
    let shown_value = move || {
        let value = view! {
            <dd
                class=value_class
                title=t(k::CARD_PROPERTY_CLICK_TO_COPY)
                tabindex="0"
                on:click=move |_| copy()
                on:keydown=move |ev| {
                    if ev.key() == "Enter" {
                        copy();
                    }
                }
            >
                {move || value_view(current.get())}
            </dd>
        };
        match (operating.get(), operable.clone()) {
            (Some(kind), Some(name)) => view! {
                <dd class="property__editing">
                    <OperationEditor name kind current on_close=move |()| operating.set(None)/>
                </dd>
            }
            .into_any(),
            _ => value.into_any(),
        }
    };
    let can_edit = editable.is_some();
    let offered =
        Signal::derive(
            move || {
                if can_edit { OperationKind::offered_for(current.with(PropertyValue::ty)) } else { &[] }
            },
        );

    view! {
        <div class="property" class:property--editing=editing data-testid="property-row" data-name=name>
            <dt class="property__name" title=title>
                <span class="property__label">{label}</span>
                {pinnable.then(|| view! {
                    <button
                        type="button"
                        class="property__pin"
                        data-testid="pin"
                        aria-label=pin_label
                        title=t(k::CARD_PROPERTY_PIN)
                        aria-pressed=move || pinned().to_string()
                        on:click=toggle_pin
                    ></button>
                })}
            </dt>
            <Show when=move || editing.get() fallback=shown_value>
                <dd class="property__editing">
                    <PropertyEditor
                        name=editor_name.clone()
                        value=stored.get_value()
                        on_save=save
                        on_cancel=move |()| {
                            refusal.set(None);
                            editing.set(false);
                        }
                        saving
                        refusal
                    />
                </dd>
            </Show>
            // In a `dd`: a `dl`'s groups hold only terms and definitions.
            <dd class="property__actions-cell">
            <PropertyMenu
                on_edit=editable.is_some().then_some(Callback::new(move |()| {
                    stored.set_value(current.get_untracked());
                    operating.set(None);
                    editing.set(true);
                }))
                offered
                on_operation=Callback::new(move |kind| {
                    editing.set(false);
                    operating.set(Some(kind));
                })
                on_copy=Callback::new(move |()| copy())
                on_delete=delete.map(|delete| Callback::new(move |()| delete()))
            />
            </dd>
        </div>
    }
}

/// The ellipsis menu of a property: Edit value, the operations its type offers, and Delete only
/// where the operator may change it.
#[component]
fn PropertyMenu(
    on_edit: Option<Callback<()>>,
    #[prop(into)] offered: Signal<&'static [OperationKind]>,
    on_operation: Callback<OperationKind>,
    on_copy: Callback<()>,
    on_delete: Option<Callback<()>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let item = move |callback: Callback<()>| {
        move |_| {
            open.set(false);
            callback.run(());
        }
    };
    view! {
        <Menu open class="property__actions" button_class="property__menu-button" test_id="property-menu" label=t(k::CARD_PROPERTY_MENU)>
            {on_edit.map(|edit| view! {
                <button type="button" class="card-menu__item" role="menuitem" tabindex="-1" data-testid="property-edit" on:click=item(edit)>
                    {t(k::CARD_PROPERTY_EDIT)}
                </button>
            })}
            {move || {
                offered
                    .get()
                    .iter()
                    .map(|&kind| view! {
                        <button
                            type="button"
                            class="card-menu__item"
                            role="menuitem" tabindex="-1"
                            data-testid=kind.test_id()
                            on:click=move |_| {
                                open.set(false);
                                on_operation.run(kind);
                            }
                        >
                            {kind.label()}
                        </button>
                    })
                    .collect_view()
            }}
            <button type="button" class="card-menu__item" role="menuitem" tabindex="-1" data-testid="property-copy" on:click=item(on_copy)>
                {t(k::COMMON_COPY)}
            </button>
            {on_delete.map(|delete| view! {
                <button
                    type="button"
                    class="card-menu__item card-menu__item--danger"
                    role="menuitem" tabindex="-1"
                    data-testid="property-delete"
                    on:click=item(delete)
                >
                    {t(k::COMMON_DELETE)}
                </button>
            })}
        </Menu>
    }
}

fn value_view(value: PropertyValue) -> AnyView {
    match value {
        PropertyValue::Number(n) => intl::number(n).into_any(),
        PropertyValue::DateTime(t) => {
            view! { <time datetime=value.display() title=value.display()>{time::local(t)}</time> }.into_any()
        }
        PropertyValue::List(items) if items.is_empty() => view! { <span class="property__empty">{t(k::CARD_PROPERTY_EMPTY_LIST)}</span> }.into_any(),
        PropertyValue::List(items) => view! {
            <ul class="property__list">{items.into_iter().map(|item| view! { <li class="property__item">{item}</li> }).collect_view()}</ul>
        }
        .into_any(),
        PropertyValue::Text(_) | PropertyValue::Bool(_) => value.display().into_any(),
    }
}
