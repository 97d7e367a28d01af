//! The card's header: avatar, name, a live presence badge with when the lead was last seen, and the
//! operator's pinned properties.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::properties::{label_of, value_text};
use super::state::CardState;
use crate::browser::i18n::{k, t, tf};
use crate::components::avatar::{Avatar, AvatarSize, lead_avatar_src};
use crate::components::presence_badge::PresenceBadge;
use crate::time;

/// `name` is the display name (name, else email, else `Lead #id`) of lead `lead`; `url` the
/// avatar picture.
#[component]
pub fn CardHeader(
    lead: i64,
    name: String,
    url: Option<String>,
    last_seen: Option<DateTime<Utc>>,
    last_heartbeat: Option<DateTime<Utc>>,
    last_active: Option<DateTime<Utc>>,
    #[prop(into)] now: Signal<DateTime<Utc>>,
) -> impl IntoView {
    let seen = move || {
        last_seen.map_or_else(
            || t(k::CARD_NEVER_SEEN).to_owned(),
            |at| tf(k::CARD_LAST_SEEN, &[("when", &time::relative(at, now.get()))]),
        )
    };
    view! {
        <header class="lead-card__header">
            <Avatar name=name.clone() url=lead_avatar_src(lead, url.as_deref()) size=AvatarSize::Large testid="lead-avatar"/>
            <div class="lead-card__identity">
                <h1 class="lead-card__name" data-testid="lead-name">{name}</h1>
                <div class="lead-card__status">
                    <PresenceBadge lead now last_heartbeat last_active testid="lead-presence"/>
                    <span class="lead-card__seen" title=last_seen.map(time::local)>{seen}</span>
                </div>
            </div>
        </header>
    }
}

/// The operator's pinned properties, in pin order, with this lead's values; each can be unpinned.
#[component]
pub fn PinnedProperties() -> impl IntoView {
    let state = CardState::expect();
    let pinned = move || {
        let names = state.pins.get().unwrap_or_default();
        state
            .card
            .with(|card| names.into_iter().map(|name| (card.property(&name).map(value_text), name)).collect::<Vec<_>>())
    };
    view! {
        <ul class="pinned" data-testid="pinned" aria-label=t(k::CARD_PINNED)>
            {move || {
                pinned().into_iter().map(|(value, name)| {
                    let unknown = value.is_none();
                    let value = value.unwrap_or_else(|| "—".to_owned());
                    let label = label_of(&name);
                    let unpin_label = tf(k::CARD_UNPIN_NAMED, &[("name", &label)]);
                    let unpin = name.clone();
                    view! {
                        <li class="pinned__property" data-testid="pinned-property" data-name=name>
                            <span class="pinned__label">{label}</span>
                            <span class="pinned__value" class:pinned__value--unknown=unknown>
                                {value}
                            </span>
                            <button
                                type="button"
                                class="pinned__unpin"
                                data-testid="unpin"
                                aria-label=unpin_label
                                title=t(k::CARD_UNPIN)
                                on:click=move |_| state.toggle_pin(unpin.clone())
                            ></button>
                        </li>
                    }
                }).collect_view()
            }}
        </ul>
    }
}
