//! The delivery worker: claims due mails from the outbox, checks each address against the status
//! rules once more (its status may have changed since the mail was queued), sends it over SMTP
//! and records the outcome — a bounce changes the address's status, a transient failure is
//! retried with back-off.

use std::time::Duration;

use leadcard_core::mail::retry_delay;
use leadcard_core::{AddressState, Bounce, BounceKind, StatusEvent};

use super::announce;
use super::smtp::{self, Outcome, SmtpTarget};
use crate::app::AppState;
use crate::store::{AddressOutcome, ClaimedMail, Delivery, StoreResult};

/// How often an idle worker looks for due mail (retries, and mail another server queued).
const POLL: Duration = Duration::from_secs(1);
/// Mails claimed at once; each is sent before the next claim.
const BATCH: i64 = 10;
/// How long a claim holds; a worker that died frees its mails when it runs out. Well above what
/// a batch can take (each SMTP command times out after 30 s).
pub const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(10);

/// Sends the outbox until the task is aborted. Returns at once when no SMTP server is set.
pub async fn run(state: AppState) {
    let Some(target) = state.mailer.smtp.clone() else {
        tracing::info!("no --smtp-url: mail stays queued in the outbox");
        return;
    };
    let mut id = [0u8; 8];
    if let Err(e) = getrandom::fill(&mut id) {
        return tracing::error!(error = %e, "cannot name the delivery worker; mail is not sent");
    }
    let worker: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let queued = state.store.mail_queued();
    tracing::info!(%worker, host = %target.host, port = target.port, "delivering mail");
    loop {
        let claimed = match state.store.claim_mails(&worker, state.clock.now(), LOCK_FOR, BATCH).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = queued.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
            continue;
        }
        for mail in claimed {
            let id = mail.id;
            let delivery = match attempt(&state, &target, &mail).await {
                Ok(delivery) => delivery,
                Err(e) => {
                    tracing::warn!(mail = id, error = %e, "cannot read the address's status before sending");
                    retry(&mail, &state, "the server could not read the address's status".to_owned())
                }
            };
            tracing::debug!(mail = id, lead = ?mail.lead_id, kind = mail.kind.as_str(), ?delivery, "delivery");
            match state.store.finish_mail(id, &worker, &delivery, state.clock.now()).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(mail = id, "a mail's claim ran out before it was recorded"),
                Err(e) => tracing::warn!(mail = id, error = %e, "cannot record a delivery"),
            }
        }
    }
}

/// Another try after the back-off for this attempt, or failure when it was the last.
fn retry(mail: &ClaimedMail, state: &AppState, error: String) -> Delivery {
    match retry_delay(mail.attempts) {
        Some(delay) => Delivery::Retry { at: state.clock.now() + delay, error },
        None => Delivery::Failed { error },
    }
}

async fn attempt(state: &AppState, target: &SmtpTarget, mail: &ClaimedMail) -> StoreResult<Delivery> {
    let now = state.clock.now();
    let (address, settings) = state.store.sending_state(&mail.email_norm).await?;
    let Some(address) = address else {
        return Ok(Delivery::Dropped { reason: "no lead has this address any more".to_owned() });
    };
    if let Err(refusal) = address.may_send(mail.kind, &settings, now) {
        return Ok(Delivery::Dropped { reason: refusal.to_string() });
    }
    let composed = match state.mailer.compose(mail, now) {
        Ok(composed) => composed,
        Err(error) => return Ok(Delivery::Failed { error }),
    };
    // From here on the server has answered: whatever happens to the status update, the mail's
    // outcome is recorded as the server gave it, so an accepted mail is never sent again.
    match smtp::send(target, state.mailer.sender(), &composed.to, &composed.bytes).await {
        Outcome::Accepted => {
            change_status(state, &mail.email_norm, &StatusEvent::Delivered).await;
            Ok(Delivery::Sent { headers: composed.headers })
        }
        Outcome::Bounced(bounce) => Ok(bounced(state, mail, &bounce).await),
        // A server that cannot be reached is tried again; after the last try it is a soft bounce
        // ("the server is not available"), as SPEC section 6 counts it.
        Outcome::Unreachable(error) => Ok(match retry(mail, state, error) {
            Delivery::Failed { error } => bounced(state, mail, &Bounce::unreachable(&error)).await,
            delivery => delivery,
        }),
        Outcome::Failed(error) => Ok(retry(mail, state, error)),
    }
}

/// Records a bounce on the address; the mail fails for good on a hard bounce (or when this soft
/// one made the address hard-bounced), else it is tried again once the cool-down is over.
async fn bounced(state: &AppState, mail: &ClaimedMail, bounce: &Bounce) -> Delivery {
    let kind = match bounce.kind() {
        BounceKind::Hard => "hard",
        BounceKind::Soft => "soft",
    };
    let error = format!("{} {} ({kind} bounce: {})", bounce.code, bounce.reason, bounce.cause.label());
    let after = change_status(state, &mail.email_norm, &bounce.event()).await;
    let hard = after.as_ref().is_some_and(|a| a.bounce == Some(BounceKind::Hard));
    if bounce.kind() == BounceKind::Hard || hard {
        return Delivery::Failed { error };
    }
    match (retry(mail, state, error), after.and_then(|a| a.cool_down_until)) {
        (Delivery::Retry { at, error }, Some(until)) => Delivery::Retry { at: at.max(until), error },
        (delivery, _) => delivery,
    }
}

/// Applies a status event to the address and tells open cards; the state after it. A failure
/// is logged: the mail's own outcome must still be recorded.
async fn change_status(state: &AppState, email_norm: &str, event: &StatusEvent) -> Option<AddressState> {
    match state.store.apply_status_event(email_norm, event, state.clock.now()).await {
        Ok(AddressOutcome::Changed(change)) => {
            announce(&state.live, &change).await;
            Some(change.after)
        }
        Ok(AddressOutcome::Refused(_) | AddressOutcome::Unknown) => None,
        Err(e) => {
            tracing::warn!(error = %e, ?event, "cannot record a delivery's effect on the address");
            None
        }
    }
}
