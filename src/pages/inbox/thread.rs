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

use crate::api::{self, ApiError};
use crate::components::composer::Composer;
use crate::components::error_notice::ErrorNotice;
use crate::components::message::{MessageItem, PendingMessages};
use crate::components::presence_badge::PresenceBadge;
use crate::live::Live;
use crate::paths;
use crate::pending::{self, Target};

/// Scrolling this close to the top loads older messages.
const LOAD_MARGIN_PX: i32 = 48;
/// Within this of the bottom, new messages keep the thread scrolled to the end.
const STICK_MARGIN_PX: i32 = 96;

/// Adds `new` to `list`, once each, in id order (the order they were written).
pub fn merge(list: &mut Vec<Message>, new: Vec<Message>) {
    for message in new {
        match list.iter_mut().find(|m| m.id == message.id) {
            Some(known) => *known = message,
            None => list.push(message),
        }
    }
    list.sort_by_key(|m| m.id);
}

#[derive(Clone, Copy)]
struct ThreadState {
    id: i64,
    messages: RwSignal<Vec<Message>>,
    more_before: RwSignal<bool>,
    loading_older: RwSignal<bool>,
    loaded: RwSignal<bool>,
    error: RwSignal<Option<ApiError>>,
    scroller: NodeRef<Ol>,
    /// A fetch of newer messages is on its way; `again`: another change came meanwhile.
    newer_busy: StoredValue<bool>,
    newer_again: StoredValue<bool>,
}

impl ThreadState {
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

    fn load(self, current: RwSignal<Option<Conversation>>) {
        spawn_local(async move {
            match api::thread(self.id).await {
                Ok(thread) => {
                    current.try_set(Some(thread.conversation));
                    self.messages.try_update(|m| {
                        m.clear();
                        merge(m, thread.messages);
                    });
                    self.more_before.try_set(thread.more_before);
                    self.error.try_set(None);
                    self.scroll_to_end();
                }
                Err(error) => {
                    self.error.try_set(Some(error));
                }
            }
            self.loaded.try_set(true);
        });
    }

    /// Fetches the newest page again: messages shown may have changed (delivered, seen).
    fn refresh_last(self) {
        spawn_local(async move {
            if let Ok(thread) = api::thread(self.id).await {
                self.messages.try_update(|m| merge(m, thread.messages));
            }
        });
    }

