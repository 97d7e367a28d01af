//! Writing a batch of imported rows in one transaction: each row matched to an existing lead by
//! user id, then by address (updated or skipped, as asked), or created; no second card for a row
//! that matches, in the database or earlier in the same batch; the statuses a file may set
//! written first, never over an Unsubscribed or hard-bounced address.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadcard_core::import::ImportRow;
use leadcard_core::{Operation, normalize_email};
use sqlx::AnyConnection;

use super::batch::insert_rows;
use super::edits::{VersionCheck, bump_version};
use super::intake::lock_intake;
use super::leads::NewLead;
use super::sql::{Sql, Value};
use super::{Store, StoreError, StoreResult};
use crate::clock::to_ms;

pub use leadcard_core::import::OnMatch;

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Created(i64),
    Updated(i64),
    /// It matched this lead and matches are skipped.
    Skipped(i64),
}

/// The lead each known user id and address belongs to (the oldest with it).
#[derive(Default)]
struct Known {
    user_ids: HashMap<String, i64>,
    emails: HashMap<String, i64>,
}

impl Known {
    fn of(&self, row: &ImportRow) -> Option<i64> {
        let user_id = row.text("$user_id").and_then(|u| self.user_ids.get(u));
        let email = || row.text("$email").and_then(|e| self.emails.get(&normalize_email(e)));
        user_id.or_else(email).copied()
    }

    fn learn(&mut self, row: &ImportRow, id: i64) {
        if let Some(user_id) = row.text("$user_id") {
            self.user_ids.entry(user_id.to_owned()).or_insert(id);
        }
        if let Some(email) = row.text("$email") {
            self.emails.entry(normalize_email(email)).or_insert(id);
        }
    }
}

async fn existing(tx: &mut AnyConnection, store: &Store, rows: &[ImportRow]) -> StoreResult<Known> {
    let mut known = Known::default();
    let user_ids: Vec<String> = rows.iter().filter_map(|r| r.text("$user_id")).map(str::to_owned).collect();
    let emails: Vec<String> = rows.iter().filter_map(|r| r.text("$email")).map(normalize_email).collect();
    for (column, values, map) in [("user_id", user_ids, &mut known.user_ids), ("email_norm", emails, &mut known.emails)]
    {
        for chunk in values.chunks(super::batch::MAX_PARAMETERS) {
            let mut sql = Sql::new(store.backend, &format!("SELECT MIN(id), {column} FROM leads WHERE {column} IN "));
            sql.bind_list(chunk.iter().cloned()).push(&format!(" GROUP BY {column}"));
            for (id, value) in sql.query_as::<(i64, String)>().fetch_all(&mut *tx).await? {
                map.insert(value, id);
            }
        }
    }
    Ok(known)
}

/// Writes the statuses the rows ask for, unless the address is already Unsubscribed or
/// hard-bounced (then it stays as it is, whatever the file says).
async fn write_statuses(
    tx: &mut AnyConnection,
    store: &Store,
    rows: &[ImportRow],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut seen = std::collections::HashSet::new();
    let values: Vec<[Value; 5]> = rows
        .iter()
        .filter_map(|row| Some((normalize_email(row.text("$email")?), row.status?)))
        .filter(|(email_norm, _)| seen.insert(email_norm.clone()))
        .map(|(email_norm, status)| {
            [
                Value::from(email_norm),
                Value::from(status.status().as_str()),
                Value::from(status.bounce().map(|_| "hard".to_owned())),
                Value::from("imported"),
                Value::from(to_ms(now)),
            ]
        })
        .collect();
    insert_rows(
        tx,
        store.backend,
        "INSERT INTO email_statuses (email_norm, status, bounce, reason, changed_at) VALUES ",
        " ON CONFLICT (email_norm) DO UPDATE SET status = excluded.status, bounce = excluded.bounce, \
         reason = excluded.reason, changed_at = excluded.changed_at \
         WHERE email_statuses.status <> 'unsubscribed' \
         AND NOT (email_statuses.status = 'bounced' AND email_statuses.bounce = 'hard')",
        values,
    )
    .await
}

