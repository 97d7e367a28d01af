//! The condition language shared by the Leads Database filter and segments: conditions on
//! properties, tags, subscription status, presence, events and membership of a saved segment,
//! joined by AND or OR, with one level of groups. Written as JSON in the page URL and the API (`filter=`), checked here into typed
//! tests, and evaluated twice from one definition: over one lead's facts here (the card, in the
//! browser and on the server) and compiled to SQL by the server (lists and counts). The two agree
//! on every lead (the property test in the server's `tests/api/agreement.rs`).

use crate::locale::{Message, Text, k};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::EventName;
use crate::presence::Presence;
use crate::property::{MAX_TEXT_CHARS, PropertyName, PropertyValue};
use crate::segment::{LeadFacts, Segment};
use crate::subscription::SubscriptionStatus;
use crate::tag::{TextError, parse_tag};

/// Most conditions in one list (the filter's, or one group's).
pub const MAX_CONDITIONS: usize = 20;
/// Longest window of "in the last N days" (ten years).
pub const MAX_DAYS: i64 = 3650;
/// Largest count of an event condition.
pub const MAX_EVENT_COUNT: i64 = 1_000_000;
/// One day in unix milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// How deep segment conditions may reach: a segment in a segment in a segment...
pub const MAX_SEGMENT_NESTING: usize = 5;
/// Most conditions a checked filter holds once its segment conditions are opened (as many as one
/// filter of 20 groups of 20 conditions holds).
pub const MAX_OPENED_CONDITIONS: usize = MAX_CONDITIONS * MAX_CONDITIONS;

/// A filter as written: what the builder edits and the URL carries. Check it with [`Filter::check`].
/// `{"all":[...]}` (every condition holds) or `{"match":"any","all":[...]}` (at least one holds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Filter {
    /// How the conditions combine; `all` (AND) when absent.
    #[serde(rename = "match", default, skip_serializing_if = "Match::is_all")]
    pub mode: Match,
    /// The conditions (the name stays `all` whatever `match` says, so existing URLs keep working).
    #[serde(default)]
    pub all: Vec<Condition>,
}

/// AND or OR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// Every condition holds.
    #[default]
    All,
    /// At least one condition holds.
    Any,
}

impl Match {
    pub fn is_all(&self) -> bool {
        *self == Match::All
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Match::All => "all",
            Match::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Match::All, Match::Any].into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// `value` is text as typed; its meaning follows `op` (a number for greater/less, a date for
    /// before/after, a whole number of days for within_last_days, an item for list_contains).
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
    /// "Performed `event` at least / at most `count` times in the last `days` days (or ever, when
    /// `days` is absent or null)", or "has not performed `event` (in the last `days` days)".
    Event {
        event: String,
        op: EventOp,
        /// Needed by at_least (1 or more) and at_most (0 or more); ignored by not_performed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<i64>,
    },
    /// "Is in segment `segment`" (`in`: true, the default) or "is not in" it: the saved segment's
    /// conditions as they are now (see [`Filter::check_with`]).
    Segment {
        segment: i64,
        #[serde(rename = "in", default = "yes")]
        inside: bool,
    },
    /// Conditions combined on their own (one level: a group holds no group).
    Group {
        #[serde(rename = "match", default)]
        mode: Match,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(no_recursion, min_items = 1))]
        conditions: Vec<Condition>,
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
    WithinLastDays,
    ListContains,
}

impl PropertyOp {
    pub const ALL: [PropertyOp; 11] = [
        PropertyOp::Equals,
        PropertyOp::NotEquals,
        PropertyOp::Contains,
        PropertyOp::Exists,
        PropertyOp::NotExists,
        PropertyOp::Greater,
        PropertyOp::Less,
        PropertyOp::Before,
        PropertyOp::After,
        PropertyOp::WithinLastDays,
        PropertyOp::ListContains,
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
            PropertyOp::WithinLastDays => "within_last_days",
            PropertyOp::ListContains => "list_contains",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }

    pub fn text(self) -> Text {
        match self {
            PropertyOp::Equals => k::CORE_PROPERTY_OP_EQUALS,
            PropertyOp::NotEquals => k::CORE_PROPERTY_OP_NOT_EQUALS,
            PropertyOp::Contains => k::CORE_PROPERTY_OP_CONTAINS,
            PropertyOp::Exists => k::CORE_PROPERTY_OP_EXISTS,
            PropertyOp::NotExists => k::CORE_PROPERTY_OP_NOT_EXISTS,
            PropertyOp::Greater => k::CORE_PROPERTY_OP_GREATER,
            PropertyOp::Less => k::CORE_PROPERTY_OP_LESS,
            PropertyOp::Before => k::CORE_PROPERTY_OP_BEFORE,
            PropertyOp::After => k::CORE_PROPERTY_OP_AFTER,
            PropertyOp::WithinLastDays => k::CORE_PROPERTY_OP_WITHIN_LAST_DAYS,
            PropertyOp::ListContains => k::CORE_PROPERTY_OP_LIST_CONTAINS,
        }
    }

