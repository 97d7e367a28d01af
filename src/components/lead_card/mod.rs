//! The lead card: one component, placed by the Leads Database card page, the Inbox and Visitors.
//! It takes the lead's id, loads the card with its notes and the operator's pins, and lays out one
//! block per file; every write updates the card from the server's answer.

mod add_property;
mod communications;
mod conflict;
mod editor;
mod events;
mod header;
mod location;
mod menu;
mod notes;
mod operation;
mod properties;
mod segments;
mod session_pages;
mod state;
mod subscription;
mod tags;
mod toast;

use chrono::{DateTime, Utc};
use leadcard_core::LiveEvent;
use leadcard_core::wire::{self, Note};
use leptos::prelude::*;

pub use editor::{InlineError, PropertyEditor, ValueInput, Verdict, value_of};
pub use header::CardHeader;
pub use location::LeadLocation;
pub use notes::CardNotes;
pub use subscription::SubscriptionInfo;

use add_property::AddProperty;
use communications::CardCommunications;
use conflict::ConflictView;
use events::CardEvents;
use header::PinnedProperties;
use menu::CardMenu;
use properties::PropertyList;
use segments::CardSegments;
use session_pages::CardSessionPages;
use state::CardState;
use tags::CardTags;
use toast::CardToast;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, t, tf};
use crate::components::clock::{use_minute_clock, use_now};
use crate::components::error_notice::api_error_fallback;
use crate::components::not_found::NotFound;
use crate::live::Live;
use crate::paths;
use crate::session::Session;
use crate::title::follow_title;

/// What the card shows, loaded together; only the card itself is required.
#[derive(Clone)]
struct CardData {
    card: wire::LeadCard,
    notes: Result<Vec<Note>, ApiError>,
    pins: Option<Vec<String>>,
}

async fn load(id: i64) -> Result<CardData, ApiError> {
    let (card, notes, pins) = futures::future::join3(api::lead(id), api::notes(id), api::pins()).await;
    let card = card?;
    // A merged card's id answers with the card it went into: that card's notes, then.
    let notes = if card.id == id { notes } else { api::notes(card.id).await };
    Ok(CardData { card, notes, pins: pins.ok().map(|pins| pins.names) })
}

/// Loads and shows the card of lead `id`; an unknown id shows the not-found view. In the release
/// build the card's code is a wasm chunk of its own, fetched when a card first opens: the Inbox
/// and Visitors show a card only once the operator picks a conversation or a visitor.
#[component]
pub fn LeadCard(
    #[prop(into)] id: Signal<i64>,
    /// The card is the page (`/leads/:id`): the page's title is the lead's name.
    #[prop(optional)]
    titled: bool,
) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <div class="lead-card lead-card--loading" aria-busy="true">{t(k::CARD_LOADING)}</div> }>
            {move || Suspend::new(card_view(id, titled))}
        </Suspense>
    }
}

async fn card_view(id: Signal<i64>, titled: bool) -> AnyView {
    view! { <LoadedCard id titled/> }.into_any()
}

