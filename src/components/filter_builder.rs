//! The filter builder: conditions on properties, tags, subscription status, presence, events and
//! membership of the project's saved segments, joined by AND or OR, with groups one level deep.
//! The draft is checked with the core rules before it is applied (segment conditions opened from
//! the saved segments, so a cycle is refused at once), and an error (the page's or the server's)
//! is shown next to the condition it names. The Leads Database and segments use the same builder.

use leadcard_core::filter::{Condition, EventOp, Filter, FilterError, Match, PropertyOp};
use leadcard_core::wire::{PropertyInfo, TagInfo};
use leadcard_core::{Presence, Segment, SubscriptionStatus};
use leptos::prelude::*;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, t, tf};

const PROPERTY_LIST: &str = "filter-builder-properties";
const TAG_LIST: &str = "filter-builder-tags";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Property,
    Tag,
    Subscription,
    Presence,
    Event,
    Segment,
    Group,
}

impl Kind {
    const ALL: [Kind; 7] =
        [Kind::Property, Kind::Tag, Kind::Subscription, Kind::Presence, Kind::Event, Kind::Segment, Kind::Group];

    fn as_str(self) -> &'static str {
        match self {
            Kind::Property => "property",
            Kind::Tag => "tag",
            Kind::Subscription => "subscription",
            Kind::Presence => "presence",
            Kind::Event => "event",
            Kind::Segment => "segment",
            Kind::Group => "group",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Property => t(k::FILTER_KIND_PROPERTY),
            Kind::Tag => t(k::FILTER_KIND_TAG),
            Kind::Subscription => t(k::FILTER_KIND_SUBSCRIPTION),
            Kind::Presence => t(k::FILTER_KIND_PRESENCE),
            Kind::Event => t(k::FILTER_KIND_EVENT),
            Kind::Segment => t(k::FILTER_KIND_SEGMENT),
            Kind::Group => t(k::FILTER_KIND_GROUP),
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
    event: RwSignal<String>,
    event_op: RwSignal<EventOp>,
    count: RwSignal<String>,
    days: RwSignal<String>,
    /// The chosen segment's id as the select holds it (empty: none chosen yet).
    segment: RwSignal<String>,
    in_segment: RwSignal<bool>,
    group_mode: RwSignal<Match>,
    /// A group's conditions (never groups themselves).
    children: RwSignal<Vec<Row>>,
    next_child: StoredValue<usize>,
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
            event: RwSignal::new(String::new()),
            event_op: RwSignal::new(EventOp::AtLeast),
            count: RwSignal::new("1".to_owned()),
            days: RwSignal::new(String::new()),
            segment: RwSignal::new(String::new()),
            in_segment: RwSignal::new(true),
            group_mode: RwSignal::new(Match::Any),
            children: RwSignal::new(Vec::new()),
            next_child: StoredValue::new(0),
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
            Some(Condition::Event { event, op, count, days }) => {
                row.kind.set(Kind::Event);
                row.event.set(event);
                row.event_op.set(op);
                row.count.set(count.map(|c| c.to_string()).unwrap_or_default());
                row.days.set(days.map(|d| d.to_string()).unwrap_or_default());
            }
            Some(Condition::Segment { segment, inside }) => {
                row.kind.set(Kind::Segment);
                row.segment.set(segment.to_string());
                row.in_segment.set(inside);
            }
            Some(Condition::Group { mode, conditions }) => {
                row.kind.set(Kind::Group);
                row.group_mode.set(mode);
                row.next_child.set_value(conditions.len());
                row.children.set(conditions.into_iter().enumerate().map(|(k, c)| Row::new(k, Some(c))).collect());
            }
            None => {}
        }
        row
    }

    fn add_child(&self) {
        let key = self.next_child.get_value();
        self.next_child.set_value(key + 1);
        self.children.update(|children| children.push(Row::new(key, None)));
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
            Kind::Event => {
                let op = self.event_op.get_untracked();
                let number = |raw: String| raw.trim().parse::<i64>().ok();
                Condition::Event {
                    event: self.event.get_untracked().trim().to_owned(),
                    op,
                    count: if op == EventOp::NotPerformed { None } else { number(self.count.get_untracked()) },
                    days: number(self.days.get_untracked()),
                }
            }
            // No segment chosen is id 0, which names none: core refuses it at this condition.
            Kind::Segment => Condition::Segment {
                segment: self.segment.get_untracked().parse().unwrap_or_default(),
                inside: self.in_segment.get_untracked(),
            },
            Kind::Group => Condition::Group {
                mode: self.group_mode.get_untracked(),
                conditions: self.children.with_untracked(|c| c.iter().map(Row::condition).collect()),
            },
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
        Self { index: condition_index(&e.field), message: crate::browser::i18n::say(&e.with_condition()) }
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
/// core check; `server_error` is the server's refusal of the applied filter, if any. `own_segment`
/// is the segment this filter defines, which its conditions may not name.
#[component]
pub fn FilterBuilder(
    initial: Filter,
    #[prop(into)] server_error: Signal<Option<ApiError>>,
    #[prop(into)] properties: Signal<Vec<PropertyInfo>>,
    #[prop(into)] tags: Signal<Vec<TagInfo>>,
    #[prop(into)] on_apply: Callback<Filter>,
    #[prop(optional_no_strip)] own_segment: Option<i64>,
) -> impl IntoView {
    // The project's segments, offered by segment conditions and opened by the check.
    let saved = LocalResource::new(api::segments);
    let offered = Signal::derive(move || {
        saved
            .with(|s| s.as_ref().and_then(|s| s.as_ref().ok()).cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|s| Some(s.id) != own_segment)
            .collect::<Vec<Segment>>()
    });
    let next_key = StoredValue::new(initial.all.len());
    let mode = RwSignal::new(initial.mode);
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
        let draft = Filter {
            mode: mode.get_untracked(),
            all: rows.with_untracked(|rows| rows.iter().map(Row::condition).collect()),
        };
        // Until the segments are loaded, segment conditions are left to the server's check.
        let checked = match saved.with_untracked(|s| s.as_ref().and_then(|s| s.as_ref().ok()).cloned()) {
            Some(saved) => draft.check_with(&saved, own_segment).map(drop),
            None if !draft.segment_ids().is_empty() => Ok(()),
            None => draft.check().map(drop),
        };
        match checked {
            Ok(()) => {
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
                        .map(|p| view! { <option value=p.name.clone()>{crate::browser::i18n::property_label(&p.name)}</option> })
                        .collect_view()
                }}
            </datalist>
            <datalist id=TAG_LIST>
                {move || tags.get().into_iter().map(|t| view! { <option value=t.tag></option> }).collect_view()}
            </datalist>
            <Show when=move || { rows.with(Vec::len) > 1 }>
                <label class="filter-builder__match">
                    {t(k::FILTER_LEADS_MATCHING)}
                    <select
                        name="match"
                        class="select"
                        on:change=move |ev| {
                            if let Some(m) = Match::parse(&event_target_value(&ev)) {
                                mode.set(m);
                            }
                        }
                    >
                        <option value="all" selected=move || mode.get() == Match::All>{t(k::FILTER_MODE_ALL)}</option>
                        <option value="any" selected=move || mode.get() == Match::Any>{t(k::FILTER_MODE_ANY)}</option>
                    </select>
                    {t(k::FILTER_OF_THESE)}
                </label>
            </Show>
            <For each=move || rows.get() key=|row| row.key let:row>
                {
                    let shown = TopRow {
                        row,
                        segments: offered,
                        joiner: Signal::derive(move || mode.get()),
                        index: Signal::derive(move || index_of(row.key).unwrap_or_default()),
                        error: Signal::derive(move || {
                            error.get().filter(|e| e.index.is_some() && e.index == index_of(row.key)).map(|e| e.message)
                        }),
                        on_remove: Callback::new(move |()| remove(row.key)),
                    };
                    view! { <Suspense>{move || Suspend::new(condition_editor(shown))}</Suspense> }
                }
            </For>
            {move || misplaced_error().map(|message| view! {
                <p class="filter-builder__error" role="alert" data-testid="filter-error">{message}</p>
            })}
            <div class="filter-builder__actions">
                <button type="button" class="button button--ghost" data-testid="filter-add" on:click=add>
                    {t(k::FILTER_ADD)}
                </button>
                <Show when=move || !rows.with(Vec::is_empty)>
                    <button type="submit" class="button button--primary" data-testid="filter-apply">{t(k::FILTER_APPLY)}</button>
                    <button type="button" class="button button--ghost" on:click=clear>{t(k::FILTER_CLEAR)}</button>
                </Show>
            </div>
        </form>
    }
}

