//! Every event the lead performed: newest first, older ones loaded as the list scrolls (keyset),
//! each with its properties behind a disclosure and marked tracked or added by hand; the *Groups*
//! tab counts them by name (first and last time), and a group opens its own events. *Add event*
//! takes a name, properties and a time, checked by the same core rules as the server.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadcard_core::tracking::{AddEvent, EventGroup, EventSource, LeadEvent};
use leadcard_core::{LiveEvent, PropertyName, PropertyType};
use leptos::prelude::*;

use super::editor::{InlineError, ValueInput, value_of};
use super::properties::{label_of, value_text};
use crate::api::{self, ApiError};
use crate::browser::i18n::{k, plural, say, t, tf};
use crate::components::clock::server_now;
use crate::live::Live;
use crate::paged::{Page, Paged};
use crate::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Events,
    Groups,
}

/// Scrolling this close to the end of the list loads the next page.
const LOAD_MARGIN_PX: i32 = 48;

/// The lead's events, newest first, and the group shown (None: every event).
#[derive(Clone, Copy)]
struct EventList {
    events: Paged<LeadEvent>,
    name: RwSignal<Option<String>>,
}

impl EventList {
    fn new(lead: i64) -> Self {
        let name = RwSignal::new(None::<String>);
        let events = Paged::new(move |after: Option<String>| {
            let name = name.get_untracked();
            async move {
                let page = api::events(lead, after.as_deref(), name.as_deref()).await?;
                Ok(Page { items: page.items, next: page.next })
            }
        })
        .sorted_by(|a, b| (b.occurred_at, b.id).cmp(&(a.occurred_at, a.id)));
        Self { events, name }
    }
}

