//! "Add property": a name, a type and a value, checked with the core rules as the operator types
//! (custom names never start with `$`; tracking-only system properties are refused).

use leadcard_core::property::{SYSTEM_PROPERTIES, system_property};
use leadcard_core::{PropertyName, PropertyType, PropertyValue};
use leptos::prelude::*;

use crate::browser::i18n::{k, t, tf};

use super::editor::{InlineError, ValueInput, Verdict};
use super::state::{CardState, WriteFailure};

#[component]
pub fn AddProperty() -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <Show
            when=move || open.get()
            fallback=move || view! {
                <button type="button" class="button button--ghost property-add" data-testid="property-add" on:click=move |_| open.set(true)>
                    {t(k::CARD_ADD_PROPERTY_OPEN)}
                </button>
            }
        >
            <AddPropertyForm on_close=move |()| open.set(false)/>
        </Show>
    }
}

#[component]
fn AddPropertyForm(#[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let state = CardState::expect();
    let name = RwSignal::new(String::new());
    let ty = RwSignal::new(PropertyType::Text);
    let draft = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let refusal = RwSignal::new(None::<String>);
    let write = Action::new_local(move |(name, value): &(PropertyName, PropertyValue)| {
        let (name, value) = (name.clone(), value.clone());
        async move {
            match state.write(name, Some(value), None).await {
                Ok(()) | Err(WriteFailure::Clashed) => on_close.run(()),
                Err(WriteFailure::Refused(error)) => refusal.set(Some(error.message)),
            }
        }
    });
    let saving = write.pending();
    let verdict = Memo::new(move |_| {
        let verdict = name.with(|name| draft.with(|draft| Verdict::of(name, ty.get(), draft)));
        match verdict.to_save() {
            // Adding never overwrites by surprise: an existing property is changed with Edit value.
            Some((name, _)) if state.card.with(|card| card.property(name.as_str()).is_some()) => {
                Verdict::Refused(tf(k::CARD_ADD_PROPERTY_EXISTS, &[("name", name.as_str())]))
            }
            _ => verdict,
        }
    });
    let message = move || refusal.get().or_else(|| verdict.with(|v| v.message(touched.get())));
    let list_id = format!("lead-card-{}-property-names", state.lead_id());
    // System properties an operator may set and this lead does not have yet.
    let suggestions = move || {
        SYSTEM_PROPERTIES
            .iter()
            .filter(|p| !p.read_only && state.card.with(|card| card.property(p.name).is_none()))
            .map(|p| view! { <option value=p.name>{t(p.label)}</option> })
            .collect_view()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        let Some((name, value)) = verdict.with_untracked(Verdict::to_save) else { return };
        write.dispatch((name, value));
    };

    view! {
        <form
            class="editor property-add-form"
            data-testid="property-add-form"
            on:input=move |_| {
                touched.set(true);
                refusal.set(None);
            }
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    on_close.run(());
                }
            }
            on:submit=submit
        >
            <div class="property-add-form__fields">
                <label class="field">
                    <span class="field__label">{t(k::COMMON_NAME)}</span>
                    <input
                        class="input"
                        name="name"
                        list=list_id.clone()
                        autocomplete="off"
                        placeholder=t(k::CARD_ADD_PROPERTY_PLACEHOLDER)
                        prop:value=name
                        on:input=move |ev| {
                            let typed = event_target_value(&ev);
                            // A system property has one type; pick it for the operator.
                            if let Some(system) = PropertyName::parse(&typed).ok().and_then(|n| system_property(n.as_str())) {
                                ty.set(system.ty);
                            }
                            name.set(typed);
                        }
                    />
                    <datalist id=list_id>{suggestions}</datalist>
                </label>
                <label class="field">
                    <span class="field__label">{t(k::COMMON_TYPE)}</span>
                    <select
                        class="select"
                        name="type"
                        prop:value=move || ty.get().as_str()
                        on:change=move |ev| {
                            if let Some(chosen) = PropertyType::parse(&event_target_value(&ev)) {
                                ty.set(chosen);
                            }
                        }
                    >
                        {PropertyType::ALL
                            .into_iter()
                            .map(|ty| view! { <option value=ty.as_str()>{t(ty.text())}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="field property-add-form__value">
                    <span class="field__label">{t(k::COMMON_VALUE)}</span>
                    <ValueInput ty=ty draft/>
                </label>
            </div>
            <div class="editor__actions">
                <button type="submit" class="button button--primary" data-testid="property-add-save" disabled=saving>
                    {t(k::COMMON_ADD)}
                </button>
                <button type="button" class="button button--ghost" on:click=move |_| on_close.run(())>
                    {t(k::COMMON_CANCEL)}
                </button>
            </div>
            <InlineError message=Signal::derive(message) testid="property-add-error"/>
        </form>
    }
}