    pub fn label(self) -> &'static str {
        self.text().en
    }

    pub fn needs_value(self) -> bool {
        !matches!(self, PropertyOp::Exists | PropertyOp::NotExists)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventOp {
    AtLeast,
    AtMost,
    NotPerformed,
}

impl EventOp {
    pub const ALL: [EventOp; 3] = [EventOp::AtLeast, EventOp::AtMost, EventOp::NotPerformed];

    pub fn as_str(self) -> &'static str {
        match self {
            EventOp::AtLeast => "at_least",
            EventOp::AtMost => "at_most",
            EventOp::NotPerformed => "not_performed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }

    pub fn text(self) -> Text {
        match self {
            EventOp::AtLeast => k::CORE_EVENT_OP_AT_LEAST,
            EventOp::AtMost => k::CORE_EVENT_OP_AT_MOST,
            EventOp::NotPerformed => k::CORE_EVENT_OP_NOT_PERFORMED,
        }
    }

    pub fn label(self) -> &'static str {
        self.text().en
    }
}

/// A checked filter: every value typed, every name valid. The default matches every lead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidFilter {
    pub mode: Match,
    pub all: Vec<ValidCondition>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValidCondition {
    Property {
        name: PropertyName,
        test: PropertyTest,
    },
    Tag {
        tag: String,
        has: bool,
    },
    Subscription(SubscriptionStatus),
    Presence(Presence),
    Event(EventTest),
    Group {
        mode: Match,
        conditions: Vec<ValidCondition>,
    },
    /// A lead is in segment `id` when the segment's checked conditions (opened here, as they
    /// were when the filter was checked) hold for it; `inside: false` is "is not in".
    Segment {
        id: i64,
        inside: bool,
        mode: Match,
        conditions: Vec<ValidCondition>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum PropertyTest {
    /// Text equality, case-insensitive (numbers and true/false compare by their text form; a
    /// number also equals a value that parses to it, so `12.50` equals 12.5).
    Equals(String),
    /// Not [`PropertyTest::Equals`]; a lead without the property matches.
    NotEquals(String),
    /// Case-insensitive substring of the text form.
    Contains(String),
    Exists,
    NotExists,
    /// Numbers only.
    Greater(f64),
    Less(f64),
    /// Dates only.
    Before(DateTime<Utc>),
    After(DateTime<Utc>),
    /// A date within the last N days up to now: `now - N days <= date <= now`.
    WithinLastDays(i64),
    /// A list with an item equal to this text (exactly, case included).
    ListContains(String),
}

/// A checked event condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTest {
    pub name: EventName,
    pub count: EventCount,
    /// The window in days; `None` counts every occurrence ever.
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCount {
    /// At least this many times (1 or more).
    AtLeast(i64),
    /// At most this many times (0 or more); a lead that never performed it matches.
    AtMost(i64),
    /// Not once.
    NotPerformed,
}

impl EventTest {
    /// Whether a lead that performed the event `count` times (within the window) passes.
    pub fn passes(&self, count: i64) -> bool {
        match self.count {
            EventCount::AtLeast(n) => count >= n,
            EventCount::AtMost(n) => count <= n,
            EventCount::NotPerformed => count == 0,
        }
    }

    /// The first instant (unix ms) the window counts at `now`, or `None` for "ever".
    pub fn window_start_ms(&self, now: DateTime<Utc>) -> Option<i64> {
        self.days.map(|days| window_start_ms(now, days))
    }
}

/// `now - days`, in unix milliseconds: occurrences at or after it are "in the last `days` days".
pub fn window_start_ms(now: DateTime<Utc>, days: i64) -> i64 {
    now.timestamp_millis() - days * DAY_MS
}

/// Why a filter is refused, naming the condition and its field (`filter.all[2].conditions[0].count`).
/// `index` is the top-level condition's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub index: usize,
    pub field: String,
    pub message: Message,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.with_condition())
    }
}

impl std::error::Error for FilterError {}

impl FilterError {
    /// The message with the condition it is about: "condition 2: ...".
    pub fn with_condition(&self) -> Message {
        Message::new(k::CHECK_FILTER_CONDITION).arg("n", self.index + 1).with("reason", self.message.clone())
    }

    fn at(index: usize, path: &str, part: &str, message: impl Into<Message>) -> Self {
        let field = if part.is_empty() { path.to_owned() } else { format!("{path}.{part}") };
        Self { index, field, message: message.into() }
    }

    /// The query form is not a filter at all (not JSON, or not this shape); `reason` is the parser's
    /// (shown as it is).
    pub fn malformed(reason: impl fmt::Display) -> Self {
        Self::malformed_because(Message::plain(reason.to_string()))
    }

