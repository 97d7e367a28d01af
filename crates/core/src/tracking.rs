//! Tracking and visitors (SPEC sections 2 and 4): what the site's widget sends, what the
//! Visitors page and the card's events tab read, and the rules both ends share (event checks,
//! User-Agent and UTM parsing, time on each page).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{EventError, EventName, PAGE_VIEW, SESSION_START, check_event_properties};
use crate::locale::{Message, k};
use crate::location::{check_language, check_zone};
use crate::operation::Operation;
use crate::presence::Presence;
use crate::property::{MAX_PROPERTIES_PER_REQUEST, MAX_TEXT_CHARS, PropertyValue};

/// The header that carries the project's public key.
pub const KEY_HEADER: &str = "X-Leadcard-Key";
/// The query parameter that may carry the key instead, for what a page sends without headers
/// (`navigator.sendBeacon`, `EventSource`). A body never carries it: the key authenticates the
/// request before its body is read.
pub const KEY_QUERY: &str = "key";
/// Most events in one `POST /track/events`.
pub const MAX_EVENTS_PER_REQUEST: usize = 100;
/// Longest page URL or referrer the tracker accepts, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest visitor, session or user id, in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Longest user id (the site's own), in characters.
pub const MAX_USER_ID_CHARS: usize = 255;
/// An event may be dated at most this far after the server's now (device clocks drift).
pub const MAX_FUTURE: Duration = Duration::hours(1);
/// The widget starts a new site session after this long without any call.
pub const SESSION_IDLE: Duration = Duration::minutes(30);

pub use crate::field::FieldError;

// ---------------------------------------------------------------------------------------------
// Requests from the site (public, per project key)
// ---------------------------------------------------------------------------------------------

/// `POST /api/v1/track/identify`: the visitor is the site's user `user_id`. `user_hash` is
/// `hex(HMAC-SHA256(secret_key, user_id))`, made by the site's own server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackIdentify {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$"))]
    pub visitor_id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$",
            max_length = 255
        )
    )]
    pub user_id: String,
    /// Missing counts as wrong (401).
    #[serde(default)]
    pub user_hash: String,
    /// Property operations applied to the identified lead, in order (as on the card).
    #[serde(default)]
    pub properties: Vec<Operation>,
}

/// `POST /api/v1/track/events`: a batch of events the visitor performed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackEvents {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$"))]
    pub visitor_id: String,
    /// The widget's site session; required when the batch holds `$session_start` or `$page_view`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$"))]
    pub session_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub events: Vec<TrackedEvent>,
}

/// One event as the site sends it. Property values are plain JSON: text, number, true/false, a
/// list of text, or a typed value `{"type": "date_time", "value": "2026-01-02T03:04:05Z"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackedEvent {
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^\\s*(\\$session_start|\\$page_view|[^$\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*)$",
            max_length = 255
        )
    )]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// When it happened; the server's now when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
}

/// `POST /api/v1/track/heartbeat`: the visitor's page is open; `active` says whether the person
/// did anything (input, scroll, focus, pointer) since the previous beat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackHeartbeat {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$"))]
    pub visitor_id: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$"))]
    pub session_id: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 2048))]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub active: bool,
}

/// Every tracking call's answer, sent once what it carried is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackAccepted {
    /// Events stored (events), 1 (heartbeat, identify).
    pub accepted: u32,
}

/// A visitor, session or user id the widget made: 1 to 64 of `A-Z a-z 0-9 _ - . :`.
pub fn check_client_id(raw: &str, field: &str) -> Result<(), FieldError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
    if raw.is_empty() || raw.chars().count() > MAX_ID_CHARS || !raw.chars().all(ok_char) {
        return Err(FieldError::new(field, Message::new(k::CHECK_TRACKING_CLIENT_ID).arg("max", MAX_ID_CHARS)));
    }
    Ok(())
}

