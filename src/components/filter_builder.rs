//! The filter builder: conditions on properties, tags, subscription status and presence, joined by
//! AND. The draft is checked with the core rules before it is applied, and an error (the page's or
//! the server's) is shown next to the condition it names.

use leadcard_core::filter::{Condition, Filter, FilterError, PropertyOp};
use leadcard_core::wire::{PropertyInfo, TagInfo};
use leadcard_core::{Presence, SubscriptionStatus};
use leptos::prelude::*;

use crate::api::ApiError;

const PROPERTY_LIST: &str = "filter-builder-properties";
const TAG_LIST: &str = "filter-builder-tags";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Property,
    Tag,
    Subscription,
    Presence,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Property, Kind::Tag, Kind::Subscription, Kind::Presence];

    fn as_str(self) -> &'static str {
        match self {
            Kind::Property => "property",
            Kind::Tag => "tag",
            Kind::Subscription => "subscription",
            Kind::Presence => "presence",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Property => "Property",
            Kind::Tag => "Tag",
            Kind::Subscription => "Email subscription",
            Kind::Presence => "Presence",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One condition being edited. Every kind keeps its own inputs, so switching kind back and forth
/// loses nothing.
#[derive(Clone, Copy)]
struct Row {
    key: usize,
    kind: RwSignal<Kind>,
    name: RwSignal<String>,
    op: RwSignal<PropertyOp>,
    value: RwSignal<String>,
    tag: RwSignal<String>,
    has: RwSignal<bool>,
    status: RwSignal<SubscriptionStatus>,
    presence: RwSignal<Presence>,
}

impl Row {
    fn new(key: usize, condition: Option<Condition>) -> Self {
        let row = Self {
            key,
            kind: RwSignal::new(Kind::Property),
            name: RwSignal::new(String::new()),
            op: RwSignal::new(PropertyOp::Equals),
            value: RwSignal::new(String::new()),
            tag: RwSignal::new(String::new()),
            has: RwSignal::new(true),
            status: RwSignal::new(SubscriptionStatus::Subscribed),
            presence: RwSignal::new(Presence::Online),
        };
        match condition {
            Some(Condition::Property { name, op, value }) => {
                row.name.set(name);
                row.op.set(op);
                row.value.set(value);
            }
            Some(Condition::Tag { tag, has }) => {
                row.kind.set(Kind::Tag);
                row.tag.set(tag);
                row.has.set(has);
            }
            Some(Condition::Subscription { status }) => {
                row.kind.set(Kind::Subscription);
                row.status.set(status);
            }
            Some(Condition::Presence { presence }) => {
                row.kind.set(Kind::Presence);
                row.presence.set(presence);
            }
            None => {}
        }
        row
    }

    fn condition(&self) -> Condition {
        match self.kind.get_untracked() {
            Kind::Property => Condition::Property {
                name: self.name.get_untracked(),
                op: self.op.get_untracked(),
                value: if self.op.get_untracked().needs_value() { self.value.get_untracked() } else { String::new() },
            },
            Kind::Tag => Condition::Tag { tag: self.tag.get_untracked(), has: self.has.get_untracked() },
            Kind::Subscription => Condition::Subscription { status: self.status.get_untracked() },
            Kind::Presence => Condition::Presence { presence: self.presence.get_untracked() },
        }
    }
}

/// An error shown in the builder: at the condition it names, or above the conditions.
#[derive(Debug, Clone, PartialEq)]
struct ShownError {
    index: Option<usize>,
    message: String,
}

impl From<FilterError> for ShownError {
    fn from(e: FilterError) -> Self {
        Self { index: condition_index(&e.field), message: e.to_string() }
    }
}

impl From<ApiError> for ShownError {
    fn from(e: ApiError) -> Self {
        Self { index: e.field.as_deref().and_then(condition_index), message: e.message }
    }
}

/// `filter.all[2].value` -> 2.
fn condition_index(field: &str) -> Option<usize> {
    field.strip_prefix("filter.all[")?.split(']').next()?.parse().ok()
}

/// `initial` is the applied filter (from the URL); `on_apply` receives a draft that passed the
/// core check; `server_error` is the server's refusal of the applied filter, if any.
#[component]
pub fn FilterBuilder(
    initial: Filter,
    #[prop(into)] server_error: Signal<Option<ApiError>>,
    #[prop(into)] properties: Signal<Vec<PropertyInfo>>,
    #[prop(into)] tags: Signal<Vec<TagInfo>>,
    #[prop(into)] on_apply: Callback<Filter>,
) -> impl IntoView {
    let next_key = StoredValue::new(initial.all.len());
    let rows =
        RwSignal::new(initial.all.into_iter().enumerate().map(|(key, c)| Row::new(key, Some(c))).collect::<Vec<_>>());
    let local_error = RwSignal::new(None::<ShownError>);
    // The page's own check speaks first; otherwise the server's answer to the applied filter.
    let error = Memo::new(move |_| local_error.get().or_else(|| server_error.get().map(ShownError::from)));
    let index_of = move |key: usize| rows.with(|rows| rows.iter().position(|r| r.key == key));
    let misplaced_error =
        move || error.get().filter(|e| e.index.is_none_or(|i| i >= rows.with(Vec::len))).map(|e| e.message);

    let add = move |_| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        rows.update(|rows| rows.push(Row::new(key, None)));
    };
    let remove = move |key: usize| {
        local_error.set(None);
        rows.update(|rows| rows.retain(|r| r.key != key));
    };
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = Filter { all: rows.with_untracked(|rows| rows.iter().map(Row::condition).collect()) };
        match draft.check() {
            Ok(_) => {
                local_error.set(None);
                on_apply.run(draft);
            }
            Err(e) => local_error.set(Some(e.into())),
        }
    };
    let clear = move |_| {
        local_error.set(None);
        rows.set(Vec::new());
        on_apply.run(Filter::default());
    };

    view! {
        <form class="filter-builder" on:submit=apply novalidate>
            <datalist id=PROPERTY_LIST>
                {move || {
                    properties
                        .get()
                        .into_iter()
                        .map(|p| view! { <option value=p.name>{p.label}</option> })
                        .collect_view()
                }}
            </datalist>
            <datalist id=TAG_LIST>
                {move || tags.get().into_iter().map(|t| view! { <option value=t.tag></option> }).collect_view()}
            </datalist>
            <For each=move || rows.get() key=|row| row.key let:row>
                <ConditionRow
                    row
                    index=Signal::derive(move || index_of(row.key).unwrap_or_default())
                    error=Signal::derive(move || {
                        error.get().filter(|e| e.index.is_some() && e.index == index_of(row.key)).map(|e| e.message)
                    })
                    on_remove=move || remove(row.key)
                />
            </For>
            {move || misplaced_error().map(|message| view! {
                <p class="filter-builder__error" role="alert" data-testid="filter-error">{message}</p>
            })}
            <div class="filter-builder__actions">
                <button type="button" class="button button--ghost" data-testid="filter-add" on:click=add>
                    "+ Add condition"
                </button>
                <Show when=move || !rows.with(Vec::is_empty)>
                    <button type="submit" class="button button--primary" data-testid="filter-apply">"Apply filter"</button>
                    <button type="button" class="button button--ghost" on:click=clear>"Clear"</button>
                </Show>
            </div>
        </form>
    }
}

