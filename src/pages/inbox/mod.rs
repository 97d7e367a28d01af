//! `/inbox` and `/inbox/:conversation`: the conversations with leads (filtered by status and
//! assignee in the URL, newest activity first, live), the open thread with its composer, and the
//! lead's card beside it (collapsible; behind a toggle on narrow screens).

mod list;
mod thread;

use std::collections::HashMap;
use std::time::Duration;

use leadcard_core::LiveEvent;
use leadcard_core::inbox::Conversation;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{self, ConversationQuery};
use crate::browser;
use crate::browser::i18n::{k, t};
use crate::components::clock::use_now;
use crate::components::lead_card::LeadCard;
use crate::live::Live;
use crate::paged::{Page, Paged};
use crate::session::Session;
use crate::title::follow_title;

use list::ConversationListView;
use thread::ConversationThread;

/// How long a row changed live keeps its visual cue.
const FRESH_FOR: Duration = Duration::from_secs(3);
/// Below this width the card opens over the thread, behind its toggle.
const NARROW_PX: f64 = 900.0;

/// The list's filters, as in the URL query: core's one reading of them.
pub use leadcard_core::inbox::ConversationFilter as Filters;

fn query(filters: &Filters, after: Option<String>) -> ConversationQuery {
    ConversationQuery { filter: *filters, after, limit: None }
}

/// Places `conversation` in `list` (newest activity first), replacing its old row; `None` when it
/// falls after the loaded rows while more are to load (it comes with a later page).
pub fn place(list: &mut Vec<Conversation>, conversation: Conversation, more_to_load: bool) -> Option<usize> {
    list.retain(|c| c.id != conversation.id);
    let order = |c: &Conversation| std::cmp::Reverse((c.last_activity_at, c.id));
    let at = list.partition_point(|c| order(c) < order(&conversation));
    if at == list.len() && more_to_load {
        return None;
    }
    list.insert(at, conversation);
    Some(at)
}

/// The Inbox list as loaded, page by page (for the filters in the URL), and kept up to date live.
#[derive(Clone, Copy)]
pub(crate) struct Conversations {
    pub pages: Paged<Conversation>,
    /// Rows changed live a moment ago, each with the number of its last change.
    pub fresh: RwSignal<HashMap<i64, u64>>,
    changes: StoredValue<u64>,
}

impl Conversations {
    fn new(filters: Memo<Filters>) -> Self {
        let pages = Paged::new(move |after: Option<String>| {
            let query = filters.with_untracked(|f| query(f, after));
            async move {
                let page = api::conversations(&query).await?;
                Ok(Page { items: page.items, next: page.next })
            }
        });
        Self { pages, fresh: RwSignal::new(HashMap::new()), changes: StoredValue::new(0) }
    }

    /// Shows a conversation as it is now: moved to its place with a short cue, or out of the
    /// list when the filters no longer show it.
    fn changed(self, conversation: Conversation, shown: bool) {
        let id = conversation.id;
        let more = self.pages.next.with_untracked(Option::is_some);
        let placed = self.pages.items.try_update(|items| {
            if shown {
                place(items, conversation, more).is_some()
            } else {
                items.retain(|c| c.id != id);
                false
            }
        });
        if placed == Some(true) {
            self.changes.update_value(|n| *n += 1);
            let number = self.changes.get_value();
            self.fresh.update(|fresh| {
                fresh.insert(id, number);
            });
            let fresh = self.fresh;
            set_timeout(
                move || {
                    fresh.update(|fresh| {
                        if fresh.get(&id) == Some(&number) {
                            fresh.remove(&id);
                        }
                    });
                },
                FRESH_FOR,
            );
        }
    }
}

fn is_narrow() -> bool {
    browser::viewport_width().is_some_and(|w| w < NARROW_PX)
}

