//! One entry of a conversation as the Inbox thread and the card show it: a lead's or an
//! operator's message, a system entry, or a send still on its way. Bodies are text: links become
//! `<a>` elements (core's `linkify`), everything else text nodes — never HTML from anyone.

use chrono::{DateTime, Utc};
use leadcard_core::inbox::{Author, Delivery, Message, linkify};
use leptos::prelude::*;

use crate::browser::i18n::{k, t, tf};
use crate::pending::{self, Item};
use crate::time;

/// A message body: text, with links clickable (opening in a new tab, telling the target nothing).
#[component]
pub fn MessageBody(#[prop(into)] body: String) -> impl IntoView {
    let pieces = linkify(&body)
        .into_iter()
        .map(|piece| match piece.href() {
            Some(href) => view! {
                <a href=href target="_blank" rel="noopener noreferrer nofollow">{piece_text(&piece)}</a>
            }
            .into_any(),
            None => piece_text(&piece).into_any(),
        })
        .collect_view();
    view! { <div class="message__body">{pieces}</div> }
}

fn piece_text(piece: &leadcard_core::inbox::Piece<'_>) -> String {
    match piece {
        leadcard_core::inbox::Piece::Text(t) | leadcard_core::inbox::Piece::Link(t) => (*t).to_owned(),
    }
}

/// The `data-delivery` of a stored message.
pub fn delivery_name(delivery: Option<Delivery>) -> &'static str {
    match delivery {
        None => "",
        Some(Delivery::Sent) => "sent",
        Some(Delivery::Delivered) => "delivered",
        Some(Delivery::Failed) => "failed",
    }
}

fn delivery_label(delivery: Option<Delivery>, emailed_copy: bool) -> &'static str {
    match (delivery, emailed_copy) {
        (Some(Delivery::Sent), true) => t(k::MESSAGE_SENT_ALSO_EMAIL),
        (Some(Delivery::Sent), false) => t(k::MESSAGE_SENT),
        (Some(Delivery::Delivered), _) => t(k::MESSAGE_SEEN),
        (Some(Delivery::Failed), _) => t(k::MESSAGE_NOT_DELIVERED),
        (None, _) => "",
    }
}

/// A stored message or system entry. `lead_name` names the lead's messages.
#[component]
pub fn MessageItem(
    message: Message,
    #[prop(into)] lead_name: String,
    #[prop(into)] now: Signal<DateTime<Utc>>,
) -> impl IntoView {
    let Message { id, author, operator, body, subject, system, delivery, emailed_copy, created_at, .. } = message;
    let at = created_at;
    let time = view! {
        <time class="message__time" datetime=at.to_rfc3339() title=time::local(at)>
            {move || time::relative(at, now.get())}
        </time>
    };
    if author == Author::System {
        let text = system.map(|s| crate::browser::i18n::say(&s.message())).unwrap_or_default();
        return view! {
            <li class="message message--system" data-testid="message" data-author="system" data-id=id>
                <span class="message__system">{text}</span>
                {time}
            </li>
        }
        .into_any();
    }
    let who = match author {
        Author::Operator => operator.map(|o| o.name).unwrap_or_else(|| t(k::MESSAGE_OPERATOR).to_owned()),
        _ => lead_name,
    };
    view! {
        <li
            class=format!("message message--{}", author.as_str())
            data-testid="message"
            data-author=author.as_str()
            data-delivery=delivery_name(delivery)
            data-id=id
        >
            <div class="message__meta">
                <span class="message__who">{who}</span>
                {time}
            </div>
            {subject.map(|s| view! { <div class="message__subject">{s}</div> })}
            <MessageBody body/>
            {(author == Author::Operator).then(|| view! {
                <div class="message__delivery">{delivery_label(delivery, emailed_copy)}</div>
            })}
        </li>
    }
    .into_any()
}

/// The sends to `target` the server has not confirmed yet (and the refused ones, with why).
#[component]
pub fn PendingMessages(
    #[prop(into)] target: Signal<pending::Target>,
    /// The idempotency keys of the stored messages shown above: a send whose stored copy arrived
    /// first (over the live stream, before the server's answer) is not shown twice.
    #[prop(optional, into)]
    stored: Option<Signal<Vec<String>>>,
) -> impl IntoView {
    let items = pending::items();
    let mine = Memo::new(move |_| {
        let target = target.get();
        let stored = stored.map(|s| s.get()).unwrap_or_default();
        items.with(|items| {
            items
                .iter()
                .filter(|i| i.send.target == target && (i.refused.is_some() || !stored.contains(&i.send.key)))
                .cloned()
                .collect::<Vec<Item>>()
        })
    });
    view! {
        <For each=move || mine.get() key=|item| (item.send.key.clone(), item.send.attempts, item.refused.clone()) let:item>
            <PendingItem item/>
        </For>
    }
}

#[component]
fn PendingItem(item: Item) -> impl IntoView {
    let Item { send, refused } = item;
    let key = send.key.clone();
    let (delivery, status) = match &refused {
        None if send.attempts == 0 => ("pending", t(k::MESSAGE_SENDING).to_owned()),
        None => ("pending", t(k::MESSAGE_RETRYING).to_owned()),
        Some(reason) => ("failed", tf(k::MESSAGE_NOT_SENT, &[("reason", reason)])),
    };
    let is_refused = refused.is_some();
    view! {
        <li
            class="message message--operator message--pending"
            class:message--refused=is_refused
            data-testid="message"
            data-author="operator"
            data-delivery=delivery
            data-key=send.key.clone()
        >
            {send.subject.map(|s| view! { <div class="message__subject">{s}</div> })}
            <MessageBody body=send.body/>
            <div class="message__delivery" role=is_refused.then_some("alert")>
                {status}
                {is_refused.then(|| view! {
                    <button type="button" class="link-button message__dismiss" on:click=move |_| pending::dismiss(&key)>
                        {t(k::MESSAGE_DISMISS)}
                    </button>
                })}
            </div>
        </li>
    }
}
