//! Request extractors whose rejections are the API's JSON errors, never axum's plain text.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leadcard_core::locale::{Message, k};
use leadcard_core::text::{has_nul, nul_in_json, nul_message};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Wrong content type -> 415, malformed JSON -> 400 `invalid_json`, a value of the
/// wrong shape -> 422 `invalid` naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest { code: "invalid_body", message: Message::plain(e.body_text()) }
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(mime) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    from_json_value(parse_json_value(bytes)?)
}

/// A JSON body as a value: every JSON body of the API (the console's and the widget's) is read
/// here. Not JSON -> 400 `invalid_json`; a NUL in any string or key -> 422 `invalid` naming it
/// (the rule of [`leadcard_core::text`]), before anything reads the body; anything but an object
/// -> 422 naming `body` (every body of the API is an object, and serde would otherwise read a
/// struct from an array's items).
pub fn parse_json_value(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let mut value = serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest {
        code: "invalid_json",
        message: Message::new(k::ERROR_JSON_INVALID).arg("reason", e),
    })?;
    whole_numbers_as_integers(&mut value);
    match nul_in_json(&value) {
        Some(path) if path.is_empty() => Err(ApiError::invalid("body", nul_message())),
        Some(path) => Err(ApiError::invalid(path, nul_message())),
        None if !value.is_object() => Err(ApiError::invalid("body", k::ERROR_JSON_NOT_OBJECT)),
        None => Ok(value),
    }
}

/// `5.0` read as `5`: JSON (and the document's `integer`) does not tell them apart, so an id or
/// a count sent as `5.0` is the id or count 5. Fractions and numbers past ±2^53 stay as sent.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0) {
                // In range and whole: the cast is exact.
                let whole = f as i64;
                *n = serde_json::Number::from(whole);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// A JSON value as `T`; a value of the wrong shape -> 422 `invalid` naming the field.
pub fn from_json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(shape_error)
}

/// Refuses a request whose path segments or query parameters hold a NUL (`%00`) with 422
/// `invalid` naming the parameter: one check for every route's URL, before any handler reads it.
/// (Headers need none: the HTTP parser refuses control characters in them with 400.)
pub async fn refuse_nul_in_url(request: Request, next: Next) -> Response {
    let template = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    match nul_in_url(template, request.uri()) {
        Some(field) => ApiError::invalid(field, nul_message()).into_response(),
        None => next.run(request).await,
    }
}

/// The parameter of `uri` that holds a NUL: a query key, or the path parameter's name in
/// `template` (`/leads/{id}/tags/{tag}`), or `path` for a segment the template does not name.
fn nul_in_url(template: Option<&str>, uri: &Uri) -> Option<String> {
    if let Some(query) = uri.query() {
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if has_nul(&key) {
                return Some(key.replace('\0', "\\0"));
            }
            if has_nul(&value) {
                return Some(key.into_owned());
            }
        }
    }
    // A raw NUL cannot reach here (the HTTP parser refuses it); in a path it is always `%00`.
    let at = uri.path().split('/').position(|segment| segment.contains("%00"))?;
    let named = template.and_then(|t| t.split('/').nth(at)).and_then(|s| s.strip_prefix('{')?.strip_suffix('}'));
    Some(named.unwrap_or("path").to_owned())
}

fn shape_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_data() {
        let message = inner.to_string();
        let field = if path == "." { missing_field(&message) } else { Some(path) };
        let message = strip_position(&message);
        // serde's own words: the console never sends a body of the wrong shape.
        ApiError::Invalid { field, message: Message::plain(message) }
    } else {
        ApiError::BadRequest { code: "invalid_json", message: Message::new(k::ERROR_JSON_INVALID).arg("reason", inner) }
    }
}

/// serde names a missing field only in its message: "missing field `email`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name.to_owned())
}

/// serde_json appends " at line 1 column 20"; the operator needs only the reason.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; a query string that does not fit `T` -> 400 `invalid_query`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| ApiError::BadRequest { code: "invalid_query", message: Message::plain(e.body_text()) })
    }
}

#[cfg(test)]
mod tests {
    use leadcard_core::wire::SignIn;

    use super::*;

