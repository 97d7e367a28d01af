//! The card's properties: system properties first with their labels, then custom ones, each value
//! formatted by its type. Values are always text, never markup.

use leadcard_core::PropertyValue;
use leadcard_core::property::{SYSTEM_PROPERTIES, format_number, system_property};
use leadcard_core::wire::Property;
use leptos::prelude::*;

use crate::time;

#[component]
pub fn PropertyList(properties: Vec<Property>) -> impl IntoView {
    let mut properties = properties;
    // Stable: custom properties keep the server's order (by name) after the system ones.
    properties.sort_by_key(|p| SYSTEM_PROPERTIES.iter().position(|s| s.name == p.name).unwrap_or(usize::MAX));
    view! {
        <dl class="property-list">
            {properties.into_iter().map(|property| view! { <PropertyRow property/> }).collect_view()}
        </dl>
    }
}

#[component]
pub fn PropertyRow(property: Property) -> impl IntoView {
    let Property { name, value, .. } = property;
    let label = system_property(&name).map_or_else(|| name.clone(), |p| p.label.to_owned());
    let value_class = format!("property__value property__value--{}", value.ty().as_str());
    let title = name.clone();
    view! {
        <div class="property" data-testid="property-row" data-name=name>
            <dt class="property__name" title=title>{label}</dt>
            <dd class=value_class>{value_view(value)}</dd>
        </div>
    }
}

fn value_view(value: PropertyValue) -> AnyView {
    match value {
        PropertyValue::Number(n) => format_number(n).into_any(),
        PropertyValue::DateTime(t) => {
            view! { <time datetime=value.display() title=value.display()>{time::local(t)}</time> }.into_any()
        }
        PropertyValue::List(items) if items.is_empty() => view! { <span class="property__empty">"Empty list"</span> }.into_any(),
        PropertyValue::List(items) => view! {
            <ul class="property__list">{items.into_iter().map(|item| view! { <li class="property__item">{item}</li> }).collect_view()}</ul>
        }
        .into_any(),
        PropertyValue::Text(_) | PropertyValue::Bool(_) => value.display().into_any(),
    }
}
