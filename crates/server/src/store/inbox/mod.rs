//! The Inbox: conversations with a lead and their messages — the types the store answers with and
//! the reads (the list, a thread, a lead's conversations and channels, the widget's messages).
//! Writes are in `writes.rs`, the rows and their SQL in `rows.rs`. Every message is written in
//! one transaction with what it changes — the conversation's preview, activity time, unread
//! count, a reopening system entry, and the outbox row of its mail — under the lead's write lock,
//! so sends for one lead (and two sends with one idempotency key) happen one after the other.

use chrono::{DateTime, Utc};
use leadcard_core::inbox::{
    self, Channel, ChannelFacts, Channels, Conversation, ConversationPage, ConversationStatus, MessagePage,
    OperatorRef, Thread, WidgetMessage,
};

use self::rows::{CONVERSATION_SELECT, ConversationRow, MESSAGE_SELECT, MessageRow, conversation_in};
use self::writes::lead_facts;
use super::settings::email_settings_in;
use super::sql::Sql;
use super::{Store, StoreResult};

/// Newest messages a thread opens with.
pub const THREAD_MESSAGES: u32 = inbox::DEFAULT_MESSAGES_PAGE;
/// Most messages the widget is given at once.
pub const WIDGET_MESSAGES: i64 = 200;
/// The widget's keys are kept apart from the page's: a page key never has a colon.
const WIDGET_KEY_PREFIX: &str = "w:";
const MAILED_KEY_PREFIX: &str = "m:";

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

mod rows;
pub(crate) mod writes;

pub(crate) use rows::{keyed, newest_of, parse_channel, sent_in, target_by_id};

impl Store {
    /// The lead's chat and pop-up messages after `after`, oldest first (at most 200).
    pub async fn widget_messages(&self, lead_id: i64, after: i64) -> StoreResult<Vec<WidgetMessage>> {
        let mut sql = Sql::new(self.backend, MESSAGE_SELECT);
        sql.push(" WHERE m.lead_id = ").bind(lead_id).push(" AND m.id > ").bind(after);
        sql.push(" AND m.channel IN ('chat', 'popup') AND m.author <> 'system' ORDER BY m.id LIMIT ");
        sql.bind(WIDGET_MESSAGES);
        let rows: Vec<MessageRow> = sql.query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(MessageRow::into_widget_message).collect()
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
        Ok(Some(Channels::rendered(facts, &settings, now, crate::language::said)))
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

    /// Every operator who may take conversations (not disabled), by name, for the assignee menu.
    pub async fn operator_refs(&self) -> StoreResult<Vec<OperatorRef>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM operators WHERE disabled_at IS NULL ORDER BY name, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id, name)| OperatorRef { id, name }).collect())
    }
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
}
