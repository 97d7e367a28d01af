//! The Leads Database filter: conditions on properties, tags, subscription status and presence,
//! joined by AND. Written as JSON in the page URL and the API query (`filter=`), checked here into
//! typed tests that the server compiles to SQL. The Segments work extends `Condition` with event
//! conditions and OR groups; existing JSON stays valid.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::presence::Presence;
use crate::property::{MAX_TEXT_CHARS, PropertyName};
use crate::subscription::SubscriptionStatus;

/// Most conditions in one filter.
pub const MAX_CONDITIONS: usize = 20;

/// A filter as written: what the builder edits and the URL carries. Check it with [`Filter::check`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Filter {
    /// Every condition must hold (AND).
    #[serde(default)]
    pub all: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// `value` is text as typed; its meaning follows `op` (a number for greater/less, a date for before/after).
    Property {
        name: String,
        op: PropertyOp,
        #[serde(default)]
        value: String,
    },
    Tag {
        tag: String,
        #[serde(default = "yes")]
        has: bool,
    },
    Subscription {
        status: SubscriptionStatus,
    },
    Presence {
        presence: Presence,
    },
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PropertyOp {
    Equals,
    NotEquals,
    Contains,
    Exists,
    NotExists,
    Greater,
    Less,
    Before,
    After,
}

impl PropertyOp {
    pub const ALL: [PropertyOp; 9] = [
        PropertyOp::Equals,
        PropertyOp::NotEquals,
        PropertyOp::Contains,
        PropertyOp::Exists,
        PropertyOp::NotExists,
        PropertyOp::Greater,
        PropertyOp::Less,
        PropertyOp::Before,
        PropertyOp::After,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PropertyOp::Equals => "equals",
            PropertyOp::NotEquals => "not_equals",
            PropertyOp::Contains => "contains",
            PropertyOp::Exists => "exists",
            PropertyOp::NotExists => "not_exists",
            PropertyOp::Greater => "greater",
            PropertyOp::Less => "less",
            PropertyOp::Before => "before",
            PropertyOp::After => "after",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            PropertyOp::Equals => "is",
            PropertyOp::NotEquals => "is not",
            PropertyOp::Contains => "contains",
            PropertyOp::Exists => "is set",
            PropertyOp::NotExists => "is not set",
            PropertyOp::Greater => "greater than",
            PropertyOp::Less => "less than",
            PropertyOp::Before => "before",
            PropertyOp::After => "after",
        }
    }

    pub fn needs_value(self) -> bool {
        !matches!(self, PropertyOp::Exists | PropertyOp::NotExists)
    }
}

