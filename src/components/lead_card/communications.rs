//! Talking to the lead from the card: chat, email or pop-up (each refused with the core's reason
//! when the lead cannot be reached that way), the composer, and every conversation with the lead,
//! each continued in the Inbox.

use chrono::{DateTime, Utc};
use leadcard_core::LiveEvent;
use leadcard_core::inbox::{Channel, Channels, Conversation, ConversationStatus};
use leadcard_core::mail::Availability;
use leptos::prelude::*;

use super::state::CardState;
use crate::api::{self, ApiError};
use crate::browser::i18n::{k, t};
use crate::components::composer::Composer;
use crate::components::message::PendingMessages;
use crate::live::Live;
use crate::pending::{self, Target};
use crate::{paths, time};

fn availability(channels: &Channels, channel: Channel) -> &Availability {
    match channel {
        Channel::Chat => &channels.chat,
        Channel::Email => &channels.email,
        Channel::Popup => &channels.popup,
    }
}

#[component]
pub fn CardCommunications(lead: i64, #[prop(into)] now: Signal<DateTime<Utc>>) -> impl IntoView {
    let state = CardState::expect();
    let channel = RwSignal::new(Channel::Chat);
    // The email rules follow the card's address and its status: asked again when they change.
    let address = Memo::new(move |_| state.card.with(|c| (c.subscription.email.clone(), c.subscription.status)));
    let channels = LocalResource::new(move || {
        address.track();
        async move {
            let loaded = api::lead_channels(lead).await;
            if let Ok(loaded) = &loaded {
                // Start on a channel that works, when the chosen one does not.
                let chosen = channel.get_untracked();
                if !availability(loaded, chosen).allowed
                    && let Some(usable) = Channel::ALL.into_iter().find(|c| availability(loaded, *c).allowed)
                {
                    channel.set(usable);
                }
            }
            loaded
        }
    });
    let history = LocalResource::new(move || api::lead_conversations(lead));
    if let Some(live) = Live::use_live() {
        live.on_message(move |event| match event {
            LiveEvent::ConversationChanged { lead_id, .. } if *lead_id == lead => history.refetch(),
            // The lead may have come to the site (chat and pop-up need the widget).
            LiveEvent::LeadChanged { lead_id } if *lead_id == lead => channels.refetch(),
            _ => {}
        });
        live.on_reset(move || {
            channels.refetch();
            history.refetch();
        });
    }
    pending::on_confirmed(move |sent| {
        if sent.conversation.lead.id == lead {
            history.refetch();
        }
    });

    let refusal = Signal::derive(move || {
        let chosen = channel.get();
        channels.with(|c| match c {
            Some(Ok(channels)) => {
                availability(channels, chosen).reason.clone().filter(|_| !availability(channels, chosen).allowed)
            }
            _ => None,
        })
    });
    let target = Signal::derive(move || Target::Lead { id: lead, channel: channel.get() });

    view! {
        <div class="communications" data-testid="card-communications">
            <div class="communications__channels" role="group" aria-label=t(k::CARD_COMMS_CHANNEL)>
                {Channel::ALL
                    .into_iter()
                    .map(|c| {
                        let refused = move || {
                            channels.with(|ch| match ch {
                                Some(Ok(ch)) if !availability(ch, c).allowed => {
                                    Some(availability(ch, c).reason.clone().unwrap_or_default())
                                }
                                _ => None,
                            })
                        };
                        view! {
                            <button
                                type="button"
                                class="communications__channel"
                                data-testid=format!("channel-{}", c.as_str())
                                aria-pressed=move || (channel.get() == c).to_string()
                                disabled=move || refused().is_some()
                                title=move || refused().unwrap_or_default()
                                on:click=move |_| channel.set(c)
                            >
                                {t(c.text())}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            {move || {
                Channel::ALL
                    .into_iter()
                    .filter_map(|c| {
                        channels.with(|ch| match ch {
                            Some(Ok(ch)) if !availability(ch, c).allowed => Some((c, availability(ch, c).reason.clone())),
                            _ => None,
                        })
                    })
                    .map(|(c, reason)| view! {
                        <p class="communications__reason" data-testid="channel-reason" data-channel=c.as_str()>
                            {format!("{}: {}", t(c.text()), reason.unwrap_or_else(|| t(k::CARD_COMMS_NOT_AVAILABLE).to_owned()))}
                        </p>
                    })
                    .collect_view()
            }}
            {move || match channels.get() {
                Some(Err(error)) => Some(view! { <p class="editor__error" role="alert">{error.message}</p> }),
                _ => None,
            }}
            <Composer target channel refusal testid="card-composer"/>
            <ul class="thread__messages communications__pending">
                <PendingMessages target/>
            </ul>
            <h3 class="communications__title">{t(k::CARD_COMMS_CONVERSATIONS)}</h3>
            <ConversationHistory history now/>
        </div>
    }
}

#[component]
fn ConversationHistory(
    history: LocalResource<Result<Vec<Conversation>, ApiError>>,
    now: Signal<DateTime<Utc>>,
) -> impl IntoView {
    view! {
        <div class="conversation-history" data-testid="conversation-history">
            {move || match history.get() {
                None => view! { <p class="events__empty">{t(k::COMMON_LOADING)}</p> }.into_any(),
                Some(Err(error)) => view! { <p class="editor__error" role="alert">{error.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p class="events__empty" data-testid="history-empty">{t(k::CARD_COMMS_NONE)}</p> }.into_any()
                }
                Some(Ok(list)) => view! {
                    <ul class="conversation-history__list">
                        {list.into_iter().map(|c| view! { <HistoryRow conversation=c now/> }).collect_view()}
                    </ul>
                }
                .into_any(),
            }}
        </div>
    }
}

#[component]
fn HistoryRow(conversation: Conversation, now: Signal<DateTime<Utc>>) -> impl IntoView {
    let Conversation { id, channel, status, last_message, last_activity_at, .. } = conversation;
    let at = last_activity_at;
    let preview = last_message.map(|m| m.text).unwrap_or_default();
    view! {
        <li>
            <a
                class="history-row"
                href=paths::conversation_link(id)
                data-testid="history-row"
                data-id=id
                data-channel=channel.as_str()
                data-status=status.as_str()
            >
                <span class="history-row__line">
                    <span class="history-row__channel">{t(channel.text())}</span>
                    <span class=format!("status-chip status-chip--{}", status.as_str())>
                        {match status {
                            ConversationStatus::Open => t(k::INBOX_STATUS_OPEN),
                            ConversationStatus::Closed => t(k::INBOX_STATUS_CLOSED),
                        }}
                    </span>
                    <time class="history-row__time" title=time::local(at)>{move || time::relative(at, now.get())}</time>
                </span>
                <span class="history-row__preview">{preview}</span>
            </a>
        </li>
    }
}
