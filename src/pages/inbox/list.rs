//! The Inbox's conversation list: its filters (kept in the URL), and one row per conversation
//! with the lead, presence, channel, the last message, the time and the unread count.

use chrono::{DateTime, Utc};
use leadcard_core::Presence;
use leadcard_core::inbox::{Author, Conversation};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use super::{Conversations, Filters};
use crate::browser::i18n::{k, t, tf};
use crate::components::avatar::{Avatar, AvatarSize, lead_avatar_src};
use crate::components::error_notice::ErrorNotice;
use crate::live::presence_inputs;
use crate::{paths, time};

/// Scrolling this close to the end of the list loads the next page.
const LOAD_MARGIN_PX: i32 = 120;

#[component]
pub fn ConversationListView(
    list: Conversations,
    filters: Memo<Filters>,
    selected: Memo<Option<i64>>,
    now: Signal<DateTime<Utc>>,
) -> impl IntoView {
    let pages = list.pages;
    let navigate = use_navigate();
    let go = move |filter: Filters| {
        let path = match selected.get_untracked() {
            Some(id) => paths::conversation(id, &filter),
            None => paths::inbox(&filter),
        };
        navigate(&path, NavigateOptions::default());
    };
    let go_status = go.clone();
    let on_scroll = move |ev: leptos::ev::Event| {
        let element: web_sys::Element = event_target(&ev);
        if element.scroll_top() + element.client_height() >= element.scroll_height() - LOAD_MARGIN_PX {
            pages.load_more();
        }
    };
    view! {
        <section class="inbox__list" data-testid="conversation-list" aria-labelledby="inbox-title">
            <header class="inbox__list-header">
                <h1 id="inbox-title">{t(k::NAV_INBOX)}</h1>
                <div class="inbox__filters">
                    <select
                        class="select"
                        data-testid="inbox-status"
                        aria-label=t(k::INBOX_STATUS)
                        prop:value=move || filters.get().status_str()
                        on:change=move |ev| go_status(filters.get_untracked().with_status(&event_target_value(&ev)))
                    >
                        <option value="open">{t(k::INBOX_STATUS_OPEN)}</option>
                        <option value="closed">{t(k::INBOX_STATUS_CLOSED)}</option>
                        <option value="all">{t(k::INBOX_ALL)}</option>
                    </select>
                    <select
                        class="select"
                        data-testid="inbox-assignee"
                        aria-label=t(k::INBOX_ASSIGNEE)
                        prop:value=move || filters.get().assignee.as_str()
                        on:change=move |ev| go(filters.get_untracked().with_assignee(&event_target_value(&ev)))
                    >
                        <option value="any">{t(k::INBOX_ANYONE)}</option>
                        <option value="me">{t(k::INBOX_ASSIGNED_TO_ME)}</option>
                        <option value="unassigned">{t(k::INBOX_UNASSIGNED)}</option>
                    </select>
                </div>
            </header>
            {move || pages.error.get().map(|error| view! { <ErrorNotice error/> })}
            <ul class="inbox__rows" on:scroll=on_scroll>
                <For
                    each=move || pages.items.get()
                    key=|c| (c.id, c.last_activity_at, c.unread, c.status, c.assignee.as_ref().map(|a| a.id), c.lead.display_name.clone())
                    let:conversation
                >
                    <ConversationRow conversation filters selected list now/>
                </For>
                {move || {
                    (pages.loaded.get() && !pages.loading.get() && pages.items.with(Vec::is_empty) && pages.error.with(Option::is_none))
                        .then(|| view! { <li class="inbox__empty" data-testid="inbox-empty">{t(k::INBOX_NONE)}</li> })
                }}
                {move || pages.next.with(Option::is_some).then(|| view! {
                    <li class="inbox__more">
                        <button
                            type="button"
                            class="button button--ghost"
                            data-testid="inbox-more"
                            disabled=move || pages.loading.get()
                            on:click=move |_| pages.load_more()
                        >
                            {move || if pages.loading.get() { t(k::COMMON_LOADING) } else { t(k::COMMON_LOAD_MORE) }}
                        </button>
                    </li>
                })}
            </ul>
        </section>
    }
}

#[component]
fn ConversationRow(
    conversation: Conversation,
    filters: Memo<Filters>,
    selected: Memo<Option<i64>>,
    list: Conversations,
    now: Signal<DateTime<Utc>>,
) -> impl IntoView {
    let Conversation { id, lead, channel, status, unread, last_message, last_activity_at, .. } = conversation;
    let loaded = (lead.last_heartbeat, lead.last_active);
    let lead_id = lead.id;
    let presence = Memo::new(move |_| {
        let (beat, active) = presence_inputs(lead_id, loaded);
        Presence::at(now.get(), beat, active)
    });
    let href = move || filters.with(|f| paths::conversation(id, f));
    let preview = last_message.map(|m| match m.author {
        Author::Operator => tf(k::INBOX_YOU, &[("text", &m.text)]),
        _ => m.text,
    });
    let at = last_activity_at;
    let has_unread = unread > 0;
    view! {
        <li
            class="conversation-row"
            class:conversation-row--selected=move || selected.get() == Some(id)
            class:conversation-row--fresh=move || list.fresh.with(|f| f.contains_key(&id))
            class:conversation-row--unread=has_unread
            data-testid="conversation-row"
            data-id=id
            data-unread=unread
            data-status=status.as_str()
        >
            <a class="conversation-row__link" href=href>
                <span class="conversation-row__avatar">
                    <Avatar name=lead.display_name.clone() url=lead_avatar_src(lead.id, lead.avatar_url.as_deref()) size=AvatarSize::Small/>
                    <span
                        class=move || format!("conversation-row__presence presence-dot presence-dot--{}", presence.get().label())
                        title=move || t(presence.get().text())
                        data-presence=move || presence.get().label()
                        hidden=move || presence.get() == Presence::Offline
                    ></span>
                </span>
                <span class="conversation-row__main">
                    <span class="conversation-row__line">
                        <span class="conversation-row__name">{lead.display_name}</span>
                        <time class="conversation-row__time" title=time::local(at)>{move || time::relative(at, now.get())}</time>
                    </span>
                    <span class="conversation-row__line">
                        <span class="conversation-row__preview">{preview}</span>
                        {(unread > 0).then(|| view! { <span class="conversation-row__unread">{unread}<span class="visually-hidden">{t(k::INBOX_UNREAD)}</span></span> })}
                    </span>
                    <span class="conversation-row__channel">{t(channel.text())}</span>
                </span>
            </a>
        </li>
    }
}
