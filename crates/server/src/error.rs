//! The API's one error type: every failure becomes `{"error": {"code", "message", "field"?}}`
//! with its status; internal failures are logged and answered with a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadcard_core::FilterError;
use leadcard_core::locale::{Message, Text, k};
use leadcard_core::wire::{Conflict, ErrorBody, ErrorDetail, LeadCard};

use crate::store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    InvalidCredentials,
    Csrf,
    Forbidden(Text),
    NotFound(Text),
    /// A 404 whose reason depends on the data (an avatar that cannot be shown); `field` names it.
    NotFoundBecause {
        field: &'static str,
        message: Message,
    },
    MethodNotAllowed,
    Invalid {
        field: Option<String>,
        message: Message,
    },
    InvalidFilter(FilterError),
    /// A property operation refused by the core rules; `field` is the property's name.
    InvalidProperty {
        field: String,
        message: Message,
    },
    /// A unique name already taken; `field` names it.
    Duplicate {
        field: String,
        message: Message,
    },
    PreconditionRequired,
    /// The write was based on an older version of the card; the body carries the current one.
    VersionConflict(Box<LeadCard>),
    /// The core rules refuse the action now; the message says why (the menu shows the same).
    Refused(Message),
    /// A 422 with its own code (`link_gone`): the rules refuse the request as it stands; `field`
    /// names what to change.
    Unprocessable {
        code: &'static str,
        field: String,
        message: Message,
    },
    /// A 409 with its own code (`job_finished`, `channel_refused`, `last_admin`): the request does
    /// not fit the current state of what it names; `field` names it.
    Conflict {
        code: &'static str,
        field: String,
        message: Message,
    },
    /// An idempotency key sent before with another message.
    IdempotencyConflict,
    /// The bounce webhook's shared secret is missing or wrong.
    InvalidSecret,
    BadRequest {
        code: &'static str,
        message: Message,
    },
    UnsupportedMediaType,
    PayloadTooLarge,
    /// A file over its limit (an import's upload); the message names the limit.
    FileTooLarge {
        message: Message,
    },
    RateLimited {
        retry_after_secs: u64,
    },
    InvalidKey,
    InvalidUserHash,
    TrackingRateLimited {
        retry_after_secs: u64,
    },
    Busy {
        retry_after_secs: u64,
    },
    Timeout {
        seconds: u64,
    },
    /// Logged with its detail; answered with a general message.
    Internal(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Internal(detail) => write!(f, "internal: {detail}"),
            other => write!(f, "{}", other.message()),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<Message>) -> Self {
        ApiError::Invalid { field: Some(field.into()), message: message.into() }
    }

    /// What the answer says, in no language yet.
    pub fn message(&self) -> Message {
        match self {
            ApiError::Unauthenticated => k::ERROR_UNAUTHENTICATED.into(),
            ApiError::InvalidCredentials => k::ERROR_INVALID_CREDENTIALS.into(),
            ApiError::Csrf => k::ERROR_CSRF.into(),
            ApiError::Forbidden(text) | ApiError::NotFound(text) => (*text).into(),
            ApiError::MethodNotAllowed => k::ERROR_METHOD_NOT_ALLOWED.into(),
            ApiError::InvalidFilter(e) => e.message.clone(),
            ApiError::NotFoundBecause { message, .. }
            | ApiError::Invalid { message, .. }
            | ApiError::InvalidProperty { message, .. }
            | ApiError::Duplicate { message, .. }
            | ApiError::Refused(message)
            | ApiError::Unprocessable { message, .. }
            | ApiError::Conflict { message, .. }
            | ApiError::BadRequest { message, .. }
            | ApiError::FileTooLarge { message } => message.clone(),
            ApiError::PreconditionRequired => k::ERROR_PRECONDITION_REQUIRED.into(),
            ApiError::VersionConflict(_) => k::ERROR_VERSION_CONFLICT.into(),
            ApiError::IdempotencyConflict => k::ERROR_IDEMPOTENCY_CONFLICT.into(),
            ApiError::InvalidSecret => k::ERROR_INVALID_SECRET.into(),
            ApiError::UnsupportedMediaType => k::ERROR_UNSUPPORTED_MEDIA_TYPE.into(),
            ApiError::PayloadTooLarge => k::ERROR_PAYLOAD_TOO_LARGE.into(),
            ApiError::RateLimited { retry_after_secs } => Message::count(k::ERROR_RATE_LIMITED, *retry_after_secs),
            ApiError::InvalidKey => k::ERROR_INVALID_KEY.into(),
            ApiError::InvalidUserHash => k::ERROR_INVALID_USER_HASH.into(),
            ApiError::TrackingRateLimited { retry_after_secs } => {
                Message::count(k::ERROR_TRACKING_RATE_LIMITED, *retry_after_secs)
            }
            ApiError::Busy { retry_after_secs } => Message::count(k::ERROR_BUSY, *retry_after_secs),
            ApiError::Timeout { seconds } => Message::count(k::ERROR_TIMEOUT, *seconds),
            ApiError::Internal(_) => k::ERROR_INTERNAL.into(),
        }
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
        let message = crate::language::said(&self.message());
        let request_id = crate::layers::current_request_id();
        ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message, field: self.field(), request_id } }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidProperty { name, source } => {
                ApiError::InvalidProperty { field: name, message: source.message() }
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