#[component]
pub fn InboxPage() -> impl IntoView {
    let session = Session::expect();
    let query = use_query_map();
    let params = use_params_map();
    let filters = Memo::new(move |_| query.with(|q| Filters::from_url(q.get_str("status"), q.get_str("assignee"))));
    let selected = Memo::new(move |_| params.with(|p| p.get_str("conversation").and_then(|id| id.parse::<i64>().ok())));
    let me = Memo::new(move |_| session.me.get().and_then(|me| me.ok()).map(|me| me.id));
    let list = Conversations::new(filters);
    // The open conversation as the server last described it (the thread's header).
    let current = RwSignal::new(None::<Conversation>);
    follow_title(move || {
        let lead = selected.get().and(current.with(|c| c.as_ref().map(|c| c.lead.display_name.clone())));
        lead.map_or_else(|| t(k::NAV_INBOX).to_owned(), |name| format!("{name} — {}", t(k::NAV_INBOX)))
    });
    let operators = LocalResource::new(api::operators);
    let operators = Signal::derive(move || {
        operators.with(|o| o.as_ref().and_then(|o| o.as_ref().ok()).cloned()).unwrap_or_default()
    });
    let card_open = RwSignal::new(!is_narrow());
    let now = use_now();

    // The filters live in the URL (the selects navigate, and so do back and forward): each
    // change of the location starts the list again.
    Effect::new(move |_| {
        filters.track();
        list.pages.reload();
    });

    // A changed conversation is fetched again: its row moves, the open thread's header follows.
    let refresh = move |id: i64| {
        spawn_local(async move {
            match api::thread(id).await.map(|thread| thread.conversation) {
                Ok(conversation) => {
                    let shown = filters.with_untracked(|f| f.shows(&conversation, me.get_untracked()));
                    if selected.get_untracked() == Some(id) {
                        current.set(Some(conversation.clone()));
                    }
                    list.changed(conversation, shown);
                }
                Err(error) if error.is_not_found() => list.pages.items.update(|items| items.retain(|c| c.id != id)),
                Err(_) => {}
            }
        });
    };
    if let Some(live) = Live::use_live() {
        live.on_message(move |event| match event {
            LiveEvent::ConversationChanged { conversation_id, .. } => refresh(*conversation_id),
            LiveEvent::LeadRemoved { lead_id } => {
                list.pages.items.update(|items| items.retain(|c| c.lead.id != *lead_id))
            }
            // Its conversations belong to the kept card now.
            LiveEvent::LeadMerged { lead_id, .. }
                if list.pages.items.with_untracked(|items| items.iter().any(|c| c.lead.id == *lead_id)) =>
            {
                list.pages.reload()
            }
            // Presence: each row reads the live map itself (`live::presence_inputs`).
            LiveEvent::LeadChanged { .. }
            | LiveEvent::LeadMerged { .. }
            | LiveEvent::Presence { .. }
            | LiveEvent::JobChanged { .. } => {}
        });
        live.on_reset(move || list.pages.reload());
    }

    // The card can start loading with the list's row, before the thread answers.
    let lead = Memo::new(move |_| {
        let id = selected.get()?;
        current
            .with(|c| c.as_ref().filter(|c| c.id == id).map(|c| c.lead.id))
            .or_else(|| list.pages.items.with(|items| items.iter().find(|c| c.id == id).map(|c| c.lead.id)))
    });

    view! {
        <div
            class="inbox"
            class:inbox--selected=move || selected.get().is_some()
            class:inbox--card-open=move || card_open.get() && lead.get().is_some()
        >
            <ConversationListView list filters selected now/>
            {move || match selected.get() {
                Some(id) => view! { <ConversationThread id current operators now card_open/> }.into_any(),
                None => view! {
                    <section class="thread thread--empty" aria-label=t(k::INBOX_CONVERSATION)>
                        <p class="thread__placeholder">{t(k::INBOX_CHOOSE)}</p>
                    </section>
                }
                .into_any(),
            }}
            {move || lead.get().map(|id| view! {
                <aside class="inbox__card" data-testid="inbox-card" aria-label=t(k::INBOX_LEAD_CARD) hidden=move || !card_open.get()>
                    <LeadCard id/>
                </aside>
            })}
        </div>
    }
}
