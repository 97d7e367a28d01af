//! The subscription status of each normalized address, shared by every lead with it. A status
//! changes only through the core status machine: each change reads the address's state under
//! its write lock, applies a core transition and writes the result, in one transaction.

use chrono::{DateTime, Utc};
use leadcard_core::locale::Message;
use leadcard_core::mail::{EmailActions, MenuRefusal, operator_unsubscribe, send_confirmation};
use leadcard_core::wire::Subscription;
use leadcard_core::{
    AddressState, BounceKind, EmailAddress, EmailSettings, MailKind, StatusEvent, SubscriptionStatus, normalize_email,
};
use sqlx::{Any, AnyConnection, FromRow, Transaction};

use super::mail_queue::{NewMail, enqueue_in};
use super::settings::email_settings_in;
use super::sql::{Sql, Value};
use super::{Backend, Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

/// Subject of the Double Opt-In mail; its body, with the signed link, is written when it is sent.
const CONFIRMATION_SUBJECT: &str = "Please confirm your subscription";

#[derive(FromRow)]
struct AddressRow {
    status: String,
    bounce: Option<String>,
    reason: Option<String>,
    changed_at: i64,
    soft_bounces: i64,
    cool_down_until: Option<i64>,
    confirmed: i64,
}

impl AddressRow {
    fn state(self) -> StoreResult<(AddressState, DateTime<Utc>)> {
        let state = AddressState {
            status: parse_status(&self.status)?,
            bounce: self.bounce.as_deref().map(parse_bounce).transpose()?,
            soft_bounces: u32::try_from(self.soft_bounces)
                .map_err(|_| StoreError::Corrupt(format!("soft bounces {}", self.soft_bounces)))?,
            cool_down_until: self.cool_down_until.map(from_ms),
            confirmed: self.confirmed != 0,
            reason: self.reason,
        };
        Ok((state, from_ms(self.changed_at)))
    }
}

pub(crate) fn bounce_str(bounce: BounceKind) -> &'static str {
    match bounce {
        BounceKind::Hard => "hard",
        BounceKind::Soft => "soft",
    }
}

pub(super) fn parse_bounce(raw: &str) -> StoreResult<BounceKind> {
    match raw {
        "hard" => Ok(BounceKind::Hard),
        "soft" => Ok(BounceKind::Soft),
        other => Err(StoreError::Corrupt(format!("unknown bounce kind {other:?}"))),
    }
}

pub(super) fn parse_status(raw: &str) -> StoreResult<SubscriptionStatus> {
    SubscriptionStatus::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown subscription status {raw:?}")))
}

/// The stored state of an address and when its status last changed.
pub(super) async fn read_state(
    conn: &mut AnyConnection,
    email_norm: &str,
) -> StoreResult<Option<(AddressState, DateTime<Utc>)>> {
    let row: Option<AddressRow> = sqlx::query_as(
        "SELECT status, bounce, reason, changed_at, soft_bounces, cool_down_until, confirmed \
         FROM email_statuses WHERE email_norm = $1",
    )
    .bind(email_norm.to_owned())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(AddressRow::state).transpose()
}

/// The columns of an address's row, in `INSERT` order after `email_norm`.
fn state_values(email_norm: &str, state: &AddressState, changed_at: DateTime<Utc>) -> [Value; 8] {
    [
        Value::from(email_norm),
        Value::from(state.status.as_str()),
        Value::from(state.bounce.map(|b| bounce_str(b).to_owned())),
        Value::from(state.reason.clone()),
        Value::from(to_ms(changed_at)),
        Value::from(i64::from(state.soft_bounces)),
        Value::from(state.cool_down_until.map(to_ms)),
        Value::from(i64::from(state.confirmed)),
    ]
}

const INSERT_STATES: &str = "INSERT INTO email_statuses \
     (email_norm, status, bounce, reason, changed_at, soft_bounces, cool_down_until, confirmed) VALUES ";

