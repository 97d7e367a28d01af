//! The Inbox's writes: a message with what it changes (the conversation's preview, activity,
//! unread count, a reopening entry), system entries, assignment, status and read marks, the
//! lead's messages from the widget and by mail, and the demo's conversations. Each runs in one
//! transaction under the lead's write lock; the operator's send, which also decides channels and
//! mail, is a use case above the store (`crate::send`) built from these steps.

use chrono::{DateTime, Utc};
use leadcard_core::inbox::{
    self, Author, Channel, Conversation, ConversationStatus, Delivery, OperatorRef, SystemEntry,
};
use leadcard_core::locale::Language;
use leadcard_core::{AddressState, EmailAddress, Presence, normalize_email};
use sqlx::AnyConnection;

use super::super::addresses::read_state;
use super::super::settings::email_settings_in;
use super::super::sql::{Sql, Value};
use super::super::{Backend, Store, StoreError, StoreResult, random_key};
use super::rows::{
    TARGET_SELECT, Target, conversation_in, delivery_str, keyed, newest_of, parse_channel, target_by_id,
    widget_message_in,
};
use super::{
    AssignOutcome, Changed, InboundOutcome, MAILED_KEY_PREFIX, SeedConversation, WIDGET_KEY_PREFIX, WidgetSendOutcome,
};
use crate::clock::{from_ms, to_ms};

/// What the channel rules and a send read about one lead.
pub(crate) struct LeadFacts {
    pub(crate) email: Option<String>,
    pub(crate) has_visitor: bool,
    pub(crate) presence: Presence,
    pub(crate) address: Option<AddressState>,
    /// The lead's `$language` when the product speaks it, else English: its mails' language.
    pub(crate) language: Language,
}

/// A message to insert.
pub(crate) struct NewRow<'a> {
    pub(crate) conversation_id: i64,
    pub(crate) lead_id: i64,
    pub(crate) channel: Channel,
    pub(crate) author: Author,
    pub(crate) operator_id: Option<i64>,
    pub(crate) body: &'a str,
    pub(crate) subject: Option<&'a str>,
    pub(crate) system: Option<&'a SystemEntry>,
    pub(crate) emailed_copy: bool,
    pub(crate) outbox_id: Option<i64>,
    pub(crate) key: Option<String>,
    pub(crate) at: i64,
}

/// How a message moves the conversation's unread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    Keep,
    /// An operator wrote: they have read the thread.
    Clear,
    /// The lead wrote.
    Add,
}

pub(crate) fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
}

/// Takes the lead's write lock (a row lock on PostgreSQL; SQLite's write transaction holds the
/// database's); false when there is no such lead.
pub(crate) async fn lock_lead(conn: &mut AnyConnection, lead_id: i64) -> StoreResult<bool> {
    let done =
        sqlx::query("UPDATE leads SET version = version WHERE id = $1").bind(lead_id).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// A lead's address, heartbeat, activity and how many visitor ids point at it.
pub(crate) type FactsRow = (Option<String>, Option<String>, Option<i64>, Option<i64>, i64, Option<String>);

pub(crate) async fn lead_facts(
    conn: &mut AnyConnection,
    lead_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Option<LeadFacts>> {
    let row: Option<FactsRow> = sqlx::query_as(
        "SELECT email, email_norm, last_heartbeat_at, last_active_at, \
         (SELECT COUNT(*) FROM visitors v WHERE v.lead_id = l.id), \
         (SELECT p.text_value FROM lead_properties p WHERE p.lead_id = l.id AND p.name = '$language') \
         FROM leads l WHERE id = $1",
    )
    .bind(lead_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((email, email_norm, heartbeat, active, visitors, language)) = row else {
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
        language: Language::of_tag(language.as_deref().unwrap_or_default()).unwrap_or_default(),
    }))
}

pub(crate) async fn insert_message(conn: &mut AnyConnection, backend: Backend, row: NewRow<'_>) -> StoreResult<i64> {
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
pub(crate) async fn touch(
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
pub(crate) async fn system_entry(
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

pub(crate) async fn new_conversation(
    conn: &mut AnyConnection,
    lead_id: i64,
    channel: Channel,
    at: i64,
) -> StoreResult<Target> {
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

pub(crate) async fn project_name(conn: &mut AnyConnection) -> StoreResult<String> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM projects ORDER BY id LIMIT 1").fetch_optional(&mut *conn).await?;
    Ok(name.unwrap_or_else(|| "leadcard".to_owned()))
}

impl Store {
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

    /// Assigns a conversation (`None`: unassigns) with a system entry; nothing when unchanged. A
    /// disabled operator takes no conversations.
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
                let name: Option<String> =
                    sqlx::query_scalar("SELECT name FROM operators WHERE id = $1 AND disabled_at IS NULL")
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
                (Channel::Email, Some(first)) => Some(inbox::email_subject(Language::En, None, Some(first), "")),
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
