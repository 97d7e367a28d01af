//! Hiding a lead from Visitors, and removing a lead completely.

use chrono::{DateTime, Utc};
use leadcard_core::locale::{Language, Texts};
use leadcard_core::mail::confirms_removal_in;

use super::{Store, StoreResult};
use crate::clock::to_ms;

/// What became of a request to remove a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Gone, with everything that referred to it. `others` are the leads that shared its address
    /// (their status stays); when there were none, the address's status and mails went too.
    Removed {
        others: Vec<i64>,
    },
    /// The confirmation matched neither the lead's name nor its email: nothing changed.
    NotConfirmed,
    NotFound,
}

impl Store {
    /// Hides the lead from Visitors until its next activity. False when there is no such lead.
    pub async fn hide_lead(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE leads SET hidden_at = $1 WHERE id = $2")
            .bind(to_ms(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the lead and everything of it in one transaction, when `confirm` is its name or
    /// email: its properties, tags, events, notes, conversations with their messages, and mails
    /// (and every other row that refers to it, through `ON DELETE CASCADE`). Its address's status
    /// and any mail to the address go too unless another lead has the address.
    pub async fn remove_lead(&self, id: i64, confirm: &str, now: DateTime<Utc>) -> StoreResult<Removal> {
        let mut tx = self.begin().await?;
        // A write first: the lead's lock, so no edit slips in between the check and the delete.
        let lead: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
            "UPDATE leads SET version = version + 1, updated_at = $1 WHERE id = $2 RETURNING name, email, email_norm",
        )
        .bind(to_ms(now))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((name, email, email_norm)) = lead else {
            return Ok(Removal::NotFound);
        };
        let confirmed = {
            let languages: Vec<&dyn Texts> = Language::ALL.iter().map(|l| l as &dyn Texts).collect();
            confirms_removal_in(confirm, name.as_deref(), email.as_deref(), id, &languages)
        };
        if !confirmed {
            return Ok(Removal::NotConfirmed);
        }
        sqlx::query("DELETE FROM leads WHERE id = $1").bind(id).execute(&mut *tx).await?;
        let mut others = Vec::new();
        if let Some(email_norm) = email_norm {
            others = sqlx::query_scalar("SELECT id FROM leads WHERE email_norm = $1 ORDER BY id")
                .bind(email_norm.clone())
                .fetch_all(&mut *tx)
                .await?;
            if others.is_empty() {
                for statement in
                    ["DELETE FROM outbox WHERE email_norm = $1", "DELETE FROM email_statuses WHERE email_norm = $1"]
                {
                    sqlx::query(statement).bind(email_norm.clone()).execute(&mut *tx).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(Removal::Removed { others })
    }
}
