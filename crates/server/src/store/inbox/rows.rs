//! The Inbox's rows as stored and read back: conversations, messages, the conversation a send
//! goes into, and the reads a write makes inside its transaction.

use leadcard_core::inbox::{
    Author, Channel, Conversation, ConversationLead, ConversationStatus, Delivery, Message, MessagePreview,
    OperatorRef, Sent, SystemEntry, WidgetMessage,
};
use leadcard_core::mail::OutboxStatus;
use sqlx::{AnyConnection, FromRow};

use super::super::sql::Sql;
use super::super::{Backend, StoreError, StoreResult};
use crate::clock::from_ms;

#[derive(FromRow)]
pub(super) struct ConversationRow {
    pub(super) id: i64,
    pub(super) lead_id: i64,
    pub(super) channel: String,
    pub(super) status: String,
    pub(super) assignee_id: Option<i64>,
    pub(super) assignee_name: Option<String>,
    pub(super) unread: i64,
    pub(super) last_message_author: Option<String>,
    pub(super) last_message_text: Option<String>,
    pub(super) last_message_at: Option<i64>,
    pub(super) last_activity_at: i64,
    pub(super) created_at: i64,
    pub(super) lead_name: Option<String>,
    pub(super) lead_email: Option<String>,
    pub(super) avatar_url: Option<String>,
    pub(super) last_heartbeat_at: Option<i64>,
    pub(super) last_active_at: Option<i64>,
}

pub(super) const CONVERSATION_SELECT: &str = "SELECT c.id, c.lead_id, c.channel, c.status, c.assignee_id, \
     a.name AS assignee_name, c.unread, c.last_message_author, c.last_message_text, c.last_message_at, \
     c.last_activity_at, c.created_at, l.name AS lead_name, l.email AS lead_email, l.avatar_url, \
     l.last_heartbeat_at, l.last_active_at \
     FROM conversations c JOIN leads l ON l.id = c.lead_id LEFT JOIN operators a ON a.id = c.assignee_id";

pub(crate) fn parse_channel(raw: &str) -> StoreResult<Channel> {
    Channel::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown channel {raw:?}")))
}

pub(super) fn parse_author(raw: &str) -> StoreResult<Author> {
    Author::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown message author {raw:?}")))
}

