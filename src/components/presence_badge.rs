//! The presence badge: online, sleeping or offline, computed with core rules on the page's clock
//! from the lead's presence inputs as loaded and as the live stream tells them since.

use chrono::{DateTime, Utc};
use leadcard_core::Presence;
use leptos::prelude::*;

use crate::browser::i18n::t;
use crate::live::presence_inputs;

/// Recomputed whenever `now` ticks or a heartbeat of lead `lead` arrives, so presence changes
/// without a reload.
#[component]
pub fn PresenceBadge(
    lead: i64,
    #[prop(into)] now: Signal<DateTime<Utc>>,
    last_heartbeat: Option<DateTime<Utc>>,
    last_active: Option<DateTime<Utc>>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let presence = Memo::new(move |_| {
        let (beat, active) = presence_inputs(lead, (last_heartbeat, last_active));
        Presence::at(now.get(), beat, active)
    });
    view! {
        <span
            class=move || format!("presence presence--{}", presence.get().label())
            data-testid=testid
        >
            {move || t(presence.get().text())}
        </span>
    }
}