/// The card of lead `id`, loaded with its notes and the operator's pins.
#[component]
fn LoadedCard(id: Signal<i64>, titled: bool) -> impl IntoView {
    let session = Session::expect();
    let data = LocalResource::new(move || load(id.get()));
    let now = use_now();
    view! {
        <Transition fallback=|| view! { <div class="lead-card lead-card--loading" aria-busy="true">{t(k::CARD_LOADING)}</div> }>
            <ErrorBoundary fallback=api_error_fallback>
                {move || Suspend::new(async move {
                    let me = session.me.await.ok().map(|me| me.id);
                    match data.await {
                        Ok(CardData { card, notes, pins }) if card.id != id.get_untracked() => {
                            let merged = id.get_untracked();
                            Ok(view! {
                                <p class="notice" role="status" data-testid="lead-merged-notice">
                                    {tf(k::CARD_MERGED_NOTICE, &[("id", &merged.to_string())])}
                                </p>
                                <LeadCardView card now pins notes me titled/>
                            }.into_any())
                        }
                        Ok(CardData { card, notes, pins }) => Ok(view! { <LeadCardView card now pins notes me titled/> }.into_any()),
                        Err(error) if error.is_not_found() => {
                            Ok(view! { <NotFound message=t(k::CARD_NO_SUCH_LEAD)/> }.into_any())
                        }
                        Err(error) => Err(error),
                    }
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The card of loaded data, with no network until the operator changes something. `now` drives
/// the presence badge; `pins` are the operator's (None: could not be loaded, pinning is off);
/// `me` is the signed-in operator's id, who may delete their own notes.
#[component]
pub fn LeadCardView(
    card: wire::LeadCard,
    #[prop(into)] now: Signal<DateTime<Utc>>,
    pins: Option<Vec<String>>,
    notes: Result<Vec<Note>, ApiError>,
    me: Option<i64>,
    /// The card is the page: the page's title follows the lead's name.
    #[prop(optional)]
    titled: bool,
) -> impl IntoView {
    let id = card.id;
    let state = CardState::provide(card, pins);
    if titled {
        follow_title(move || state.card.with(|c| c.display_name.clone()));
    }
    let minute = use_minute_clock();
    let head = Memo::new(move |_| {
        state
            .card
            .with(|c| (c.display_name.clone(), c.avatar_url.clone(), c.last_seen, c.last_heartbeat, c.last_active))
    });
    let place = Memo::new(move |_| {
        state.card.with(|c| {
            let text = |name: &str| c.property(name).and_then(|v| v.as_text()).map(str::to_owned);
            (text("$city"), text("$country"), text("$timezone"))
        })
    });
    let subscription = Memo::new(move |_| state.card.with(|c| c.subscription.clone()));
    if let Some(live) = Live::use_live() {
        live.on_message(move |event| match event {
            LiveEvent::LeadChanged { lead_id } if *lead_id == id => state.reload(),
            LiveEvent::LeadRemoved { lead_id } if *lead_id == id => state.removed.set(true),
            LiveEvent::LeadMerged { lead_id, into } if *lead_id == id => state.merged_into.set(Some(*into)),
            _ => {}
        });
        live.on_reset(move || state.reload());
    }
    view! {
        {move || state.removed.get().then(|| view! {
            <article class="lead-card lead-card--removed" data-testid="lead-removed" role="status">
                <p>{t(k::CARD_REMOVED)}</p>
            </article>
        })}
        {move || state.merged_into.get().map(|into| view! {
            <article class="lead-card lead-card--removed" data-testid="lead-merged" role="status">
                <p>
                    {t(k::CARD_MERGED_BEFORE)}
                    <a href=paths::lead(into)>{tf(k::COMMON_LEAD_NUMBER, &[("id", &into.to_string())])}</a>
                    {t(k::CARD_MERGED_AFTER)}
                </p>
            </article>
        })}
        <article class="lead-card" data-testid="lead-card" hidden=move || state.removed.get() || state.merged_into.get().is_some()>
            <div class="lead-card__top">
                <div class="lead-card__summary">
                    {move || {
                        let (name, url, last_seen, last_heartbeat, last_active) = head.get();
                        view! { <CardHeader lead=id name url last_seen last_heartbeat last_active now/> }
                    }}
                    {move || {
                        let (city, country, timezone) = place.get();
                        view! { <LeadLocation city country timezone now=minute/> }
                    }}
                    <PinnedProperties/>
                </div>
                <CardMenu id/>
            </div>
            <section class="lead-card__section" aria-labelledby="lead-card-communications">
                <h2 class="lead-card__section-title" id="lead-card-communications">{t(k::CARD_COMMUNICATIONS)}</h2>
                <CardCommunications lead=id now/>
            </section>
            <section class="lead-card__section" aria-labelledby="lead-card-properties">
                <h2 class="lead-card__section-title" id="lead-card-properties">{t(k::CARD_PROPERTIES)}</h2>
                <ConflictView/>
                <PropertyList/>
                {move || view! { <SubscriptionInfo subscription=subscription.get()/> }}
                <AddProperty/>
            </section>
            <section class="lead-card__section" aria-labelledby="lead-card-tags">
                <h2 class="lead-card__section-title" id="lead-card-tags">{t(k::CARD_TAGS)}</h2>
                <CardTags/>
            </section>
            <section class="lead-card__section" aria-labelledby="lead-card-segments">
                <h2 class="lead-card__section-title" id="lead-card-segments">{t(k::CARD_SEGMENTS)}</h2>
                <CardSegments lead=id now/>
            </section>
            <section class="lead-card__section" aria-labelledby="lead-card-visit">
                <h2 class="lead-card__section-title" id="lead-card-visit">{t(k::CARD_VISIT_PAGES)}</h2>
                <CardSessionPages lead=id/>
            </section>
            <section class="lead-card__section" aria-labelledby="lead-card-events">
                <h2 class="lead-card__section-title" id="lead-card-events">{t(k::CARD_EVENTS)}</h2>
                <CardEvents lead=id now/>
            </section>
            <section class="lead-card__section" aria-labelledby="lead-card-notes">
                <h2 class="lead-card__section-title" id="lead-card-notes">{t(k::CARD_NOTES)}</h2>
                <CardNotes lead=id notes me/>
            </section>
            <CardToast/>
        </article>
    }
}