/// A checked filter: every value typed, every name valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidFilter {
    pub all: Vec<ValidCondition>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValidCondition {
    Property { name: PropertyName, test: PropertyTest },
    Tag { tag: String, has: bool },
    Subscription(SubscriptionStatus),
    Presence(Presence),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PropertyTest {
    /// Text equality, case-insensitive (numbers and true/false compare by their text form).
    Equals(String),
    NotEquals(String),
    /// Case-insensitive substring.
    Contains(String),
    Exists,
    NotExists,
    Greater(f64),
    Less(f64),
    Before(DateTime<Utc>),
    After(DateTime<Utc>),
}

/// Why a filter is refused, naming the condition (`filter.all[2].value`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition {}: {message}", index + 1)]
pub struct FilterError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

impl FilterError {
    fn at(index: usize, part: &str, message: impl Into<String>) -> Self {
        Self { index, field: format!("filter.all[{index}].{part}"), message: message.into() }
    }

    /// The query form is not a filter at all (not JSON, or not this shape); `reason` is the parser's.
    pub fn malformed(reason: impl fmt::Display) -> Self {
        Self { index: 0, field: "filter".to_owned(), message: format!("is not a valid filter: {reason}") }
    }
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The URL / query form: compact JSON.
    pub fn to_query(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the URL / query form; malformed JSON is reported as a filter error on the whole filter.
    pub fn from_query(raw: &str) -> Result<Self, FilterError> {
        serde_json::from_str(raw).map_err(FilterError::malformed)
    }

    pub fn check(&self) -> Result<ValidFilter, FilterError> {
        if self.all.len() > MAX_CONDITIONS {
            return Err(FilterError {
                index: MAX_CONDITIONS,
                field: "filter.all".to_owned(),
                message: format!("a filter can have at most {MAX_CONDITIONS} conditions"),
            });
        }
        let all = self.all.iter().enumerate().map(|(i, c)| c.check(i)).collect::<Result<_, _>>()?;
        Ok(ValidFilter { all })
    }
}

impl Condition {
    fn check(&self, index: usize) -> Result<ValidCondition, FilterError> {
        match self {
            Condition::Property { name, op, value } => {
                let name = PropertyName::parse(name).map_err(|e| FilterError::at(index, "name", e.to_string()))?;
                let value = value.trim();
                if op.needs_value() && value.is_empty() {
                    return Err(FilterError::at(index, "value", format!("\"{}\" needs a value", op.label())));
                }
                if value.chars().count() > MAX_TEXT_CHARS {
                    return Err(FilterError::at(
                        index,
                        "value",
                        format!("a value can have at most {MAX_TEXT_CHARS} characters"),
                    ));
                }
                let number = || {
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| FilterError::at(index, "value", format!("\"{value}\" is not a number")))
                };
                let date = || {
                    parse_date(value).ok_or_else(|| {
                        FilterError::at(index, "value", format!("\"{value}\" is not a date (use YYYY-MM-DD)"))
                    })
                };
                let test = match op {
                    PropertyOp::Equals => PropertyTest::Equals(value.to_owned()),
                    PropertyOp::NotEquals => PropertyTest::NotEquals(value.to_owned()),
                    PropertyOp::Contains => PropertyTest::Contains(value.to_owned()),
                    PropertyOp::Exists => PropertyTest::Exists,
                    PropertyOp::NotExists => PropertyTest::NotExists,
                    PropertyOp::Greater => PropertyTest::Greater(number()?),
                    PropertyOp::Less => PropertyTest::Less(number()?),
                    PropertyOp::Before => PropertyTest::Before(date()?),
                    PropertyOp::After => PropertyTest::After(date()?),
                };
                Ok(ValidCondition::Property { name, test })
            }
            Condition::Tag { tag, has } => {
                let tag = tag.trim();
                if tag.is_empty() {
                    return Err(FilterError::at(index, "tag", "choose a tag"));
                }
                Ok(ValidCondition::Tag { tag: tag.to_owned(), has: *has })
            }
            Condition::Subscription { status } => Ok(ValidCondition::Subscription(*status)),
            Condition::Presence { presence } => Ok(ValidCondition::Presence(*presence)),
        }
    }
}

/// A date as an operator types it: `YYYY-MM-DD` (midnight UTC) or RFC 3339.
pub fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(json: &str) -> Result<ValidFilter, FilterError> {
        Filter::from_query(json)?.check()
    }

    #[test]
    fn a_filter_round_trips_through_its_query_form() {
        let f = Filter {
            all: vec![
                Condition::Property { name: "$country".into(), op: PropertyOp::Equals, value: "Germany".into() },
                Condition::Tag { tag: "vip".into(), has: true },
                Condition::Subscription { status: SubscriptionStatus::Unsubscribed },
                Condition::Presence { presence: Presence::Online },
            ],
        };
        assert_eq!(Filter::from_query(&f.to_query()).unwrap(), f);
        assert_eq!(f.check().unwrap().all.len(), 4);
    }

    #[test]
    fn bad_conditions_name_the_condition_and_field() {
        let err = filter(
            r#"{"all":[{"kind":"tag","tag":"vip"},{"kind":"property","name":"plan","op":"greater","value":"abc"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.field, "filter.all[1].value");
        assert!(err.message.contains("not a number"));

        let err = filter(r#"{"all":[{"kind":"property","name":"$nope","op":"exists"}]}"#).unwrap_err();
        assert_eq!(err.field, "filter.all[0].name");

        let err = filter(r#"{"all":[{"kind":"property","name":"x","op":"equals"}]}"#).unwrap_err();
        assert_eq!(err.field, "filter.all[0].value");

        let err = filter(r#"{"all":[{"kind":"property","name":"x","op":"after","value":"yesterday"}]}"#).unwrap_err();
        assert!(err.message.contains("not a date"));

        let err = filter(r#"{"all":[{"kind":"property","name":"x","op":"sounds_like","value":"a"}]}"#).unwrap_err();
        assert_eq!(err.field, "filter");
    }

    #[test]
    fn dates_accept_a_day_or_rfc3339() {
        assert_eq!(parse_date("2026-11-28").unwrap().to_rfc3339(), "2026-11-28T00:00:00+00:00");
        assert!(parse_date("2026-11-28T10:00:00+02:00").is_some());
        assert!(parse_date("28.11.2026").is_none());
    }
}