pub(super) async fn write_state(
    conn: &mut AnyConnection,
    backend: Backend,
    email_norm: &str,
    state: &AddressState,
    changed_at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut sql = Sql::new(backend, INSERT_STATES);
    sql.bind_list(state_values(email_norm, state, changed_at));
    sql.push(
        " ON CONFLICT (email_norm) DO UPDATE SET status = excluded.status, bounce = excluded.bounce, \
         reason = excluded.reason, changed_at = excluded.changed_at, soft_bounces = excluded.soft_bounces, \
         cool_down_until = excluded.cool_down_until, confirmed = excluded.confirmed",
    );
    sql.query().execute(&mut *conn).await?;
    Ok(())
}

/// Takes the address's write lock before anything is read: a row lock on PostgreSQL, the
/// database's write lock on SQLite (a write statement, even one that changes nothing).
pub(super) async fn lock_address(conn: &mut AnyConnection, email_norm: &str) -> StoreResult<()> {
    sqlx::query("UPDATE email_statuses SET soft_bounces = soft_bounces WHERE email_norm = $1")
        .bind(email_norm.to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The leads that have this address, by id.
pub(super) async fn leads_with(conn: &mut AnyConnection, email_norm: &str) -> StoreResult<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM leads WHERE email_norm = $1 ORDER BY id")
        .bind(email_norm.to_owned())
        .fetch_all(&mut *conn)
        .await?)
}

/// A status change that was written.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressChange {
    pub email_norm: String,
    pub before: AddressState,
    pub after: AddressState,
    /// Every lead with the address: each of their cards shows the new status.
    pub lead_ids: Vec<i64>,
}

impl AddressChange {
    /// Whether the status (or the bounce kind) moved, as opposed to counters or the reason.
    pub fn status_moved(&self) -> bool {
        (self.before.status, self.before.bounce) != (self.after.status, self.after.bounce)
    }
}

/// What became of a status change for an address.
#[derive(Debug, Clone, PartialEq)]
pub enum AddressOutcome<E> {
    Changed(AddressChange),
    /// The core rules refused it; nothing changed.
    Refused(E),
    /// No lead has this address (and none had it, or it was removed): nothing was recorded.
    Unknown,
}

/// A change an address can go through, each decided by a core function.
#[derive(Debug, Clone, Copy)]
pub(super) enum Transition<'a> {
    Event(&'a StatusEvent),
    OperatorUnsubscribe,
    SendConfirmation,
}

impl Transition<'_> {
    fn apply(
        self,
        state: &AddressState,
        settings: &EmailSettings,
        now: DateTime<Utc>,
    ) -> Result<AddressState, MenuRefusal> {
        match self {
            Transition::Event(event) => Ok(state.apply(event, settings, now)?),
            Transition::OperatorUnsubscribe => operator_unsubscribe(Some(state), settings, now),
            Transition::SendConfirmation => send_confirmation(Some(state), settings, now),
        }
    }
}

/// Applies `transition` to the address's state under its write lock and writes the result;
/// `changed_at` moves only when the status does. The transaction must already hold the write
/// lock on SQLite (a write as its first statement): a read first would make the write fail at
/// once when another connection wrote in between.
pub(super) async fn change_in(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    email_norm: &str,
    settings: &EmailSettings,
    now: DateTime<Utc>,
    transition: Transition<'_>,
) -> StoreResult<AddressOutcome<MenuRefusal>> {
    lock_address(tx, email_norm).await?;
    let lead_ids = leads_with(tx, email_norm).await?;
    let stored = read_state(tx, email_norm).await?;
    let known = stored.is_some();
    let (before, changed_at) = match stored {
        Some(stored) => stored,
        None if lead_ids.is_empty() => return Ok(AddressOutcome::Unknown),
        None => (AddressState::new(EmailAddress::parse(email_norm).is_ok(), settings), now),
    };
    let after = match transition.apply(&before, settings, now) {
        Ok(after) => after,
        Err(refusal) => return Ok(AddressOutcome::Refused(refusal)),
    };
    if !known || after != before {
        let moved = (before.status, before.bounce) != (after.status, after.bounce);
        write_state(tx, backend, email_norm, &after, if moved { now } else { changed_at }).await?;
    }
    Ok(AddressOutcome::Changed(AddressChange { email_norm: email_norm.to_owned(), before, after, lead_ids }))
}