    fn malformed_because(reason: Message) -> Self {
        let message = Message::new(k::CHECK_FILTER_MALFORMED).with("reason", reason);
        Self { index: 0, field: "filter".to_owned(), message }
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

    /// Reads the URL / query form. Malformed JSON is an error on the whole filter; a condition of
    /// the wrong shape (an unknown operator, a count that is not a number) names its field.
    pub fn from_query(raw: &str) -> Result<Self, FilterError> {
        let value: Value = serde_json::from_str(raw).map_err(FilterError::malformed)?;
        Self::from_json(value)
    }

    /// A filter from parsed JSON (an API body's `filter`), naming the field of a shape error.
    pub fn from_json(value: Value) -> Result<Self, FilterError> {
        if let Some(path) = crate::text::nul_in_json(&value) {
            let field = if path.is_empty() { "filter".to_owned() } else { format!("filter.{path}") };
            return Err(FilterError { index: 0, field, message: crate::text::nul_message() });
        }
        match Filter::deserialize(&value) {
            Ok(filter) => Ok(filter),
            Err(e) => Err(locate(&value).unwrap_or_else(|| FilterError::malformed(e))),
        }
    }

    /// Checks a filter that knows no saved segments: a segment condition is refused as unknown.
    pub fn check(&self) -> Result<ValidFilter, FilterError> {
        self.check_with(&[], None)
    }

    /// Checks the filter, opening each segment condition into the conditions of the segment it
    /// names among `saved`. `own` is the id of the segment this filter defines, if any: it may
    /// not refer to itself, directly or through others (a cycle).
    pub fn check_with(&self, saved: &[Segment], own: Option<i64>) -> Result<ValidFilter, FilterError> {
        let mut segments = Opening { saved, own, open: Vec::new(), conditions: 0 };
        let all = check_list(&self.all, "filter.all", None, 0, &mut segments)?;
        Ok(ValidFilter { mode: self.mode, all })
    }

    /// The ids of the segments its conditions name (not those they name in turn).
    pub fn segment_ids(&self) -> Vec<i64> {
        fn walk(conditions: &[Condition], ids: &mut Vec<i64>) {
            for condition in conditions {
                match condition {
                    Condition::Segment { segment, .. } if !ids.contains(segment) => ids.push(*segment),
                    Condition::Group { conditions, .. } => walk(conditions, ids),
                    _ => {}
                }
            }
        }
        let mut ids = Vec::new();
        walk(&self.all, &mut ids);
        ids
    }
}

/// The saved segments while a filter's segment conditions are opened: which are open now (the
/// path from the filter, to refuse a cycle) and how many conditions opening them has added.
struct Opening<'a> {
    saved: &'a [Segment],
    own: Option<i64>,
    open: Vec<(i64, &'a str)>,
    conditions: usize,
}

impl<'a> Opening<'a> {
    /// The checked conditions of segment `id`, or why it cannot be opened here (without a field).
    fn open(&mut self, id: i64) -> Result<(Match, Vec<ValidCondition>), Message> {
        if self.own == Some(id) && self.open.is_empty() {
            return Err(k::CHECK_FILTER_SEGMENT_ITSELF.into());
        }
        let back = if self.own == Some(id) {
            Some(
                self.saved
                    .iter()
                    .find(|s| s.id == id)
                    .map_or(k::CHECK_FILTER_THIS_SEGMENT.into(), |s| Message::plain(s.name.as_str())),
            )
        } else {
            self.open.iter().find(|(open, _)| *open == id).map(|(_, name)| Message::plain(*name))
        };
        if let Some(back) = back {
            let path = self.open.iter().fold(None, |path: Option<Message>, (_, name)| {
                Some(match path {
                    None => Message::new(k::CHECK_FILTER_PATH_START).arg("name", name),
                    Some(path) => Message::new(k::CHECK_FILTER_PATH_NEXT).with("path", path).arg("name", name),
                })
            });
            return Err(Message::new(k::CHECK_FILTER_SEGMENT_CYCLE)
                .with("path", path.unwrap_or_else(|| Message::plain("")))
                .with("back", back));
        }
        let Some(segment) = self.saved.iter().find(|s| s.id == id) else {
            return Err(Message::new(k::CHECK_FILTER_NO_SEGMENT).arg("id", id));
        };
        if self.open.len() >= MAX_SEGMENT_NESTING {
            return Err(Message::new(k::CHECK_FILTER_NESTING).arg("max", MAX_SEGMENT_NESTING));
        }
        self.open.push((id, segment.name.as_str()));
        let opened = check_list(&segment.filter.all, "filter.all", None, 0, self);
        self.open.pop();
        let conditions = opened.map_err(|e| {
            Message::new(k::CHECK_FILTER_IN_SEGMENT)
                .arg("name", &segment.name)
                .with("reason", e.message)
                .arg("field", e.field)
        })?;
        self.conditions += conditions.iter().map(ValidCondition::leaf_count).sum::<usize>();
        if self.conditions > MAX_OPENED_CONDITIONS {
            return Err(Message::new(k::CHECK_FILTER_TOO_MANY_OPENED).arg("max", MAX_OPENED_CONDITIONS));
        }
        Ok((segment.filter.mode, conditions))
    }
}

/// Checks a list of conditions at `path`; `top` is the top-level index when inside a group.
fn check_list(
    conditions: &[Condition],
    path: &str,
    top: Option<usize>,
    depth: usize,
    segments: &mut Opening<'_>,
) -> Result<Vec<ValidCondition>, FilterError> {
    if conditions.len() > MAX_CONDITIONS {
        return Err(FilterError {
            index: top.unwrap_or(MAX_CONDITIONS),
            field: path.to_owned(),
            message: Message::new(k::CHECK_FILTER_TOO_MANY_CONDITIONS).arg("max", MAX_CONDITIONS),
        });
    }
    conditions
        .iter()
        .enumerate()
        .map(|(i, c)| c.check(top.unwrap_or(i), &format!("{path}[{i}]"), depth, segments))
        .collect()
}

impl Condition {
    fn check(
        &self,
        index: usize,
        path: &str,
        depth: usize,
        segments: &mut Opening<'_>,
    ) -> Result<ValidCondition, FilterError> {
        let err = |part: &str, message: Message| FilterError::at(index, path, part, message);
        match self {
            Condition::Property { name, op, value } => {
                let name = PropertyName::parse(name).map_err(|e| err("name", e.message()))?;
                let value = value.trim();
                if op.needs_value() && value.is_empty() {
                    return Err(err("value", Message::new(k::CHECK_FILTER_NEEDS_VALUE).with("op", op.text())));
                }
                if value.chars().count() > MAX_TEXT_CHARS {
                    return Err(err("value", Message::new(k::CHECK_FILTER_VALUE_TOO_LONG).arg("max", MAX_TEXT_CHARS)));
                }
                let number = || {
                    parse_number(value)
                        .ok_or_else(|| err("value", Message::new(k::CHECK_FILTER_NOT_A_NUMBER).arg("value", value)))
                };
                let date = || {
                    parse_date(value)
                        .ok_or_else(|| err("value", Message::new(k::CHECK_FILTER_NOT_A_DATE).arg("value", value)))
                };
                let days = || {
                    value
                        .parse::<i64>()
                        .ok()
                        .filter(|d| (1..=MAX_DAYS).contains(d))
                        .ok_or_else(|| err("value", Message::new(k::CHECK_FILTER_DAYS_WHOLE).arg("max", MAX_DAYS)))
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
                    PropertyOp::WithinLastDays => PropertyTest::WithinLastDays(days()?),
                    PropertyOp::ListContains => PropertyTest::ListContains(value.to_owned()),
                };
                Ok(ValidCondition::Property { name, test })
            }
            Condition::Tag { tag, has } => {
                let tag = match parse_tag(tag) {
                    Ok(tag) => tag,
                    Err(TextError::Empty) => return Err(err("tag", k::CHECK_FILTER_CHOOSE_TAG.into())),
                    Err(e) => return Err(err("tag", e.about_a_tag())),
                };
                Ok(ValidCondition::Tag { tag, has: *has })
            }
            Condition::Subscription { status } => Ok(ValidCondition::Subscription(*status)),
            Condition::Presence { presence } => Ok(ValidCondition::Presence(*presence)),
            Condition::Event { event, op, count, days } => {
                let name = EventName::parse(event).map_err(|e| err("event", e.message()))?;
                let count = match (op, count) {
                    (EventOp::NotPerformed, _) => EventCount::NotPerformed,
                    (_, None) => {
                        return Err(err("count", Message::new(k::CHECK_FILTER_NEEDS_COUNT).with("op", op.text())));
                    }
                    (_, Some(n)) if *n < 0 => return Err(err("count", k::CHECK_FILTER_COUNT_NEGATIVE.into())),
                    (_, Some(n)) if *n > MAX_EVENT_COUNT => {
                        return Err(err(
                            "count",
                            Message::new(k::CHECK_FILTER_COUNT_TOO_BIG).arg("max", MAX_EVENT_COUNT),
                        ));
                    }
                    (EventOp::AtLeast, Some(0)) => {
                        return Err(err("count", k::CHECK_FILTER_AT_LEAST_ZERO.into()));
                    }
                    (EventOp::AtLeast, Some(n)) => EventCount::AtLeast(*n),
                    (EventOp::AtMost, Some(n)) => EventCount::AtMost(*n),
                };
                if let Some(d) = days
                    && !(1..=MAX_DAYS).contains(d)
                {
                    return Err(err("days", Message::new(k::CHECK_FILTER_DAYS_RANGE).arg("max", MAX_DAYS)));
                }
                Ok(ValidCondition::Event(EventTest { name, count, days: *days }))
            }
            Condition::Group { mode, conditions } => {
                if depth > 0 {
                    return Err(err("", k::CHECK_FILTER_GROUP_IN_GROUP.into()));
                }
                if conditions.is_empty() {
                    return Err(err("conditions", k::CHECK_FILTER_GROUP_EMPTY.into()));
                }
                let conditions =
                    check_list(conditions, &format!("{path}.conditions"), Some(index), depth + 1, segments)?;
                Ok(ValidCondition::Group { mode: *mode, conditions })
            }
            Condition::Segment { segment, inside } => {
                let (mode, conditions) = segments.open(*segment).map_err(|message| err("segment", message))?;
                Ok(ValidCondition::Segment { id: *segment, inside: *inside, mode, conditions })
            }
        }
    }
}

/// A number as an operator types it; only finite ones.
pub fn parse_number(raw: &str) -> Option<f64> {
    raw.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date as an operator types it: `YYYY-MM-DD` (midnight UTC) or RFC 3339.
pub fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
}

/// The first field of a filter's JSON that does not have the shape a condition needs, named by
/// its path; `None` when the shape error lies elsewhere.
fn locate(value: &Value) -> Option<FilterError> {
    let Value::Object(filter) = value else {
        let example = Message::new(k::CHECK_FILTER_EXPECTED_OBJECT).arg("example", "{\"all\": [...]}");
        return Some(FilterError::malformed_because(example));
    };
    if let Some(mode) = filter.get("match")
        && mode.as_str().and_then(Match::parse).is_none()
    {
        return Some(FilterError::at(0, "filter", "match", k::CHECK_FILTER_ALL_OR_ANY));
    }
    match filter.get("all") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            items.iter().enumerate().find_map(|(i, c)| locate_condition(c, i, &format!("filter.all[{i}]")))
        }
        Some(_) => Some(FilterError::at(0, "filter", "all", k::CHECK_FILTER_MUST_BE_LIST)),
    }
}

