//! The segments the lead is in now, and when and why they entered or left each. The list is
//! computed on the page with the core evaluator over the lead's facts (the server's SQL follows the
//! same rule), so an edit on the card moves the lead in or out at once, without a request.

use chrono::{DateTime, Utc};
use leadcard_core::LiveEvent;
use leadcard_core::segment::{CheckedSegment, LeadFacts, SegmentHistoryEntry, matching_segments};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::state::CardState;
use crate::api::{self, ApiError};
use crate::live::Live;
use crate::time;

#[component]
pub fn CardSegments(lead: i64, #[prop(into)] now: Signal<DateTime<Utc>>) -> impl IntoView {
    let state = CardState::expect();
    let segments = RwSignal::new(None::<Result<Vec<CheckedSegment>, ApiError>>);
    let facts = RwSignal::new(None::<LeadFacts>);
    let history = RwSignal::new(Vec::<SegmentHistoryEntry>::new());

    let load_segments = move || {
        spawn_local(async move {
            let loaded = api::segments().await.map(|all| all.iter().filter_map(|s| s.checked()).collect());
            segments.try_set(Some(loaded));
        })
    };
    let load_facts = move || {
        spawn_local(async move {
            if let Ok(mut loaded) = api::lead_facts(lead).await {
                // The card may be newer than the facts' request: it decides the non-event part.
                if let Some(()) = state.card.try_with_untracked(|card| loaded.update_from_card(card)) {
                    facts.try_set(Some(loaded));
                }
            }
        })
    };
    let load_history = move || {
        spawn_local(async move {
            if let Ok(entries) = api::segment_history(lead).await {
                history.try_set(entries);
            }
        })
    };
    load_segments();
    load_facts();
    load_history();

    // Every change of the card (an edit answered by the server, a reload) updates the facts.
    Effect::new(move |_| {
        state.card.with(|card| {
            facts.update(|facts| {
                if let Some(facts) = facts {
                    facts.update_from_card(card);
                }
            })
        });
    });
    if let Some(live) = Live::use_live() {
        live.on_message(move |event| {
            if matches!(event, LiveEvent::LeadChanged { lead_id } if *lead_id == lead) {
                load_facts();
                load_history();
            }
        });
        live.on_reset(move || {
            load_segments();
            load_facts();
            load_history();
        });
    }

    let matching = Memo::new(move |_| {
        let now = now.get();
        segments.with(|segments| match (segments, facts.get()) {
            (Some(Ok(segments)), Some(facts)) => {
                Some(Ok(crate::timing::measured("leadcard:segments", || matching_segments(segments, &facts, now))))
            }
            (Some(Err(error)), _) => Some(Err(error.clone())),
            _ => None,
        })
    });

    view! {
        <div class="lead-segments" data-testid="lead-segments">
            {move || match matching.get() {
                None => view! { <p class="events__empty">"Loading…"</p> }.into_any(),
                Some(Err(error)) => view! { <p class="editor__error" role="alert">{error.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p class="events__empty" data-testid="lead-segments-none">"In no segment."</p> }.into_any()
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
                <ol class="segment-history" aria-label="Segment history">
                    <For each=move || history.get() key=|e| e.id let:entry>
                        <li class="segment-history__entry" data-testid="segment-history-entry" data-entered=entry.entered.to_string()>
                            {if entry.entered { "Entered segment " } else { "Left segment " }}
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