/// The site's user id: trimmed, 1 to 255 characters, no control characters.
pub fn check_user_id(raw: &str) -> Result<&str, FieldError> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > MAX_USER_ID_CHARS || id.chars().any(char::is_control) {
        return Err(FieldError::new("user_id", Message::new(k::CHECK_TRACKING_USER_ID).arg("max", MAX_USER_ID_CHARS)));
    }
    Ok(id)
}

/// A page URL (or referrer): at most [`MAX_URL_CHARS`], no control characters.
pub fn check_url(raw: &str, field: &str) -> Result<(), FieldError> {
    if raw.chars().count() > MAX_URL_CHARS || raw.chars().any(char::is_control) {
        return Err(FieldError::new(field, Message::new(k::CHECK_TRACKING_URL).arg("max", MAX_URL_CHARS)));
    }
    Ok(())
}

/// A page title: at most 255 characters.
pub fn check_title(raw: &str, field: &str) -> Result<(), FieldError> {
    if raw.chars().count() > MAX_TEXT_CHARS {
        return Err(FieldError::new(field, Message::new(k::CHECK_TRACKING_TITLE).arg("max", MAX_TEXT_CHARS)));
    }
    Ok(())
}

/// `text` cut to `max` characters.
pub fn truncate_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// An event property value from the site's plain JSON, or why it cannot be one.
pub fn value_from_json(value: &serde_json::Value) -> Result<PropertyValue, Message> {
    use serde_json::Value as J;
    let parsed = match value {
        J::String(s) => PropertyValue::Text(s.clone()),
        J::Number(n) => PropertyValue::Number(n.as_f64().ok_or(k::CHECK_TRACKING_NUMBER_TOO_BIG)?),
        J::Bool(b) => PropertyValue::Bool(*b),
        J::Array(items) => PropertyValue::List(
            items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).ok_or(k::CHECK_TRACKING_LIST_OF_TEXT))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        J::Object(map) if map.contains_key("type") && map.contains_key("value") => {
            serde_json::from_value(value.clone()).map_err(|e| {
                Message::new(k::CHECK_TRACKING_NOT_TYPED_VALUE).with("reason", Message::plain(e.to_string()))
            })?
        }
        J::Null | J::Object(_) => {
            return Err(k::CHECK_TRACKING_VALUE_SHAPE.into());
        }
    };
    parsed.check().map_err(|e| e.message())?;
    Ok(parsed)
}

/// An event's refused properties as a field error: `properties.<name>`, or `properties`.
fn properties_error(e: EventError) -> FieldError {
    match e {
        EventError::Property { name, error } => FieldError::new(format!("properties.{name}"), error.message()),
        other => FieldError::new("properties", other.message()),
    }
}

/// The page an `$session_start` or `$page_view` event is about, in full (the stored event
/// properties hold these cut to 255 characters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageInfo {
    pub url: String,
    pub title: Option<String>,
    pub referrer: Option<String>,
    /// `$session_start` only: what the browser says of its user.
    pub locale: BrowserLocale,
}

/// The browser's time zone (one the tz database knows) and language (a checked BCP 47 tag), as
/// the widget sends them with `$session_start`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrowserLocale {
    pub timezone: Option<String>,
    pub language: Option<String>,
}

/// A tracked event after its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEvent {
    pub name: EventName,
    /// What is stored with the event, every value within the limits.
    pub properties: BTreeMap<String, PropertyValue>,
    pub time: Option<DateTime<Utc>>,
    /// For the system events: the page, with the URL and referrer uncut.
    pub page: Option<PageInfo>,
}

