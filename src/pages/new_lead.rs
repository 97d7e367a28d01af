//! "New lead" in the Leads Database: name, email, phone, user ID, tags and any further properties
//! (with the card's typed value inputs), checked by the core rules as the server checks them; the
//! new card opens once it is saved.

use leadcard_core::intake::{NewLeadBody, NewProperty, check_new_lead};
use leadcard_core::{PropertyType, PropertyValue};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, t};
use crate::components::field_error::{elsewhere, refused, under};
use crate::components::lead_card::{ValueInput, Verdict, value_of};
use crate::paths;

/// The fields of the form a refusal may name; any other (a custom property) shows below it.
const FIELDS: &[&str] = &["$name", "$email", "$phone", "$user_id", "tags"];

/// One further property being entered.
#[derive(Clone, Copy)]
struct ExtraRow {
    key: u32,
    name: RwSignal<String>,
    ty: RwSignal<PropertyType>,
    draft: RwSignal<String>,
}

/// The button, and the form once it is pressed.
#[component]
pub fn NewLead() -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <Show
            when=move || open.get()
            fallback=move || view! {
                <button type="button" class="button button--primary" data-testid="new-lead" on:click=move |_| open.set(true)>
                    {t(k::NEW_LEAD_OPEN)}
                </button>
            }
        >
            <NewLeadForm on_close=move |()| open.set(false)/>
        </Show>
    }
}

#[component]
fn NewLeadForm(#[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let user_id = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let extras = RwSignal::new(Vec::<ExtraRow>::new());
    let next_key = StoredValue::new(0u32);
    let problem = RwSignal::new(None::<ApiError>);
    let navigate = use_navigate();
    let save = Action::new_local(move |body: &NewLeadBody| {
        let body = body.clone();
        let navigate = navigate.clone();
        async move {
            match api::create_lead(&body).await {
                Ok(card) => navigate(&paths::lead(card.id), Default::default()),
                Err(error) => {
                    problem.try_set(Some(error));
                }
            }
        }
    });
    let saving = save.pending();
    // An address that cannot exist is still saved (with the status Invalid email); say so early.
    let email_warning = move || {
        email.with(|draft| {
            (!draft.trim().is_empty())
                .then(|| Verdict::of("$email", PropertyType::Text, draft).message(false))
                .flatten()
        })
    };
    let add_row = move |_| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        let row = ExtraRow {
            key,
            name: RwSignal::new(String::new()),
            ty: RwSignal::new(PropertyType::Text),
            draft: RwSignal::new(String::new()),
        };
        extras.update(|rows| rows.push(row));
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut properties: Vec<NewProperty> =
            [("$name", name), ("$email", email), ("$phone", phone), ("$user_id", user_id)]
                .into_iter()
                .map(|(field, draft)| NewProperty {
                    name: field.to_owned(),
                    value: PropertyValue::Text(draft.get_untracked()),
                })
                .collect();
        for row in extras.get_untracked() {
            let property = row.name.get_untracked();
            match value_of(row.ty.get_untracked(), &row.draft.get_untracked()) {
                Ok(value) => properties.push(NewProperty { name: property, value }),
                Err(reason) => {
                    let field = if property.trim().is_empty() { "properties".to_owned() } else { property };
                    let message = leadcard_core::locale::Message::plain(format!("{field}: {reason}"));
                    return problem.set(Some(refused(leadcard_core::FieldError::new(field, message))));
                }
            }
        }
        let tags =
            tags.get_untracked().split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
        let body = NewLeadBody { properties, tags };
        if let Err(e) = check_new_lead(&body) {
            return problem.set(Some(refused(e)));
        }
        problem.set(None);
        save.dispatch(body);
    };
    let text_field = move |label: &'static str, field: &'static str, kind: &'static str, value: RwSignal<String>| {
        view! {
            <label class="field">
                <span class="field__label">{label}</span>
                <input class="input" type=kind name=field autocomplete="off" prop:value=value
                    on:input=move |ev| value.set(event_target_value(&ev))/>
            </label>
            {under(problem, field)}
        }
    };

    view! {
        <form class="settings-form new-lead" data-testid="new-lead-form" on:submit=submit novalidate
            on:input=move |_| problem.set(None)>
            <h2 class="new-lead__title">{t(k::NEW_LEAD_OPEN)}</h2>
            {text_field(t(k::COMMON_NAME), "$name", "text", name)}
            {text_field(t(k::COMMON_EMAIL), "$email", "email", email)}
            {move || email_warning().map(|warning| view! { <p class="settings-form__note">{warning}</p> })}
            {text_field(t(k::NEW_LEAD_PHONE), "$phone", "tel", phone)}
            {text_field(t(k::NEW_LEAD_USER_ID), "$user_id", "text", user_id)}
            {text_field(t(k::NEW_LEAD_TAGS), "tags", "text", tags)}
            <For each=move || extras.get() key=|row| row.key let:row>
                <div class="new-lead__property" data-testid="new-lead-property">
                    <input class="input" name="property-name" placeholder=t(k::FILTER_PROPERTY_NAME) aria-label=t(k::FILTER_PROPERTY_NAME)
                        prop:value=row.name on:input=move |ev| row.name.set(event_target_value(&ev))/>
                    <select class="select" name="property-type" aria-label=t(k::COMMON_TYPE)
                        on:change=move |ev| {
                            let ty = PropertyType::parse(&event_target_value(&ev)).unwrap_or(PropertyType::Text);
                            // The true/false select shows "true" first: its draft starts there.
                            row.draft.set(if ty == PropertyType::Bool { "true".to_owned() } else { String::new() });
                            row.ty.set(ty);
                        }>
                        {PropertyType::ALL.into_iter().map(|ty| view! { <option value=ty.as_str()>{t(ty.text())}</option> }).collect_view()}
                    </select>
                    <ValueInput ty=row.ty draft=row.draft/>
                    <button type="button" class="button button--ghost" aria-label=t(k::CARD_EVENTS_REMOVE_PROPERTY)
                        on:click=move |_| extras.update(|rows| rows.retain(|r| r.key != row.key))>{t(k::CARD_TAGS_REMOVE)}</button>
                </div>
            </For>
            <button type="button" class="button button--ghost" data-testid="new-lead-add-property" on:click=add_row>
                {t(k::CARD_ADD_PROPERTY_OPEN)}
            </button>
            {elsewhere(problem, FIELDS)}
            <div class="editor__actions">
                <button type="submit" class="button button--primary" data-testid="new-lead-save" disabled=saving>{t(k::NEW_LEAD_CREATE)}</button>
                <button type="button" class="button button--ghost" on:click=move |_| on_close.run(())>{t(k::COMMON_CANCEL)}</button>
            </div>
        </form>
    }
}