impl Store {
    /// Writes checked rows in one transaction (all or nothing: the caller retries a failed batch
    /// row by row to tell the bad one). Returns each row's outcome, in order.
    pub async fn import_rows(
        &self,
        rows: &[ImportRow],
        on_match: OnMatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<RowOutcome>> {
        let mut tx = self.begin_write().await?;
        lock_intake(&mut tx, self.backend).await?;
        write_statuses(&mut tx, self, rows, now).await?;
        let mut known = existing(&mut tx, self, rows).await?;
        let mut outcomes: Vec<Option<RowOutcome>> = vec![None; rows.len()];
        // New leads wait here to be created together; a row matching one of them first creates them.
        let mut pending: Vec<usize> = Vec::new();
        let mut confirmations = 0;
        for (i, row) in rows.iter().enumerate() {
            let pending_match = pending.iter().any(|p| {
                let earlier = &rows[*p];
                let same_user = row.text("$user_id").is_some() && row.text("$user_id") == earlier.text("$user_id");
                let same_email = row.text("$email").map(normalize_email).is_some()
                    && row.text("$email").map(normalize_email) == earlier.text("$email").map(normalize_email);
                same_user || same_email
            });
            if pending_match {
                confirmations +=
                    self.create_pending(&mut tx, rows, &mut pending, &mut outcomes, &mut known, now).await?;
            }
            match (known.of(row), on_match) {
                (Some(id), OnMatch::Skip) => outcomes[i] = Some(RowOutcome::Skipped(id)),
                (Some(id), OnMatch::Update) => {
                    bump_version(&mut tx, self.backend, id, &VersionCheck::Current, now).await?;
                    let operations: Vec<Operation> = row
                        .properties
                        .iter()
                        .map(|(name, value)| Operation::Set { name: name.clone(), value: value.clone() })
                        .collect();
                    confirmations += self.apply_operations(&mut tx, id, &operations, now).await?;
                    let tags =
                        row.tags.iter().map(|t| [Value::from(id), Value::from(t.as_str()), Value::from(to_ms(now))]);
                    insert_rows(
                        &mut tx,
                        self.backend,
                        "INSERT INTO lead_tags (lead_id, tag, created_at) VALUES ",
                        " ON CONFLICT (lead_id, tag) DO NOTHING",
                        tags.collect(),
                    )
                    .await?;
                    outcomes[i] = Some(RowOutcome::Updated(id));
                }
                (None, _) => pending.push(i),
            }
        }
        confirmations += self.create_pending(&mut tx, rows, &mut pending, &mut outcomes, &mut known, now).await?;
        tx.commit().await?;
        if confirmations > 0 {
            self.mail_queued.notify_one();
        }
        outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| StoreError::Corrupt("an imported row has no outcome".to_owned())))
            .collect()
    }

    async fn create_pending(
        &self,
        tx: &mut AnyConnection,
        rows: &[ImportRow],
        pending: &mut Vec<usize>,
        outcomes: &mut [Option<RowOutcome>],
        known: &mut Known,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        if pending.is_empty() {
            return Ok(0);
        }
        let leads: Vec<NewLead> = pending
            .iter()
            .map(|i| NewLead {
                created_at: now,
                properties: rows[*i].properties.clone(),
                tags: rows[*i].tags.clone(),
                last_heartbeat: None,
                last_active: None,
                events: Vec::new(),
            })
            .collect();
        let (ids, confirmations) = self.insert_leads(tx, &leads).await?;
        for (i, id) in pending.drain(..).zip(ids) {
            known.learn(&rows[i], id);
            outcomes[i] = Some(RowOutcome::Created(id));
        }
        Ok(confirmations)
    }
}
