//! The Inbox: conversations with a lead and their messages. Every message is written in one
//! transaction with what it changes — the conversation's preview, activity time, unread count,
//! a reopening system entry, and the outbox row of its mail — under the lead's write lock, so
//! sends for one lead (and two sends with one idempotency key) happen one after the other.

use chrono::{DateTime, Utc};
use leadcard_core::inbox::{
    self, Author, CHAT_COPY_DELAY, CONVERSATION_MAIL, Channel, ChannelFacts, Channels, CheckedMessage, Conversation,
    ConversationLead, ConversationPage, ConversationStatus, Delivery, Message, MessagePage, MessagePreview,
    OperatorRef, Sent, SystemEntry, Thread, WidgetMessage,
};
use leadcard_core::mail::OutboxStatus;
use leadcard_core::property::display_name;
use leadcard_core::{AddressState, EmailAddress, Presence, normalize_email};
use sqlx::{AnyConnection, FromRow};

use super::addresses::read_state;
use super::settings::email_settings_in;
use super::sql::{Sql, Value};
use super::tracking::random_key;
use super::{Backend, Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

/// Newest messages a thread opens with.
pub const THREAD_MESSAGES: u32 = inbox::DEFAULT_MESSAGES_PAGE;
/// Most messages the widget is given at once.
pub const WIDGET_MESSAGES: i64 = 200;
/// The widget's keys are kept apart from the page's: a page key never has a colon.
const WIDGET_KEY_PREFIX: &str = "w:";
const MAILED_KEY_PREFIX: &str = "m:";

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
        reason: String,
    },
    /// The key was used for another message.
    KeyConflict,
}

/// A message the lead wrote in the widget.
#[derive(Debug, Clone, PartialEq)]
pub enum WidgetSendOutcome {
    Sent { message: WidgetMessage, lead_id: i64, created: bool },
    KeyConflict,
}

/// A reply mailed by the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    /// Stored in the conversation (`None`: this Message-ID was stored before).
    Stored { conversation_id: i64, lead_id: i64, message_id: Option<i64> },
    /// No conversation has this reply token.
    UnknownToken,
    /// The sender is not the conversation's lead.
    WrongSender,
}

/// A conversation changed by an operator's action, and the system entry it wrote (none when
/// nothing changed).
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub conversation: Conversation,
    pub entry: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssignOutcome {
    Done(Box<Changed>),
    NotFound,
    UnknownOperator,
}

/// Which conversations the list shows by assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Any,
    Operator(i64),
    Unassigned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationQuery {
    pub status: Option<ConversationStatus>,
    pub assignee: AssigneeFilter,
    pub lead_id: Option<i64>,
    /// `(last_activity_at ms, id)` of the last conversation of the previous page.
    pub after: Option<(i64, i64)>,
    pub limit: u32,
}

/// The list's cursor: the last conversation's activity time and id.
pub fn conversation_cursor(activity_ms: i64, id: i64) -> String {
    format!("{activity_ms}.{id}")
}

pub fn parse_conversation_cursor(raw: &str) -> Option<(i64, i64)> {
    let (at, id) = raw.split_once('.')?;
    Some((at.parse().ok()?, id.parse().ok()?))
}

/// A conversation for the demo: its messages in order (author, body, minutes before now).
#[derive(Debug, Clone)]
pub struct SeedConversation {
    pub lead_id: i64,
    pub channel: Channel,
    pub closed_by: Option<OperatorRef>,
    pub assignee: Option<OperatorRef>,
    pub subject: Option<String>,
    /// `(operator or None for the lead, body, minutes ago)`, oldest first.
    pub messages: Vec<(Option<OperatorRef>, String, i64)>,
    /// The lead's last messages not read yet.
    pub unread: u32,
}

#[derive(FromRow)]
struct ConversationRow {
    id: i64,
    lead_id: i64,
    channel: String,
    status: String,
    assignee_id: Option<i64>,
    assignee_name: Option<String>,
    unread: i64,
    last_message_author: Option<String>,
    last_message_text: Option<String>,
    last_message_at: Option<i64>,
    last_activity_at: i64,
    created_at: i64,
    lead_name: Option<String>,
    lead_email: Option<String>,
    avatar_url: Option<String>,
    last_heartbeat_at: Option<i64>,
    last_active_at: Option<i64>,
}

const CONVERSATION_SELECT: &str = "SELECT c.id, c.lead_id, c.channel, c.status, c.assignee_id, \
     a.name AS assignee_name, c.unread, c.last_message_author, c.last_message_text, c.last_message_at, \
     c.last_activity_at, c.created_at, l.name AS lead_name, l.email AS lead_email, l.avatar_url, \
     l.last_heartbeat_at, l.last_active_at \
     FROM conversations c JOIN leads l ON l.id = c.lead_id LEFT JOIN operators a ON a.id = c.assignee_id";