#[component]
pub fn CardEvents(lead: i64, #[prop(into)] now: Signal<DateTime<Utc>>) -> impl IntoView {
    let tab = RwSignal::new(Tab::Events);
    let list = EventList::new(lead);
    let groups = LocalResource::new(move || api::event_groups(lead));
    let adding = RwSignal::new(false);
    list.events.reload();
    if let Some(live) = Live::use_live() {
        live.on_message(move |event| {
            if matches!(event, LiveEvent::LeadChanged { lead_id } if *lead_id == lead) {
                list.events.refresh();
                groups.refetch();
            }
        });
        live.on_reset(move || {
            list.events.refresh();
            groups.refetch();
        });
    }
    let open_group = move |name: String| {
        list.name.set(Some(name));
        list.events.reload();
        tab.set(Tab::Events);
    };
    let added = Callback::new(move |event: LeadEvent| {
        adding.set(false);
        list.events.merge(vec![event]);
        groups.refetch();
    });
    let group_names = Signal::derive(move || {
        groups.with(|g| match g {
            Some(Ok(groups)) => groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });

    view! {
        <div class="events" data-testid="events">
            <div class="events__bar">
                <div class="tabs" role="tablist" aria-label=t(k::CARD_EVENTS)>
                    <button
                        type="button"
                        role="tab"
                        class="tabs__tab"
                        data-testid="events-tab"
                        aria-selected=move || (tab.get() == Tab::Events).to_string()
                        on:click=move |_| tab.set(Tab::Events)
                    >
                        {t(k::CARD_EVENTS)}
                    </button>
                    <button
                        type="button"
                        role="tab"
                        class="tabs__tab"
                        data-testid="groups-tab"
                        aria-selected=move || (tab.get() == Tab::Groups).to_string()
                        on:click=move |_| tab.set(Tab::Groups)
                    >
                        {t(k::CARD_EVENTS_GROUPS)}
                    </button>
                </div>
                <button
                    type="button"
                    class="button button--ghost"
                    data-testid="event-add"
                    on:click=move |_| adding.update(|a| *a = !*a)
                >
                    {t(k::CARD_EVENTS_ADD)}
                </button>
            </div>
            {move || adding.get().then(|| view! { <AddEventForm lead names=group_names on_added=added on_close=move || adding.set(false)/> })}
            {move || match tab.get() {
                Tab::Events => view! { <EventsTab list now/> }.into_any(),
                Tab::Groups => view! { <GroupsTab groups now on_open=open_group/> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn EventsTab(list: EventList, now: Signal<DateTime<Utc>>) -> impl IntoView {
    let events = list.events;
    let on_scroll = move |ev: leptos::ev::Event| {
        let element: web_sys::Element = event_target(&ev);
        if element.scroll_top() + element.client_height() >= element.scroll_height() - LOAD_MARGIN_PX {
            events.load_more();
        }
    };
    view! {
        {move || list.name.get().map(|name| view! {
            <p class="events__group-shown">
                {t(k::CARD_EVENTS_NAMED)} <strong>{name}</strong>
                <button
                    type="button"
                    class="button button--ghost"
                    data-testid="events-all"
                    on:click=move |_| {
                        list.name.set(None);
                        events.reload();
                    }
                >
                    {t(k::CARD_EVENTS_SHOW_ALL)}
                </button>
            </p>
        })}
        <ol class="events__list" data-testid="event-list" on:scroll=on_scroll>
            <For each=move || events.items.get() key=|event| event.id let:event>
                <EventRow event now/>
            </For>
        </ol>
        {move || events.error.get().map(|error| view! { <p class="editor__error" role="alert">{error.message}</p> })}
        {move || {
            (events.loaded.get() && !events.loading.get() && events.error.with(Option::is_none) && events.items.with(Vec::is_empty))
                .then(|| view! { <p class="events__empty" data-testid="events-empty">{t(k::CARD_EVENTS_NONE)}</p> })
        }}
        {move || events.next.with(Option::is_some).then(|| view! {
            <button
                type="button"
                class="button button--ghost events__more"
                data-testid="events-more"
                disabled=move || events.loading.get()
                on:click=move |_| events.load_more()
            >
                {move || if events.loading.get() { t(k::COMMON_LOADING) } else { t(k::CARD_EVENTS_LOAD_OLDER) }}
            </button>
        })}
    }
}

#[component]
fn EventRow(event: LeadEvent, now: Signal<DateTime<Utc>>) -> impl IntoView {
    let LeadEvent { name, properties, occurred_at, source, .. } = event;
    let (marker, marker_title) = match source {
        EventSource::Tracked => ("tracked", t(k::CARD_EVENTS_BY_SITE)),
        EventSource::Manual => ("manual", t(k::CARD_EVENTS_BY_OPERATOR)),
    };
    let count = properties.len();
    let data_name = name.clone();
    let details = (count > 0).then(|| {
        let rows = properties
            .into_iter()
            .map(|(name, value)| {
                view! {
                    <div class="event__property">
                        <dt>{label_of(&name)}</dt>
                        <dd>{value_text(&value)}</dd>
                    </div>
                }
            })
            .collect_view();
        view! {
            <details class="event__details" data-testid="event-properties">
                <summary>{plural(k::CARD_EVENTS_PROPERTIES, count as u64)}</summary>
                <dl class="event__properties">{rows}</dl>
            </details>
        }
    });
    view! {
        <li class="event" data-testid="event" data-name=data_name data-source=marker>
            <div class="event__line">
                <span class="event__name">{name}</span>
                <span class=format!("event__source event__source--{marker}") title=marker_title>{marker}</span>
                <time class="event__time" title=time::local(occurred_at)>
                    {move || time::relative(occurred_at, now.get())}
                </time>
            </div>
            {details}
        </li>
    }
}

#[component]
fn GroupsTab(
    groups: LocalResource<Result<Vec<EventGroup>, ApiError>>,
    now: Signal<DateTime<Utc>>,
    on_open: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        match groups.get() {
        None => view! { <p class="events__empty">{t(k::COMMON_LOADING)}</p> }.into_any(),
        Some(Err(error)) => view! { <p class="editor__error" role="alert">{error.message}</p> }.into_any(),
        Some(Ok(groups)) if groups.is_empty() => {
            view! { <p class="events__empty" data-testid="groups-empty">{t(k::CARD_EVENTS_NONE)}</p> }.into_any()
        }
        Some(Ok(groups)) => view! {
            <table class="event-groups" data-testid="event-groups">
                <thead>
                    <tr><th>{t(k::CARD_EVENTS_EVENT)}</th><th>{t(k::CARD_EVENTS_COUNT)}</th><th>{t(k::CARD_EVENTS_FIRST)}</th><th>{t(k::CARD_EVENTS_LAST)}</th></tr>
                </thead>
                <tbody>
                    {groups
                        .into_iter()
                        .map(|group| {
                            let EventGroup { name, count, first, last } = group;
                            let open = name.clone();
                            let data_name = name.clone();
                            view! {
                                <tr class="event-group" data-testid="event-group" data-name=data_name>
                                    <td>
                                        <button type="button" class="link-button" on:click=move |_| on_open(open.clone())>
                                            {name}
                                        </button>
                                    </td>
                                    <td class="event-group__count" data-testid="event-group-count">{count}</td>
                                    <td title=time::local(first)>{move || time::relative(first, now.get())}</td>
                                    <td title=time::local(last)>{move || time::relative(last, now.get())}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    }
}

/// One property row of the form: name, type and the value as typed.
#[derive(Clone, Copy)]
struct PropertyDraft {
    key: u32,
    name: RwSignal<String>,
    ty: RwSignal<PropertyType>,
    value: RwSignal<String>,
}

#[component]
fn AddEventForm(
    lead: i64,
    #[prop(into)] names: Signal<Vec<String>>,
    on_added: Callback<LeadEvent>,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let when = RwSignal::new(time::to_datetime_local(server_now()));
    let rows = RwSignal::new(Vec::<PropertyDraft>::new());
    let next_key = StoredValue::new(0_u32);
    let problem = RwSignal::new(None::<(String, String)>);
    let list_id = format!("event-names-{lead}");

    let add_row = move |_| {
        next_key.update_value(|k| *k += 1);
        let row = PropertyDraft {
            key: next_key.get_value(),
            name: RwSignal::new(String::new()),
            ty: RwSignal::new(PropertyType::Text),
            value: RwSignal::new(String::new()),
        };
        rows.update(|rows| rows.push(row));
    };

    // The event as typed, checked by the core rules the server runs; an error names its field.
    let build = move || -> Result<AddEvent, (String, String)> {
        let mut properties = BTreeMap::new();
        for row in rows.get_untracked() {
            let typed = row.name.get_untracked();
            if typed.trim().is_empty() {
                continue;
            }
            let property = PropertyName::parse(typed.trim()).map_err(|e| {
                (format!("properties.{}", typed.trim()), tf(k::CARD_EVENTS_BAD_NAME, &[("reason", &say(&e.message()))]))
            })?;
            let value = value_of(row.ty.get_untracked(), &row.value.get_untracked())
                .map_err(|e| (format!("properties.{}", property.as_str()), format!("{}: {e}.", property.as_str())))?;
            properties.insert(property.as_str().to_owned(), value);
        }
        let occurred_at = time::from_datetime_local(&when.get_untracked())
            .map_err(|e| ("occurred_at".to_owned(), tf(k::CARD_EVENTS_BAD_TIME, &[("reason", &e.to_string())])))?;
        let event =
            AddEvent { name: name.get_untracked().trim().to_owned(), properties, occurred_at: Some(occurred_at) };
        event.check(server_now()).map_err(|e| (e.field.clone(), format!("{}: {}.", e.field, say(&e.message))))?;
        Ok(event)
    };

    let save = Action::new_local(move |event: &AddEvent| {
        let event = event.clone();
        async move {
            match api::add_event(lead, &event).await {
                Ok(stored) => on_added.run(stored),
                Err(error) => problem.set(Some((error.field.clone().unwrap_or_default(), error.message))),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match build() {
            Ok(event) => {
                save.dispatch(event);
            }
            Err(error) => problem.set(Some(error)),
        }
    };
    let saving = save.pending();

    view! {
        <form class="editor event-add-form" data-testid="event-add-form" on:submit=submit on:input=move |_| problem.set(None)>
            <div class="event-add-form__fields">
                <label class="field">
                    <span class="field__label">{t(k::CARD_EVENTS_EVENT)}</span>
                    <input
                        class="input"
                        name="event-name"
                        list=list_id.clone()
                        autocomplete="off"
                        placeholder=t(k::CARD_EVENTS_PLACEHOLDER)
                        prop:value=name
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                    <datalist id=list_id>
                        {move || names.get().into_iter().filter(|n| !n.starts_with('$')).map(|n| view! { <option value=n/> }).collect_view()}
                    </datalist>
                </label>
                <label class="field">
                    <span class="field__label">{t(k::CARD_EVENTS_WHEN)}</span>
                    <input
                        class="input"
                        type="datetime-local"
                        step="1"
                        name="event-time"
                        prop:value=when
                        on:input=move |ev| when.set(event_target_value(&ev))
                    />
                </label>
            </div>
            <For each=move || rows.get() key=|row| row.key let:row>
                <div class="event-add-form__property" data-testid="event-add-property">
                    <input
                        class="input"
                        name="property-name"
                        placeholder=t(k::COMMON_PROPERTY)
                        prop:value=row.name
                        on:input=move |ev| row.name.set(event_target_value(&ev))
                    />
                    <select
                        class="select"
                        name="property-type"
                        prop:value=move || row.ty.get().as_str()
                        on:change=move |ev| {
                            if let Some(chosen) = PropertyType::parse(&event_target_value(&ev)) {
                                row.ty.set(chosen);
                            }
                        }
                    >
                        {PropertyType::ALL.into_iter().map(|ty| view! { <option value=ty.as_str()>{t(ty.text())}</option> }).collect_view()}
                    </select>
                    <ValueInput ty=row.ty draft=row.value/>
                    <button
                        type="button"
                        class="button button--ghost"
                        aria-label=t(k::CARD_EVENTS_REMOVE_PROPERTY)
                        on:click=move |_| rows.update(|rows| rows.retain(|r| r.key != row.key))
                    >
                        "×"
                    </button>
                </div>
            </For>
            <div class="editor__actions">
                <button type="button" class="button button--ghost" data-testid="event-add-property-row" on:click=add_row>
                    {t(k::CARD_EVENTS_ADD_PROPERTY)}
                </button>
                <button type="submit" class="button button--primary" data-testid="event-add-save" disabled=saving>
                    {t(k::CARD_EVENTS_ADD)}
                </button>
                <button type="button" class="button button--ghost" on:click=move |_| on_close()>
                    {t(k::COMMON_CANCEL)}
                </button>
            </div>
            <InlineError message=Signal::derive(move || problem.get().map(|(_, message)| message)) testid="event-add-error"/>
        </form>
    }
}
