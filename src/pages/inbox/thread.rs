//! One conversation: its header (lead, channel, status, assignee, close / reopen), its messages
//! oldest first (older ones loaded on scrolling up, new ones fetched when the conversation changes
//! live), the sends still pending, and the composer. A thread shown with unread messages is
//! marked read.

use chrono::{DateTime, Utc};
use leadcard_core::LiveEvent;
use leadcard_core::inbox::{Channel, Conversation, ConversationStatus, DEFAULT_MESSAGES_PAGE, Message, OperatorRef};
use leptos::html::Ol;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::browser::i18n::{k, t};
use crate::components::composer::Composer;
use crate::components::error_notice::ErrorNotice;
use crate::components::message::{MessageItem, PendingMessages};
use crate::components::presence_badge::PresenceBadge;
use crate::live::Live;
use crate::paged::{Page, Paged};
use crate::paths;
use crate::pending::{self, Target};

/// Scrolling this close to the top loads older messages.
const LOAD_MARGIN_PX: i32 = 48;
/// Within this of the bottom, new messages keep the thread scrolled to the end.
const STICK_MARGIN_PX: i32 = 96;

/// The thread's messages, oldest first; older pages come before the first shown.
#[derive(Clone, Copy)]
struct ThreadState {
    id: i64,
    messages: Paged<Message>,
    scroller: NodeRef<Ol>,
    /// A fetch of newer messages is on its way; `again`: another change came meanwhile.
    newer_busy: StoredValue<bool>,
    newer_again: StoredValue<bool>,
}

impl ThreadState {
    /// The first page is the conversation with its newest messages (the header follows it); the
    /// next pages are the messages before the first one shown.
    fn new(id: i64, current: RwSignal<Option<Conversation>>) -> Self {
        let first_id = |messages: &[Message]| messages.first().map(|m| m.id.to_string());
        let messages = Paged::new(move |before: Option<String>| async move {
            match before.and_then(|b| b.parse::<i64>().ok()) {
                None => {
                    let thread = api::thread(id).await?;
                    current.set(Some(thread.conversation));
                    let next = first_id(&thread.messages).filter(|_| thread.more_before);
                    Ok(Page { items: thread.messages, next })
                }
                Some(before) => {
                    let page = api::messages(id, Some(before), None).await?;
                    let next = first_id(&page.items).filter(|_| page.more_before);
                    Ok(Page { items: page.items, next })
                }
            }
        })
        .sorted_by(|a, b| a.id.cmp(&b.id));
        Self {
            id,
            messages,
            scroller: NodeRef::new(),
            newer_busy: StoredValue::new(false),
            newer_again: StoredValue::new(false),
        }
    }

    fn near_bottom(self) -> bool {
        self.scroller
            .get_untracked()
            .is_none_or(|el| el.scroll_height() - el.scroll_top() - el.client_height() < STICK_MARGIN_PX)
    }

