//! The card's header: avatar, name, and a live presence badge with when the lead was last seen.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::components::avatar::{Avatar, AvatarSize};
use crate::components::presence_badge::PresenceBadge;
use crate::time;

/// `name` is the display name (name, else email, else `Lead #id`); `url` the avatar picture.
#[component]
pub fn CardHeader(
    name: String,
    url: Option<String>,
    last_seen: Option<DateTime<Utc>>,
    last_heartbeat: Option<DateTime<Utc>>,
    last_active: Option<DateTime<Utc>>,
    #[prop(into)] now: Signal<DateTime<Utc>>,
) -> impl IntoView {
    let seen = move || {
        last_seen.map_or_else(|| "Never seen".to_owned(), |t| format!("Last seen {}", time::relative(t, now.get())))
    };
    view! {
        <header class="lead-card__header">
            <Avatar name=name.clone() url size=AvatarSize::Large testid="lead-avatar"/>
            <div class="lead-card__identity">
                <h1 class="lead-card__name" data-testid="lead-name">{name}</h1>
                <div class="lead-card__status">
                    <PresenceBadge now last_heartbeat last_active testid="lead-presence"/>
                    <span class="lead-card__seen" title=last_seen.map(time::local)>{seen}</span>
                </div>
            </div>
        </header>
    }
}
