//! Operator authentication: sessions in a cookie, the middleware that guards every operator
//! route, and the CSRF rule for state-changing requests.

pub mod password;
pub mod rate_limit;
pub mod streams;
pub mod token;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use leadcard_core::locale::k;
use leadcard_core::wire::{Operator, Role};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::is_json;

pub const SESSION_COOKIE: &str = "leadcard_session";
/// The name behind HTTPS: browsers keep a `__Host-` cookie only when it is `Secure`, for this
/// host alone and for every path, so a neighbouring subdomain or plain HTTP cannot plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-leadcard_session";
/// `last_used_at` is written at most this often per session.
const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// How long sessions live and how their cookie is marked.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// Unused this long -> signed out.
    pub idle: Duration,
    /// This long after sign-in -> signed out, however active.
    pub absolute: Duration,
    pub secure_cookies: bool,
}

impl SessionSettings {
    /// Whether a session last used at `last_used_at` and expiring at `expires_at` is still valid.
    pub fn is_live(&self, now: DateTime<Utc>, last_used_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> bool {
        now < expires_at && now - last_used_at < self.idle
    }

    /// `Set-Cookie` for a new session token.
    pub fn cookie(&self, token: &str) -> HeaderValue {
        self.cookie_header(token, self.absolute.num_seconds())
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clearing_cookie(&self) -> HeaderValue {
        self.cookie_header("", 0)
    }

    /// The session cookie's name: `__Host-` behind HTTPS.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
    }

    /// The session cookie's value, if the request carries one (by this server's name only).
    pub fn cookie_in<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie_name())
            .map(|(_, value)| value)
    }

    fn cookie_header(&self, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let name = self.cookie_name();
        let cookie = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}");
        HeaderValue::try_from(cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The signed-in operator of this request, put there by [`require_session`].
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub operator: Operator,
    pub token_hash: String,
}

impl CurrentSession {
    /// For admin-only routes: 403 `forbidden` for anyone else.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.operator.role {
            Role::Admin => Ok(()),
            Role::Operator => Err(ApiError::Forbidden(k::ERROR_ADMIN_ONLY)),
        }
    }
}

/// POST, PUT, PATCH and DELETE must show they come from the app: a JSON body (which a plain
/// HTML form cannot send) or the `X-Requested-With: leadcard` header (which needs CORS).
fn passes_csrf_rule(method: &Method, headers: &HeaderMap) -> bool {
    let changes_state = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method);
    !changes_state
        || is_json(headers.get(header::CONTENT_TYPE))
        || headers.get("x-requested-with").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"leadcard"))
}

/// Guards the operator routes: a live session (401 otherwise), then the CSRF rule (403). The
/// request counts as the operator's activity (it keeps the session from idling out).
pub async fn require_session(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    guard(state, request, next, true).await
}

/// [`require_session`] for the event stream: its reconnects are the browser's, not the
/// operator's, so they do not keep the session alive.
pub async fn require_session_passively(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    guard(state, request, next, false).await
}

async fn guard(state: AppState, mut request: Request, next: Next, activity: bool) -> Result<Response, ApiError> {
    let token_hash =
        state.sessions.cookie_in(request.headers()).and_then(token::token_hash).ok_or(ApiError::Unauthenticated)?;
    let record = state.store.session(&token_hash).await?.ok_or(ApiError::Unauthenticated)?;
    let now = state.clock.now();
    if !state.sessions.is_live(now, record.last_used_at, record.expires_at) {
        state.store.delete_session(&token_hash).await?;
        return Err(ApiError::Unauthenticated);
    }
    if !passes_csrf_rule(request.method(), request.headers()) {
        return Err(ApiError::Csrf);
    }
    if activity && now - record.last_used_at >= TOUCH_INTERVAL {
        state.store.touch_session(&token_hash, now).await?;
    }
    request.extensions_mut().insert(CurrentSession { operator: record.operator, token_hash });
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SessionSettings {
        SessionSettings { idle: Duration::minutes(30), absolute: Duration::hours(12), secure_cookies: true }
    }

    #[test]
    fn sessions_end_when_idle_or_past_their_absolute_limit() {
        let s = settings();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let expires = t0 + s.absolute;
        assert!(s.is_live(t0 + Duration::minutes(29), t0, expires));
        assert!(!s.is_live(t0 + Duration::minutes(30), t0, expires));
        let recent = t0 + Duration::hours(12) - Duration::minutes(1);
        assert!(!s.is_live(t0 + Duration::hours(12), recent, expires));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_when_asked() {
        let cookie = settings().cookie("tok");
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.starts_with("__Host-leadcard_session=tok;"));
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure", "Max-Age=43200"] {
            assert!(cookie.contains(attr), "{cookie}");
        }
        let plain = SessionSettings { secure_cookies: false, ..settings() };
        let cookie = plain.cookie("tok");
        assert!(
            cookie.to_str().unwrap().starts_with("leadcard_session=tok;")
                && !cookie.to_str().unwrap().contains("Secure")
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; leadcard_session=xyz; b=2"));
        let plain = SessionSettings { secure_cookies: false, ..settings() };
        assert_eq!(plain.cookie_in(&headers), Some("xyz"));
        // Behind HTTPS only the `__Host-` cookie counts: a plain one may have been planted.
        assert_eq!(settings().cookie_in(&headers), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("leadcard_session=planted; __Host-leadcard_session=k"));
        assert_eq!(settings().cookie_in(&headers), Some("k"));
    }

    #[test]
    fn state_changing_requests_need_json_or_the_header() {
        let mut headers = HeaderMap::new();
        assert!(passes_csrf_rule(&Method::GET, &headers));
        assert!(!passes_csrf_rule(&Method::DELETE, &headers));
        headers.insert("x-requested-with", HeaderValue::from_static("leadcard"));
        assert!(passes_csrf_rule(&Method::DELETE, &headers));
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(passes_csrf_rule(&Method::POST, &headers));
    }
}