fn locate_condition(value: &Value, index: usize, path: &str) -> Option<FilterError> {
    let err = |part: &str, message: Message| Some(FilterError::at(index, path, part, message));
    let Value::Object(c) = value else {
        return err("", k::CHECK_FILTER_NOT_A_CONDITION.into());
    };
    let text = |key: &str, required: bool| match c.get(key) {
        None if required => err(key, k::CHECK_FILTER_MISSING.into()),
        None | Some(Value::String(_)) => None,
        Some(_) => err(key, k::CHECK_FILTER_MUST_BE_TEXT.into()),
    };
    // `unknown` names a value that is not one of them ("unknown operator \"{value}\"").
    let one_of = |key: &str, known: &dyn Fn(&str) -> bool, unknown: Text| match c.get(key) {
        None => err(key, k::CHECK_FILTER_MISSING.into()),
        Some(Value::String(s)) if known(s) => None,
        Some(Value::String(s)) => err(key, Message::new(unknown).arg("value", s)),
        Some(_) => err(key, k::CHECK_FILTER_MUST_BE_TEXT.into()),
    };
    let integer = |key: &str| match c.get(key) {
        None | Some(Value::Null) => None,
        Some(v) if v.as_i64().is_some() => None,
        Some(_) => err(key, k::CHECK_FILTER_MUST_BE_WHOLE.into()),
    };
    let kind = c.get("kind").and_then(Value::as_str);
    match kind {
        Some("property") => text("name", true)
            .or_else(|| one_of("op", &|s| PropertyOp::parse(s).is_some(), k::CHECK_FILTER_UNKNOWN_OPERATOR))
            .or_else(|| text("value", false)),
        Some("tag") => text("tag", true).or_else(|| match c.get("has") {
            None | Some(Value::Bool(_)) => None,
            Some(_) => err("has", k::CHECK_FILTER_MUST_BE_BOOL.into()),
        }),
        Some("subscription") => {
            one_of("status", &|s| SubscriptionStatus::parse(s).is_some(), k::CHECK_FILTER_UNKNOWN_STATUS)
        }
        Some("presence") => {
            one_of("presence", &|s| Presence::ALL.iter().any(|p| p.label() == s), k::CHECK_FILTER_UNKNOWN_PRESENCE)
        }
        Some("event") => text("event", true)
            .or_else(|| one_of("op", &|s| EventOp::parse(s).is_some(), k::CHECK_FILTER_UNKNOWN_OPERATOR))
            .or_else(|| integer("count"))
            .or_else(|| integer("days")),
        Some("segment") => match c.get("segment") {
            None | Some(Value::Null) => err("segment", k::CHECK_FILTER_CHOOSE_SEGMENT.into()),
            Some(v) if v.as_i64().is_none() => err("segment", k::CHECK_FILTER_MUST_BE_SEGMENT_ID.into()),
            _ => match c.get("in") {
                None | Some(Value::Bool(_)) => None,
                Some(_) => err("in", k::CHECK_FILTER_MUST_BE_BOOL.into()),
            },
        },
        Some("group") => {
            if let Some(mode) = c.get("match")
                && mode.as_str().and_then(Match::parse).is_none()
            {
                return err("match", k::CHECK_FILTER_ALL_OR_ANY.into());
            }
            match c.get("conditions") {
                None | Some(Value::Null) => None,
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .find_map(|(j, inner)| locate_condition(inner, index, &format!("{path}.conditions[{j}]"))),
                Some(_) => err("conditions", k::CHECK_FILTER_MUST_BE_LIST.into()),
            }
        }
        Some(other) => err("kind", Message::new(k::CHECK_FILTER_UNKNOWN_KIND).arg("value", other)),
        None => err("kind", k::CHECK_FILTER_MISSING.into()),
    }
}

