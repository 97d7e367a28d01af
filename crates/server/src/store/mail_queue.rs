//! Queuing mail inside a write's transaction: the outbox rows the delivery worker (`outbox.rs`)
//! sends. Below both the address rules (confirmation mails) and the Inbox (conversation mail), so
//! neither imports the other.

use chrono::{DateTime, Utc};
use leadcard_core::inbox::CONVERSATION_MAIL;
use leadcard_core::mail::OutboxStatus;
use leadcard_core::{MailKind, normalize_email};
use sqlx::AnyConnection;

use super::batch::insert_rows;
use super::sql::Value;
use super::{Backend, StoreResult};
use crate::clock::to_ms;

/// A mail to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub lead_id: Option<i64>,
    /// The address as written on the lead.
    pub to: String,
    pub kind: MailKind,
    pub subject: String,
    /// Plain text. Confirmation mails leave it empty: their body, with a link that expires, is
    /// written when they are sent.
    pub body: String,
    pub campaign_id: Option<i64>,
}

/// Queues mails inside a transaction, due at once.
pub(super) async fn enqueue_in(
    tx: &mut AnyConnection,
    backend: Backend,
    mails: Vec<NewMail>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let at = to_ms(now);
    let rows = mails
        .into_iter()
        .map(|mail| {
            [
                Value::from(mail.lead_id),
                Value::from(normalize_email(&mail.to)),
                Value::from(mail.to.trim().to_owned()),
                Value::from(mail.kind.as_str()),
                Value::from(mail.subject),
                Value::from(mail.body),
                Value::from(OutboxStatus::Queued.as_str()),
                Value::from(at),
                Value::from(at),
                Value::from(mail.campaign_id),
            ]
        })
        .collect();
    insert_rows(
        tx,
        backend,
        "INSERT INTO outbox (lead_id, email_norm, to_address, kind, subject, body, status, next_attempt_at, \
         created_at, campaign_id) VALUES ",
        "",
        rows,
    )
    .await
}

/// Queues a conversation's mail, due at `due`; returns the outbox row.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn queue_conversation_mail(
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