fn parse_channel(raw: &str) -> StoreResult<Channel> {
    Channel::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown channel {raw:?}")))
}

fn parse_author(raw: &str) -> StoreResult<Author> {
    Author::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown message author {raw:?}")))
}

impl ConversationRow {
    fn into_conversation(self) -> StoreResult<Conversation> {
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
                display_name: display_name(self.lead_name.as_deref(), self.lead_email.as_deref(), self.lead_id),
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
struct MessageRow {
    id: i64,
    conversation_id: i64,
    channel: String,
    author: String,
    operator_id: Option<i64>,
    operator_name: Option<String>,
    body: String,
    subject: Option<String>,
    system_json: Option<String>,
    delivery: Option<String>,
    emailed_copy: i64,
    seen_at: Option<i64>,
    created_at: i64,
    outbox_status: Option<String>,
}

const MESSAGE_SELECT: &str = "SELECT m.id, m.conversation_id, m.channel, m.author, m.operator_id, \
     p.name AS operator_name, m.body, m.subject, m.system_json, m.delivery, m.emailed_copy, m.seen_at, \
     m.created_at, o.status AS outbox_status \
     FROM messages m LEFT JOIN operators p ON p.id = m.operator_id LEFT JOIN outbox o ON o.id = m.outbox_id";

fn parse_delivery(raw: &str) -> StoreResult<Delivery> {
    match raw {
        "sent" => Ok(Delivery::Sent),
        "delivered" => Ok(Delivery::Delivered),
        "failed" => Ok(Delivery::Failed),
        other => Err(StoreError::Corrupt(format!("unknown delivery {other:?}"))),
    }
}

fn delivery_str(delivery: Delivery) -> &'static str {
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
    fn delivery(&self, author: Author, channel: Channel) -> StoreResult<Option<Delivery>> {
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

    fn into_message(self) -> StoreResult<Message> {
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
            created_at: from_ms(self.created_at),
        })
    }

    fn into_widget_message(self) -> StoreResult<WidgetMessage> {
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

/// What the channel rules and a send read about one lead.
struct LeadFacts {
    email: Option<String>,
    has_visitor: bool,
    presence: Presence,
    address: Option<AddressState>,
}

/// The conversation a message goes into, as the send reads it.
#[derive(FromRow)]
struct Target {
    id: i64,
    lead_id: i64,
    channel: String,
    status: String,
    first_subject: Option<String>,
    reply_token: String,
}

const TARGET_SELECT: &str = "SELECT id, lead_id, channel, status, first_subject, reply_token FROM conversations WHERE ";

/// A message to insert.
struct NewRow<'a> {
    conversation_id: i64,
    lead_id: i64,
    channel: Channel,
    author: Author,
    operator_id: Option<i64>,
    body: &'a str,
    subject: Option<&'a str>,
    system: Option<&'a SystemEntry>,
    emailed_copy: bool,
    outbox_id: Option<i64>,
    key: Option<String>,
    at: i64,
}

/// How a message moves the conversation's unread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    Keep,
    /// An operator wrote: they have read the thread.
    Clear,
    /// The lead wrote.
    Add,
}

fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
}

/// Takes the lead's write lock (a row lock on PostgreSQL; SQLite's write transaction holds the
/// database's); false when there is no such lead.
async fn lock_lead(conn: &mut AnyConnection, lead_id: i64) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE leads SET version = version WHERE id = $1").bind(lead_id).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// A lead's address, heartbeat, activity and how many visitor ids point at it.
type FactsRow = (Option<String>, Option<String>, Option<i64>, Option<i64>, i64);

async fn lead_facts(conn: &mut AnyConnection, lead_id: i64, now: DateTime<Utc>) -> StoreResult<Option<LeadFacts>> {
    let row: Option<FactsRow> = sqlx::query_as(
        "SELECT email, email_norm, last_heartbeat_at, last_active_at, \
         (SELECT COUNT(*) FROM visitors v WHERE v.lead_id = l.id) FROM leads l WHERE id = $1",
    )
    .bind(lead_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((email, email_norm, heartbeat, active, visitors)) = row else {
        return Ok(None);
    };
    let address = match &email_norm {
        Some(norm) => match read_state(conn, norm).await? {
            Some((state, _)) => Some(state),
            None => {
                let settings = email_settings_in(conn).await?;
                Some(AddressState::new(EmailAddress::parse(norm).is_ok(), &settings))
            }
        },
        None => None,
    };
    Ok(Some(LeadFacts {
        email,
        has_visitor: visitors > 0,
        presence: Presence::at(now, heartbeat.map(from_ms), active.map(from_ms)),
        address,
    }))
}

async fn insert_message(conn: &mut AnyConnection, backend: Backend, row: NewRow<'_>) -> StoreResult<i64> {
    let system = row
        .system
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Invalid(format!("a system entry cannot be serialized: {e}")))?;
    let delivery = (row.author == Author::Operator).then(|| delivery_str(Delivery::Sent).to_owned());
    let mut sql = Sql::new(
        backend,
        "INSERT INTO messages (conversation_id, lead_id, channel, author, operator_id, body, subject, system_json, \
         delivery, emailed_copy, outbox_id, idempotency_key, created_at) VALUES ",
    );
    let values: [Value; 13] = [
        row.conversation_id.into(),
        row.lead_id.into(),
        row.channel.as_str().into(),
        row.author.as_str().into(),
        row.operator_id.into(),
        row.body.into(),
        row.subject.map(str::to_owned).into(),
        system.into(),
        delivery.into(),
        i64::from(row.emailed_copy).into(),
        row.outbox_id.into(),
        row.key.into(),
        row.at.into(),
    ];
    sql.bind_list(values);
    sql.push(" RETURNING id");
    Ok(sql.query_scalar::<i64>().fetch_one(&mut *conn).await?)
}