impl ValidFilter {
    /// Whether one lead matches at `now`: the rule the SQL compiler follows for lists and counts.
    pub fn matches(&self, facts: &LeadFacts, now: DateTime<Utc>) -> bool {
        // Stored times are whole milliseconds; so is every comparison.
        let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        combine(self.mode, &self.all, facts, now)
    }

    /// Every condition, groups opened, in order (the leaves the SQL planner sizes one by one).
    pub fn leaves(&self) -> Vec<&ValidCondition> {
        let mut leaves = Vec::new();
        for condition in &self.all {
            condition.push_leaves(&mut leaves);
        }
        leaves
    }

    /// The event conditions counted over a window, for the job that finds window exits.
    pub fn windowed_events(&self) -> Vec<&EventTest> {
        self.leaves()
            .into_iter()
            .filter_map(|c| match c {
                ValidCondition::Event(test) if test.days.is_some() => Some(test),
                _ => None,
            })
            .collect()
    }
}

impl ValidCondition {
    fn push_leaves<'a>(&'a self, leaves: &mut Vec<&'a ValidCondition>) {
        match self {
            ValidCondition::Group { conditions, .. } | ValidCondition::Segment { conditions, .. } => {
                conditions.iter().for_each(|c| c.push_leaves(leaves))
            }
            leaf => leaves.push(leaf),
        }
    }

    /// Whether it tests one thing itself, rather than combining conditions (a group, a segment).
    pub fn is_leaf(&self) -> bool {
        !matches!(self, ValidCondition::Group { .. } | ValidCondition::Segment { .. })
    }

    /// How many leaves ([`ValidFilter::leaves`]) it holds: 1 for a leaf.
    pub fn leaf_count(&self) -> usize {
        match self {
            ValidCondition::Group { conditions, .. } | ValidCondition::Segment { conditions, .. } => {
                conditions.iter().map(ValidCondition::leaf_count).sum()
            }
            _ => 1,
        }
    }

    /// Whether one lead passes this condition at `now` (whole milliseconds).
    pub fn matches(&self, facts: &LeadFacts, now: DateTime<Utc>) -> bool {
        match self {
            ValidCondition::Property { name, test } => test.passes(facts.properties.get(name.as_str()), now),
            ValidCondition::Tag { tag, has } => facts.tags.iter().any(|t| t == tag) == *has,
            ValidCondition::Subscription(status) => facts.subscription == *status,
            ValidCondition::Presence(presence) => {
                Presence::at(now, facts.last_heartbeat, facts.last_active) == *presence
            }
            ValidCondition::Event(test) => {
                test.passes(facts.event_count(test.name.as_str(), test.window_start_ms(now)))
            }
            ValidCondition::Group { mode, conditions } => combine(*mode, conditions, facts, now),
            ValidCondition::Segment { inside, mode, conditions, .. } => {
                combine(*mode, conditions, facts, now) == *inside
            }
        }
    }
}

fn combine(mode: Match, conditions: &[ValidCondition], facts: &LeadFacts, now: DateTime<Utc>) -> bool {
    match mode {
        Match::All => conditions.iter().all(|c| c.matches(facts, now)),
        // No condition restricts nothing, in either mode.
        Match::Any => conditions.is_empty() || conditions.iter().any(|c| c.matches(facts, now)),
    }
}

impl PropertyTest {
    /// Whether a lead whose property holds `value` (`None`: the lead does not have it) passes.
    /// Text compares by the stored text form, [`PropertyValue::text_form`], which the database
    /// indexes: lower-cased, lists joined with ", ".
    pub fn passes(&self, value: Option<&PropertyValue>, now: DateTime<Utc>) -> bool {
        let Some(value) = value else {
            return matches!(self, PropertyTest::NotEquals(_) | PropertyTest::NotExists);
        };
        let millis = |v: &PropertyValue| match v {
            PropertyValue::DateTime(t) => Some(t.timestamp_millis()),
            _ => None,
        };
        match self {
            PropertyTest::Equals(text) => equals(value, text),
            PropertyTest::NotEquals(text) => !equals(value, text),
            PropertyTest::Contains(text) => value.text_form().contains(&fold(text)),
            PropertyTest::Exists => true,
            PropertyTest::NotExists => false,
            PropertyTest::Greater(n) => matches!(value, PropertyValue::Number(x) if x > n),
            PropertyTest::Less(n) => matches!(value, PropertyValue::Number(x) if x < n),
            PropertyTest::Before(t) => millis(value).is_some_and(|ms| ms < t.timestamp_millis()),
            PropertyTest::After(t) => millis(value).is_some_and(|ms| ms > t.timestamp_millis()),
            PropertyTest::WithinLastDays(days) => {
                millis(value).is_some_and(|ms| window_start_ms(now, *days) <= ms && ms <= now.timestamp_millis())
            }
            PropertyTest::ListContains(item) => matches!(value, PropertyValue::List(items) if items.contains(item)),
        }
    }
}

fn equals(value: &PropertyValue, text: &str) -> bool {
    value.text_form() == fold(text)
        || matches!((value, parse_number(text)), (PropertyValue::Number(x), Some(n)) if *x == n)
}

