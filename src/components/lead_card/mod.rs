//! The lead card: one component, placed by the Leads Database card page now and by Inbox and
//! Visitors later. It takes the lead's id, loads the card, and lays out one block per file.

mod header;
mod menu;
mod properties;
mod subscription;
mod tags;

use chrono::{DateTime, Utc};
use leadcard_core::wire;
use leptos::prelude::*;

pub use header::CardHeader;
pub use menu::CardMenu;
pub use properties::{PropertyList, PropertyRow};
pub use subscription::SubscriptionInfo;
pub use tags::CardTags;

use crate::api;
use crate::components::clock::use_now;
use crate::components::error_notice::api_error_fallback;
use crate::components::not_found::NotFound;

/// Loads and shows the card of lead `id`; an unknown id shows the not-found view.
#[component]
pub fn LeadCard(#[prop(into)] id: Signal<i64>) -> impl IntoView {
    let card = LocalResource::new(move || api::lead(id.get()));
    let now = use_now();
    view! {
        <Transition fallback=|| view! { <div class="lead-card lead-card--loading" aria-busy="true">"Loading the card…"</div> }>
            <ErrorBoundary fallback=api_error_fallback>
                {move || Suspend::new(async move {
                    match card.await {
                        Ok(card) => Ok(view! { <LeadCardView card now/> }.into_any()),
                        Err(error) if error.is_not_found() => {
                            Ok(view! { <NotFound message="There is no lead with this id; it may have been removed."/> }.into_any())
                        }
                        Err(error) => Err(error),
                    }
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The card of loaded data, with no network of its own; `now` drives the presence badge.
#[component]
pub fn LeadCardView(card: wire::LeadCard, #[prop(into)] now: Signal<DateTime<Utc>>) -> impl IntoView {
    let wire::LeadCard {
        id,
        display_name,
        avatar_url,
        last_seen,
        last_heartbeat,
        last_active,
        properties,
        tags,
        subscription,
        ..
    } = card;
    view! {
        <article class="lead-card" data-testid="lead-card">
            <div class="lead-card__top">
                <CardHeader name=display_name url=avatar_url last_seen last_heartbeat last_active now/>
                <CardMenu id/>
            </div>
            <section class="lead-card__section" aria-labelledby="lead-card-properties">
                <h2 class="lead-card__section-title" id="lead-card-properties">"Properties"</h2>
                <PropertyList properties/>
                <SubscriptionInfo subscription/>
            </section>
            <section class="lead-card__section" aria-labelledby="lead-card-tags">
                <h2 class="lead-card__section-title" id="lead-card-tags">"Tags"</h2>
                <CardTags tags/>
            </section>
        </article>
    }
}