/// Moves the conversation's preview and activity to a new entry.
async fn touch(
    conn: &mut AnyConnection,
    backend: Backend,
    conversation_id: i64,
    author: Author,
    text: &str,
    at: i64,
    unread: Unread,
) -> StoreResult<()> {
    let mut sql = Sql::new(backend, "UPDATE conversations SET last_message_author = ");
    sql.bind(author.as_str()).push(", last_message_text = ").bind(inbox::preview(text));
    sql.push(", last_message_at = ").bind(at).push(", last_activity_at = ").bind(at);
    match unread {
        Unread::Keep => {}
        Unread::Clear => {
            sql.push(", unread = 0");
        }
        Unread::Add => {
            sql.push(", unread = unread + 1");
        }
    }
    sql.push(" WHERE id = ").bind(conversation_id);
    sql.query().execute(&mut *conn).await?;
    Ok(())
}

/// Writes a system entry (and the status change it records, if any).
async fn system_entry(
    conn: &mut AnyConnection,
    backend: Backend,
    target: &Target,
    entry: &SystemEntry,
    at: i64,
) -> StoreResult<i64> {
    let channel = parse_channel(&target.channel)?;
    let id = insert_message(
        conn,
        backend,
        NewRow {
            conversation_id: target.id,
            lead_id: target.lead_id,
            channel,
            author: Author::System,
            operator_id: None,
            body: "",
            subject: None,
            system: Some(entry),
            emailed_copy: false,
            outbox_id: None,
            key: None,
            at,
        },
    )
    .await?;
    let status = match entry {
        SystemEntry::Closed { .. } => Some(ConversationStatus::Closed),
        SystemEntry::Reopened { .. } => Some(ConversationStatus::Open),
        SystemEntry::Assigned { .. } => None,
    };
    if let Some(status) = status {
        sqlx::query("UPDATE conversations SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(target.id)
            .execute(&mut *conn)
            .await?;
    }
    touch(conn, backend, target.id, Author::System, &entry.text(), at, Unread::Keep).await?;
    Ok(id)
}

async fn new_conversation(conn: &mut AnyConnection, lead_id: i64, channel: Channel, at: i64) -> StoreResult<Target> {
    let reply_token = random_key("")?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO conversations (lead_id, channel, status, unread, last_activity_at, created_at, reply_token) \
         VALUES ($1, $2, 'open', 0, $3, $4, $5) RETURNING id",
    )
    .bind(lead_id)
    .bind(channel.as_str())
    .bind(at)
    .bind(at)
    .bind(reply_token.clone())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Target {
        id,
        lead_id,
        channel: channel.as_str().to_owned(),
        status: ConversationStatus::Open.as_str().to_owned(),
        first_subject: None,
        reply_token,
    })
}

async fn target_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Target>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{TARGET_SELECT}id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The lead's newest conversation of a channel with this status.
async fn newest_of(
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
async fn keyed(conn: &mut AnyConnection, key: &str) -> StoreResult<Option<(i64, i64, i64, String, String)>> {
    Ok(sqlx::query_as("SELECT id, conversation_id, lead_id, channel, body FROM messages WHERE idempotency_key = $1")
        .bind(key.to_owned())
        .fetch_optional(&mut *conn)
        .await?)
}

async fn conversation_in(conn: &mut AnyConnection, backend: Backend, id: i64) -> StoreResult<Option<Conversation>> {
    let mut sql = Sql::new(backend, CONVERSATION_SELECT);
    sql.push(" WHERE c.id = ").bind(id);
    sql.query_as::<ConversationRow>()
        .fetch_optional(&mut *conn)
        .await?
        .map(ConversationRow::into_conversation)
        .transpose()
}

async fn message_in(conn: &mut AnyConnection, backend: Backend, id: i64) -> StoreResult<Option<Message>> {
    let mut sql = Sql::new(backend, MESSAGE_SELECT);
    sql.push(" WHERE m.id = ").bind(id);
    sql.query_as::<MessageRow>().fetch_optional(&mut *conn).await?.map(MessageRow::into_message).transpose()
}

async fn sent_in(conn: &mut AnyConnection, backend: Backend, message_id: i64, created: bool) -> StoreResult<Sent> {
    let message = message_in(conn, backend, message_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("message {message_id} vanished")))?;
    let conversation = conversation_in(conn, backend, message.conversation_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("conversation {} vanished", message.conversation_id)))?;
    Ok(Sent { conversation, message, created })
}