impl TrackedEvent {
    /// Checks name, properties and time; errors name the field within the event (`name`,
    /// `properties.price`, `time`). System events: `$page_view` needs `url` (text), and
    /// `$session_start` and `$page_view` may carry `url` and `referrer` up to 2,048 characters
    /// (stored cut to 255) and `title`; `$session_start` also the browser's `timezone` (an IANA
    /// name) and `language` (a BCP 47 tag), text in their form or an error naming them.
    pub fn check(&self, now: DateTime<Utc>) -> Result<CheckedEvent, FieldError> {
        let name = EventName::parse(&self.name).map_err(|e| FieldError::new("name", e.message()))?;
        let system = matches!(name.as_str(), SESSION_START | PAGE_VIEW);
        let session_start = name.as_str() == SESSION_START;
        if self.properties.len() > MAX_PROPERTIES_PER_REQUEST {
            return Err(FieldError::new("properties", EventError::TooManyProperties.message()));
        }
        let mut properties = BTreeMap::new();
        let mut page = system.then(PageInfo::default);
        for (key, raw) in &self.properties {
            let field = format!("properties.{key}");
            if key.trim().is_empty() || key.chars().count() > MAX_TEXT_CHARS {
                return Err(FieldError::new(
                    field,
                    Message::new(k::CHECK_TRACKING_PROPERTY_NAME).arg("max", MAX_TEXT_CHARS),
                ));
            }
            let long_text = match (page.as_mut(), key.as_str(), raw) {
                (Some(page), "url" | "referrer", serde_json::Value::String(s)) => {
                    check_url(s, &field)?;
                    if key == "url" {
                        page.url.clone_from(s);
                    } else if !s.is_empty() {
                        page.referrer = Some(s.clone());
                    }
                    Some(truncate_chars(s, MAX_TEXT_CHARS))
                }
                (Some(page), "title", serde_json::Value::String(s)) => {
                    let title = truncate_chars(s, MAX_TEXT_CHARS);
                    page.title = Some(title.clone()).filter(|t| !t.is_empty());
                    Some(title)
                }
                (Some(page), "timezone", raw) if session_start => {
                    let zone = raw.as_str().ok_or_else(|| FieldError::new(&field, k::CHECK_TRACKING_MUST_BE_TEXT))?;
                    page.locale.timezone = check_zone(zone, &field)?.map(str::to_owned);
                    Some(zone.to_owned())
                }
                (Some(page), "language", raw) if session_start => {
                    let tag = raw.as_str().ok_or_else(|| FieldError::new(&field, k::CHECK_TRACKING_MUST_BE_TEXT))?;
                    let tag = check_language(tag, &field)?;
                    page.locale.language = Some(tag.clone());
                    Some(tag)
                }
                _ => None,
            };
            let value = match long_text {
                Some(text) => PropertyValue::Text(text),
                None => value_from_json(raw).map_err(|message| FieldError::new(&field, message))?,
            };
            properties.insert(key.clone(), value);
        }
        check_event_properties(&properties).map_err(properties_error)?;
        if name.as_str() == PAGE_VIEW && page.as_ref().is_none_or(|p| p.url.is_empty()) {
            return Err(FieldError::new("properties.url", k::CHECK_TRACKING_PAGE_VIEW_URL));
        }
        if let Some(time) = self.time
            && time > now + MAX_FUTURE
        {
            return Err(FieldError::new("time", k::CHECK_TRACKING_FUTURE));
        }
        Ok(CheckedEvent { name, properties, time: self.time, page })
    }
}

/// Checks a whole batch; errors name the event (`events[3].name`).
pub fn check_events(events: &[TrackedEvent], now: DateTime<Utc>) -> Result<Vec<CheckedEvent>, FieldError> {
    if events.is_empty() {
        return Err(FieldError::new("events", k::CHECK_TRACKING_NO_EVENTS));
    }
    if events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(FieldError::new(
            "events",
            Message::new(k::CHECK_TRACKING_TOO_MANY_EVENTS).arg("max", MAX_EVENTS_PER_REQUEST),
        ));
    }
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.check(now).map_err(|err| FieldError { field: format!("events[{i}].{}", err.field), message: err.message })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// What a session's first request says about the visitor
// ---------------------------------------------------------------------------------------------

/// Browser, OS and device from a User-Agent header (the common browsers; others are "Other").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub browser: String,
    pub os: String,
    /// `desktop`, `mobile`, `tablet` or `bot`.
    pub device: &'static str,
}

