//! The pages the lead viewed in their current (latest) visit to the site, in order, with the time
//! spent on each — what they are reading while the operator talks to them.

use leadcard_core::LiveEvent;
use leadcard_core::tracking::{SessionPage, SessionPages, format_duration};
use leptos::prelude::*;

use crate::api;
use crate::browser::i18n::{k, t, tf};
use crate::live::Live;
use crate::time;

#[component]
pub fn CardSessionPages(lead: i64) -> impl IntoView {
    let loaded = LocalResource::new(move || api::session_pages(lead));
    let load = move || loaded.refetch();
    if let Some(live) = Live::use_live() {
        live.on_message(move |event| match event {
            LiveEvent::LeadChanged { lead_id } if *lead_id == lead => load(),
            // A heartbeat moves the time on the last page on.
            LiveEvent::Presence { lead_id, .. } if *lead_id == lead => load(),
            _ => {}
        });
        live.on_reset(load);
    }
    move || match loaded.get() {
        None => view! { <p class="events__empty">{t(k::COMMON_LOADING)}</p> }.into_any(),
        Some(Err(error)) => view! { <p class="editor__error" role="alert">{error.message}</p> }.into_any(),
        Some(Ok(SessionPages { session: None, .. })) => {
            view! { <p class="events__empty" data-testid="session-pages-empty">{t(k::CARD_VISIT_NONE)}</p> }.into_any()
        }
        Some(Ok(SessionPages { session: Some(session), pages })) => {
            let device =
                [session.browser, session.os, session.device].into_iter().flatten().collect::<Vec<_>>().join(" · ");
            view! {
                <p class="session-pages__meta">
                    {t(k::CARD_VISIT_STARTED)} {time::local(session.started_at)}
                    {(!device.is_empty()).then(|| format!(" · {device}"))}
                    {session.referrer.map(|r| tf(k::CARD_VISIT_FROM, &[("referrer", &r)]))}
                </p>
                <ol class="session-pages" data-testid="session-pages">
                    {pages.into_iter().map(|page| view! { <PageRow page/> }).collect_view()}
                </ol>
            }
            .into_any()
        }
    }
}

#[component]
fn PageRow(page: SessionPage) -> impl IntoView {
    let spent = format_duration(page.duration());
    let SessionPage { url, title, viewed_at, .. } = page;
    let label = title.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| url.clone());
    view! {
        <li class="session-page" data-testid="session-page">
            <span class="session-page__title" title=url.clone()>{label}</span>
            <span class="session-page__url">{url}</span>
            <span class="session-page__time" title=time::local(viewed_at) data-testid="session-page-time">{spent}</span>
        </li>
    }
}
