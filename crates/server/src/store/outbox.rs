//! The outbox: every mail waits here until a delivery worker sends it. Workers claim due rows
//! under a lock that expires, so with several servers on one database each mail goes out once,
//! and a mail held by a worker that died is due again when its lock runs out.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use leadcard_core::locale::Language;
use leadcard_core::mail::{CampaignQueued, OutboxMail, OutboxPage, OutboxStatus, ValidCampaign};
use leadcard_core::{AddressState, EmailAddress, EmailSettings, MailKind};
use sqlx::FromRow;

use super::addresses::{parse_bounce, parse_status, read_state};
use super::mail_queue::{NewMail, enqueue_in};
use super::settings::email_settings_in;
use super::sql::{Sql, push_lead_conditions};
use super::{Backend, Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

/// A mail a worker holds, to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    pub id: i64,
    pub lead_id: Option<i64>,
    pub email_norm: String,
    pub to: String,
    pub kind: MailKind,
    pub subject: String,
    pub body: String,
    /// Attempts started, this one included.
    pub attempts: u32,
    /// A conversation's mail: its reply address (`Reply-To`).
    pub reply_to: Option<String>,
    /// The lead's `$language` when the product speaks it, else English: the language of the
    /// words the product writes itself (a confirmation mail, the unsubscribe line).
    pub language: Language,
}

#[derive(FromRow)]
struct ClaimedRow {
    id: i64,
    lead_id: Option<i64>,
    email_norm: String,
    to_address: String,
    kind: String,
    subject: String,
    body: String,
    attempts: i64,
    reply_to: Option<String>,
}

fn parse_kind(raw: &str) -> StoreResult<MailKind> {
    MailKind::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown mail kind {raw:?}")))
}

fn parse_outbox_status(raw: &str) -> StoreResult<OutboxStatus> {
    OutboxStatus::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown outbox status {raw:?}")))
}

/// How a worker's attempt at a mail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the mail server; `headers` is the JSON of the extra headers it carried.
    Sent { headers: String },
    /// Try again at `at`.
    Retry { at: DateTime<Utc>, error: String },
    /// Given up (a hard bounce, or no attempts left).
    Failed { error: String },
    /// Not sent: the address's status forbade it.
    Dropped { reason: String },
}

#[derive(FromRow)]
struct OutboxRow {
    id: i64,
    lead_id: Option<i64>,
    to_address: String,
    kind: String,
    subject: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    created_at: i64,
    next_attempt_at: i64,
    sent_at: Option<i64>,
}

impl OutboxRow {
    fn into_mail(self) -> StoreResult<OutboxMail> {
        let status = parse_outbox_status(&self.status)?;
        let pending = matches!(status, OutboxStatus::Queued | OutboxStatus::Sending);
        Ok(OutboxMail {
            id: self.id,
            lead_id: self.lead_id,
            to: self.to_address,
            kind: parse_kind(&self.kind)?,
            subject: self.subject,
            status,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_error: self.last_error,
            created_at: from_ms(self.created_at),
            next_attempt_at: pending.then(|| from_ms(self.next_attempt_at)),
            sent_at: self.sent_at.map(from_ms),
        })
    }
}

#[derive(FromRow)]
struct AudienceRow {
    email_norm: String,
    lead_id: i64,
    email: String,
    status: Option<String>,
    bounce: Option<String>,
    soft_bounces: Option<i64>,
    cool_down_until: Option<i64>,
    confirmed: Option<i64>,
}

impl AudienceRow {
    /// The address's state as the rules need it for a campaign (the reason does not matter).
    fn state(&self, settings: &EmailSettings) -> StoreResult<AddressState> {
        let Some(status) = &self.status else {
            return Ok(AddressState::new(EmailAddress::parse(&self.email_norm).is_ok(), settings));
        };
        Ok(AddressState {
            status: parse_status(status)?,
            bounce: self.bounce.as_deref().map(parse_bounce).transpose()?,
            soft_bounces: u32::try_from(self.soft_bounces.unwrap_or(0)).unwrap_or(u32::MAX),
            cool_down_until: self.cool_down_until.map(from_ms),
            confirmed: self.confirmed.unwrap_or(0) != 0,
            reason: None,
        })
    }
}

