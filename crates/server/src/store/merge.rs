//! Merging two cards of one person by hand, in one transaction: the values the operator took from
//! the other card, then everything of it moved onto the kept card (the same move as the site's
//! identify), the strictest address status kept, and the other card's id redirected.

use chrono::{DateTime, Utc};
use leadcard_core::merge::{refusal_text, surviving_status};
use leadcard_core::wire::LeadCard;
use leadcard_core::{EmailAddress, Operation, PropertyName};
use sqlx::AnyConnection;

use super::addresses::{leads_with, lock_address, read_state, write_state};
use super::edits::{VersionCheck, bump_version};
use super::leads::read_card;
use super::settings::email_settings_in;
use super::{Store, StoreError, StoreResult};

/// What became of a merge.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    /// `card` is the kept card now; `address_leads` are the other leads whose address status the
    /// merge changed (their cards show it).
    Done { card: Box<LeadCard>, address_leads: Vec<i64> },
    /// No kept lead with this id.
    NotFound,
    /// No lead with the other id.
    OtherNotFound,
    /// `take[index]` names a property the other card does not have.
    NotOnOther(usize),
    /// The core rules refuse it (the reason).
    Refused(leadcard_core::locale::Text),
}

impl Store {
    /// Merges lead `other` into lead `keep`, for operator `by`: the properties named in `take`
    /// get the other card's value, then everything of the other card moves to the kept one and
    /// the other card is deleted; its id redirects to the kept card. When the person loses an
    /// address by it, a hard bounce or an unsubscribe of that address carries over to the
    /// address the kept card has.
    pub async fn merge_cards(
        &self,
        keep: i64,
        other: i64,
        take: &[PropertyName],
        by: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Merged> {
        let mut tx = self.begin().await?;
        if bump_version(&mut tx, self.backend, keep, &VersionCheck::Current, now).await?.is_none() {
            return Ok(Merged::NotFound);
        }
        if bump_version(&mut tx, self.backend, other, &VersionCheck::Current, now).await?.is_none() {
            return Ok(Merged::OtherNotFound);
        }
        let kept_before = identity(&mut tx, keep).await?;
        let other_before = identity(&mut tx, other).await?;
        if let Some(reason) = refusal_text(kept_before.user_id.as_deref(), other_before.user_id.as_deref()) {
            return Ok(Merged::Refused(reason));
        }
        let names: Vec<&str> = take.iter().map(PropertyName::as_str).collect();
        let theirs = self.stored_values(&mut tx, other, &names).await?;
        let mut operations = Vec::with_capacity(take.len());
        for (index, name) in take.iter().enumerate() {
            let Some(value) = theirs.get(name.as_str()) else {
                return Ok(Merged::NotOnOther(index));
            };
            operations.push(Operation::Set { name: name.clone(), value: value.clone() });
        }
        let mut mails = self.apply_operations(&mut tx, keep, &operations, now).await?;
        mails += self.merge_leads(&mut tx, other, keep, Some(by), now).await?;

        let kept_after = identity(&mut tx, keep).await?;
        let mut address_leads = Vec::new();
        if let Some(address) = kept_after.email_norm.clone() {
            let dropped = [kept_before.email_norm, other_before.email_norm];
            for gone in dropped.into_iter().flatten().filter(|gone| *gone != address) {
                if carry_stop(&mut tx, self.backend, &gone, &address, now).await? {
                    address_leads = leads_with(&mut tx, &address).await?;
                }
            }
        }
        address_leads.retain(|id| *id != keep);
        let card = read_card(&mut tx, keep, now)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("lead {keep} vanished while locked")))?;
        tx.commit().await?;
        if mails > 0 {
            self.mail_queued.notify_one();
        }
        Ok(Merged::Done { card: Box::new(card), address_leads })
    }

    /// The lead a merged lead's id redirects to, if it was merged.
    pub async fn merged_into(&self, merged: i64) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT into_lead_id FROM lead_redirects WHERE merged_id = $1")
            .bind(merged)
            .fetch_optional(&self.pool)
            .await?)
    }
}

/// What identifies a lead to the site and to mail.
struct Identity {
    user_id: Option<String>,
    email_norm: Option<String>,
}

async fn identity(conn: &mut AnyConnection, id: i64) -> StoreResult<Identity> {
    let (user_id, email_norm): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT user_id, email_norm FROM leads WHERE id = $1").bind(id).fetch_one(&mut *conn).await?;
    Ok(Identity { user_id, email_norm })
}

/// Gives `kept` (an address) the stop `gone` (an address the person no longer has on the card)
/// had, when it is stronger (`merge::surviving_status`). True when `kept`'s status changed.
async fn carry_stop(
    tx: &mut AnyConnection,
    backend: super::Backend,
    gone: &str,
    kept: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let Some((dropped, _)) = read_state(tx, gone).await? else {
        return Ok(false);
    };
    lock_address(tx, kept).await?;
    let settings = email_settings_in(tx).await?;
    let current = match read_state(tx, kept).await? {
        Some((state, _)) => state,
        None => leadcard_core::AddressState::new(EmailAddress::parse(kept).is_ok(), &settings),
    };
    let Some(after) = surviving_status(&current, &dropped) else {
        return Ok(false);
    };
    write_state(tx, backend, kept, &after, now).await?;
    Ok(true)
}
