//! Mail providers' webhooks, public (no session) and authenticated by the shared secret in
//! `X-Leadcard-Webhook-Secret`: `POST /webhooks/email` reports a bounce after the fact,
//! `POST /webhooks/inbound-email` hands over a lead's mailed reply to a conversation.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use leadcard_core::LiveEvent;
use leadcard_core::inbox::{InboundEmail, MAX_SUBJECT_CHARS, check_body, strip_quoted_reply};
use leadcard_core::locale::k;
use leadcard_core::mail::{BounceApplied, BounceReport};
use leadcard_core::tracking::TrackAccepted;
use leadcard_core::wire::ErrorBody;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::mail::announce;
use crate::store::{AddressOutcome, InboundOutcome};

pub const SECRET_HEADER: &str = "x-leadcard-webhook-secret";

/// Whether two secrets are equal, in time that does not depend on where they differ.
fn secrets_match(given: &[u8], expected: &[u8]) -> bool {
    let (given, expected) = (Sha256::digest(given), Sha256::digest(expected));
    given.iter().zip(expected.iter()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// Without a configured secret the webhooks are off (404); a missing or wrong one is 401.
fn check_secret(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.mailer.webhook_secret else {
        return Err(ApiError::NotFound(k::ERROR_ENDPOINT_NOT_FOUND));
    };
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if secrets_match(given, expected.as_bytes()) { Ok(()) } else { Err(ApiError::InvalidSecret) }
}

/// The token of a conversation's reply address `reply+<token>@<domain>` (also inside
/// `Name <...>`), case-insensitive.
fn reply_token(to: &str) -> Option<String> {
    let address = match (to.find('<'), to.rfind('>')) {
        (Some(start), Some(end)) if start < end => &to[start + 1..end],
        _ => to,
    };
    let (local, domain) = address.trim().rsplit_once('@')?;
    let token = local.get(..6).filter(|p| p.eq_ignore_ascii_case("reply+")).map(|_| &local[6..])?;
    let ok =
        !domain.is_empty() && !token.is_empty() && token.len() <= 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| token.to_ascii_lowercase())
}

/// A mailed subject as stored: one line, at most [`MAX_SUBJECT_CHARS`] characters.
fn one_line(subject: &str) -> Option<String> {
    let line: String =
        subject.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_SUBJECT_CHARS).collect();
    (!line.is_empty()).then_some(line)
}

/// Most characters of a Message-ID.
const MAX_MESSAGE_ID_CHARS: usize = 998;

/// A lead's reply by mail to a conversation's reply address becomes the lead's message there
/// (the quoted history left out), once per Message-ID; a closed conversation reopens.
#[utoipa::path(
    post, path = "/webhooks/inbound-email", tag = "inbox", request_body = InboundEmail,
    security(("webhook_secret" = [])),
    responses(
        (status = 200, description = "Stored (or stored before: the same Message-ID)", body = TrackAccepted),
        (status = 401, description = "`invalid_secret`", body = ErrorBody),
        (status = 404, description = "`not_found`: the webhook is off (no `--webhook-secret`)", body = ErrorBody),
        (status = 422, description = "`invalid`, field `to` (no conversation has this reply address), `from` (not the conversation's lead), `text` or `message_id`", body = ErrorBody),
    )
)]
async fn inbound_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiJson<InboundEmail>, ApiError>,
) -> Result<Json<TrackAccepted>, ApiError> {
    check_secret(&state, &headers)?;
    let ApiJson(mail) = body?;
    let unknown_to = || ApiError::invalid("to", k::ERROR_WEBHOOK_UNKNOWN_TO);
    let token = reply_token(&mail.to).ok_or_else(unknown_to)?;
    let message_id = mail.message_id.trim();
    if message_id.is_empty() || message_id.chars().count() > MAX_MESSAGE_ID_CHARS {
        return Err(ApiError::invalid("message_id", k::ERROR_WEBHOOK_MESSAGE_ID));
    }
    let text = check_body(strip_quoted_reply(&mail.text), "text")?;
    let subject = mail.subject.as_deref().and_then(one_line);
    let outcome = state
        .store
        .receive_mailed_reply(&token, &mail.from, subject.as_deref(), text, message_id, state.clock.now())
        .await?;
    match outcome {
        InboundOutcome::Stored { conversation_id, lead_id, message_id } => {
            if message_id.is_some() {
                state.live.publish(LiveEvent::ConversationChanged { conversation_id, lead_id, message_id }).await;
            }
            tracing::info!(conversation = conversation_id, repeated = message_id.is_none(), "mailed reply received");
            Ok(Json(TrackAccepted { accepted: 1 }))
        }
        InboundOutcome::UnknownToken => Err(unknown_to()),
        InboundOutcome::WrongSender => Err(ApiError::invalid("from", k::ERROR_WEBHOOK_SENDER)),
    }
}

/// Records a bounce for an address: `5.x.x` is a hard bounce (never mailed again), `4.x.x` a
/// soft one (cool-down; repeated ones become hard). An address no lead has is not recorded.
#[utoipa::path(
    post, path = "/webhooks/email", tag = "email", request_body = BounceReport,
    security(("webhook_secret" = [])),
    responses(
        (status = 200, description = "Recorded (or `known: false`)", body = BounceApplied),
        (status = 401, description = "`invalid_secret`", body = ErrorBody),
        (status = 404, description = "`not_found`: the webhook is off (no `--webhook-secret`)", body = ErrorBody),
        (status = 422, description = "`invalid`, field `address`, `status_code`, `smtp_code` or `reason`", body = ErrorBody),
    )
)]
async fn email_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiJson<BounceReport>, ApiError>,
) -> Result<Json<BounceApplied>, ApiError> {
    check_secret(&state, &headers)?;
    let ApiJson(report) = body?;
    let (address, bounce) = report.check()?;
    let applied = match state.store.apply_status_event(address.as_str(), &bounce.event(), state.clock.now()).await? {
        AddressOutcome::Changed(change) => {
            announce(&state.live, &change).await;
            BounceApplied { known: true, status: Some(change.after.status), bounce: change.after.bounce }
        }
        AddressOutcome::Refused(refusal) => return Err(ApiError::Refused(refusal.message())),
        AddressOutcome::Unknown => BounceApplied { known: false, status: None, bounce: None },
    };
    tracing::info!(code = %bounce.code, known = applied.known, "bounce reported");
    Ok(Json(applied))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(email_webhook)).routes(routes!(inbound_email))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(secrets_match(b"s3cret", b"s3cret"));
        assert!(!secrets_match(b"s3cret", b"s3cre"));
        assert!(!secrets_match(b"", b"s3cret"));
    }

    #[test]
    fn reply_tokens_come_from_reply_addresses_only() {
        assert_eq!(reply_token("reply+ab12@reply.example.com").as_deref(), Some("ab12"));
        assert_eq!(reply_token("Shop <Reply+AB12@example.com>").as_deref(), Some("ab12"));
        assert_eq!(reply_token("support@example.com"), None);
        assert_eq!(reply_token("reply+@example.com"), None);
        assert_eq!(reply_token("reply+x'--@example.com"), None);
        assert_eq!(reply_token("reply+ab12"), None);
    }
}