impl Store {
    /// Queues one mail (a triggered mail, a chat reply's copy); the workers are woken.
    pub async fn enqueue_mail(&self, mail: NewMail, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        enqueue_in(&mut tx, self.backend, vec![mail], now).await?;
        tx.commit().await?;
        self.mail_queued.notify_one();
        Ok(())
    }

    /// Takes up to `limit` due mails for `worker` until `now + lock_for`: queued ones whose time
    /// has come, and ones whose worker's lock ran out. Each claim counts as an attempt.
    pub async fn claim_mails(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lock_for: Duration,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedMail>> {
        let now_ms = to_ms(now);
        let mut sql = Sql::new(self.backend, "UPDATE outbox SET status = 'sending', locked_by = ");
        sql.bind(worker).push(", locked_until = ").bind(to_ms(now + lock_for));
        sql.push(", attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox WHERE ");
        sql.push("(status = 'queued' AND next_attempt_at <= ").bind(now_ms);
        sql.push(") OR (status = 'sending' AND locked_until <= ").bind(now_ms);
        sql.push(") ORDER BY id LIMIT ").bind(limit);
        if self.backend == Backend::Postgres {
            // A row another worker is claiming right now is skipped, not waited for.
            sql.push(" FOR UPDATE SKIP LOCKED");
        }
        sql.push(") RETURNING id, lead_id, email_norm, to_address, kind, subject, body, attempts, reply_to");
        let mut rows: Vec<ClaimedRow> = sql.query_as().fetch_all(&self.pool).await?;
        rows.sort_by_key(|row| row.id);
        let languages = self.lead_languages(rows.iter().filter_map(|row| row.lead_id)).await?;
        rows.into_iter()
            .map(|row| {
                Ok(ClaimedMail {
                    language: row.lead_id.and_then(|id| languages.get(&id).copied()).unwrap_or_default(),
                    id: row.id,
                    lead_id: row.lead_id,
                    email_norm: row.email_norm,
                    to: row.to_address,
                    kind: parse_kind(&row.kind)?,
                    subject: row.subject,
                    body: row.body,
                    attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                    reply_to: row.reply_to,
                })
            })
            .collect()
    }

    /// The languages of these leads whose `$language` the product speaks.
    async fn lead_languages(&self, ids: impl Iterator<Item = i64>) -> StoreResult<BTreeMap<i64, Language>> {
        let ids: Vec<i64> = ids.collect();
        let mut found = BTreeMap::new();
        for chunk in ids.chunks(500) {
            let mut sql = Sql::new(self.backend, "SELECT lead_id, text_value FROM lead_properties WHERE name = ");
            sql.bind("$language").push(" AND lead_id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(*id);
            }
            sql.push(")");
            let rows: Vec<(i64, String)> = sql.query_as().fetch_all(&self.pool).await?;
            found.extend(rows.into_iter().filter_map(|(id, tag)| Some((id, Language::of_tag(&tag)?))));
        }
        Ok(found)
    }

    /// Records how `worker`'s attempt at mail `id` ended. False when the worker no longer held
    /// it (its lock ran out and another worker took it): nothing is written then.
    pub async fn finish_mail(
        &self,
        id: i64,
        worker: &str,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut sql = Sql::new(self.backend, "UPDATE outbox SET locked_by = NULL, locked_until = NULL, status = ");
        match delivery {
            Delivery::Sent { headers } => {
                sql.push("'sent', last_error = NULL, headers = ").bind(headers.as_str());
                sql.push(", sent_at = ").bind(to_ms(now));
            }
            Delivery::Retry { at, error } => {
                sql.push("'queued', last_error = ").bind(error.as_str());
                sql.push(", next_attempt_at = ").bind(to_ms(*at));
            }
            Delivery::Failed { error } => {
                sql.push("'failed', last_error = ").bind(error.as_str());
            }
            Delivery::Dropped { reason } => {
                sql.push("'dropped', last_error = ").bind(reason.as_str());
            }
        }
        sql.push(" WHERE id = ").bind(id).push(" AND status = 'sending' AND locked_by = ").bind(worker);
        Ok(sql.query().execute(&self.pool).await?.rows_affected() == 1)
    }

    /// The address's state and the project's email settings, for the check before a send.
    pub async fn sending_state(&self, email_norm: &str) -> StoreResult<(Option<AddressState>, EmailSettings)> {
        let mut conn = self.pool.acquire().await?;
        let settings = email_settings_in(&mut conn).await?;
        let state = read_state(&mut conn, email_norm).await?.map(|(state, _)| state);
        Ok((state, settings))
    }

    /// The outbox, newest first: up to `limit` mails (with `status` only, when given) older
    /// than the mail `after`.
    pub async fn outbox_page(
        &self,
        status: Option<OutboxStatus>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<OutboxPage> {
        let mut sql = Sql::new(
            self.backend,
            "SELECT id, lead_id, to_address, kind, subject, status, attempts, last_error, created_at, \
             next_attempt_at, sent_at FROM outbox WHERE 1 = 1",
        );
        if let Some(status) = status {
            sql.push(" AND status = ").bind(status.as_str());
        }
        if let Some(after) = after {
            sql.push(" AND id < ").bind(after);
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(i64::from(limit) + 1);
        let mut rows: Vec<OutboxRow> = sql.query_as().fetch_all(&self.pool).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(|row| row.id.to_string()) } else { None };
        let items = rows.into_iter().map(OutboxRow::into_mail).collect::<StoreResult<Vec<_>>>()?;
        Ok(OutboxPage { items, next })
    }

    /// Queues a campaign: one mail to each distinct address among the leads the filter matches
    /// that the rules allow campaigns to (Subscribed only), addressed as its oldest lead writes
    /// it. The others are counted by status.
    pub async fn queue_campaign(
        &self,
        campaign: &ValidCampaign,
        filter_json: &str,
        operator_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<CampaignQueued> {
        let (_, joins) = self.plan_joins(&campaign.filter, now).await?;
        // Reads the settings, then writes: a write transaction from the start, or SQLite answers
        // "database is locked" when another writer is busy.
        let mut tx = self.begin_write().await?;
        let settings = email_settings_in(&mut tx).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (subject, body, filter, created_by, created_at, recipients) \
             VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
        )
        .bind(campaign.subject.clone())
        .bind(campaign.body.clone())
        .bind(filter_json.to_owned())
        .bind(operator_id)
        .bind(to_ms(now))
        .fetch_one(&mut *tx)
        .await?;

        let mut audience = Sql::new(
            self.backend,
            "SELECT a.email_norm, a.lead_id, a.email, s.status, s.bounce, s.soft_bounces, s.cool_down_until, \
             s.confirmed FROM (SELECT l.email_norm, MIN(l.id) AS lead_id, MIN(l.email) AS email FROM leads l \
             WHERE l.email_norm IS NOT NULL",
        );
        push_lead_conditions(&mut audience, &campaign.filter, &joins, now);
        audience.push(" GROUP BY l.email_norm) a LEFT JOIN email_statuses s ON s.email_norm = a.email_norm");
        let rows: Vec<AudienceRow> = audience.query_as().fetch_all(&mut *tx).await?;

        let mut skipped: BTreeMap<_, u64> = BTreeMap::new();
        let mut mails = Vec::new();
        for row in &rows {
            let state = row.state(&settings)?;
            match state.may_send(MailKind::Campaign, &settings, now) {
                Ok(()) => mails.push(NewMail {
                    lead_id: Some(row.lead_id),
                    to: row.email.clone(),
                    kind: MailKind::Campaign,
                    subject: campaign.subject.clone(),
                    body: campaign.body.clone(),
                    campaign_id: Some(id),
                }),
                Err(_) => *skipped.entry(state.status).or_default() += 1,
            }
        }
        let recipients = mails.len() as u64;
        enqueue_in(&mut tx, self.backend, mails, now).await?;
        sqlx::query("UPDATE campaigns SET recipients = $1 WHERE id = $2")
            .bind(recipients as i64)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if recipients > 0 {
            self.mail_queued.notify_one();
        }
        Ok(CampaignQueued { id, recipients, skipped })
    }
}