/// Queues a conversation's mail, due at `due`; returns the outbox row.
#[allow(clippy::too_many_arguments)]
async fn queue_mail(
    conn: &mut AnyConnection,
    lead_id: i64,
    to: &str,
    subject: &str,
    body: &str,
    reply_to: &str,
    due: i64,
    at: i64,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (lead_id, email_norm, to_address, kind, subject, body, status, next_attempt_at, \
         created_at, reply_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(lead_id)
    .bind(normalize_email(to))
    .bind(to.trim().to_owned())
    .bind(CONVERSATION_MAIL.as_str())
    .bind(subject.to_owned())
    .bind(body.to_owned())
    .bind(OutboxStatus::Queued.as_str())
    .bind(due)
    .bind(at)
    .bind(reply_to.to_owned())
    .fetch_one(&mut *conn)
    .await?)
}

async fn project_name(conn: &mut AnyConnection) -> StoreResult<String> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM projects ORDER BY id LIMIT 1").fetch_optional(&mut *conn).await?;
    Ok(name.unwrap_or_else(|| "leadcard".to_owned()))
}

/// The subject of an email: the operator's, else "Re: " the conversation's first, else one
/// naming the project.
fn email_subject(given: Option<&str>, first: Option<&str>, project: &str) -> String {
    match (given, first) {
        (Some(subject), _) => subject.to_owned(),
        (None, Some(first)) if first.to_ascii_lowercase().starts_with("re:") => first.to_owned(),
        (None, Some(first)) => format!("Re: {first}"),
        (None, None) => format!("Message from {project}"),
    }
}

/// What a chat message's mailed copy says.
fn chat_copy_body(operator: &str, project: &str, body: &str) -> String {
    format!(
        "{operator} from {project} wrote to you in the chat:\n\n{body}\n\n\
         Reply to this email to answer, or open the chat on our site.\n"
    )
}

impl Store {
    /// Stores an operator's message and queues what it sends: an email, or a chat message's
    /// copy when the lead is away (due after [`CHAT_COPY_DELAY`], dropped if the widget shows
    /// the message first). A key used before returns that message and sends nothing.
    pub async fn send_operator_message(&self, send: OperatorSend<'_>, now: DateTime<Utc>) -> StoreResult<SendOutcome> {
        // Two sends with one key for different leads meet only at the unique index: the one
        // that loses finds the winner's message on its second try.
        match self.try_send_operator_message(send, now).await {
            Err(e) if is_unique_violation(&e) => self.try_send_operator_message(send, now).await,
            other => other,
        }
    }

    async fn try_send_operator_message(&self, send: OperatorSend<'_>, now: DateTime<Utc>) -> StoreResult<SendOutcome> {
        let backend = self.backend;
        let at = to_ms(now);
        let mut tx = self.begin_write().await?;
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
        let settings = email_settings_in(&mut tx).await?;
        let channel = match (&existing, send.target) {
            (Some(target), _) => parse_channel(&target.channel)?,
            (None, SendTarget::Lead { channel, .. }) => channel,
            (None, SendTarget::Conversation(_)) => return Ok(SendOutcome::NotFound),
        };
        let channel_facts = ChannelFacts { has_visitor: facts.has_visitor, address: facts.address.as_ref() };
        if let Err(refusal) = inbox::may_use(channel, channel_facts, &settings, now) {
            return Ok(SendOutcome::Refused { channel, reason: refusal.to_string() });
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
                let line = email_subject(send.message.subject.as_deref(), target.first_subject.as_deref(), &project);
                if target.first_subject.is_none() {
                    sqlx::query("UPDATE conversations SET first_subject = $1 WHERE id = $2")
                        .bind(line.clone())
                        .bind(target.id)
                        .execute(&mut *tx)
                        .await?;
                }
                outbox_id = Some(queue_mail(&mut tx, lead_id, to, &line, body, &reply_to, at, at).await?);
                subject = Some(line);
            }
            (Channel::Chat, Some(to))
                if inbox::chat_copy_by_email(facts.presence, facts.address.as_ref(), &settings, now) =>
            {
                let line = format!("New message from {project}");
                let text = chat_copy_body(&send.operator.name, &project, body);
                let due = to_ms(now + CHAT_COPY_DELAY);
                outbox_id = Some(queue_mail(&mut tx, lead_id, to, &line, &text, &reply_to, due, at).await?);
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
            self.mail_queued.notify_one();
        }
        Ok(SendOutcome::Sent { sent: Box::new(sent), lead_id, mailed })
    }

