//! The API's one error type: every failure becomes `{"error": {"code", "message", "field"?}}`
//! with its status; internal failures are logged and answered with a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadcard_core::FilterError;
use leadcard_core::wire::{Conflict, ErrorBody, ErrorDetail, LeadCard};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("Wrong email or password.")]
    InvalidCredentials,
    #[error("This request needs the header X-Requested-With: leadcard or a JSON body.")]
    Csrf,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    /// A 404 whose reason depends on the data (an avatar that cannot be shown); `field` names it.
    #[error("{message}")]
    NotFoundBecause { field: &'static str, message: String },
    #[error("This method is not allowed here.")]
    MethodNotAllowed,
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    #[error("{}", .0.message)]
    InvalidFilter(FilterError),
    /// A property operation refused by the core rules; `field` is the property's name.
    #[error("{message}")]
    InvalidProperty { field: String, message: String },
    /// A unique name already taken; `field` names it.
    #[error("{message}")]
    Duplicate { field: String, message: String },
    #[error("Send If-Match with the card's version (its ETag) to set or delete a property.")]
    PreconditionRequired,
    /// The write was based on an older version of the card; the body carries the current one.
    #[error("This card was changed by someone else since you opened it. Here is what it holds now.")]
    VersionConflict(Box<LeadCard>),
    /// The core rules refuse the action now; the message says why (the menu shows the same).
    #[error("{0}")]
    Refused(String),
    /// A 422 with its own code (`link_gone`): the rules refuse the request as it stands; `field`
    /// names what to change.
    #[error("{message}")]
    Unprocessable { code: &'static str, field: String, message: String },
    /// A 409 with its own code (`job_finished`, `channel_refused`, `last_admin`): the request does
    /// not fit the current state of what it names; `field` names it.
    #[error("{message}")]
    Conflict { code: &'static str, field: String, message: String },
    /// An idempotency key sent before with another message.
    #[error("This idempotency key was used for another message. Make a new key for a new message.")]
    IdempotencyConflict,
    /// The bounce webhook's shared secret is missing or wrong.
    #[error("The webhook secret is missing or wrong.")]
    InvalidSecret,
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("Send the body as JSON (Content-Type: application/json).")]
    UnsupportedMediaType,
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// A file over its limit (an import's upload); the message names the limit.
    #[error("{message}")]
    FileTooLarge { message: String },
    #[error("Too many sign-in attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error(
        "Unknown or missing project key: send the public key as the X-Leadcard-Key header or the `key` query parameter."
    )]
    InvalidKey,
    #[error("user_hash does not match user_id: sign the user id with the project's secret key (HMAC-SHA256, hex).")]
    InvalidUserHash,
    #[error(
        "Too many widget requests from this client, visitor or project key. Try again in {retry_after_secs} seconds."
    )]
    TrackingRateLimited { retry_after_secs: u64 },
    #[error("The server is busy storing earlier data. Try again in {retry_after_secs} seconds; nothing was stored.")]
    Busy { retry_after_secs: u64 },
    #[error("The server did not answer within {seconds} seconds. Try again.")]
    Timeout { seconds: u64 },
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid { field: Some(field.into()), message: message.into() }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated
            | ApiError::InvalidCredentials
            | ApiError::InvalidSecret
            | ApiError::InvalidKey
            | ApiError::InvalidUserHash => StatusCode::UNAUTHORIZED,
            ApiError::Csrf | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NotFoundBecause { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Invalid { .. }
            | ApiError::InvalidFilter(_)
            | ApiError::InvalidProperty { .. }
            | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Duplicate { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::VersionConflict(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::Refused(_) | ApiError::IdempotencyConflict | ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge | ApiError::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } | ApiError::TrackingRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy { .. } | ApiError::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Csrf => "csrf",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) | ApiError::NotFoundBecause { .. } => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Invalid { .. } => "invalid",
            ApiError::InvalidFilter(_) => "invalid_filter",
            ApiError::InvalidProperty { .. } => "invalid_property",
            ApiError::Duplicate { .. } => "duplicate",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::VersionConflict(_) => "version_conflict",
            ApiError::Refused(_) => "refused",
            ApiError::Unprocessable { code, .. } | ApiError::Conflict { code, .. } => code,
            ApiError::IdempotencyConflict => "idempotency_conflict",
            ApiError::InvalidSecret => "invalid_secret",
            ApiError::BadRequest { code, .. } => code,
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge | ApiError::FileTooLarge { .. } => "payload_too_large",
            ApiError::RateLimited { .. } | ApiError::TrackingRateLimited { .. } => "rate_limited",
            ApiError::InvalidKey => "invalid_key",
            ApiError::InvalidUserHash => "invalid_user_hash",
            ApiError::Busy { .. } => "busy",
            ApiError::Timeout { .. } => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::Invalid { field, .. } => field.clone(),
            ApiError::InvalidFilter(e) => Some(e.field.clone()),
            ApiError::InvalidProperty { field, .. }
            | ApiError::Duplicate { field, .. }
            | ApiError::Unprocessable { field, .. }
            | ApiError::Conflict { field, .. } => Some(field.clone()),
            ApiError::IdempotencyConflict => Some("idempotency_key".to_owned()),
            ApiError::NotFoundBecause { field, .. } => Some((*field).to_owned()),
            ApiError::FileTooLarge { .. } => Some("file".to_owned()),
            _ => None,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let message = match self {
            ApiError::Internal(_) => "Something went wrong on the server. Try again.".to_owned(),
            other => other.to_string(),
        };
        let request_id = crate::layers::current_request_id();
        ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message, field: self.field(), request_id } }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidProperty { name, source } => {
                ApiError::InvalidProperty { field: name, message: source.to_string() }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<leadcard_core::FieldError> for ApiError {
    fn from(e: leadcard_core::FieldError) -> Self {
        ApiError::Invalid { field: Some(e.field), message: e.message }
    }
}

impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        ApiError::InvalidFilter(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let status = self.status();
        let ErrorBody { error } = self.body();
        match self {
            ApiError::VersionConflict(current) => {
                let etag = etag(current.version);
                ([(header::ETAG, etag)], (status, Json(Conflict { error, current: *current }))).into_response()
            }
            ApiError::RateLimited { retry_after_secs }
            | ApiError::TrackingRateLimited { retry_after_secs }
            | ApiError::Busy { retry_after_secs } => {
                let retry_after = HeaderValue::from(retry_after_secs);
                ([(header::RETRY_AFTER, retry_after)], (status, Json(ErrorBody { error }))).into_response()
            }
            _ => (status, Json(ErrorBody { error })).into_response(),
        }
    }
}

/// The ETag of a card at `version`: `"<version>"`.
pub fn etag(version: i64) -> HeaderValue {
    // A number in quotes is always a valid header value; the fallback is never used.
    HeaderValue::try_from(format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_reach_the_client() {
        let body = ApiError::Internal("password authentication failed for user x".into()).body();
        assert_eq!(body.error.code, "internal");
        assert!(!body.error.message.contains("password"));
    }

    #[test]
    fn filter_errors_name_their_field() {
        let err = leadcard_core::Filter::from_query(
            r#"{"all":[{"kind":"property","name":"plan","op":"greater","value":"x"}]}"#,
        )
        .unwrap()
        .check()
        .unwrap_err();
        let body = ApiError::from(err).body();
        assert_eq!(body.error.code, "invalid_filter");
        assert_eq!(body.error.field.as_deref(), Some("filter.all[0].value"));
    }
}
