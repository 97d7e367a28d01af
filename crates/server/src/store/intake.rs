//! Leads that come in by an operator's hand: created in one transaction after making sure no lead
//! already has the user id or the address (a second card for the same person is refused).

use chrono::{DateTime, Utc};
use leadcard_core::normalize_email;
use leadcard_core::wire::LeadCard;
use sqlx::AnyConnection;

use super::leads::{NewLead, read_card};
use super::{Backend, Store, StoreError, StoreResult};

/// The key of the PostgreSQL advisory lock that makes checking for a clash and creating the lead
/// one step for every writer that adds leads by hand (SQLite's write lock does the same there).
const INTAKE_LOCK: i64 = 0x1ead_0020;

/// An existing lead that already has what the new one would have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clash {
    /// That lead has the user id.
    UserId(i64),
    /// That lead has the address (compared normalised).
    Email(i64),
}

/// Takes the intake lock for the transaction: on SQLite the transaction began with `BEGIN
/// IMMEDIATE` and holds the database's write lock already.
pub(super) async fn lock_intake(tx: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(INTAKE_LOCK).execute(&mut *tx).await?;
    }
    Ok(())
}

/// The lead that has this user id, or else this address, if any (the oldest of them).
pub(super) async fn clash(
    tx: &mut AnyConnection,
    user_id: Option<&str>,
    email: Option<&str>,
) -> StoreResult<Option<Clash>> {
    if let Some(user_id) = user_id {
        let found: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM leads WHERE user_id = $1")
            .bind(user_id.to_owned())
            .fetch_one(&mut *tx)
            .await?;
        if let Some(id) = found {
            return Ok(Some(Clash::UserId(id)));
        }
    }
    if let Some(email) = email {
        let found: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM leads WHERE email_norm = $1")
            .bind(normalize_email(email))
            .fetch_one(&mut *tx)
            .await?;
        if let Some(id) = found {
            return Ok(Some(Clash::Email(id)));
        }
    }
    Ok(None)
}

impl Store {
    /// Creates a lead an operator entered, unless a lead already has its user id or address;
    /// the address gets its first status by the usual rules. Returns the new card.
    pub async fn create_lead_by_hand(
        &self,
        lead: &NewLead,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<LeadCard, Clash>> {
        let text_of = |name: &str| {
            lead.properties
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .and_then(|(_, v)| v.as_text())
                .map(str::trim)
                .filter(|t| !t.is_empty())
        };
        let mut tx = self.begin_write().await?;
        lock_intake(&mut tx, self.backend).await?;
        if let Some(found) = clash(&mut tx, text_of("$user_id"), text_of("$email")).await? {
            return Ok(Err(found));
        }
        let (ids, confirmations) = self.insert_leads(&mut tx, std::slice::from_ref(lead)).await?;
        let id = *ids.first().ok_or_else(|| StoreError::Corrupt("no id for a new lead".to_owned()))?;
        let card =
            read_card(&mut tx, id, now).await?.ok_or_else(|| StoreError::Corrupt(format!("new lead {id} vanished")))?;
        tx.commit().await?;
        if confirmations > 0 {
            self.mail_queued.notify_one();
        }
        Ok(Ok(card))
    }
}
