//! Sending an operator's message (the Inbox's reply and the card's "write by chat, email or
//! pop-up"): the use case above the store. In one transaction under the lead's write lock it
//! checks the idempotency key, decides whether the channel may be used now (core's `may_use`),
//! picks or opens the conversation (reopening a closed one), queues the mail an email or a chat
//! copy needs, and stores the message with its conversation's preview and counters.

use chrono::{DateTime, Utc};
use leadcard_core::inbox::{
    self, Author, CHAT_COPY_DELAY, Channel, ChannelFacts, CheckedMessage, ConversationStatus, OperatorRef, Sent,
    SystemEntry,
};

use crate::clock::to_ms;
use crate::store::inbox::writes::{
    NewRow, Unread, insert_message, is_unique_violation, lead_facts, lock_lead, new_conversation, project_name,
    system_entry, touch,
};
use crate::store::inbox::{keyed, newest_of, parse_channel, sent_in, target_by_id};
use crate::store::{self, Store, StoreResult, queue_conversation_mail};

/// Where an operator's message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendTarget {
    /// A reply in this conversation (its channel).
    Conversation(i64),
    /// From the card: the lead's newest open conversation of the channel, or a new one.
    Lead { lead_id: i64, channel: Channel },
}

/// An operator's message, checked by the core.
#[derive(Debug, Clone, Copy)]
pub struct OperatorSend<'a> {
    pub target: SendTarget,
    pub operator: &'a OperatorRef,
    pub message: &'a CheckedMessage,
    /// The domain of reply addresses (`reply+<token>@<domain>`).
    pub reply_domain: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Stored (or, with `created: false`, stored before under this key). `mailed`: a mail was
    /// queued with it.
    Sent {
        sent: Box<Sent>,
        lead_id: i64,
        mailed: bool,
    },
    NotFound,
    /// The channel may not be used now (`may_use`); nothing was stored.
    Refused {
        channel: Channel,
        reason: leadcard_core::locale::Message,
    },
    /// The key was used for another message.
    KeyConflict,
}

/// Stores an operator's message and queues what it sends: an email, or a chat message's
/// copy when the lead is away (due after [`CHAT_COPY_DELAY`], dropped if the widget shows
/// the message first). A key used before returns that message and sends nothing.
pub async fn operator_message(store: &Store, send: OperatorSend<'_>, now: DateTime<Utc>) -> StoreResult<SendOutcome> {
    // Two sends with one key for different leads meet only at the unique index: the one
    // that loses finds the winner's message on its second try.
    match try_operator_message(store, send, now).await {
        Err(e) if is_unique_violation(&e) => try_operator_message(store, send, now).await,
        other => other,
    }
}

async fn try_operator_message(store: &Store, send: OperatorSend<'_>, now: DateTime<Utc>) -> StoreResult<SendOutcome> {
    let backend = store.backend();
    let at = to_ms(now);
    let mut tx = store.begin_write().await?;
    let (lead_id, existing) = match send.target {
        SendTarget::Conversation(id) => match target_by_id(&mut tx, id).await? {
            Some(target) => (target.lead_id, Some(target)),
            None => return Ok(SendOutcome::NotFound),
        },
        SendTarget::Lead { lead_id, .. } => (lead_id, None),
    };
    if !lock_lead(&mut tx, lead_id).await? {
        return Ok(SendOutcome::NotFound);
    }
    let key = &send.message.idempotency_key;
    if let Some((id, conversation_id, stored_lead, channel, body)) = keyed(&mut tx, key).await? {
        let same_place = match send.target {
            SendTarget::Conversation(target) => conversation_id == target,
            SendTarget::Lead { lead_id, channel: wanted } => stored_lead == lead_id && channel == wanted.as_str(),
        };
        if !same_place || body != send.message.body {
            return Ok(SendOutcome::KeyConflict);
        }
        let sent = sent_in(&mut tx, backend, id, false).await?;
        tx.commit().await?;
        return Ok(SendOutcome::Sent { sent: Box::new(sent), lead_id, mailed: false });
    }
    let Some(facts) = lead_facts(&mut tx, lead_id, now).await? else {
        return Ok(SendOutcome::NotFound);
    };
    let settings = store::email_settings_in(&mut tx).await?;
    let channel = match (&existing, send.target) {
        (Some(target), _) => parse_channel(&target.channel)?,
        (None, SendTarget::Lead { channel, .. }) => channel,
        (None, SendTarget::Conversation(_)) => return Ok(SendOutcome::NotFound),
    };
    let channel_facts = ChannelFacts { has_visitor: facts.has_visitor, address: facts.address.as_ref() };
    if let Err(refusal) = inbox::may_use(channel, channel_facts, &settings, now) {
        return Ok(SendOutcome::Refused { channel, reason: refusal.message() });
    }
    let target = match existing {
        Some(target) => target,
        None => match newest_of(&mut tx, lead_id, channel, ConversationStatus::Open).await? {
            Some(target) => target,
            None => new_conversation(&mut tx, lead_id, channel, at).await?,
        },
    };
    if target.status == ConversationStatus::Closed.as_str() {
        let entry = SystemEntry::Reopened { by: Some(send.operator.name.clone()) };
        system_entry(&mut tx, backend, &target, &entry, at).await?;
    }

    let project = project_name(&mut tx).await?;
    let reply_to = format!("reply+{}@{}", target.reply_token, send.reply_domain);
    let body = send.message.body.as_str();
    let mut subject = None;
    let mut outbox_id = None;
    let mut emailed_copy = false;
    match (channel, facts.email.as_deref()) {
        (Channel::Email, Some(to)) => {
            let line = inbox::email_subject(
                facts.language,
                send.message.subject.as_deref(),
                target.first_subject.as_deref(),
                &project,
            );
            if target.first_subject.is_none() {
                sqlx::query("UPDATE conversations SET first_subject = $1 WHERE id = $2")
                    .bind(line.clone())
                    .bind(target.id)
                    .execute(&mut *tx)
                    .await?;
            }
            outbox_id = Some(queue_conversation_mail(&mut tx, lead_id, to, &line, body, &reply_to, at, at).await?);
            subject = Some(line);
        }
        (Channel::Chat, Some(to))
            if inbox::chat_copy_by_email(facts.presence, facts.address.as_ref(), &settings, now) =>
        {
            let (line, text) = inbox::chat_copy(facts.language, &send.operator.name, &project, body);
            let due = to_ms(now + CHAT_COPY_DELAY);
            outbox_id = Some(queue_conversation_mail(&mut tx, lead_id, to, &line, &text, &reply_to, due, at).await?);
            emailed_copy = true;
        }
        _ => {}
    }
    let id = insert_message(
        &mut tx,
        backend,
        NewRow {
            conversation_id: target.id,
            lead_id,
            channel,
            author: Author::Operator,
            operator_id: Some(send.operator.id),
            body,
            subject: subject.as_deref(),
            system: None,
            emailed_copy,
            outbox_id,
            key: Some(key.clone()),
            at,
        },
    )
    .await?;
    touch(&mut tx, backend, target.id, Author::Operator, body, at, Unread::Clear).await?;
    let sent = sent_in(&mut tx, backend, id, true).await?;
    tx.commit().await?;
    let mailed = channel == Channel::Email && outbox_id.is_some();
    if mailed {
        store.mail_queued().notify_one();
    }
    Ok(SendOutcome::Sent { sent: Box::new(sent), lead_id, mailed })
}
