//! `/leads/:id`: the card of one lead, on a page of its own.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::browser::i18n::{k, t};
use crate::components::lead_card::LeadCard;
use crate::components::not_found::NotFound;

#[component]
pub fn LeadPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get_str("id").and_then(|id| id.parse::<i64>().ok())));
    view! {
        <div class="lead-page">
            <Show when=move || id.get().is_some() fallback=|| view! { <NotFound message=t(k::LEAD_NOT_FOUND)/> }>
                <LeadCard id=Signal::derive(move || id.get().unwrap_or_default()) titled=true/>
            </Show>
        </div>
    }
}