#[component]
fn ConditionRow(
    row: Row,
    index: Signal<usize>,
    error: Signal<Option<String>>,
    on_remove: impl Fn() + 'static,
) -> impl IntoView {
    let op_needs_value = move || row.op.get().needs_value();
    let fields = move || {
        match row.kind.get() {
        Kind::Property => view! {
            <input
                name="property"
                class="input"
                list=PROPERTY_LIST
                placeholder="Property, e.g. $country"
                aria-label="Property name"
                autocomplete="off"
                bind:value=row.name
            />
            <select
                name="op"
                class="select"
                aria-label="Comparison"
                on:change=move |ev| {
                    if let Some(op) = PropertyOp::parse(&event_target_value(&ev)) {
                        row.op.set(op);
                    }
                }
            >
                {PropertyOp::ALL
                    .map(|op| view! { <option value=op.as_str() selected=move || row.op.get() == op>{op.label()}</option> })
                    .collect_view()}
            </select>
            <Show when=op_needs_value>
                <input
                    name="value"
                    class="input"
                    aria-label="Value"
                    placeholder=move || value_hint(row.op.get())
                    bind:value=row.value
                />
            </Show>
        }
        .into_any(),
        Kind::Tag => view! {
            <select
                name="has"
                class="select"
                aria-label="Has the tag"
                on:change=move |ev| row.has.set(event_target_value(&ev) == "yes")
            >
                <option value="yes" selected=move || row.has.get()>"has tag"</option>
                <option value="no" selected=move || !row.has.get()>"does not have tag"</option>
            </select>
            <input
                name="tag"
                class="input"
                list=TAG_LIST
                placeholder="Tag"
                aria-label="Tag"
                autocomplete="off"
                bind:value=row.tag
            />
        }
        .into_any(),
        Kind::Subscription => view! {
            <select
                name="status"
                class="select"
                aria-label="Subscription status"
                on:change=move |ev| {
                    if let Some(status) = SubscriptionStatus::parse(&event_target_value(&ev)) {
                        row.status.set(status);
                    }
                }
            >
                {SubscriptionStatus::ALL
                    .map(|s| view! { <option value=s.as_str() selected=move || row.status.get() == s>{s.label()}</option> })
                    .collect_view()}
            </select>
        }
        .into_any(),
        Kind::Presence => view! {
            <select
                name="presence"
                class="select"
                aria-label="Presence"
                on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    if let Some(p) = Presence::ALL.into_iter().find(|p| p.label() == chosen) {
                        row.presence.set(p);
                    }
                }
            >
                {Presence::ALL
                    .map(|p| view! { <option value=p.label() selected=move || row.presence.get() == p>{p.label()}</option> })
                    .collect_view()}
            </select>
        }
        .into_any(),
    }
    };
    view! {
        <div class="filter-condition" class:filter-condition--invalid=move || error.with(Option::is_some) data-testid="filter-condition">
            <span class="filter-condition__joiner">{move || if index.get() == 0 { "Where" } else { "and" }}</span>
            <select
                name="kind"
                class="select"
                aria-label="Condition on"
                on:change=move |ev| {
                    if let Some(kind) = Kind::parse(&event_target_value(&ev)) {
                        row.kind.set(kind);
                    }
                }
            >
                {Kind::ALL
                    .map(|k| view! { <option value=k.as_str() selected=move || row.kind.get() == k>{k.label()}</option> })
                    .collect_view()}
            </select>
            {fields}
            <button
                type="button"
                class="button button--icon"
                data-testid="filter-remove"
                aria-label=move || format!("Remove condition {}", index.get() + 1)
                on:click=move |_| on_remove()
            >
                "×"
            </button>
            {move || error.get().map(|message| view! {
                <p class="filter-condition__error" role="alert" data-testid="filter-error">{message}</p>
            })}
        </div>
    }
}

/// What to type for the value of a comparison (the core check says what it accepts).
fn value_hint(op: PropertyOp) -> &'static str {
    match op {
        PropertyOp::Greater | PropertyOp::Less => "A number",
        PropertyOp::Before | PropertyOp::After => "YYYY-MM-DD",
        _ => "Value",
    }
}