/// A condition of the filter itself (not inside a group), as the builder places it.
#[derive(Clone, Copy)]
struct TopRow {
    row: Row,
    segments: Signal<Vec<Segment>>,
    joiner: Signal<Match>,
    index: Signal<usize>,
    error: Signal<Option<String>>,
    on_remove: Callback<()>,
}

/// The editor of one condition. In the release build it is a wasm chunk of its own, fetched when
/// the first condition shows: the Leads Database and Segments open without it.
async fn condition_editor(top: TopRow) -> AnyView {
    let TopRow { row, segments, joiner, index, error, on_remove } = top;
    view! { <ConditionRow row segments nested=false joiner index error on_remove/> }.into_any()
}

#[component]
fn ConditionRow(
    row: Row,
    /// The saved segments a segment condition may name.
    segments: Signal<Vec<Segment>>,
    /// A condition inside a group: it cannot be a group.
    nested: bool,
    /// How this row joins the one before it.
    joiner: Signal<Match>,
    index: Signal<usize>,
    error: Signal<Option<String>>,
    /// Not generic: a group's rows are `ConditionRow`s too, and a closure type per level would
    /// never end.
    on_remove: Callback<()>,
) -> AnyView {
    let op_needs_value = move || row.op.get().needs_value();
    let fields = move || {
        match row.kind.get() {
        Kind::Property => view! {
            <input
                name="property"
                class="input"
                list=PROPERTY_LIST
                placeholder=t(k::FILTER_PROPERTY_PLACEHOLDER)
                aria-label=t(k::FILTER_PROPERTY_NAME)
                autocomplete="off"
                bind:value=row.name
            />
            <select
                name="op"
                class="select"
                aria-label=t(k::FILTER_COMPARISON)
                on:change=move |ev| {
                    if let Some(op) = PropertyOp::parse(&event_target_value(&ev)) {
                        row.op.set(op);
                    }
                }
            >
                {PropertyOp::ALL
                    .map(|op| view! { <option value=op.as_str() selected=move || row.op.get() == op>{t(op.text())}</option> })
                    .collect_view()}
            </select>
            <Show when=op_needs_value>
                <input
                    name="value"
                    class="input"
                    aria-label=t(k::COMMON_VALUE)
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
                aria-label=t(k::FILTER_HAS_TAG_LABEL)
                on:change=move |ev| row.has.set(event_target_value(&ev) == "yes")
            >
                <option value="yes" selected=move || row.has.get()>{t(k::FILTER_HAS_TAG)}</option>
                <option value="no" selected=move || !row.has.get()>{t(k::FILTER_HAS_NOT_TAG)}</option>
            </select>
            <input
                name="tag"
                class="input"
                list=TAG_LIST
                placeholder=t(k::FILTER_KIND_TAG)
                aria-label=t(k::FILTER_KIND_TAG)
                autocomplete="off"
                bind:value=row.tag
            />
        }
        .into_any(),
        Kind::Subscription => view! {
            <select
                name="status"
                class="select"
                aria-label=t(k::FILTER_SUBSCRIPTION_STATUS)
                on:change=move |ev| {
                    if let Some(status) = SubscriptionStatus::parse(&event_target_value(&ev)) {
                        row.status.set(status);
                    }
                }
            >
                {SubscriptionStatus::ALL
                    .map(|s| view! { <option value=s.as_str() selected=move || row.status.get() == s>{t(s.text())}</option> })
                    .collect_view()}
            </select>
        }
        .into_any(),
        Kind::Event => view! {
            <select
                name="event-op"
                class="select"
                aria-label=t(k::FILTER_PERFORMED)
                on:change=move |ev| {
                    if let Some(op) = EventOp::parse(&event_target_value(&ev)) {
                        row.event_op.set(op);
                    }
                }
            >
                {EventOp::ALL
                    .map(|op| view! { <option value=op.as_str() selected=move || row.event_op.get() == op>{t(op.text())}</option> })
                    .collect_view()}
            </select>
            <input
                name="event"
                class="input"
                placeholder=t(k::FILTER_EVENT_PLACEHOLDER)
                aria-label=t(k::FILTER_EVENT_NAME)
                autocomplete="off"
                bind:value=row.event
            />
            <Show when=move || row.event_op.get() != EventOp::NotPerformed>
                <input
                    name="count"
                    class="input input--narrow"
                    type="number"
                    min="0"
                    aria-label=t(k::FILTER_TIMES)
                    bind:value=row.count
                />
                <span class="filter-condition__unit">{t(k::FILTER_TIMES_UNIT)}</span>
            </Show>
            <span class="filter-condition__unit">{t(k::FILTER_IN_THE_LAST)}</span>
            <input
                name="days"
                class="input input--narrow"
                type="number"
                min="1"
                placeholder=t(k::FILTER_DAYS_PLACEHOLDER)
                aria-label=t(k::FILTER_DAYS_EMPTY)
                bind:value=row.days
            />
            <span class="filter-condition__unit">{t(k::FILTER_DAYS_UNIT)}</span>
        }
        .into_any(),
        Kind::Group => {
            let child_index = move |key: usize| row.children.with(|c| c.iter().position(|r| r.key == key).unwrap_or_default());
            view! {
                <div class="filter-group" data-testid="filter-group">
                    <select
                        name="group-match"
                        class="select"
                        aria-label=t(k::FILTER_GROUP_MATCHES)
                        on:change=move |ev| {
                            if let Some(m) = Match::parse(&event_target_value(&ev)) {
                                row.group_mode.set(m);
                            }
                        }
                    >
                        <option value="any" selected=move || row.group_mode.get() == Match::Any>{t(k::FILTER_ANY_OF)}</option>
                        <option value="all" selected=move || row.group_mode.get() == Match::All>{t(k::FILTER_ALL_OF)}</option>
                    </select>
                    <For each=move || row.children.get() key=|child| child.key let:child>
                        <ConditionRow
                            row=child
                            segments
                            nested=true
                            joiner=Signal::derive(move || row.group_mode.get())
                            index=Signal::derive(move || child_index(child.key))
                            error=Signal::derive(|| None)
                            on_remove=Callback::new(move |()| row.children.update(|c| c.retain(|r| r.key != child.key)))
                        />
                    </For>
                    <button type="button" class="button button--ghost" data-testid="filter-group-add" on:click=move |_| row.add_child()>
                        {t(k::FILTER_ADD_IN_GROUP)}
                    </button>
                </div>
            }
            .into_any()
        }
        Kind::Segment => view! {
            <select
                name="in-segment"
                class="select"
                aria-label=t(k::FILTER_IN_SEGMENT_LABEL)
                on:change=move |ev| row.in_segment.set(event_target_value(&ev) == "in")
            >
                <option value="in" selected=move || row.in_segment.get()>{t(k::FILTER_IN_SEGMENT)}</option>
                <option value="not-in" selected=move || !row.in_segment.get()>{t(k::FILTER_NOT_IN_SEGMENT)}</option>
            </select>
            <select
                name="segment"
                class="select"
                aria-label=t(k::FILTER_KIND_SEGMENT)
                prop:value=move || row.segment.get()
                on:change=move |ev| row.segment.set(event_target_value(&ev))
            >
                <option value="">{t(k::FILTER_CHOOSE_SEGMENT)}</option>
                {move || {
                    segments
                        .get()
                        .into_iter()
                        .map(|s| {
                            let id = s.id.to_string();
                            view! { <option value=id.clone() selected=move || row.segment.get() == id>{s.name}</option> }
                        })
                        .collect_view()
                }}
            </select>
        }
        .into_any(),
        Kind::Presence => view! {
            <select
                name="presence"
                class="select"
                aria-label=t(k::FILTER_KIND_PRESENCE)
                on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    if let Some(p) = Presence::ALL.into_iter().find(|p| p.label() == chosen) {
                        row.presence.set(p);
                    }
                }
            >
                {Presence::ALL
                    .map(|p| view! { <option value=p.label() selected=move || row.presence.get() == p>{t(p.text())}</option> })
                    .collect_view()}
            </select>
        }
        .into_any(),
    }
    };
    view! {
        <div class="filter-condition" class:filter-condition--invalid=move || error.try_with(Option::is_some).unwrap_or(false) data-testid=if nested { "filter-group-condition" } else { "filter-condition" }>
            <span class="filter-condition__joiner">
                // `try_`: a removed row's signals go with its row, and its editor (loaded behind a
                // Suspense) may still be asked once in that same turn.
                {move || match (index.try_get().unwrap_or_default(), joiner.try_get().unwrap_or(Match::All)) {
                    (0, _) => t(k::FILTER_WHERE),
                    (_, Match::All) => "and",
                    (_, Match::Any) => "or",
                }}
            </span>
            <select
                name="kind"
                class="select"
                aria-label=t(k::FILTER_CONDITION_ON)
                on:change=move |ev| {
                    if let Some(kind) = Kind::parse(&event_target_value(&ev)) {
                        row.kind.set(kind);
                    }
                }
            >
                {Kind::ALL
                    .into_iter()
                    .filter(|k| !(nested && *k == Kind::Group))
                    .map(|k| view! { <option value=k.as_str() selected=move || row.kind.get() == k>{k.label()}</option> })
                    .collect_view()}
            </select>
            {fields}
            <button
                type="button"
                class="button button--icon"
                data-testid="filter-remove"
                aria-label=move || tf(k::FILTER_REMOVE_CONDITION, &[("n", &(index.try_get().unwrap_or_default() + 1).to_string())])
                on:click=move |_| on_remove.run(())
            >
                "×"
            </button>
            {move || error.try_get().flatten().map(|message| view! {
                <p class="filter-condition__error" role="alert" data-testid="filter-error">{message}</p>
            })}
        </div>
    }
    .into_any()
}

/// What to type for the value of a comparison (the core check says what it accepts).
fn value_hint(op: PropertyOp) -> &'static str {
    match op {
        PropertyOp::Greater | PropertyOp::Less => t(k::FILTER_A_NUMBER),
        PropertyOp::Before | PropertyOp::After => t(k::FILTER_DATE_HINT),
        PropertyOp::WithinLastDays => t(k::FILTER_DAYS),
        PropertyOp::ListContains => t(k::FILTER_ITEM),
        _ => t(k::COMMON_VALUE),
    }
}