impl ClientInfo {
    pub fn from_user_agent(ua: &str) -> ClientInfo {
        let has = |s: &str| ua.contains(s);
        let lower = ua.to_ascii_lowercase();
        let bot =
            ["bot", "crawler", "spider", "headlesschrome", "slurp", "lighthouse"].iter().any(|b| lower.contains(b));
        let browser = if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
            "Edge"
        } else if has("OPR/") || has("Opera") {
            "Opera"
        } else if has("SamsungBrowser/") {
            "Samsung Internet"
        } else if has("YaBrowser/") {
            "Yandex Browser"
        } else if has("Firefox/") || has("FxiOS/") {
            "Firefox"
        } else if has("CriOS/") || has("Chrome/") || has("Chromium/") {
            "Chrome"
        } else if has("Safari/") && (has("Version/") || has("iPhone") || has("iPad")) {
            "Safari"
        } else if has("MSIE ") || has("Trident/") {
            "Internet Explorer"
        } else {
            "Other"
        };
        let os = if has("Windows") {
            "Windows"
        } else if has("iPhone") || has("iPad") || has("iPod") {
            "iOS"
        } else if has("Android") {
            "Android"
        } else if has("CrOS") {
            "ChromeOS"
        } else if has("Mac OS X") || has("Macintosh") {
            "macOS"
        } else if has("Linux") || has("X11") {
            "Linux"
        } else {
            "Other"
        };
        let device = if bot {
            "bot"
        } else if has("iPad") || has("Tablet") || (has("Android") && !has("Mobile")) {
            "tablet"
        } else if has("Mobi") || has("iPhone") || has("iPod") || has("Android") {
            "mobile"
        } else {
            "desktop"
        };
        ClientInfo { browser: browser.to_owned(), os: os.to_owned(), device }
    }
}

/// The UTM parameters of a URL's query, with their system property names (`$utm_source`, ...).
pub fn utm_parameters(url: &str) -> Vec<(&'static str, String)> {
    const NAMES: [(&str, &str); 5] = [
        ("utm_source", "$utm_source"),
        ("utm_medium", "$utm_medium"),
        ("utm_campaign", "$utm_campaign"),
        ("utm_term", "$utm_term"),
        ("utm_content", "$utm_content"),
    ];
    let without_fragment = url.split('#').next().unwrap_or_default();
    let Some((_, query)) = without_fragment.split_once('?') else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some((_, property)) = NAMES.iter().find(|(k, _)| *k == key) {
            let value = truncate_chars(percent_decode(value).trim(), MAX_TEXT_CHARS);
            if !value.is_empty() && !found.iter().any(|(p, _)| p == property) {
                found.push((*property, value));
            }
        }
    }
    found
}

/// Decodes `%XX` and `+` of a query value; bad escapes stay as they are.
fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match hex().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The host of an absolute http(s) URL, lower-cased, without port or credentials.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host =
        if host.starts_with('[') { host.split(']').next()?.trim_start_matches('[') } else { host.split(':').next()? };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The referrer of a session when it is another site's page (a link within the site itself is
/// no referrer of the session).
pub fn external_referrer(page_url: &str, referrer: Option<&str>) -> Option<String> {
    let referrer = referrer.map(str::trim).filter(|r| !r.is_empty())?;
    match (url_host(page_url), url_host(referrer)) {
        (Some(page), Some(from)) if page == from => None,
        _ => Some(truncate_chars(referrer, MAX_TEXT_CHARS)),
    }
}

// ---------------------------------------------------------------------------------------------
// What the operators' pages read
// ---------------------------------------------------------------------------------------------

/// A lead on the site now (`GET /api/v1/visitors`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visitor {
    /// The lead's id.
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    /// Presence inputs: the page computes the badge with [`Presence::at`].
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub last_active: Option<DateTime<Utc>>,
    /// The page the lead is on (from the last heartbeat or page view).
    pub page_url: Option<String>,
    pub page_title: Option<String>,
    /// When the current site session started: time on site is `now - session_started_at`.
    pub session_started_at: Option<DateTime<Utc>>,
    /// Pages viewed in the current site session.
    pub pages_viewed: u32,
}