    fn scroll_to_end(self) {
        request_animation_frame(move || {
            if let Some(el) = self.scroller.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }

    /// Loads the newest messages (again), then shows the end of the thread.
    fn load(self) {
        spawn_local(async move {
            if self.messages.load_first().await {
                self.scroll_to_end();
            }
        });
    }

    /// Fetches what came after the last message shown.
    fn fetch_newer(self) {
        if self.newer_busy.get_value() {
            self.newer_again.set_value(true);
            return;
        }
        let Some(Some(last)) = self.messages.items.try_with_untracked(|m| m.last().map(|m| m.id)) else { return };
        self.newer_busy.set_value(true);
        spawn_local(async move {
            let mut after = last;
            loop {
                let stick = self.near_bottom();
                let Ok(page) = api::messages(self.id, None, Some(after)).await else { break };
                let full = page.items.len() >= DEFAULT_MESSAGES_PAGE as usize;
                after = page.items.last().map_or(after, |m| m.id);
                if self.messages.items.try_with_untracked(|_| ()).is_none() {
                    return;
                }
                self.messages.merge(page.items);
                if stick {
                    self.scroll_to_end();
                }
                let again = self.newer_again.try_get_value() == Some(true);
                if !full && !again {
                    break;
                }
                self.newer_again.try_set_value(false);
            }
            self.newer_busy.try_set_value(false);
        });
    }

    /// Loads the messages before the first one shown; the messages read stay where they were.
    fn load_older(self) {
        if self.messages.loading.get_untracked() {
            return;
        }
        let kept_from_end = self.scroller.get_untracked().map(|el| el.scroll_height() - el.scroll_top());
        spawn_local(async move {
            if self.messages.fetch_more().await
                && let Some(kept) = kept_from_end
            {
                let scroller = self.scroller;
                request_animation_frame(move || {
                    if let Some(el) = scroller.get_untracked() {
                        el.set_scroll_top(el.scroll_height() - kept);
                    }
                });
            }
        });
    }
}

#[component]
pub fn ConversationThread(
    id: i64,
    current: RwSignal<Option<Conversation>>,
    operators: Signal<Vec<OperatorRef>>,
    now: Signal<DateTime<Utc>>,
    card_open: RwSignal<bool>,
) -> impl IntoView {
    let thread = ThreadState::new(id, current);
    let shown = Memo::new(move |_| current.get().filter(|c| c.id == id));
    thread.load();

    if let Some(live) = Live::use_live() {
        live.on_message(move |event| match event {
            LiveEvent::ConversationChanged { conversation_id, message_id: Some(_), .. } if *conversation_id == id => {
                thread.fetch_newer()
            }
            // No new message: a delivery changed (the widget showed one), or the status did.
            LiveEvent::ConversationChanged { conversation_id, message_id: None, .. } if *conversation_id == id => {
                thread.messages.refresh()
            }
            _ => {}
        });
        live.on_reset(move || thread.load());
    }
    // This page's own sends show as stored as soon as the server confirms them.
    pending::on_confirmed(move |sent| {
        if sent.message.conversation_id == id {
            thread.messages.merge(vec![sent.message.clone()]);
            current.set(Some(sent.conversation.clone()));
            thread.scroll_to_end();
        }
    });
    // Shown with unread messages: read now (one mark at a time).
    let mark_read = Action::new_local(move |&(): &()| async move {
        if let Ok(read) = api::mark_read(id).await {
            current.update(|c| {
                if c.as_ref().is_some_and(|c| c.id == id) {
                    *c = Some(read);
                }
            });
        }
    });
    let reading = mark_read.pending();
    Effect::new(move |_| {
        let unread = shown.with(|c| c.as_ref().map_or(0, |c| c.unread));
        if unread > 0 && !reading.get_untracked() {
            mark_read.dispatch(());
        }
    });

    let change = Action::new_local(move |change: &Change| {
        let change = *change;
        async move {
            let answer = match change {
                Change::Assign(operator) => api::assign(id, operator).await,
                Change::Close => api::close_conversation(id).await,
                Change::Reopen => api::reopen_conversation(id).await,
            };
            answer.map(|conversation| {
                current.set(Some(conversation));
                thread.fetch_newer();
            })
        }
    });
    let act = move |to: Change| {
        change.dispatch(to);
    };
    let changing = change.pending();
    // The last change's refusal, until the next change is under way.
    let action_error = Memo::new(move |_| {
        if changing.get() {
            return None;
        }
        change.value().with(|answer| answer.as_ref().and_then(|r| r.as_ref().err()).cloned())
    });
    let channel = Signal::derive(move || shown.with(|c| c.as_ref().map_or(Channel::Chat, |c| c.channel)));
    let target = Signal::derive(move || Target::Conversation { id });
    let stored_keys = Signal::derive(move || {
        thread.messages.items.with(|m| m.iter().filter_map(|m| m.idempotency_key.clone()).collect::<Vec<_>>())
    });
    let lead_name =
        Memo::new(move |_| shown.with(|c| c.as_ref().map(|c| c.lead.display_name.clone()).unwrap_or_default()));
    let on_scroll = move |_| {
        if thread.scroller.get_untracked().is_some_and(|el| el.scroll_top() < LOAD_MARGIN_PX) {
            thread.load_older();
        }
    };

    view! {
        <section class="thread" data-testid="thread" data-id=id aria-label=t(k::INBOX_CONVERSATION)>
            <header class="thread__header">
                <a class="thread__back" href=paths::INBOX>{t(k::INBOX_BACK)}</a>
                {move || shown.get().map(|c| view! { <ThreadHeader conversation=c operators now on_action=act/> })}
                <button
                    type="button"
                    class="button button--ghost thread__toggle-card"
                    data-testid="toggle-card"
                    aria-expanded=move || card_open.get().to_string()
                    on:click=move |_| card_open.update(|open| *open = !*open)
                >
                    {move || if card_open.get() { t(k::INBOX_HIDE_CARD) } else { t(k::INBOX_SHOW_CARD) }}
                </button>
            </header>
            {move || action_error.get().map(|error| view! { <ErrorNotice error/> })}
            {move || thread.messages.error.get().map(|error| view! { <ErrorNotice error/> })}
            // A log: a screen reader announces the messages that arrive.
            <div class="thread__log" role="log" aria-label=t(k::INBOX_MESSAGES)>
            <ol class="thread__messages" node_ref=thread.scroller on:scroll=on_scroll>
                {move || thread.messages.next.with(Option::is_some).then(|| view! {
                    <li class="thread__older">
                        <button
                            type="button"
                            class="button button--ghost"
                            data-testid="thread-older"
                            disabled=move || thread.messages.loading.get()
                            on:click=move |_| thread.load_older()
                        >
                            {move || if thread.messages.loading.get() { t(k::COMMON_LOADING) } else { t(k::INBOX_LOAD_OLDER) }}
                        </button>
                    </li>
                })}
                <For each=move || thread.messages.items.get() key=|m| (m.id, m.delivery.map(|d| d as u8)) let:message>
                    <MessageItem message lead_name=lead_name.get_untracked() now/>
                </For>
                <PendingMessages target stored=stored_keys/>
            </ol>
            </div>
            <Composer target channel/>
        </section>
    }
}

/// What the thread's header changes.
#[derive(Debug, Clone, Copy)]
enum Change {
    Assign(Option<i64>),
    Close,
    Reopen,
}

#[component]
fn ThreadHeader(
    conversation: Conversation,
    operators: Signal<Vec<OperatorRef>>,
    now: Signal<DateTime<Utc>>,
    on_action: impl Fn(Change) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let Conversation { lead, channel, status, assignee, .. } = conversation;
    let assigned = assignee.as_ref().map(|a| a.id.to_string()).unwrap_or_default();
    // The assignee may not be among the operators loaded (yet).
    let assignee_option = assignee.clone();
    view! {
        <div class="thread__title">
            <a class="thread__lead" href=paths::lead(lead.id) data-testid="thread-lead">{lead.display_name.clone()}</a>
            <PresenceBadge lead=lead.id now last_heartbeat=lead.last_heartbeat last_active=lead.last_active/>
            <span class="thread__channel" data-testid="thread-channel">{t(channel.text())}</span>
            <span class=format!("status-chip status-chip--{}", status.as_str()) data-testid="thread-status">
                {match status {
                    ConversationStatus::Open => t(k::INBOX_STATUS_OPEN),
                    ConversationStatus::Closed => t(k::INBOX_STATUS_CLOSED),
                }}
            </span>
        </div>
        <div class="thread__actions">
            <select
                class="select"
                data-testid="assign"
                aria-label=t(k::INBOX_ASSIGNEE)
                prop:value=move || {
                    operators.track();
                    assigned.clone()
                }
                on:change=move |ev| on_action(Change::Assign(event_target_value(&ev).parse::<i64>().ok()))
            >
                <option value="">{t(k::INBOX_UNASSIGNED)}</option>
                {move || {
                    let mut list = operators.get();
                    if let Some(a) = assignee_option.clone().filter(|a| !list.iter().any(|o| o.id == a.id)) {
                        list.push(a);
                    }
                    list.into_iter().map(|o| view! { <option value=o.id.to_string()>{o.name}</option> }).collect_view()
                }}
            </select>
            {match status {
                ConversationStatus::Open => view! {
                    <button
                        type="button"
                        class="button button--secondary"
                        data-testid="close-conversation"
                        on:click=move |_| on_action(Change::Close)
                    >
                        {t(k::INBOX_CLOSE)}
                    </button>
                }
                .into_any(),
                ConversationStatus::Closed => view! {
                    <button
                        type="button"
                        class="button button--secondary"
                        data-testid="reopen-conversation"
                        on:click=move |_| on_action(Change::Reopen)
                    >
                        {t(k::INBOX_REOPEN)}
                    </button>
                }
                .into_any(),
            }}
        </div>
    }
}
