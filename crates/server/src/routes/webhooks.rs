//! `POST /webhooks/email`: a mail provider reports a bounce after the fact. Public (no session),
//! authenticated by the shared secret in `X-Leadcard-Webhook-Secret`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use leadcard_core::mail::{BounceApplied, BounceReport};
use leadcard_core::wire::ErrorBody;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::mail::announce;
use crate::store::AddressOutcome;

pub const SECRET_HEADER: &str = "x-leadcard-webhook-secret";

/// Whether two secrets are equal, in time that does not depend on where they differ.
fn secrets_match(given: &[u8], expected: &[u8]) -> bool {
    let (given, expected) = (Sha256::digest(given), Sha256::digest(expected));
    given.iter().zip(expected.iter()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// Records a bounce for an address: `5.x.x` is a hard bounce (never mailed again), `4.x.x` a
/// soft one (cool-down; repeated ones become hard). An address no lead has is not recorded.
#[utoipa::path(
    post, path = "/webhooks/email", tag = "email", request_body = BounceReport,
    params(("X-Leadcard-Webhook-Secret" = String, Header, description = "The shared secret (`--webhook-secret`)")),
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
    let Some(expected) = &state.mailer.webhook_secret else {
        return Err(ApiError::NotFound("There is no such API endpoint."));
    };
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !secrets_match(given, expected.as_bytes()) {
        return Err(ApiError::InvalidSecret);
    }
    let ApiJson(report) = body?;
    let (address, bounce) = report.check()?;
    let applied = match state.store.apply_status_event(address.as_str(), &bounce.event(), state.clock.now()).await? {
        AddressOutcome::Changed(change) => {
            announce(&state.live, &change).await;
            BounceApplied { known: true, status: Some(change.after.status), bounce: change.after.bounce }
        }
        AddressOutcome::Refused(refusal) => return Err(ApiError::Refused(refusal.to_string())),
        AddressOutcome::Unknown => BounceApplied { known: false, status: None, bounce: None },
    };
    tracing::info!(code = %bounce.code, known = applied.known, "bounce reported");
    Ok(Json(applied))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(email_webhook))
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
}