impl Visitor {
    pub fn presence(&self, now: DateTime<Utc>) -> Presence {
        Presence::at(now, self.last_heartbeat, self.last_active)
    }

    /// Takes in a `LiveEvent::Presence` about this visitor (its fields, unix milliseconds).
    pub fn apply_presence(
        &mut self,
        last_heartbeat_at: Option<i64>,
        last_active_at: Option<i64>,
        page_url: Option<&str>,
        page_title: Option<&str>,
        session_started_at: Option<i64>,
        pages_viewed: Option<u32>,
    ) {
        let at = |ms: Option<i64>| ms.and_then(DateTime::from_timestamp_millis);
        self.last_heartbeat = at(last_heartbeat_at).or(self.last_heartbeat);
        self.last_active = at(last_active_at).or(self.last_active);
        if let Some(url) = page_url {
            self.page_url = Some(url.to_owned());
            self.page_title = page_title.map(str::to_owned);
        }
        if let Some(started) = at(session_started_at) {
            self.session_started_at = Some(started);
        }
        if let Some(n) = pages_viewed {
            self.pages_viewed = n;
        }
    }
}

/// `GET /api/v1/visitors`: online and sleeping leads, not hidden, most recently active first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorList {
    pub items: Vec<Visitor>,
    /// How many leads are on the site now (`items` stops at the `limit`).
    pub total: u64,
    /// The server's clock when it answered: presence is computed against it, so the page can
    /// keep its own clock in step (`now - Date.now()`).
    pub now: DateTime<Utc>,
}

/// Who put an event on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// Sent by the site (the widget or the tracking API).
    Tracked,
    /// Added by an operator on the card.
    Manual,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Tracked => "tracked",
            EventSource::Manual => "manual",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "tracked" => Some(EventSource::Tracked),
            "manual" => Some(EventSource::Manual),
            _ => None,
        }
    }
}

/// One event on the card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadEvent {
    pub id: i64,
    pub name: String,
    pub properties: BTreeMap<String, PropertyValue>,
    pub occurred_at: DateTime<Utc>,
    pub source: EventSource,
}

/// `GET /api/v1/leads/{id}/events`: newest first, keyset-paginated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub items: Vec<LeadEvent>,
    /// Pass as `after` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

/// `GET /api/v1/leads/{id}/event-groups`: one row per event name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventGroup {
    pub name: String,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// `POST /api/v1/leads/{id}/events`: an event added by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddEvent {
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^\\s*[^$\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$",
            max_length = 255
        )
    )]
    pub name: String,
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// When it happened; now when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
}

impl AddEvent {
    /// The checks of an event added by hand: a custom name (system events are tracked only),
    /// properties within the limits, not more than an hour ahead. Errors name `name`,
    /// `properties.<name>`, `properties` or `occurred_at`.
    pub fn check(&self, now: DateTime<Utc>) -> Result<EventName, FieldError> {
        // The length counts the name as sent, spaces around it included, as the API document says.
        if self.name.chars().count() > crate::event::MAX_EVENT_NAME_CHARS {
            return Err(FieldError::new("name", EventError::NameTooLong.message()));
        }
        let name = EventName::parse(&self.name).map_err(|e| FieldError::new("name", e.message()))?;
        if name.as_str().starts_with('$') {
            return Err(FieldError::new("name", k::CHECK_TRACKING_SYSTEM_EVENT));
        }
        check_event_properties(&self.properties).map_err(properties_error)?;
        if self.occurred_at.is_some_and(|t| t > now + MAX_FUTURE) {
            return Err(FieldError::new("occurred_at", k::CHECK_TRACKING_FUTURE));
        }
        Ok(name)
    }
}

/// `GET /api/v1/leads/{id}/session-pages`: the lead's latest site session and its pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionPages {
    /// Absent when the lead never visited the site.
    pub session: Option<SiteSession>,
    /// In the order viewed.
    pub pages: Vec<SessionPage>,
}

