//! `/visitors`: who is on the site now (online and sleeping), live. Heartbeats arrive as live
//! `presence` messages and move the rows; presence is recomputed on a timer with the core rules
//! against the server's clock, so a visitor turns sleeping or leaves without a request. Clicking a
//! visitor opens their card beside the list (`?lead=<id>`).

use chrono::{DateTime, Utc};
use leadcard_core::tracking::{Visitor, format_duration};
use leadcard_core::{LiveEvent, Presence};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use leptos_use::use_debounce_fn;

use crate::api::{self, ApiError};
use crate::browser::i18n::{k, plural, t};
use crate::components::avatar::{Avatar, AvatarSize, lead_avatar_src};
use crate::components::clock::{observe_server_now, use_now_every};
use crate::components::error_notice::ErrorNotice;
use crate::components::lead_card::LeadCard;
use crate::components::presence_badge::PresenceBadge;
use crate::live::Live;
use crate::paths;
use crate::title::page_title;

/// Presence badges and times on site are re-evaluated this often.
const TICK_MS: u64 = 5_000;
/// A visitor the list does not know yet is fetched after this pause (heartbeats come in bursts).
const REFETCH_MS: f64 = 400.0;

#[component]
pub fn VisitorsPage() -> impl IntoView {
    page_title(t(k::NAV_VISITORS));
    let query = use_query_map();
    let selected = Memo::new(move |_| query.with(|q| q.get("lead").and_then(|v| v.parse::<i64>().ok())));
    let visitors = RwSignal::new(Vec::<Visitor>::new());
    let loaded = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let now = use_now_every(TICK_MS);

    let fetch = move || {
        spawn_local(async move {
            match api::visitors().await {
                Ok(list) => {
                    observe_server_now(list.now);
                    visitors.set(list.items);
                    error.set(None);
                }
                Err(e) => {
                    error.set(Some(e));
                }
            }
            loaded.set(true);
        })
    };
    fetch();
    let refetch = use_debounce_fn(fetch, REFETCH_MS);

    if let Some(live) = Live::use_live() {
        live.on_message(move |event| match event {
            LiveEvent::Presence {
                lead_id,
                last_heartbeat_at,
                last_active_at,
                page_url,
                page_title,
                session_started_at,
                pages_viewed,
                hidden,
            } => {
                if *hidden {
                    visitors.update(|list| list.retain(|v| v.id != *lead_id));
                    return;
                }
                let known = visitors.with_untracked(|list| list.iter().any(|v| v.id == *lead_id));
                if known {
                    visitors.update(|list| {
                        if let Some(v) = list.iter_mut().find(|v| v.id == *lead_id) {
                            v.apply_presence(
                                *last_heartbeat_at,
                                *last_active_at,
                                page_url.as_deref(),
                                page_title.as_deref(),
                                *session_started_at,
                                *pages_viewed,
                            );
                        }
                    });
                } else {
                    refetch();
                }
            }
            // A name or an avatar may have changed.
            LiveEvent::LeadChanged { lead_id } if visitors.with_untracked(|l| l.iter().any(|v| v.id == *lead_id)) => {
                refetch();
            }
            LiveEvent::LeadRemoved { lead_id } => visitors.update(|list| list.retain(|v| v.id != *lead_id)),
            // The visitor is the kept card now.
            LiveEvent::LeadMerged { lead_id, .. }
                if visitors.with_untracked(|l| l.iter().any(|v| v.id == *lead_id)) =>
            {
                refetch();
            }
            LiveEvent::LeadChanged { .. }
            | LiveEvent::LeadMerged { .. }
            | LiveEvent::ConversationChanged { .. }
            | LiveEvent::JobChanged { .. } => {}
        });
        live.on_reset(fetch);
    }

    // On the site now: online or sleeping at the server's time, most recently active first.
    let on_site = Memo::new(move |_| {
        let now = now.get();
        let mut list: Vec<Visitor> =
            visitors.get().into_iter().filter(|v| v.presence(now) != Presence::Offline).collect();
        list.sort_by_key(|v| std::cmp::Reverse((v.last_active, v.id)));
        list
    });

    view! {
        <div class="visitors-page" class:visitors-page--with-card=move || selected.get().is_some()>
            <section class="visitors" aria-labelledby="visitors-title">
                <header class="visitors__header">
                    <h1 id="visitors-title">{t(k::NAV_VISITORS)}</h1>
                    <span class="visitors__count" data-testid="visitors-count">
                        {move || plural(k::VISITORS_ON_SITE_NOW, on_site.with(Vec::len) as u64)}
                    </span>
                </header>
                {move || error.get().map(|error| view! { <ErrorNotice error/> })}
                <Show when=move || loaded.get() && on_site.with(Vec::is_empty) && error.with(Option::is_none)>
                    <p class="visitors__empty" data-testid="visitors-empty">
                        {t(k::VISITORS_NONE)}
                    </p>
                </Show>
                <table class="visitors__table" hidden=move || on_site.with(Vec::is_empty)>
                    <thead>
                        <tr>
                            <th scope="col">{t(k::VISITORS_VISITOR)}</th>
                            <th scope="col">{t(k::INBOX_STATUS)}</th>
                            <th scope="col">{t(k::VISITORS_PAGE)}</th>
                            <th scope="col">{t(k::VISITORS_ON_SITE)}</th>
                            <th scope="col">{t(k::VISITORS_PAGES)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || on_site.get() key=|v| (v.id, v.last_heartbeat, v.last_active, v.page_url.clone(), v.pages_viewed) let:visitor>
                            <VisitorRow visitor now selected=Signal::derive(move || selected.get())/>
                        </For>
                    </tbody>
                </table>
            </section>
            {move || selected.get().map(|id| view! {
                <aside class="visitors__card" aria-label=t(k::VISITORS_CARD)>
                    <a class="visitors__close" href=paths::VISITORS data-testid="visitor-card-close">{t(k::COMMON_CLOSE)}</a>
                    <LeadCard id=id/>
                </aside>
            })}
        </div>
    }
}

#[component]
fn VisitorRow(visitor: Visitor, now: Signal<DateTime<Utc>>, selected: Signal<Option<i64>>) -> impl IntoView {
    let Visitor { id, display_name, email, avatar_url, last_heartbeat, last_active, page_url, page_title, .. } =
        visitor.clone();
    let started = visitor.session_started_at;
    let presence = Memo::new(move |_| Presence::at(now.get(), last_heartbeat, last_active));
    let page = page_title.filter(|t| !t.trim().is_empty()).or_else(|| page_url.clone()).unwrap_or_default();
    view! {
        <tr
            class="visitor-row"
            class:visitor-row--selected=move || selected.get() == Some(id)
            data-testid="visitor-row"
            data-lead-id=id
            data-presence=move || presence.get().label().to_lowercase()
        >
            <td>
                <a class="visitor-row__who" href=paths::visitor(id) data-testid="visitor-open">
                    <Avatar name=display_name.clone() url=lead_avatar_src(id, avatar_url.as_deref()) size=AvatarSize::Small/>
                    <span class="visitor-row__name">
                        <span data-testid="visitor-name">{display_name}</span>
                        {email.map(|e| view! { <span class="visitor-row__email">{e}</span> })}
                    </span>
                </a>
            </td>
            <td><PresenceBadge lead=id now last_heartbeat last_active testid="visitor-presence"/></td>
            <td class="visitor-row__page" title=page_url.unwrap_or_default() data-testid="visitor-page">{page}</td>
            <td data-testid="visitor-time">
                {move || started.map(|s| format_duration(now.get() - s)).unwrap_or_default()}
            </td>
            <td data-testid="visitor-pages">{visitor.pages_viewed}</td>
        </tr>
    }
}