    /// Fetches what came after the last message shown.
    fn fetch_newer(self) {
        if self.newer_busy.get_value() {
            self.newer_again.set_value(true);
            return;
        }
        let Some(Some(last)) = self.messages.try_with_untracked(|m| m.last().map(|m| m.id)) else { return };
        self.newer_busy.set_value(true);
        spawn_local(async move {
            let mut after = last;
            loop {
                let stick = self.near_bottom();
                let Ok(page) = api::messages(self.id, None, Some(after)).await else { break };
                let full = page.items.len() >= DEFAULT_MESSAGES_PAGE as usize;
                after = page.items.last().map_or(after, |m| m.id);
                if self.messages.try_update(|m| merge(m, page.items)).is_none() {
                    return;
                }
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

    fn load_older(self) {
        if !self.more_before.get_untracked() || self.loading_older.get_untracked() {
            return;
        }
        let Some(first) = self.messages.with_untracked(|m| m.first().map(|m| m.id)) else { return };
        self.loading_older.set(true);
        spawn_local(async move {
            let kept_from_end = self.scroller.get_untracked().map(|el| el.scroll_height() - el.scroll_top());
            match api::messages(self.id, Some(first), None).await {
                Ok(page) => {
                    self.messages.try_update(|m| merge(m, page.items));
                    self.more_before.try_set(page.more_before);
                    // The messages read stay where they were on screen.
                    if let Some(kept) = kept_from_end {
                        let scroller = self.scroller;
                        request_animation_frame(move || {
                            if let Some(el) = scroller.get_untracked() {
                                el.set_scroll_top(el.scroll_height() - kept);
                            }
                        });
                    }
                }
                Err(error) => {
                    self.error.try_set(Some(error));
                }
            }
            self.loading_older.try_set(false);
        });
    }
}

#[component]
pub fn ConversationThread(
    id: i64,
    current: RwSignal<Option<Conversation>>,
    operators: RwSignal<Vec<OperatorRef>>,
    now: Signal<DateTime<Utc>>,
    card_open: RwSignal<bool>,
) -> impl IntoView {
    let thread = ThreadState {
        id,
        messages: RwSignal::new(Vec::new()),
        more_before: RwSignal::new(false),
        loading_older: RwSignal::new(false),
        loaded: RwSignal::new(false),
        error: RwSignal::new(None),
        scroller: NodeRef::new(),
        newer_busy: StoredValue::new(false),
        newer_again: StoredValue::new(false),
    };
    let action_error = RwSignal::new(None::<ApiError>);
    let shown = Memo::new(move |_| current.get().filter(|c| c.id == id));
    thread.load(current);

    if let Some(live) = Live::use_live() {
        live.on_message(move |event| match event {
            LiveEvent::ConversationChanged { conversation_id, message_id: Some(_), .. } if *conversation_id == id => {
                thread.fetch_newer()
            }
            // No new message: a delivery changed (the widget showed one), or the status did.
            LiveEvent::ConversationChanged { conversation_id, message_id: None, .. } if *conversation_id == id => {
                thread.refresh_last()
            }
            _ => {}
        });
        live.on_reset(move || thread.load(current));
    }
    // This page's own sends show as stored as soon as the server confirms them.
    let confirmed = pending::confirmed();
    let before = confirmed.with_untracked(|s| s.as_ref().map(|s| s.message.id));
    Effect::new(move |_| {
        let sent = confirmed.get().filter(|s| s.message.conversation_id == id && Some(s.message.id) != before);
        if let Some(sent) = sent {
            thread.messages.update(|m| merge(m, vec![sent.message]));
            current.set(Some(sent.conversation));
            thread.scroll_to_end();
        }
    });
    // Shown with unread messages: read now.
    let reading = StoredValue::new(false);
    Effect::new(move |_| {
        let unread = shown.with(|c| c.as_ref().map_or(0, |c| c.unread));
        if unread > 0 && !reading.get_value() {
            reading.set_value(true);
            spawn_local(async move {
                if let Ok(read) = api::mark_read(id).await {
                    current.try_update(|c| {
                        if c.as_ref().is_some_and(|c| c.id == id) {
                            *c = Some(read);
                        }
                    });
                }
                reading.try_set_value(false);
            });
        }
    });

    let act = move |action: Action| {
        action_error.set(None);
        spawn_local(async move {
            let answer = match action {
                Action::Assign(operator) => api::assign(id, operator).await,
                Action::Close => api::close_conversation(id).await,
                Action::Reopen => api::reopen_conversation(id).await,
            };
            match answer {
                Ok(conversation) => {
                    current.try_set(Some(conversation));
                    thread.fetch_newer();
                }
                Err(error) => {
                    action_error.try_set(Some(error));
                }
            }
        });
    };
    let channel = Signal::derive(move || shown.with(|c| c.as_ref().map_or(Channel::Chat, |c| c.channel)));
    let target = Signal::derive(move || Target::Conversation { id });
    let lead_name =
        Memo::new(move |_| shown.with(|c| c.as_ref().map(|c| c.lead.display_name.clone()).unwrap_or_default()));
    let on_scroll = move |_| {
        if thread.scroller.get_untracked().is_some_and(|el| el.scroll_top() < LOAD_MARGIN_PX) {
            thread.load_older();
        }
    };

    view! {
        <section class="thread" data-testid="thread" data-id=id aria-label="Conversation">
            <header class="thread__header">
                <a class="thread__back" href=paths::INBOX>"← All conversations"</a>
                {move || shown.get().map(|c| view! { <ThreadHeader conversation=c operators now on_action=act/> })}
                <button
                    type="button"
                    class="button button--ghost thread__toggle-card"
                    data-testid="toggle-card"
                    aria-expanded=move || card_open.get().to_string()
                    on:click=move |_| card_open.update(|open| *open = !*open)
                >
                    {move || if card_open.get() { "Hide card" } else { "Show card" }}
                </button>
            </header>
            {move || action_error.get().map(|error| view! { <ErrorNotice error/> })}
            {move || thread.error.get().map(|error| view! { <ErrorNotice error/> })}
            <ol class="thread__messages" node_ref=thread.scroller on:scroll=on_scroll>
                {move || thread.more_before.get().then(|| view! {
                    <li class="thread__older">
                        <button
                            type="button"
                            class="button button--ghost"
                            data-testid="thread-older"
                            disabled=move || thread.loading_older.get()
                            on:click=move |_| thread.load_older()
                        >
                            {move || if thread.loading_older.get() { "Loading…" } else { "Load older messages" }}
                        </button>
                    </li>
                })}
                <For each=move || thread.messages.get() key=|m| (m.id, m.delivery.map(|d| d as u8)) let:message>
                    <MessageItem message lead_name=lead_name.get_untracked() now/>
                </For>
                <PendingMessages target/>
            </ol>
            <Composer target channel/>
        </section>
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Assign(Option<i64>),
    Close,
    Reopen,
}

#[component]
fn ThreadHeader(
    conversation: Conversation,
    operators: RwSignal<Vec<OperatorRef>>,
    now: Signal<DateTime<Utc>>,
    on_action: impl Fn(Action) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let Conversation { lead, channel, status, assignee, .. } = conversation;
    let assigned = assignee.as_ref().map(|a| a.id.to_string()).unwrap_or_default();
    // The assignee may not be among the operators loaded (yet).
    let assignee_option = assignee.clone();
    view! {
        <div class="thread__title">
            <a class="thread__lead" href=paths::lead(lead.id) data-testid="thread-lead">{lead.display_name.clone()}</a>
            <PresenceBadge now last_heartbeat=lead.last_heartbeat last_active=lead.last_active/>
            <span class="thread__channel" data-testid="thread-channel">{channel.label()}</span>
            <span class=format!("status-chip status-chip--{}", status.as_str()) data-testid="thread-status">
                {match status {
                    ConversationStatus::Open => "Open",
                    ConversationStatus::Closed => "Closed",
                }}
            </span>
        </div>
        <div class="thread__actions">
            <select
                class="select"
                data-testid="assign"
                aria-label="Assignee"
                prop:value=move || {
                    operators.track();
                    assigned.clone()
                }
                on:change=move |ev| on_action(Action::Assign(event_target_value(&ev).parse::<i64>().ok()))
            >
                <option value="">"Unassigned"</option>
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
                        on:click=move |_| on_action(Action::Close)
                    >
                        "Close"
                    </button>
                }
                .into_any(),
                ConversationStatus::Closed => view! {
                    <button
                        type="button"
                        class="button button--secondary"
                        data-testid="reopen-conversation"
                        on:click=move |_| on_action(Action::Reopen)
                    >
                        "Reopen"
                    </button>
                }
                .into_any(),
            }}
        </div>
    }
}