/// A visit to the site: from the first call of a browser until 30 minutes without any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteSession {
    pub started_at: DateTime<Utc>,
    /// The last heartbeat or event of the session.
    pub last_seen: DateTime<Utc>,
    pub pages_viewed: u32,
    pub referrer: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub device: Option<String>,
    /// `utm_source` ... `utm_content` as given in the first page's URL.
    pub utm: BTreeMap<String, String>,
}

/// One page viewed in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionPage {
    pub url: String,
    pub title: Option<String>,
    pub viewed_at: DateTime<Utc>,
    /// When the next page was viewed; for the last page, the session's last heartbeat.
    pub until: DateTime<Utc>,
}

impl SessionPage {
    /// Time on this page.
    pub fn duration(&self) -> Duration {
        (self.until - self.viewed_at).max(Duration::zero())
    }
}

/// Time on each page from the times pages were viewed, in order: until the next view, and for
/// the last one until `last_seen`.
pub fn pages_until(viewed: &[DateTime<Utc>], last_seen: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    viewed.iter().enumerate().map(|(i, at)| viewed.get(i + 1).copied().unwrap_or(last_seen).max(*at)).collect()
}

/// "1 h 05 min", "3 min 20 s", "45 s": a duration as the Visitors page and the card show it.
pub fn format_duration(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

/// `GET /api/v1/project`: the project's keys and the snippet for the site's pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectKeys {
    pub name: String,
    pub public_key: String,
    /// Only for admins: signs user ids (`user_hash`) on the site's server. Keep it off pages.
    pub secret_key: Option<String>,
    /// `<script src=".../widget.js" data-key="..." async></script>`
    pub snippet: String,
}

/// `POST /api/v1/test/clock` (test mode only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockAdvance {
    /// Milliseconds to move the server's clock by (negative moves it back).
    pub advance_ms: i64,
}