impl ConversationRow {
    pub(super) fn into_conversation(self) -> StoreResult<Conversation> {
        let last_message = match (self.last_message_author, self.last_message_at) {
            (Some(author), Some(at)) => Some(MessagePreview {
                author: parse_author(&author)?,
                text: self.last_message_text.unwrap_or_default(),
                at: from_ms(at),
            }),
            _ => None,
        };
        Ok(Conversation {
            id: self.id,
            lead: ConversationLead {
                id: self.lead_id,
                display_name: crate::store::shown_name(
                    self.lead_name.as_deref(),
                    self.lead_email.as_deref(),
                    self.lead_id,
                ),
                email: self.lead_email,
                avatar_url: self.avatar_url,
                last_heartbeat: self.last_heartbeat_at.map(from_ms),
                last_active: self.last_active_at.map(from_ms),
            },
            channel: parse_channel(&self.channel)?,
            status: ConversationStatus::parse(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown conversation status {:?}", self.status)))?,
            assignee: self.assignee_id.zip(self.assignee_name).map(|(id, name)| OperatorRef { id, name }),
            unread: u32::try_from(self.unread.max(0)).unwrap_or(u32::MAX),
            last_message,
            last_activity_at: from_ms(self.last_activity_at),
            created_at: from_ms(self.created_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct MessageRow {
    pub(super) id: i64,
    pub(super) conversation_id: i64,
    pub(super) channel: String,
    pub(super) author: String,
    pub(super) operator_id: Option<i64>,
    pub(super) operator_name: Option<String>,
    pub(super) body: String,
    pub(super) subject: Option<String>,
    pub(super) system_json: Option<String>,
    pub(super) delivery: Option<String>,
    pub(super) emailed_copy: i64,
    pub(super) seen_at: Option<i64>,
    pub(super) created_at: i64,
    pub(super) outbox_status: Option<String>,
    pub(super) idempotency_key: Option<String>,
}

pub(super) const MESSAGE_SELECT: &str = "SELECT m.id, m.conversation_id, m.channel, m.author, m.operator_id, \
     p.name AS operator_name, m.body, m.subject, m.system_json, m.delivery, m.emailed_copy, m.seen_at, \
     m.created_at, o.status AS outbox_status, m.idempotency_key \
     FROM messages m LEFT JOIN operators p ON p.id = m.operator_id LEFT JOIN outbox o ON o.id = m.outbox_id";

pub(super) fn parse_delivery(raw: &str) -> StoreResult<Delivery> {
    match raw {
        "sent" => Ok(Delivery::Sent),
        "delivered" => Ok(Delivery::Delivered),
        "failed" => Ok(Delivery::Failed),
        other => Err(StoreError::Corrupt(format!("unknown delivery {other:?}"))),
    }
}

pub(super) fn delivery_str(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Sent => "sent",
        Delivery::Delivered => "delivered",
        Delivery::Failed => "failed",
    }
}

impl MessageRow {
    /// An operator's email follows its mail in the outbox (queued -> sent, sent -> delivered,
    /// failed or dropped -> failed); a chat message or pop-up is delivered once the widget showed
    /// it, and a chat message also when its mailed copy went out.
    pub(super) fn delivery(&self, author: Author, channel: Channel) -> StoreResult<Option<Delivery>> {
        if author != Author::Operator {
            return Ok(None);
        }
        let stored = self.delivery.as_deref().map(parse_delivery).transpose()?.unwrap_or(Delivery::Sent);
        let outbox = self.outbox_status.as_deref().and_then(OutboxStatus::parse);
        Ok(Some(match (channel, outbox) {
            (Channel::Email, Some(OutboxStatus::Queued | OutboxStatus::Sending)) => Delivery::Sent,
            (Channel::Email, Some(OutboxStatus::Sent)) => Delivery::Delivered,
            (Channel::Email, Some(OutboxStatus::Failed | OutboxStatus::Dropped)) => Delivery::Failed,
            (Channel::Chat, Some(OutboxStatus::Sent)) => Delivery::Delivered,
            _ => stored,
        }))
    }

    pub(super) fn into_message(self) -> StoreResult<Message> {
        let author = parse_author(&self.author)?;
        let channel = parse_channel(&self.channel)?;
        let delivery = self.delivery(author, channel)?;
        let system = match &self.system_json {
            Some(json) => Some(
                serde_json::from_str::<SystemEntry>(json)
                    .map_err(|e| StoreError::Corrupt(format!("system entry of message {}: {e}", self.id)))?,
            ),
            None => None,
        };
        Ok(Message {
            id: self.id,
            conversation_id: self.conversation_id,
            author,
            operator: self.operator_id.zip(self.operator_name).map(|(id, name)| OperatorRef { id, name }),
            body: self.body,
            subject: self.subject,
            system,
            delivery,
            emailed_copy: self.emailed_copy != 0,
            idempotency_key: self.idempotency_key,
            created_at: from_ms(self.created_at),
        })
    }

    pub(super) fn into_widget_message(self) -> StoreResult<WidgetMessage> {
        Ok(WidgetMessage {
            id: self.id,
            conversation_id: self.conversation_id,
            channel: parse_channel(&self.channel)?,
            author: parse_author(&self.author)?,
            operator_name: self.operator_name,
            body: self.body,
            created_at: from_ms(self.created_at),
            seen: self.seen_at.is_some(),
        })
    }
}

/// The conversation a message goes into, as the send reads it.
#[derive(FromRow)]
pub(crate) struct Target {
    pub(crate) id: i64,
    pub(crate) lead_id: i64,
    pub(crate) channel: String,
    pub(crate) status: String,
    pub(crate) first_subject: Option<String>,
    pub(crate) reply_token: String,
}

pub(crate) const TARGET_SELECT: &str =
    "SELECT id, lead_id, channel, status, first_subject, reply_token FROM conversations WHERE ";

pub(crate) async fn target_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Target>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{TARGET_SELECT}id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The lead's newest conversation of a channel with this status.
pub(crate) async fn newest_of(
    conn: &mut AnyConnection,
    lead_id: i64,
    channel: Channel,
    status: ConversationStatus,
) -> StoreResult<Option<Target>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{TARGET_SELECT}lead_id = $1 AND channel = $2 AND status = $3 ORDER BY last_activity_at DESC, id DESC LIMIT 1"
    )))
    .bind(lead_id)
    .bind(channel.as_str())
    .bind(status.as_str())
    .fetch_optional(&mut *conn)
    .await?)
}

/// The message stored under a key: its id, conversation, lead, channel and body.
pub(crate) async fn keyed(conn: &mut AnyConnection, key: &str) -> StoreResult<Option<(i64, i64, i64, String, String)>> {
    Ok(sqlx::query_as("SELECT id, conversation_id, lead_id, channel, body FROM messages WHERE idempotency_key = $1")
        .bind(key.to_owned())
        .fetch_optional(&mut *conn)
        .await?)
}

pub(super) async fn conversation_in(
    conn: &mut AnyConnection,
    backend: Backend,
    id: i64,
) -> StoreResult<Option<Conversation>> {
    let mut sql = Sql::new(backend, CONVERSATION_SELECT);
    sql.push(" WHERE c.id = ").bind(id);
    sql.query_as::<ConversationRow>()
        .fetch_optional(&mut *conn)
        .await?
        .map(ConversationRow::into_conversation)
        .transpose()
}

pub(super) async fn message_in(conn: &mut AnyConnection, backend: Backend, id: i64) -> StoreResult<Option<Message>> {
    let mut sql = Sql::new(backend, MESSAGE_SELECT);
    sql.push(" WHERE m.id = ").bind(id);
    sql.query_as::<MessageRow>().fetch_optional(&mut *conn).await?.map(MessageRow::into_message).transpose()
}

pub(crate) async fn sent_in(
    conn: &mut AnyConnection,
    backend: Backend,
    message_id: i64,
    created: bool,
) -> StoreResult<Sent> {
    let message = message_in(conn, backend, message_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("message {message_id} vanished")))?;
    let conversation = conversation_in(conn, backend, message.conversation_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("conversation {} vanished", message.conversation_id)))?;
    Ok(Sent { conversation, message, created })
}

pub(super) async fn widget_message_in(
    conn: &mut AnyConnection,
    backend: Backend,
    id: i64,
) -> StoreResult<WidgetMessage> {
    let mut sql = Sql::new(backend, MESSAGE_SELECT);
    sql.push(" WHERE m.id = ").bind(id);
    let row: MessageRow = sql.query_as().fetch_one(&mut *conn).await?;
    row.into_widget_message()
}