/// The lead's address, or None when there is no such lead (`Some(None)`: it has no address).
async fn lead_address(conn: &mut AnyConnection, lead_id: i64) -> StoreResult<Option<Option<(String, String)>>> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT email, email_norm FROM leads WHERE id = $1")
            .bind(lead_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(email, norm)| email.zip(norm)))
}

/// What a card menu action did: the address's change (none when there was nothing to change)
/// and the card's subscription now.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuDone {
    pub change: Option<AddressChange>,
    pub subscription: Subscription,
}

impl Store {
    /// Applies a status event to an address (bounces, the lead's own unsubscribe link and
    /// confirmation, deliveries).
    pub async fn apply_status_event(
        &self,
        email: &str,
        event: &StatusEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<AddressOutcome<MenuRefusal>> {
        let email_norm = normalize_email(email);
        let mut tx = self.begin().await?;
        lock_address(&mut tx, &email_norm).await?;
        let settings = email_settings_in(&mut tx).await?;
        let outcome = change_in(&mut tx, self.backend, &email_norm, &settings, now, Transition::Event(event)).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// *Unsubscribe from emails* from a lead's card: every lead with the address follows. An
    /// address already unsubscribed stays as it is (no change). None when there is no such lead.
    pub async fn unsubscribe_lead(
        &self,
        lead_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Result<MenuDone, MenuRefusal>>> {
        self.menu_action(lead_id, now, false).await
    }

    /// *Send subscription confirmation* from a lead's card: queues the Double Opt-In mail when the
    /// rules allow it. None when there is no such lead.
    pub async fn resend_confirmation(
        &self,
        lead_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Result<MenuDone, MenuRefusal>>> {
        self.menu_action(lead_id, now, true).await
    }

    async fn menu_action(
        &self,
        lead_id: i64,
        now: DateTime<Utc>,
        confirm: bool,
    ) -> StoreResult<Option<Result<MenuDone, MenuRefusal>>> {
        let mut tx = self.begin().await?;
        // A write first, for the write lock (see `change_in`); it changes nothing.
        sqlx::query("UPDATE leads SET version = version WHERE id = $1").bind(lead_id).execute(&mut *tx).await?;
        let settings = email_settings_in(&mut tx).await?;
        let Some(address) = lead_address(&mut tx, lead_id).await? else {
            return Ok(None);
        };
        let Some((email, email_norm)) = address else {
            return Ok(Some(Err(MenuRefusal::NoAddress)));
        };
        let transition = if confirm { Transition::SendConfirmation } else { Transition::OperatorUnsubscribe };
        let outcome = change_in(&mut tx, self.backend, &email_norm, &settings, now, transition).await?;
        let change = match outcome {
            AddressOutcome::Changed(change) => Some(change),
            AddressOutcome::Refused(MenuRefusal::AlreadyUnsubscribed) if !confirm => None,
            AddressOutcome::Refused(refusal) => return Ok(Some(Err(refusal))),
            AddressOutcome::Unknown => return Ok(Some(Err(MenuRefusal::NoAddress))),
        };
        if confirm {
            let mail = confirmation_mail(lead_id, &email);
            enqueue_in(&mut tx, self.backend, vec![mail], now).await?;
        }
        let subscription = read_subscription(&mut tx, Some(email), Some(&email_norm), &settings, now).await?;
        tx.commit().await?;
        if confirm {
            self.mail_queued.notify_one();
        }
        Ok(Some(Ok(MenuDone { change, subscription })))
    }
}

fn confirmation_mail(lead_id: i64, to: &str) -> NewMail {
    NewMail {
        lead_id: Some(lead_id),
        to: to.to_owned(),
        kind: MailKind::ConfirmationRequest,
        subject: CONFIRMATION_SUBJECT.to_owned(),
        body: String::new(),
        campaign_id: None,
    }
}

/// Gives newly seen addresses their first status (an address already known keeps its own), and
/// with Double Opt-In on queues a confirmation mail for each new valid one, for the lead it
/// appeared on. `addresses`: (email as written, the lead, when). Returns how many mails it queued.
pub(super) async fn ensure_email_statuses(
    tx: &mut AnyConnection,
    backend: Backend,
    addresses: Vec<(String, i64, DateTime<Utc>)>,
) -> StoreResult<usize> {
    if addresses.is_empty() {
        return Ok(0);
    }
    let settings = email_settings_in(tx).await?;
    let mut seen = std::collections::HashSet::new();
    let mut new = Vec::new();
    for (email, lead_id, at) in addresses {
        let email_norm = normalize_email(&email);
        if seen.insert(email_norm.clone()) {
            let mut state = AddressState::new(EmailAddress::parse(&email).is_ok(), &settings);
            let confirm = state.may_send(MailKind::ConfirmationRequest, &settings, at).is_ok();
            if confirm {
                state = state.apply(&StatusEvent::ConfirmationSent, &settings, at).unwrap_or(state);
            }
            new.push((email, email_norm, lead_id, at, state, confirm));
        }
    }
    // Only the rows this statement inserted come back: those addresses are new.
    let mut inserted = std::collections::HashSet::new();
    for chunk in new.chunks(super::batch::MAX_PARAMETERS / 8) {
        let mut sql = Sql::new(backend, INSERT_STATES);
        for (i, (_, email_norm, _, at, state, _)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_list(state_values(email_norm, state, *at));
        }
        sql.push(" ON CONFLICT (email_norm) DO NOTHING RETURNING email_norm");
        inserted.extend(sql.query_scalar::<String>().fetch_all(&mut *tx).await?);
    }
    let mails: Vec<NewMail> = new
        .iter()
        .filter(|(_, email_norm, _, _, _, confirm)| *confirm && inserted.contains(email_norm))
        .map(|(email, _, lead_id, _, _, _)| confirmation_mail(*lead_id, email))
        .collect();
    let queued = mails.len();
    if let Some((_, _, _, at, _, _)) = new.first() {
        enqueue_in(tx, backend, mails, *at).await?;
    }
    Ok(queued)
}

/// The subscription a card shows for its address (None: the lead has no address), with the
/// menu's email actions as the rules decide them at `now`.
pub(super) async fn read_subscription(
    conn: &mut AnyConnection,
    email: Option<String>,
    email_norm: Option<&str>,
    settings: &EmailSettings,
    now: DateTime<Utc>,
) -> StoreResult<Subscription> {
    let stored = match email_norm {
        Some(email_norm) => read_state(conn, email_norm).await?,
        None => None,
    };
    let state = match (&stored, email_norm) {
        (Some((state, _)), _) => Some(state.clone()),
        (None, Some(email_norm)) => Some(AddressState::new(EmailAddress::parse(email_norm).is_ok(), settings)),
        (None, None) => None,
    };
    let actions = EmailActions::rendered(state.as_ref(), settings, now, crate::language::said);
    Ok(match state {
        Some(state) => Subscription {
            email,
            status: state.status,
            bounce: state.bounce,
            bounce_cause: state.bounce_cause(),
            // An operator's or the lead's unsubscribe is a stored message, a bounce's the mail
            // server's words: either in the reader's language where it has one.
            reason: state.reason.map(|r| crate::language::said(&Message::from_stored(&r))),
            changed_at: stored.map(|(_, at)| at),
            cool_down_until: state.cool_down_until,
            actions,
        },
        None => Subscription {
            email: None,
            status: SubscriptionStatus::InvalidEmail,
            bounce: None,
            bounce_cause: None,
            reason: None,
            changed_at: None,
            cool_down_until: None,
            actions,
        },
    })
}
