//! The segments the lead is in now, and when and why they entered or left each. The list is
//! computed on the page with the core evaluator over the lead's facts (the server's SQL follows the
//! same rule), so an edit on the card moves the lead in or out at once, without a request.

use chrono::{DateTime, Utc};
use leadcard_core::LiveEvent;
use leadcard_core::segment::{CheckedSegment, matching_segments};
use leptos::prelude::*;

use super::state::CardState;
use crate::api;
use crate::browser::i18n::{k, t};
use crate::live::{Live, presence_inputs};
use crate::time;

#[component]
pub fn CardSegments(lead: i64, #[prop(into)] now: Signal<DateTime<Utc>>) -> impl IntoView {
    let state = CardState::expect();
    let segments = LocalResource::new(|| async {
        api::segments().await.map(|all| all.iter().filter_map(|s| s.checked(&all)).collect::<Vec<CheckedSegment>>())
    });
    let loaded_facts = LocalResource::new(move || api::lead_facts(lead));
    let loaded_history = LocalResource::new(move || api::segment_history(lead));
    // The card may be newer than the facts' answer (an edit answered by the server, a reload):
    // it decides the non-event part.
    let facts = Signal::derive(move || {
        let mut facts = loaded_facts.with(|f| f.as_ref().and_then(|f| f.as_ref().ok()).cloned())?;
        state.card.with(|card| facts.update_from_card(card));
        // Presence follows the live stream: "Online now" segments take the lead in and out.
        (facts.last_heartbeat, facts.last_active) = presence_inputs(lead, (facts.last_heartbeat, facts.last_active));
        Some(facts)
    });
    let history = Signal::derive(move || {
        loaded_history.with(|h| h.as_ref().and_then(|h| h.as_ref().ok()).cloned()).unwrap_or_default()
    });
    if let Some(live) = Live::use_live() {
        live.on_message(move |event| {
            if matches!(event, LiveEvent::LeadChanged { lead_id } if *lead_id == lead) {
                loaded_facts.refetch();
                loaded_history.refetch();
            }
        });
        live.on_reset(move || {
            segments.refetch();
            loaded_facts.refetch();
            loaded_history.refetch();
        });
    }

    let matching = Memo::new(move |_| {
        let now = now.get();
        segments.with(|segments| match (segments, facts.get()) {
            (Some(Ok(segments)), Some(facts)) => {
                Some(Ok(crate::browser::timing::measured("leadcard:segments", || {
                    matching_segments(segments, &facts, now)
                })))
            }
            (Some(Err(error)), _) => Some(Err(error.clone())),
            _ => None,
        })
    });

    view! {
        <div class="lead-segments" data-testid="lead-segments">
            {move || match matching.get() {
                None => view! { <p class="events__empty">{t(k::COMMON_LOADING)}</p> }.into_any(),
                Some(Err(error)) => view! { <p class="editor__error" role="alert">{error.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p class="events__empty" data-testid="lead-segments-none">{t(k::CARD_SEGMENTS_NONE)}</p> }.into_any()
                }
                Some(Ok(list)) => view! {
                    <ul class="tag-list">
                        {list
                            .into_iter()
                            .map(|s| view! { <li class="tag segment-chip" data-testid="lead-segment" data-id=s.id>{s.name}</li> })
                            .collect_view()}
                    </ul>
                }
                .into_any(),
            }}
            <Show when=move || !history.with(Vec::is_empty)>
                <ol class="segment-history" aria-label=t(k::CARD_SEGMENTS_HISTORY)>
                    <For each=move || history.get() key=|e| e.id let:entry>
                        <li class="segment-history__entry" data-testid="segment-history-entry" data-entered=entry.entered.to_string()>
                            {if entry.entered { t(k::CARD_SEGMENTS_ENTERED) } else { t(k::CARD_SEGMENTS_LEFT) }}
                            <em>{entry.segment_name}</em>
                            " — "
                            {entry.reason}
                            <time class="event__time" title=time::local(entry.at)>{move || time::relative(entry.at, now.get())}</time>
                        </li>
                    </For>
                </ol>
            </Show>
        </div>
    }
}
