//! Events a lead performed (SPEC section 4): names, properties, and the per-name aggregates
//! (count, first, last) that filters and segments read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::locale::{Message, k};
use crate::property::{MAX_PROPERTIES_PER_REQUEST, PropertyError, PropertyValue};

/// Longest event name, in characters.
pub const MAX_EVENT_NAME_CHARS: usize = 255;

/// System events the tracker sends.
pub const SESSION_START: &str = "$session_start";
pub const PAGE_VIEW: &str = "$page_view";

/// Why an event is refused. [`EventError::message`] is what the operator or the site's developer
/// reads; `Display` is its English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    EmptyName,
    NameTooLong,
    NameControlChar,
    UnknownSystemEvent(String),
    Property { name: String, error: PropertyError },
    TooManyProperties,
}

impl EventError {
    /// Why, as a fragment ("an event name cannot be empty").
    pub fn message(&self) -> Message {
        match self {
            EventError::EmptyName => k::CHECK_EVENT_EMPTY_NAME.into(),
            EventError::NameTooLong => Message::new(k::CHECK_EVENT_NAME_TOO_LONG).arg("max", MAX_EVENT_NAME_CHARS),
            EventError::NameControlChar => k::CHECK_EVENT_NAME_CONTROL_CHAR.into(),
            EventError::UnknownSystemEvent(name) => Message::new(k::CHECK_EVENT_UNKNOWN_SYSTEM_EVENT).arg("name", name),
            EventError::Property { name, error } => {
                Message::new(k::CHECK_EVENT_PROPERTY).arg("name", name).with("reason", error.message())
            }
            EventError::TooManyProperties => {
                Message::new(k::CHECK_EVENT_TOO_MANY_PROPERTIES).arg("max", MAX_PROPERTIES_PER_REQUEST)
            }
        }
    }
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for EventError {}

/// A checked event name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EventName(String);

impl EventName {
    pub fn parse(raw: &str) -> Result<Self, EventError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(EventError::EmptyName);
        }
        if name.chars().count() > MAX_EVENT_NAME_CHARS {
            return Err(EventError::NameTooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(EventError::NameControlChar);
        }
        if name.starts_with('$') && name != SESSION_START && name != PAGE_VIEW {
            return Err(EventError::UnknownSystemEvent(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for EventName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EventName::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Checks an event's properties: their count and each value's limits.
pub fn check_event_properties(props: &BTreeMap<String, PropertyValue>) -> Result<(), EventError> {
    if props.len() > MAX_PROPERTIES_PER_REQUEST {
        return Err(EventError::TooManyProperties);
    }
    for (name, value) in props {
        if name.trim().is_empty() {
            return Err(EventError::Property { name: name.clone(), error: PropertyError::EmptyName });
        }
        if name.chars().any(char::is_control) {
            return Err(EventError::Property { name: name.clone(), error: PropertyError::NameControlChar });
        }
        value.check().map_err(|error| EventError::Property { name: name.clone(), error })?;
    }
    Ok(())
}

/// How often and when a lead performed one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventAggregate {
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

impl EventAggregate {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self { count: 1, first: at, last: at }
    }

    /// The aggregate after one more occurrence at `at` (events may arrive out of order).
    pub fn record(self, at: DateTime<Utc>) -> Self {
        Self { count: self.count + 1, first: self.first.min(at), last: self.last.max(at) }
    }

    /// The aggregate of two leads' histories when they merge into one.
    pub fn merge(self, other: Self) -> Self {
        Self { count: self.count + other.count, first: self.first.min(other.first), last: self.last.max(other.last) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn event_names_are_checked() {
        assert!(EventName::parse("Added to cart").is_ok());
        assert!(EventName::parse("$page_view").is_ok());
        assert_eq!(EventName::parse(" "), Err(EventError::EmptyName));
        assert_eq!(EventName::parse(&"x".repeat(256)), Err(EventError::NameTooLong));
        assert_eq!(EventName::parse("$purchase"), Err(EventError::UnknownSystemEvent("$purchase".into())));
    }

    #[test]
    fn event_properties_keep_the_value_limits() {
        let mut props = BTreeMap::new();
        props.insert("amount".to_owned(), PropertyValue::Number(12.0));
        assert!(check_event_properties(&props).is_ok());
        props.insert("note".to_owned(), PropertyValue::Text("x".repeat(256)));
        assert_eq!(
            check_event_properties(&props),
            Err(EventError::Property { name: "note".into(), error: PropertyError::TextTooLong })
        );
    }

    proptest! {
        #[test]
        fn aggregates_count_and_bound_every_occurrence(times in proptest::collection::vec(-10_000i64..10_000, 1..50)) {
            let mut agg = EventAggregate::new(t(times[0]));
            for s in &times[1..] {
                agg = agg.record(t(*s));
            }
            prop_assert_eq!(agg.count, times.len() as u64);
            prop_assert_eq!(agg.first, t(*times.iter().min().unwrap()));
            prop_assert_eq!(agg.last, t(*times.iter().max().unwrap()));
        }

        #[test]
        fn merging_equals_recording_both_histories(a in proptest::collection::vec(0i64..1000, 1..20), b in proptest::collection::vec(0i64..1000, 1..20)) {
            let fold = |v: &[i64]| v[1..].iter().fold(EventAggregate::new(t(v[0])), |g, s| g.record(t(*s)));
            let all: Vec<i64> = a.iter().chain(&b).copied().collect();
            prop_assert_eq!(fold(&a).merge(fold(&b)), fold(&all));
        }
    }
}