    #[test]
    fn shape_errors_name_the_field() {
        let err = parse_json::<SignIn>(br#"{"email": 5, "password": "x"}"#).err().unwrap();
        assert!(matches!(err, ApiError::Invalid { field: Some(ref f), .. } if f == "email"), "{err:?}");
        let err = parse_json::<SignIn>(br#"{"email": "a@b.co"}"#).err().unwrap();
        assert!(matches!(err, ApiError::Invalid { field: Some(ref f), .. } if f == "password"), "{err:?}");
        let err = parse_json::<SignIn>(b"{nope").err().unwrap();
        assert!(matches!(err, ApiError::BadRequest { code: "invalid_json", .. }), "{err:?}");
    }

    #[test]
    fn a_nul_in_a_body_is_refused_naming_its_field() {
        let err = parse_json::<SignIn>(br#"{"email": "a\u0000b@example.com", "password": "x"}"#).err().unwrap();
        assert!(matches!(err, ApiError::Invalid { field: Some(ref f), .. } if f == "email"), "{err:?}");
        let err = parse_json_value(br#""\u0000""#).err().unwrap();
        assert!(matches!(err, ApiError::Invalid { field: Some(ref f), .. } if f == "body"), "{err:?}");
    }

    #[test]
    fn a_body_is_an_object() {
        for body in [&b"[null, null]"[..], b"5", b"\"x\"", b"null"] {
            let err = parse_json_value(body).err().unwrap();
            assert!(matches!(err, ApiError::Invalid { field: Some(ref f), .. } if f == "body"), "{err:?}");
        }
    }

    #[test]
    fn whole_numbers_are_integers() {
        let value = parse_json_value(br#"{"id": 105.0, "n": -3.0, "f": 1.5, "big": 1e300}"#).unwrap();
        assert_eq!(value, serde_json::json!({"id": 105, "n": -3, "f": 1.5, "big": 1e300}));
    }

    #[test]
    fn a_nul_in_a_url_names_its_parameter() {
        let uri = |s: &'static str| Uri::from_static(s);
        let template = Some("/api/v1/leads/{id}/tags/{tag}");
        assert_eq!(nul_in_url(template, &uri("/api/v1/leads/1/tags/a%00b")).as_deref(), Some("tag"));
        assert_eq!(nul_in_url(template, &uri("/api/v1/leads/1/tags/a?q=x%00")).as_deref(), Some("q"));
        assert_eq!(nul_in_url(None, &uri("/api/v1/x%00")).as_deref(), Some("path"));
        assert_eq!(nul_in_url(template, &uri("/api/v1/leads/1/tags/a%01b?q=%F0%9F%98%80")), None);
    }

    #[test]
    fn json_content_types_are_recognised() {
        let v = |s: &'static str| header::HeaderValue::from_static(s);
        assert!(is_json(Some(&v("application/json"))));
        assert!(is_json(Some(&v("Application/JSON; charset=utf-8"))));
        assert!(is_json(Some(&v("application/merge-patch+json"))));
        assert!(!is_json(Some(&v("text/plain"))));
        assert!(!is_json(None));
    }
}

/// `limit` of every list: a page size from 1 to `max`, `default` when absent or empty. One rule,
/// one message, whichever list asks.
pub fn page_size(raw: Option<&str>, max: u32, default: u32) -> Result<u32, ApiError> {
    match raw.filter(|l| !l.is_empty()) {
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", Message::new(k::ERROR_PAGE_SIZE).arg("max", max))),
        None => Ok(default),
    }
}

/// A keyset cursor that is an id (`after`, `before`): absent or empty -> none; otherwise a whole
/// number from `min` up (lists whose first page starts after 0 take 0).
pub fn cursor_id(raw: Option<&str>, field: &str, min: i64) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else { return Ok(None) };
    raw.parse::<i64>().ok().filter(|n| *n >= min).map(Some).ok_or_else(|| ApiError::invalid(field, k::ERROR_CURSOR))
}

/// An id in the query (`lead_id=`): absent or empty -> none.
pub fn query_id(raw: Option<&str>, field: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else { return Ok(None) };
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| ApiError::invalid(field, Message::new(k::ERROR_ID).arg("field", field)))
}

#[cfg(test)]
mod list_params {
    use super::*;

    #[test]
    fn page_sizes_and_cursors_are_checked_by_one_rule() {
        assert_eq!(page_size(None, 100, 20).unwrap(), 20);
        assert_eq!(page_size(Some(""), 100, 20).unwrap(), 20);
        assert_eq!(page_size(Some("100"), 100, 20).unwrap(), 100);
        for bad in ["0", "101", "-1", "x", " 5"] {
            assert!(page_size(Some(bad), 100, 20).is_err(), "{bad}");
        }
        assert_eq!(cursor_id(Some("12"), "after", 1).unwrap(), Some(12));
        assert_eq!(cursor_id(Some("0"), "after", 0).unwrap(), Some(0));
        assert!(cursor_id(Some("0"), "after", 1).is_err());
        assert!(cursor_id(Some("1.5"), "before", 0).is_err());
        assert_eq!(cursor_id(None, "after", 1).unwrap(), None);
        assert!(cursor_id(Some(" 3"), "after", 1).is_err(), "as strict as the document's pattern");
        assert_eq!(query_id(Some("7"), "lead_id").unwrap(), Some(7));
        assert!(query_id(Some("-7"), "lead_id").is_err());
    }
}
