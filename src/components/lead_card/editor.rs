//! Editing a property value: an input that fits the type, the value it reads, and the core checks
//! run as the operator types (for `$email`, why the address is invalid, though it can be saved).

use leadcard_core::operation::check_operator_batch;
use leadcard_core::property::format_number;
use leadcard_core::{EmailAddress, Operation, PropertyName, PropertyType, PropertyValue};
use leptos::html::Form;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::i18n::{k, say, t, tf};
use crate::time;

/// The text an editor starts from: a list one item per line, a date-time in the operator's zone.
pub fn draft_of(value: &PropertyValue) -> String {
    match value {
        PropertyValue::Text(text) => text.clone(),
        PropertyValue::Number(n) => format_number(*n),
        PropertyValue::Bool(b) => b.to_string(),
        PropertyValue::DateTime(t) => time::to_datetime_local(*t),
        PropertyValue::List(items) => items.join("\n"),
    }
}

/// The value an editor's text stands for as `ty`, or what keeps it from being one. Text is trimmed;
/// a list takes each non-blank line, trimmed.
pub fn value_of(ty: PropertyType, draft: &str) -> Result<PropertyValue, String> {
    match ty {
        PropertyType::Text => Ok(PropertyValue::Text(draft.trim().to_owned())),
        PropertyType::Number => {
            draft.trim().parse().map(PropertyValue::Number).map_err(|_| t(k::CARD_EDITOR_ENTER_NUMBER).to_owned())
        }
        PropertyType::Bool => match draft {
            "true" => Ok(PropertyValue::Bool(true)),
            "false" => Ok(PropertyValue::Bool(false)),
            _ => Err(t(k::CARD_EDITOR_CHOOSE_BOOL).to_owned()),
        },
        PropertyType::DateTime => {
            time::from_datetime_local(draft).map(PropertyValue::DateTime).map_err(|error| error.to_string())
        }
        PropertyType::List => Ok(PropertyValue::List(
            draft.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect(),
        )),
    }
}

/// What the core rules say about setting `name` to a draft.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Valid(PropertyName, PropertyValue),
    /// Can be saved, but the operator should know: an `$email` that cannot exist, and why.
    Warned(PropertyName, PropertyValue, String),
    Refused(String),
}

impl Verdict {
    pub fn of(name: &str, ty: PropertyType, draft: &str) -> Self {
        let name = match PropertyName::parse(name) {
            Ok(name) => name,
            Err(error) => return Verdict::Refused(say(&error.message())),
        };
        let value = match value_of(ty, draft) {
            Ok(value) => value,
            Err(reason) => return Verdict::Refused(reason),
        };
        let set = [Operation::Set { name: name.clone(), value: value.clone() }];
        if let Err(error) = check_operator_batch(&set) {
            return Verdict::Refused(say(&error.error.message()));
        }
        match (name.as_str(), &value) {
            ("$email", PropertyValue::Text(address)) => match EmailAddress::parse(address) {
                Err(reason) => Verdict::Warned(name, value, say(&reason.message())),
                Ok(_) => Verdict::Valid(name, value),
            },
            _ => Verdict::Valid(name, value),
        }
    }

    /// The name and value to save, unless refused.
    pub fn to_save(&self) -> Option<(PropertyName, PropertyValue)> {
        match self {
            Verdict::Valid(name, value) | Verdict::Warned(name, value, _) => Some((name.clone(), value.clone())),
            Verdict::Refused(_) => None,
        }
    }

    /// What the operator reads: a warning at once, a refusal once they have typed or tried to save.
    pub fn message(&self, touched: bool) -> Option<String> {
        match self {
            Verdict::Warned(_, _, reason) => Some(tf(k::CARD_EDITOR_INVALID_ADDRESS, &[("reason", reason)])),
            Verdict::Refused(reason) if touched => Some(reason.clone()),
            _ => None,
        }
    }
}

/// The input for a value of type `ty`, named `value`: text, number, datetime-local, a true/false
/// select, or a textarea with one list item per line.
#[component]
pub fn ValueInput(#[prop(into)] ty: Signal<PropertyType>, draft: RwSignal<String>) -> impl IntoView {
    let typed = move |ev| draft.set(event_target_value(&ev));
    move || {
        match ty.get() {
        PropertyType::Bool => view! {
            <select class="select" name="value" prop:value=draft on:change=typed>
                <option value="true">{t(k::CARD_EDITOR_TRUE)}</option>
                <option value="false">{t(k::CARD_EDITOR_FALSE)}</option>
            </select>
        }
        .into_any(),
        PropertyType::List => view! {
            <textarea class="input editor__list" name="value" rows="4" placeholder=t(k::CARD_EDITOR_ONE_PER_LINE) prop:value=draft on:input=typed></textarea>
        }
        .into_any(),
        ty => {
            // A date-time offers seconds only when the value has some.
            let with_seconds = draft.with_untracked(|d| d.len() > "2026-01-01T00:00".len());
            let (kind, step) = match ty {
                PropertyType::Number => ("number", Some("any")),
                PropertyType::DateTime => ("datetime-local", with_seconds.then_some("1")),
                _ => ("text", None),
            };
            view! { <input class="input" type=kind step=step name="value" autocomplete="off" prop:value=draft on:input=typed/> }
                .into_any()
        }
    }
    }
}

/// A message under a form: why it cannot be saved, or what the server said.
#[component]
pub fn InlineError(
    #[prop(into)] message: Signal<Option<String>>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    move || {
        message.get().map(|message| view! { <p class="editor__error" role="alert" data-testid=testid>{message}</p> })
    }
}

/// Edits the value of `name`, starting from `value` and keeping its type. Saving hands the checked
/// value to `on_save`; `refusal` holds the server's answer to the last save until the operator types.
#[component]
pub fn PropertyEditor(
    name: String,
    value: PropertyValue,
    #[prop(into)] on_save: Callback<(PropertyName, PropertyValue)>,
    #[prop(into)] on_cancel: Callback<()>,
    #[prop(into)] saving: Signal<bool>,
    refusal: RwSignal<Option<String>>,
) -> impl IntoView {
    let ty = value.ty();
    let draft = RwSignal::new(draft_of(&value));
    let touched = RwSignal::new(false);
    let verdict = Memo::new(move |_| draft.with(|draft| Verdict::of(&name, ty, draft)));
    let message = move || refusal.get().or_else(|| verdict.with(|v| v.message(touched.get())));
    let form = NodeRef::<Form>::new();
    form.on_load(|form| {
        if let Some(input) =
            form.query_selector("[name=value]").ok().flatten().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = input.focus();
        }
    });
    view! {
        <form
            class="editor"
            data-testid="property-editor"
            node_ref=form
            on:input=move |_| {
                touched.set(true);
                refusal.set(None);
            }
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    on_cancel.run(());
                }
            }
            on:submit=move |ev| {
                ev.prevent_default();
                touched.set(true);
                if let Some(save) = verdict.with_untracked(Verdict::to_save) {
                    on_save.run(save);
                }
            }
        >
            <ValueInput ty=ty draft/>
            <div class="editor__actions">
                <button type="submit" class="button button--primary" data-testid="editor-save" disabled=saving>
                    {t(k::COMMON_SAVE)}
                </button>
                <button type="button" class="button button--ghost" data-testid="editor-cancel" on:click=move |_| on_cancel.run(())>
                    {t(k::COMMON_CANCEL)}
                </button>
            </div>
            <InlineError message=Signal::derive(message) testid="editor-error"/>
        </form>
    }
}