/// Case folding for text comparisons, the same on the page, the server and in the database
/// (which stores the folded text form; SQLite's LOWER() folds ASCII only, so it is never used).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::segment::EventFacts;

    fn filter(json: &str) -> Result<ValidFilter, FilterError> {
        Filter::from_query(json)?.check()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn facts() -> LeadFacts {
        let mut facts = LeadFacts::default();
        let mut set = |name: &str, value: PropertyValue| facts.properties.insert(name.to_owned(), value);
        set("$country", PropertyValue::Text("Germany".into()));
        set("amount", PropertyValue::Number(120.5));
        set("visits", PropertyValue::Number(3.0));
        set("vip", PropertyValue::Bool(true));
        set("signed_up", PropertyValue::DateTime(now() - Duration::days(3)));
        set("interests", PropertyValue::List(vec!["Shoes".into(), "hats, caps".into()]));
        facts.tags = vec!["vip".into()];
        facts.subscription = SubscriptionStatus::Subscribed;
        facts.last_heartbeat = Some(now() - Duration::seconds(30));
        facts.last_active = Some(now() - Duration::seconds(30));
        let day = |d: i64| (now() - Duration::days(d)).timestamp_millis();
        facts
            .events
            .insert("Added to cart".into(), EventFacts { count: 5, times: vec![day(40), day(9), day(6), day(2)] });
        facts.times_since = Some(day(60));
        facts
    }

    fn holds(json: &str) -> bool {
        filter(&format!(r#"{{"all":[{json}]}}"#)).unwrap().matches(&facts(), now())
    }

    #[test]
    fn a_nul_anywhere_in_a_filter_is_refused_with_its_place() {
        let err = filter(r#"{"all":[{"kind":"property","name":"plan","op":"is","value":"a\u0000b"}]}"#).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.message.to_string().as_str()),
            ("filter.all[0].value", crate::text::NUL_MESSAGE)
        );
    }

    fn property(name: &str, op: &str, value: &str) -> bool {
        holds(&format!(r#"{{"kind":"property","name":"{name}","op":"{op}","value":"{value}"}}"#))
    }

    #[test]
    fn a_filter_round_trips_through_its_query_form_and_old_urls_stay_valid() {
        let f = Filter {
            mode: Match::All,
            all: vec![
                Condition::Property { name: "$country".into(), op: PropertyOp::Equals, value: "Germany".into() },
                Condition::Tag { tag: "vip".into(), has: true },
                Condition::Subscription { status: SubscriptionStatus::Unsubscribed },
                Condition::Presence { presence: Presence::Online },
            ],
        };
        let query = f.to_query();
        assert!(!query.contains("match"), "{query}");
        assert_eq!(Filter::from_query(&query).unwrap(), f);
        assert_eq!(f.check().unwrap().all.len(), 4);
        let old = r#"{"all":[{"kind":"property","name":"plan","op":"equals","value":"pro"},{"kind":"tag","tag":"vip","has":true}]}"#;
        assert_eq!(Filter::from_query(old).unwrap().to_query(), old);
        let any = Filter { mode: Match::Any, all: vec![Condition::Tag { tag: "vip".into(), has: false }] };
        assert!(any.to_query().contains(r#""match":"any""#));
        assert_eq!(Filter::from_query(&any.to_query()).unwrap(), any);
    }

    #[test]
    fn property_operators_follow_the_stored_text_and_number_forms() {
        assert!(property("$country", "equals", "germany"));
        assert!(!property("$country", "equals", "German"));
        assert!(property("$country", "not_equals", "France"));
        assert!(property("nope", "not_equals", "France"), "a lead without the property is not equal");
        assert!(property("$country", "contains", "ERMA"));
        assert!(!property("nope", "contains", "a"));
        assert!(property("amount", "equals", "120.50"));
        assert!(property("amount", "equals", "120.5"));
        assert!(property("vip", "equals", "TRUE"));
        assert!(!property("vip", "equals", "1"), "true/false compare by text only");
        assert!(property("amount", "greater", "100") && !property("amount", "greater", "120.5"));
        assert!(property("amount", "less", "121") && !property("vip", "less", "5"));
        assert!(!property("$country", "greater", "1"), "text is not a number");
        assert!(holds(r#"{"kind":"property","name":"amount","op":"exists"}"#));
        assert!(holds(r#"{"kind":"property","name":"nope","op":"not_exists"}"#));
        assert!(property("signed_up", "after", "2027-01-01") && property("signed_up", "before", "2027-12-31"));
        assert!(property("signed_up", "within_last_days", "3") && !property("signed_up", "within_last_days", "2"));
        assert!(!property("amount", "within_last_days", "3"));
        assert!(property("interests", "list_contains", "hats, caps"));
        assert!(!property("interests", "list_contains", "shoes"), "list items compare exactly");
        assert!(property("interests", "contains", "shoes, hats"), "contains reads the joined text form");
    }

    #[test]
    fn within_last_days_excludes_future_dates() {
        let mut facts = facts();
        facts.properties.insert("renewal".into(), PropertyValue::DateTime(now() + Duration::days(1)));
        let f =
            filter(r#"{"all":[{"kind":"property","name":"renewal","op":"within_last_days","value":"30"}]}"#).unwrap();
        assert!(!f.matches(&facts, now()));
    }

    #[test]
    fn tags_subscription_and_presence() {
        assert!(holds(r#"{"kind":"tag","tag":"vip"}"#));
        assert!(!holds(r#"{"kind":"tag","tag":"VIP"}"#), "tags are exact");
        assert!(holds(r#"{"kind":"tag","tag":"churn","has":false}"#));
        assert!(holds(r#"{"kind":"subscription","status":"subscribed"}"#));
        assert!(holds(r#"{"kind":"presence","presence":"online"}"#));
        assert!(!holds(r#"{"kind":"presence","presence":"offline"}"#));
    }

    #[test]
    fn event_conditions_count_within_their_window_or_ever() {
        let event = |op: &str, count: &str, days: &str| {
            holds(&format!(r#"{{"kind":"event","event":"Added to cart","op":"{op}","count":{count},"days":{days}}}"#))
        };
        assert!(event("at_least", "2", "7") && !event("at_least", "3", "7"));
        assert!(event("at_least", "3", "10"));
        assert!(event("at_least", "5", "null") && !event("at_least", "6", "null"));
        assert!(event("at_most", "2", "7") && !event("at_most", "1", "7"));
        assert!(event("at_most", "0", "1"));
        assert!(event("not_performed", "null", "1") && !event("not_performed", "null", "3"));
        assert!(!event("not_performed", "null", "null"));
        assert!(holds(r#"{"kind":"event","event":"Signed up","op":"not_performed"}"#));
        assert!(holds(r#"{"kind":"event","event":"Signed up","op":"at_most","count":0,"days":7}"#));
        assert!(!holds(r#"{"kind":"event","event":"added to cart","op":"at_least","count":1}"#), "names are exact");
    }

    #[test]
    fn a_window_counts_occurrences_from_its_first_millisecond() {
        let mut facts = LeadFacts::default();
        let start = window_start_ms(now(), 7);
        facts.events.insert("x".into(), EventFacts { count: 2, times: vec![start - 1, start] });
        let f = filter(r#"{"all":[{"kind":"event","event":"x","op":"at_most","count":1,"days":7}]}"#).unwrap();
        assert!(f.matches(&facts, now()));
        assert!(!f.matches(&facts, now() - Duration::milliseconds(1)));
        facts.record_event("x", now());
        assert_eq!(facts.event_count("x", Some(start)), 2);
        assert_eq!(facts.event_count("x", None), 3);
    }

    #[test]
    fn groups_combine_with_and_or_and_the_top_level_can_match_any() {
        assert!(holds(
            r#"{"kind":"group","match":"any","conditions":[{"kind":"tag","tag":"x"},{"kind":"tag","tag":"vip"}]}"#
        ));
        assert!(!holds(r#"{"kind":"group","conditions":[{"kind":"tag","tag":"x"},{"kind":"tag","tag":"vip"}]}"#));
        let any = filter(r#"{"match":"any","all":[{"kind":"tag","tag":"x"},{"kind":"tag","tag":"vip"}]}"#).unwrap();
        assert!(any.matches(&facts(), now()));
        let none = filter(r#"{"match":"any","all":[{"kind":"tag","tag":"x"},{"kind":"tag","tag":"y"}]}"#).unwrap();
        assert!(!none.matches(&facts(), now()));
        assert!(
            filter(r#"{"match":"any","all":[]}"#).unwrap().matches(&facts(), now()),
            "no condition restricts nothing"
        );
        let f = filter(
            r#"{"all":[{"kind":"tag","tag":"vip"},{"kind":"group","match":"any","conditions":[
                {"kind":"event","event":"Added to cart","op":"at_least","count":1,"days":7},{"kind":"tag","tag":"x"}]}]}"#,
        )
        .unwrap();
        assert_eq!(f.leaves().len(), 3);
        assert_eq!(f.windowed_events().len(), 1);
        assert!(f.matches(&facts(), now()));
    }

    #[test]
    fn bad_conditions_name_the_condition_and_field() {
        let field = |json: &str| filter(json).unwrap_err().field;
        let err = filter(
            r#"{"all":[{"kind":"tag","tag":"vip"},{"kind":"property","name":"plan","op":"greater","value":"abc"}]}"#,
        )
        .unwrap_err();
        assert_eq!((err.index, err.field.as_str()), (1, "filter.all[1].value"));
        assert!(err.message.to_string().contains("not a number"));
        assert_eq!(field(r#"{"all":[{"kind":"property","name":"$nope","op":"exists"}]}"#), "filter.all[0].name");
        assert_eq!(field(r#"{"all":[{"kind":"property","name":"x","op":"equals"}]}"#), "filter.all[0].value");
        let err = filter(r#"{"all":[{"kind":"property","name":"x","op":"after","value":"yesterday"}]}"#).unwrap_err();
        assert!(err.message.to_string().contains("not a date"));
        let err = filter(r#"{"all":[{"kind":"property","name":"x","op":"sounds_like","value":"a"}]}"#).unwrap_err();
        assert_eq!(err.field, "filter.all[0].op");
        assert!(err.message.to_string().contains("unknown operator"), "{}", err.message);
        assert_eq!(
            field(r#"{"all":[{"kind":"property","name":"x","op":"within_last_days","value":"0"}]}"#),
            "filter.all[0].value"
        );
        assert_eq!(field(r#"{"all":[{"kind":"property","name":"x","op":"equals","value":5}]}"#), "filter.all[0].value");
        assert_eq!(field(r#"{"all":[{"kind":"colour"}]}"#), "filter.all[0].kind");
        let long_tag = format!(r#"{{"all":[{{"kind":"tag","tag":"{}"}}]}}"#, "t".repeat(65));
        assert_eq!(field(&long_tag), "filter.all[0].tag", "one tag limit: core's, as for the card");
        assert_eq!(field(r#"{"match":"some","all":[]}"#), "filter.match");
        assert_eq!(field("[1]"), "filter");
        assert_eq!(field("{nope"), "filter");

        let event = |rest: &str| field(&format!(r#"{{"all":[{{"kind":"event","event":"Added to cart",{rest}}}]}}"#));
        assert_eq!(event(r#""op":"at_least","count":-1"#), "filter.all[0].count");
        assert_eq!(event(r#""op":"at_least","count":0"#), "filter.all[0].count");
        assert_eq!(event(r#""op":"at_most""#), "filter.all[0].count");
        assert_eq!(event(r#""op":"at_least","count":"3""#), "filter.all[0].count");
        assert_eq!(event(r#""op":"at_least","count":1,"days":0"#), "filter.all[0].days");
        assert_eq!(event(r#""op":"at_least","count":1,"days":1.5"#), "filter.all[0].days");
        assert_eq!(event(r#""op":"sometimes""#), "filter.all[0].op");
        assert_eq!(field(r#"{"all":[{"kind":"event","event":" ","op":"not_performed"}]}"#), "filter.all[0].event");

        let group = |inner: &str| {
            filter(&format!(
                r#"{{"all":[{{"kind":"tag","tag":"a"}},{{"kind":"group","match":"any","conditions":[{inner}]}}]}}"#
            ))
            .unwrap_err()
        };
        let err = group(r#"{"kind":"tag","tag":"a"},{"kind":"event","event":"x","op":"at_least","count":-2}"#);
        assert_eq!((err.index, err.field.as_str()), (1, "filter.all[1].conditions[1].count"));
        assert_eq!(group("").field, "filter.all[1].conditions");
        assert_eq!(
            group(r#"{"kind":"group","conditions":[{"kind":"tag","tag":"a"}]}"#).field,
            "filter.all[1].conditions[0]"
        );
        assert_eq!(
            group(r#"{"kind":"property","name":"x","op":"bigger","value":"1"}"#).field,
            "filter.all[1].conditions[0].op"
        );
        let many = vec![r#"{"kind":"tag","tag":"a"}"#; MAX_CONDITIONS + 1].join(",");
        assert_eq!(field(&format!(r#"{{"all":[{many}]}}"#)), "filter.all");
    }

    fn saved(id: i64, name: &str, filter: &str) -> Segment {
        let at = now();
        Segment {
            id,
            name: name.to_owned(),
            filter: Filter::from_query(filter).unwrap(),
            created_by: None,
            created_at: at,
            updated_at: at,
            members_ready: true,
        }
    }

    fn in_segment(id: i64, inside: bool) -> String {
        format!(r#"{{"all":[{{"kind":"segment","segment":{id},"in":{inside}}}]}}"#)
    }

    #[test]
    fn a_segment_condition_holds_when_the_segments_own_conditions_do() {
        let library = [
            saved(1, "Germans", r#"{"all":[{"kind":"property","name":"$country","op":"equals","value":"germany"}]}"#),
            saved(2, "French", r#"{"all":[{"kind":"property","name":"$country","op":"equals","value":"france"}]}"#),
            saved(3, "Keen Germans", r#"{"all":[{"kind":"segment","segment":1},{"kind":"tag","tag":"vip"}]}"#),
        ];
        let check = |json: &str| Filter::from_query(json).unwrap().check_with(&library, None).unwrap();
        assert!(check(&in_segment(1, true)).matches(&facts(), now()));
        assert!(!check(&in_segment(1, false)).matches(&facts(), now()));
        assert!(!check(&in_segment(2, true)).matches(&facts(), now()));
        assert!(check(&in_segment(2, false)).matches(&facts(), now()));
        // Through another segment, and inside a group.
        let nested = check(&in_segment(3, true));
        assert!(nested.matches(&facts(), now()));
        assert_eq!(nested.leaves().len(), 2, "the opened segments' leaves are the filter's");
        assert_eq!(nested.all[0].leaf_count(), 2);
        assert!(!nested.all[0].is_leaf());
        let grouped = check(
            r#"{"all":[{"kind":"group","match":"any","conditions":[{"kind":"segment","segment":2},{"kind":"segment","segment":3}]}]}"#,
        );
        assert!(grouped.matches(&facts(), now()));
        let mut other = facts();
        other.tags.clear();
        assert!(!grouped.matches(&other, now()));
        // The wire form: `in` defaults to true and round-trips.
        let written = Filter::from_query(r#"{"all":[{"kind":"segment","segment":3}]}"#).unwrap();
        assert_eq!(written.all, [Condition::Segment { segment: 3, inside: true }]);
        assert_eq!(Filter::from_query(&in_segment(3, false)).unwrap().to_query(), in_segment(3, false));
        assert_eq!(written.segment_ids(), [3]);
    }

    #[test]
    fn unknown_segments_self_references_and_cycles_are_refused_at_the_condition() {
        let library = [
            saved(1, "A", r#"{"all":[{"kind":"segment","segment":2}]}"#),
            saved(2, "B", r#"{"all":[{"kind":"tag","tag":"vip"}]}"#),
            saved(3, "C", r#"{"all":[{"kind":"segment","segment":1}]}"#),
        ];
        let refused =
            |json: &str, own: Option<i64>| Filter::from_query(json).unwrap().check_with(&library, own).unwrap_err();

        let err = refused(&in_segment(9, true), None);
        assert_eq!(
            (err.field.as_str(), err.message.to_string().as_str()),
            ("filter.all[0].segment", "there is no segment 9")
        );
        let err = Filter::from_query(&in_segment(2, true)).unwrap().check().unwrap_err();
        assert_eq!(err.field, "filter.all[0].segment", "a filter that knows no segments refuses them");

        let err = refused(&in_segment(2, true), Some(2));
        assert_eq!(
            (err.field.as_str(), err.message.to_string().as_str()),
            ("filter.all[0].segment", "a segment cannot refer to itself")
        );

        // B redefined as "in C": C -> A -> B is a cycle.
        let err = refused(r#"{"all":[{"kind":"tag","tag":"x"},{"kind":"segment","segment":3,"in":false}]}"#, Some(2));
        assert_eq!(err.field, "filter.all[1].segment");
        assert!(err.message.to_string().contains("\"C\" -> \"A\" refers back to \"B\""), "{}", err.message);
        assert!(err.message.to_string().contains("cycle"), "{}", err.message);
        let russian = err.message.in_language(crate::locale::Language::Ru);
        assert!(russian.starts_with("сегмент «C»: сегмент «A»: «C» → «A» снова ссылается на «B»: "), "{russian}");
        // Inside a group, the group's condition is named.
        let err = refused(
            r#"{"all":[{"kind":"group","match":"any","conditions":[{"kind":"tag","tag":"x"},{"kind":"segment","segment":1}]}]}"#,
            Some(2),
        );
        assert_eq!(err.field, "filter.all[0].conditions[1].segment");

        // A stored cycle (never saved by the API, but a filter must not loop on one).
        let looped = [saved(1, "A", &in_segment(2, true)), saved(2, "B", &in_segment(1, true))];
        let err = Filter::from_query(&in_segment(1, true)).unwrap().check_with(&looped, None).unwrap_err();
        assert!(err.message.to_string().contains("cycle"), "{}", err.message);

        // Shapes.
        let field = |json: &str| Filter::from_query(json).unwrap_err().field;
        assert_eq!(field(r#"{"all":[{"kind":"segment"}]}"#), "filter.all[0].segment");
        assert_eq!(field(r#"{"all":[{"kind":"segment","segment":"A"}]}"#), "filter.all[0].segment");
        assert_eq!(field(r#"{"all":[{"kind":"segment","segment":1.5}]}"#), "filter.all[0].segment");
        assert_eq!(field(r#"{"all":[{"kind":"segment","segment":1,"in":"yes"}]}"#), "filter.all[0].in");
    }

    #[test]
    fn segments_nest_only_so_deep() {
        let mut library = vec![saved(1, "S1", r#"{"all":[{"kind":"tag","tag":"vip"}]}"#)];
        for id in 2..=(MAX_SEGMENT_NESTING as i64 + 1) {
            library.push(saved(id, &format!("S{id}"), &in_segment(id - 1, true)));
        }
        let check = |id: i64| Filter::from_query(&in_segment(id, true)).unwrap().check_with(&library, None);
        assert!(check(MAX_SEGMENT_NESTING as i64).unwrap().matches(&facts(), now()));
        let err = check(MAX_SEGMENT_NESTING as i64 + 1).unwrap_err();
        assert!(err.message.to_string().contains("at most"), "{}", err.message);
        let russian = err.message.in_language(crate::locale::Language::Ru);
        assert!(russian.contains("сегменты могут ссылаться на сегменты не глубже 5 уровней"), "{russian}");
    }

    #[test]
    fn dates_accept_a_day_or_rfc3339() {
        assert_eq!(parse_date("2026-11-28").unwrap().to_rfc3339(), "2026-11-28T00:00:00+00:00");
        assert!(parse_date("2026-11-28T10:00:00+02:00").is_some());
        assert!(parse_date("28.11.2026").is_none());
    }
}