    /// The lead writes in the widget's chat: its open chat conversation, else its newest closed
    /// one (reopened), else a new one. A visitor seen for the first time becomes a lead.
    pub async fn send_widget_message(
        &self,
        project_id: i64,
        visitor_id: &str,
        body: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<WidgetSendOutcome> {
        match self.try_send_widget_message(project_id, visitor_id, body, key, now).await {
            Err(e) if is_unique_violation(&e) => {
                self.try_send_widget_message(project_id, visitor_id, body, key, now).await
            }
            other => other,
        }
    }

    async fn try_send_widget_message(
        &self,
        project_id: i64,
        visitor_id: &str,
        body: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<WidgetSendOutcome> {
        let backend = self.backend;
        let at = to_ms(now);
        let mut tx = self.begin_write().await?;
        let lead_id = self.lead_for_visitor(&mut tx, project_id, visitor_id, now).await?;
        lock_lead(&mut tx, lead_id).await?;
        let key = format!("{WIDGET_KEY_PREFIX}{key}");
        if let Some((id, _, stored_lead, _, stored_body)) = keyed(&mut tx, &key).await? {
            if stored_lead != lead_id || stored_body != body {
                return Ok(WidgetSendOutcome::KeyConflict);
            }
            let message = widget_message_in(&mut tx, backend, id).await?;
            tx.commit().await?;
            return Ok(WidgetSendOutcome::Sent { message, lead_id, created: false });
        }
        let id = lead_message(&mut tx, backend, lead_id, None, body, None, key, at).await?;
        let message = widget_message_in(&mut tx, backend, id).await?;
        tx.commit().await?;
        Ok(WidgetSendOutcome::Sent { message, lead_id, created: true })
    }

    /// A reply the lead mailed to a conversation's reply address; once per Message-ID.
    pub async fn receive_mailed_reply(
        &self,
        reply_token: &str,
        from: &str,
        subject: Option<&str>,
        body: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<InboundOutcome> {
        let backend = self.backend;
        let mut tx = self.begin_write().await?;
        let target: Option<Target> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{TARGET_SELECT}reply_token = $1")))
            .bind(reply_token.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(target) = target else {
            return Ok(InboundOutcome::UnknownToken);
        };
        lock_lead(&mut tx, target.lead_id).await?;
        let lead_norm: Option<String> = sqlx::query_scalar("SELECT email_norm FROM leads WHERE id = $1")
            .bind(target.lead_id)
            .fetch_one(&mut *tx)
            .await?;
        if lead_norm.as_deref() != Some(normalize_email(from).as_str()) {
            return Ok(InboundOutcome::WrongSender);
        }
        let key = format!("{MAILED_KEY_PREFIX}{message_id}");
        if keyed(&mut tx, &key).await?.is_some() {
            return Ok(InboundOutcome::Stored {
                conversation_id: target.id,
                lead_id: target.lead_id,
                message_id: None,
            });
        }
        let subject = subject.filter(|_| target.channel == Channel::Email.as_str());
        let id =
            lead_message(&mut tx, backend, target.lead_id, Some(target.id), body, subject, key, to_ms(now)).await?;
        tx.commit().await?;
        Ok(InboundOutcome::Stored { conversation_id: target.id, lead_id: target.lead_id, message_id: Some(id) })
    }

    /// The lead's chat and pop-up messages after `after`, oldest first (at most 200).
    pub async fn widget_messages(&self, lead_id: i64, after: i64) -> StoreResult<Vec<WidgetMessage>> {
        let mut sql = Sql::new(self.backend, MESSAGE_SELECT);
        sql.push(" WHERE m.lead_id = ").bind(lead_id).push(" AND m.id > ").bind(after);
        sql.push(" AND m.channel IN ('chat', 'popup') AND m.author <> 'system' ORDER BY m.id LIMIT ");
        sql.bind(WIDGET_MESSAGES);
        let rows: Vec<MessageRow> = sql.query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(MessageRow::into_widget_message).collect()
    }

    /// The widget showed these operator messages: each is delivered (once), and a chat copy
    /// still waiting in the outbox is not mailed. Returns the conversations that changed, with
    /// how many messages were marked.
    pub async fn mark_seen(&self, lead_id: i64, ids: &[i64], now: DateTime<Utc>) -> StoreResult<(usize, Vec<i64>)> {
        if ids.is_empty() {
            return Ok((0, Vec::new()));
        }
        let mut tx = self.begin_write().await?;
        let mut sql = Sql::new(self.backend, "UPDATE messages SET seen_at = ");
        sql.bind(to_ms(now)).push(", delivery = 'delivered' WHERE lead_id = ").bind(lead_id);
        sql.push(" AND author = 'operator' AND channel IN ('chat', 'popup') AND seen_at IS NULL AND id IN ");
        sql.bind_list(ids.iter().copied());
        sql.push(" RETURNING conversation_id, outbox_id");
        let marked: Vec<(i64, Option<i64>)> = sql.query_as().fetch_all(&mut *tx).await?;
        let copies: Vec<i64> = marked.iter().filter_map(|(_, outbox)| *outbox).collect();
        if !copies.is_empty() {
            let mut sql = Sql::new(self.backend, "UPDATE outbox SET status = 'dropped', last_error = ");
            sql.bind("the lead read it in the widget first").push(" WHERE status = 'queued' AND id IN ");
            sql.bind_list(copies.iter().copied()).push(" RETURNING id");
            let dropped: Vec<i64> = sql.query_scalar().fetch_all(&mut *tx).await?;
            if !dropped.is_empty() {
                let mut sql = Sql::new(self.backend, "UPDATE messages SET emailed_copy = 0 WHERE outbox_id IN ");
                sql.bind_list(dropped);
                sql.query().execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        let mut conversations: Vec<i64> = marked.iter().map(|(c, _)| *c).collect();
        conversations.sort_unstable();
        conversations.dedup();
        Ok((marked.len(), conversations))
    }

    /// Assigns a conversation (`None`: unassigns) with a system entry; nothing when unchanged.
    pub async fn assign_conversation(
        &self,
        id: i64,
        to: Option<i64>,
        by: &OperatorRef,
        now: DateTime<Utc>,
    ) -> StoreResult<AssignOutcome> {
        let backend = self.backend;
        let mut tx = self.begin_write().await?;
        let Some(target) = target_by_id(&mut tx, id).await? else {
            return Ok(AssignOutcome::NotFound);
        };
        let to_name = match to {
            Some(operator) => {
                let name: Option<String> = sqlx::query_scalar("SELECT name FROM operators WHERE id = $1")
                    .bind(operator)
                    .fetch_optional(&mut *tx)
                    .await?;
                match name {
                    Some(name) => Some(name),
                    None => return Ok(AssignOutcome::UnknownOperator),
                }
            }
            None => None,
        };
        let current: Option<i64> = sqlx::query_scalar("SELECT assignee_id FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let changed = current != to;
        if changed {
            sqlx::query("UPDATE conversations SET assignee_id = $1 WHERE id = $2")
                .bind(to)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let entry = if changed {
            let entry = SystemEntry::Assigned { by: by.name.clone(), to: to_name };
            Some(system_entry(&mut tx, backend, &target, &entry, to_ms(now)).await?)
        } else {
            None
        };
        let conversation = conversation_in(&mut tx, backend, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("conversation {id} vanished")))?;
        tx.commit().await?;
        Ok(AssignOutcome::Done(Box::new(Changed { conversation, entry })))
    }

    /// Closes or reopens a conversation with a system entry; nothing when it already is so.
    pub async fn set_conversation_status(
        &self,
        id: i64,
        status: ConversationStatus,
        by: &OperatorRef,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Changed>> {
        let backend = self.backend;
        let mut tx = self.begin_write().await?;
        let Some(target) = target_by_id(&mut tx, id).await? else {
            return Ok(None);
        };
        let entry = if target.status == status.as_str() {
            None
        } else {
            let entry = match status {
                ConversationStatus::Closed => SystemEntry::Closed { by: by.name.clone() },
                ConversationStatus::Open => SystemEntry::Reopened { by: Some(by.name.clone()) },
            };
            Some(system_entry(&mut tx, backend, &target, &entry, to_ms(now)).await?)
        };
        let conversation = conversation_in(&mut tx, backend, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("conversation {id} vanished")))?;
        tx.commit().await?;
        Ok(Some(Changed { conversation, entry }))
    }

    /// Marks a conversation read (unread 0); `(conversation, whether it had unread messages)`.
    pub async fn mark_conversation_read(&self, id: i64) -> StoreResult<Option<(Conversation, bool)>> {
        let mut tx = self.begin_write().await?;
        let had: Option<i64> = sqlx::query_scalar("SELECT unread FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(had) = had else {
            return Ok(None);
        };
        if had != 0 {
            sqlx::query("UPDATE conversations SET unread = 0 WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
        let conversation = conversation_in(&mut tx, self.backend, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("conversation {id} vanished")))?;
        tx.commit().await?;
        Ok(Some((conversation, had != 0)))
    }

    /// The Inbox list: newest activity first, keyset.
    pub async fn conversations(&self, query: &ConversationQuery) -> StoreResult<ConversationPage> {
        let mut sql = Sql::new(self.backend, CONVERSATION_SELECT);
        sql.push(" WHERE 1 = 1");
        if let Some(status) = query.status {
            sql.push(" AND c.status = ").bind(status.as_str());
        }
        match query.assignee {
            AssigneeFilter::Any => {}
            AssigneeFilter::Operator(id) => {
                sql.push(" AND c.assignee_id = ").bind(id);
            }
            AssigneeFilter::Unassigned => {
                sql.push(" AND c.assignee_id IS NULL");
            }
        }
        if let Some(lead) = query.lead_id {
            sql.push(" AND c.lead_id = ").bind(lead);
        }
        if let Some((at, id)) = query.after {
            sql.push(" AND (c.last_activity_at < ").bind(at);
            sql.push(" OR (c.last_activity_at = ").bind(at).push(" AND c.id < ").bind(id).push("))");
        }
        sql.push(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ").bind(i64::from(query.limit) + 1);
        let mut rows: Vec<ConversationRow> = sql.query_as().fetch_all(&self.pool).await?;
        let more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        let next = if more { rows.last().map(|r| conversation_cursor(r.last_activity_at, r.id)) } else { None };
        let items = rows.into_iter().map(ConversationRow::into_conversation).collect::<StoreResult<Vec<_>>>()?;
        let unread: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE status = 'open' AND unread > 0")
            .fetch_one(&self.pool)
            .await?;
        Ok(ConversationPage { items, next, unread_conversations: unread.max(0) as u64 })
    }

    /// Every conversation of a lead, newest activity first; `None` when there is no such lead.
    pub async fn lead_conversations(&self, lead_id: i64) -> StoreResult<Option<Vec<Conversation>>> {
        let mut conn = self.pool.acquire().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM leads WHERE id = $1").bind(lead_id).fetch_optional(&mut *conn).await?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut sql = Sql::new(self.backend, CONVERSATION_SELECT);
        sql.push(" WHERE c.lead_id = ").bind(lead_id).push(" ORDER BY c.last_activity_at DESC, c.id DESC");
        let rows: Vec<ConversationRow> = sql.query_as().fetch_all(&mut *conn).await?;
        rows.into_iter().map(ConversationRow::into_conversation).collect::<StoreResult<Vec<_>>>().map(Some)
    }

    /// Which channels the card may use for the lead now; `None` when there is no such lead.
    pub async fn lead_channels(&self, lead_id: i64, now: DateTime<Utc>) -> StoreResult<Option<Channels>> {
        let mut conn = self.pool.acquire().await?;
        let Some(facts) = lead_facts(&mut conn, lead_id, now).await? else {
            return Ok(None);
        };
        let settings = email_settings_in(&mut conn).await?;
        let facts = ChannelFacts { has_visitor: facts.has_visitor, address: facts.address.as_ref() };
        Ok(Some(Channels::of(facts, &settings, now)))
    }

    pub async fn conversation(&self, id: i64) -> StoreResult<Option<Conversation>> {
        let mut conn = self.pool.acquire().await?;
        conversation_in(&mut conn, self.backend, id).await
    }

    /// A conversation with its newest messages, oldest first.
    pub async fn thread(&self, id: i64) -> StoreResult<Option<Thread>> {
        let Some(conversation) = self.conversation(id).await? else {
            return Ok(None);
        };
        let page = self
            .messages_page(id, None, None, THREAD_MESSAGES)
            .await?
            .unwrap_or(MessagePage { items: Vec::new(), more_before: false });
        Ok(Some(Thread { conversation, messages: page.items, more_before: page.more_before }))
    }

    /// A conversation's messages, oldest first: after `after`, before `before` (older
    /// history), or the newest; `None` when there is no such conversation.
    pub async fn messages_page(
        &self,
        id: i64,
        before: Option<i64>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Option<MessagePage>> {
        let mut conn = self.pool.acquire().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut sql = Sql::new(self.backend, MESSAGE_SELECT);
        sql.push(" WHERE m.conversation_id = ").bind(id);
        if let Some(after) = after {
            sql.push(" AND m.id > ").bind(after);
        }
        if let Some(before) = before {
            sql.push(" AND m.id < ").bind(before);
        }
        let ascending = after.is_some();
        sql.push(if ascending { " ORDER BY m.id ASC LIMIT " } else { " ORDER BY m.id DESC LIMIT " });
        sql.bind(i64::from(limit) + 1);
        let mut rows: Vec<MessageRow> = sql.query_as().fetch_all(&mut *conn).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        if !ascending {
            rows.reverse();
        }
        let items = rows.into_iter().map(MessageRow::into_message).collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(MessagePage { items, more_before: more && !ascending }))
    }

    /// Every operator, by name, for the assignee menu.
    pub async fn operator_refs(&self) -> StoreResult<Vec<OperatorRef>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM operators ORDER BY name, id").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(id, name)| OperatorRef { id, name }).collect())
    }

    /// Writes a demo conversation as it would have happened.
    pub async fn seed_conversation(&self, seed: &SeedConversation, now: DateTime<Utc>) -> StoreResult<i64> {
        let backend = self.backend;
        let mut tx = self.begin().await?;
        let first_at = seed.messages.first().map_or(now, |(_, _, ago)| now - chrono::Duration::minutes(*ago));
        let mut target = new_conversation(&mut tx, seed.lead_id, seed.channel, to_ms(first_at)).await?;
        if let Some(subject) = &seed.subject {
            sqlx::query("UPDATE conversations SET first_subject = $1 WHERE id = $2")
                .bind(subject.clone())
                .bind(target.id)
                .execute(&mut *tx)
                .await?;
            target.first_subject = Some(subject.clone());
        }
        let mut last_at = to_ms(first_at);
        for (i, (operator, body, ago)) in seed.messages.iter().enumerate() {
            let at = to_ms(now - chrono::Duration::minutes(*ago));
            last_at = at;
            let author = if operator.is_some() { Author::Operator } else { Author::Lead };
            let subject = match (seed.channel, &seed.subject) {
                (Channel::Email, Some(first)) if i == 0 => Some(first.clone()),
                (Channel::Email, Some(first)) => Some(email_subject(None, Some(first), "")),
                _ => None,
            };
            insert_message(
                &mut tx,
                backend,
                NewRow {
                    conversation_id: target.id,
                    lead_id: seed.lead_id,
                    channel: seed.channel,
                    author,
                    operator_id: operator.as_ref().map(|o| o.id),
                    body,
                    subject: subject.as_deref(),
                    system: None,
                    emailed_copy: false,
                    outbox_id: None,
                    key: None,
                    at,
                },
            )
            .await?;
            let unread = if author == Author::Operator { Unread::Clear } else { Unread::Keep };
            touch(&mut tx, backend, target.id, author, body, at, unread).await?;
        }
        if let Some(by) = &seed.assignee {
            sqlx::query("UPDATE conversations SET assignee_id = $1 WHERE id = $2")
                .bind(by.id)
                .bind(target.id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(by) = &seed.closed_by {
            system_entry(&mut tx, backend, &target, &SystemEntry::Closed { by: by.name.clone() }, last_at + 60_000)
                .await?;
        }
        sqlx::query("UPDATE conversations SET unread = $1 WHERE id = $2")
            .bind(i64::from(seed.unread))
            .bind(target.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(target.id)
    }
}

async fn widget_message_in(conn: &mut AnyConnection, backend: Backend, id: i64) -> StoreResult<WidgetMessage> {
    let mut sql = Sql::new(backend, MESSAGE_SELECT);
    sql.push(" WHERE m.id = ").bind(id);
    let row: MessageRow = sql.query_as().fetch_one(&mut *conn).await?;
    row.into_widget_message()
}

/// Stores the lead's message: in `conversation`, or its open chat conversation, else its newest
/// closed one, else a new one. A closed conversation reopens; unread grows by one.
#[allow(clippy::too_many_arguments)]
async fn lead_message(
    conn: &mut AnyConnection,
    backend: Backend,
    lead_id: i64,
    conversation: Option<i64>,
    body: &str,
    subject: Option<&str>,
    key: String,
    at: i64,
) -> StoreResult<i64> {
    let target = match conversation {
        Some(id) => target_by_id(conn, id).await?,
        None => match newest_of(conn, lead_id, Channel::Chat, ConversationStatus::Open).await? {
            Some(open) => Some(open),
            None => newest_of(conn, lead_id, Channel::Chat, ConversationStatus::Closed).await?,
        },
    };
    let target = match target {
        Some(target) => target,
        None => new_conversation(conn, lead_id, Channel::Chat, at).await?,
    };
    if target.status == ConversationStatus::Closed.as_str() {
        system_entry(conn, backend, &target, &SystemEntry::Reopened { by: None }, at).await?;
    }
    let id = insert_message(
        conn,
        backend,
        NewRow {
            conversation_id: target.id,
            lead_id,
            channel: parse_channel(&target.channel)?,
            author: Author::Lead,
            operator_id: None,
            body,
            subject,
            system: None,
            emailed_copy: false,
            outbox_id: None,
            key: Some(key),
            at,
        },
    )
    .await?;
    touch(conn, backend, target.id, Author::Lead, body, at, Unread::Add).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        assert_eq!(
            parse_conversation_cursor(&conversation_cursor(1_700_000_000_000, 42)),
            Some((1_700_000_000_000, 42))
        );
        assert_eq!(parse_conversation_cursor("x.1"), None);
        assert_eq!(parse_conversation_cursor("12"), None);
    }

    #[test]
    fn email_subjects_continue_the_first() {
        assert_eq!(email_subject(Some("Hi"), Some("Old"), "Shop"), "Hi");
        assert_eq!(email_subject(None, Some("Your order"), "Shop"), "Re: Your order");
        assert_eq!(email_subject(None, Some("RE: Your order"), "Shop"), "RE: Your order");
        assert_eq!(email_subject(None, None, "Shop"), "Message from Shop");
    }
}
