//! The presence badge: online, sleeping or offline, computed with core rules on the page's clock.

use chrono::{DateTime, Utc};
use leadcard_core::Presence;
use leptos::prelude::*;

/// Recomputed whenever `now` ticks, so presence changes without a reload.
#[component]
pub fn PresenceBadge(
    #[prop(into)] now: Signal<DateTime<Utc>>,
    last_heartbeat: Option<DateTime<Utc>>,
    last_active: Option<DateTime<Utc>>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let presence = Memo::new(move |_| Presence::at(now.get(), last_heartbeat, last_active));
    view! {
        <span class=move || format!("presence presence--{}", presence.get().label()) data-testid=testid>
            {move || presence.get().label()}
        </span>
    }
}