/// The server's clock after a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockNow {
    pub now: DateTime<Utc>,
    /// The total offset from real time, in milliseconds.
    pub offset_ms: i64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn event(value: serde_json::Value) -> TrackedEvent {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn plain_json_values_become_typed_properties() {
        assert_eq!(value_from_json(&json!("x")), Ok(PropertyValue::Text("x".into())));
        assert_eq!(value_from_json(&json!(12.5)), Ok(PropertyValue::Number(12.5)));
        assert_eq!(value_from_json(&json!(true)), Ok(PropertyValue::Bool(true)));
        assert_eq!(value_from_json(&json!(["a", "b"])), Ok(PropertyValue::List(vec!["a".into(), "b".into()])));
        let typed = json!({"type": "date_time", "value": "2026-01-02T03:04:05Z"});
        assert!(matches!(value_from_json(&typed), Ok(PropertyValue::DateTime(_))));
        assert!(value_from_json(&json!(null)).is_err());
        assert!(value_from_json(&json!({"a": 1})).is_err());
        assert!(value_from_json(&json!([1, 2])).is_err());
        assert!(value_from_json(&json!("x".repeat(256))).is_err());
    }

    #[test]
    fn batch_errors_name_the_event_and_its_field() {
        let ok = event(json!({"name": "Added to cart", "properties": {"price": 12}}));
        let bad_name = event(json!({"name": ""}));
        let err = check_events(&[ok.clone(), ok.clone(), ok.clone(), bad_name], now()).unwrap_err();
        assert_eq!(err.field, "events[3].name");
        let bad_value = event(json!({"name": "x", "properties": {"price": {"nested": true}}}));
        assert_eq!(check_events(&[bad_value], now()).unwrap_err().field, "events[0].properties.price");
        let future = event(json!({"name": "x", "time": "2030-01-01T00:00:00Z"}));
        assert_eq!(check_events(&[future], now()).unwrap_err().field, "events[0].time");
        let unknown = event(json!({"name": "$purchase"}));
        assert_eq!(check_events(&[unknown], now()).unwrap_err().field, "events[0].name");
        assert_eq!(check_events(&[], now()).unwrap_err().field, "events");
        assert_eq!(check_events(&vec![ok; 101], now()).unwrap_err().field, "events");
    }

    #[test]
    fn system_events_keep_the_full_url_and_store_it_cut() {
        let long = format!("https://shop.example/?utm_source=news&x={}", "y".repeat(400));
        let checked =
            event(json!({"name": "$page_view", "properties": {"url": long, "title": "Home"}})).check(now()).unwrap();
        let page = checked.page.unwrap();
        assert_eq!(page.url, long);
        assert_eq!(page.title.as_deref(), Some("Home"));
        assert_eq!(checked.properties["url"], PropertyValue::Text(truncate_chars(&long, 255)));
        let no_url = event(json!({"name": "$page_view", "properties": {"title": "Home"}}));
        assert_eq!(no_url.check(now()).unwrap_err().field, "properties.url");
        let too_long = event(json!({"name": "$page_view", "properties": {"url": "h".repeat(2049)}}));
        assert_eq!(too_long.check(now()).unwrap_err().field, "properties.url");
        // A custom event's url is an ordinary text value.
        let custom = event(json!({"name": "Shared", "properties": {"url": "h".repeat(256)}}));
        assert_eq!(custom.check(now()).unwrap_err().field, "properties.url");
    }

    #[test]
    fn a_session_start_carries_the_browsers_zone_and_language() {
        let start = |properties: serde_json::Value| {
            event(json!({"name": "$session_start", "properties": properties})).check(now())
        };
        let checked =
            start(json!({"url": "https://shop.example/", "timezone": "Asia/Tokyo", "language": "ja-jp"})).unwrap();
        let locale = checked.page.unwrap().locale;
        assert_eq!(locale.timezone.as_deref(), Some("Asia/Tokyo"));
        assert_eq!(locale.language.as_deref(), Some("ja-JP"));
        assert_eq!(checked.properties["language"], PropertyValue::Text("ja-JP".into()));
        // Well-formed but unknown to the tz database: stored on the event, no guess made from it.
        let unknown = start(json!({"timezone": "Mars/Olympus_Mons"})).unwrap();
        assert_eq!(unknown.page.unwrap().locale.timezone, None);
        assert_eq!(unknown.properties["timezone"], PropertyValue::Text("Mars/Olympus_Mons".into()));
        assert_eq!(start(json!({"timezone": 3})).unwrap_err().field, "properties.timezone");
        assert_eq!(start(json!({"timezone": "Europe/\u{0}"})).unwrap_err().field, "properties.timezone");
        assert_eq!(start(json!({"language": "not a tag"})).unwrap_err().field, "properties.language");
        // On other events they are ordinary properties.
        let custom = event(json!({"name": "Shared", "properties": {"timezone": "anything at all"}}));
        assert!(custom.check(now()).is_ok());
    }

    #[test]
    fn ids_are_short_and_plain() {
        assert!(check_client_id("v_1a2b-3c.4:5", "visitor_id").is_ok());
        assert_eq!(check_client_id("", "visitor_id").unwrap_err().field, "visitor_id");
        assert!(check_client_id("a b", "session_id").is_err());
        assert!(check_client_id(&"a".repeat(65), "session_id").is_err());
        assert_eq!(check_user_id("  42 "), Ok("42"));
        assert!(check_user_id(" ").is_err());
    }

    #[test]
    fn user_agents_give_browser_os_and_device() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                ("Chrome", "Windows", "desktop"),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                ("Safari", "macOS", "desktop"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                ("Safari", "iOS", "mobile"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
                ("Chrome", "Android", "mobile"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36",
                ("Chrome", "Android", "tablet"),
            ),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", ("Firefox", "Linux", "desktop")),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61",
                ("Edge", "Windows", "desktop"),
            ),
            ("Googlebot/2.1 (+http://www.google.com/bot.html)", ("Other", "Other", "bot")),
            ("", ("Other", "Other", "desktop")),
        ];
        for (ua, (browser, os, device)) in cases {
            let info = ClientInfo::from_user_agent(ua);
            assert_eq!((info.browser.as_str(), info.os.as_str(), info.device), (browser, os, device), "{ua}");
        }
    }

    #[test]
    fn utm_parameters_come_from_the_query() {
        let url = "https://shop.example/p?id=1&utm_source=news%20letter&utm_medium=email&utm_campaign=spring+sale&utm_source=x#utm_term=no";
        assert_eq!(
            utm_parameters(url),
            vec![
                ("$utm_source", "news letter".to_owned()),
                ("$utm_medium", "email".to_owned()),
                ("$utm_campaign", "spring sale".to_owned())
            ]
        );
        assert!(utm_parameters("https://shop.example/").is_empty());
        assert_eq!(utm_parameters("/?utm_term=%E2%82%AC%ZZ"), vec![("$utm_term", "€%ZZ".to_owned())]);
    }

    #[test]
    fn a_referrer_from_the_same_site_is_no_referrer() {
        assert_eq!(url_host("https://User@Shop.Example:8443/a?b"), Some("shop.example".to_owned()));
        assert_eq!(external_referrer("https://shop.example/cart", Some("https://shop.example/")), None);
        assert_eq!(
            external_referrer("https://shop.example/", Some("https://www.google.com/")),
            Some("https://www.google.com/".to_owned())
        );
        assert_eq!(external_referrer("https://shop.example/", Some(" ")), None);
    }

    #[test]
    fn time_on_each_page_runs_until_the_next_one() {
        let t = |s| now() + Duration::seconds(s);
        assert_eq!(pages_until(&[t(0), t(40), t(100)], t(130)), vec![t(40), t(100), t(130)]);
        let page = SessionPage { url: "/".into(), title: None, viewed_at: t(0), until: t(200) };
        assert_eq!(format_duration(page.duration()), "3 min 20 s");
        assert_eq!(format_duration(Duration::seconds(3_900)), "1 h 05 min");
        assert_eq!(format_duration(Duration::seconds(45)), "45 s");
    }

    #[test]
    fn manual_events_take_custom_names_only() {
        let add = |name: &str| AddEvent { name: name.into(), properties: BTreeMap::new(), occurred_at: None };
        assert!(add("Called support").check(now()).is_ok());
        assert_eq!(add("$page_view").check(now()).unwrap_err().field, "name");
        // 255 characters as sent, spaces around the name included.
        assert!(add(&format!(" {} ", "x".repeat(253))).check(now()).is_ok());
        assert_eq!(add(&format!(" {} ", "x".repeat(254))).check(now()).unwrap_err().field, "name");
        let mut long = add("x");
        long.properties.insert("note".into(), PropertyValue::Text("x".repeat(256)));
        assert_eq!(long.check(now()).unwrap_err().field, "properties.note");
        let mut later = add("x");
        later.occurred_at = Some(now() + Duration::hours(2));
        assert_eq!(later.check(now()).unwrap_err().field, "occurred_at");
    }

    #[test]
    fn a_presence_message_updates_a_visitor_row() {
        let mut v = Visitor {
            id: 1,
            display_name: "Lead #1".into(),
            email: None,
            avatar_url: None,
            last_heartbeat: None,
            last_active: None,
            page_url: None,
            page_title: None,
            session_started_at: None,
            pages_viewed: 0,
        };
        let ms = now().timestamp_millis();
        v.apply_presence(
            Some(ms),
            Some(ms - 1000),
            Some("https://shop.example/"),
            Some("Home"),
            Some(ms - 60_000),
            Some(3),
        );
        assert_eq!(v.presence(now()), Presence::Online);
        assert_eq!(v.pages_viewed, 3);
        assert_eq!(v.page_title.as_deref(), Some("Home"));
        assert_eq!(v.presence(now() + Duration::minutes(3)), Presence::Offline);
    }
}
