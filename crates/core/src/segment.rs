//! Segments (SPEC section 3): saved filters, the facts of one lead the core evaluator reads, and
//! the wire types of the segments API (`/api/v1/segments`, the card's segments and their history).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::filter::{Filter, FilterError, ValidFilter};
use crate::locale::{Message, k};
use crate::property::PropertyValue;
use crate::subscription::SubscriptionStatus;
use crate::wire::LeadCard;

/// Longest segment name, in characters.
pub const MAX_SEGMENT_NAME_CHARS: usize = 100;

/// A saved segment (`GET /api/v1/segments`, `GET /api/v1/segments/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    pub id: i64,
    pub name: String,
    pub filter: Filter,
    /// The operator who created it (absent when that operator was removed).
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its recorded members are up to date. False for a while after the segment was created or
    /// redefined, while the server goes through every lead in the background; the timelines'
    /// entries and exits wait for it, counts and filters do not.
    pub members_ready: bool,
}

/// `POST /api/v1/segments` and `PUT /api/v1/segments/{id}`: a name (unique, case-insensitive) and
/// a filter with at least one condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSegment {
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$",
            max_length = 100
        )
    )]
    pub name: String,
    pub filter: Filter,
}

/// Why a segment is refused: `field` is `name` or the filter's (`filter.all[0].count`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SegmentError {
    pub field: String,
    pub message: Message,
}

impl From<FilterError> for SegmentError {
    fn from(e: FilterError) -> Self {
        SegmentError { field: e.field, message: e.message }
    }
}

impl NewSegment {
    /// The trimmed name and the filter checked against the `saved` segments its segment
    /// conditions name; `own` is the id of the segment it redefines (none for a new one).
    pub fn check(&self, saved: &[Segment], own: Option<i64>) -> Result<(String, ValidFilter), SegmentError> {
        let name = check_segment_name(&self.name)?;
        let filter = self.filter.check_with(saved, own)?;
        if filter.all.is_empty() {
            return Err(SegmentError { field: "filter.all".to_owned(), message: k::CHECK_SEGMENT_NO_CONDITION.into() });
        }
        Ok((name, filter))
    }
}

/// A segment name: trimmed, 1 to 100 characters, one line.
pub fn check_segment_name(raw: &str) -> Result<String, SegmentError> {
    parse_segment_name(raw).map_err(|e| SegmentError { field: "name".to_owned(), message: e.message() })
}

/// [`check_segment_name`], with why a name is refused as its own type (for a sentence of its own).
pub fn parse_segment_name(raw: &str) -> Result<String, SegmentNameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(SegmentNameError::Empty);
    }
    if name.chars().count() > MAX_SEGMENT_NAME_CHARS {
        return Err(SegmentNameError::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(SegmentNameError::ControlChar);
    }
    Ok(name.to_owned())
}

/// Why a segment name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentNameError {
    Empty,
    TooLong,
    ControlChar,
}

impl SegmentNameError {
    /// As [`SegmentError`] says it, a fragment: "a segment needs a name".
    pub fn message(self) -> Message {
        match self {
            SegmentNameError::Empty => k::CHECK_SEGMENT_NO_NAME.into(),
            SegmentNameError::TooLong => {
                Message::new(k::CHECK_SEGMENT_NAME_TOO_LONG).arg("max", MAX_SEGMENT_NAME_CHARS)
            }
            SegmentNameError::ControlChar => k::CHECK_SEGMENT_NAME_ONE_LINE.into(),
        }
    }

    /// A sentence of its own: "The segment needs a name."
    pub fn sentence(self) -> Message {
        match self {
            SegmentNameError::Empty => k::CHECK_SEGMENT_NO_NAME_SENTENCE.into(),
            SegmentNameError::TooLong => {
                Message::new(k::CHECK_SEGMENT_NAME_TOO_LONG_SENTENCE).arg("max", MAX_SEGMENT_NAME_CHARS)
            }
            SegmentNameError::ControlChar => k::CHECK_SEGMENT_NAME_ONE_LINE_SENTENCE.into(),
        }
    }
}

impl std::fmt::Display for SegmentNameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for SegmentNameError {}

/// `POST /api/v1/segments/count`: the filter being edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountRequest {
    pub filter: Filter,
}

/// How many leads match a filter now. Exact up to a cap (`exact: false` above it, `count` the cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentCount {
    pub count: u64,
    pub exact: bool,
}

/// A segment a lead matches (`GET /api/v1/leads/{id}/segments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentRef {
    pub id: i64,
    pub name: String,
}

/// One entry of the card's timeline: the lead entered or left a segment, and why
/// (`GET /api/v1/leads/{id}/segment-history`, newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentHistoryEntry {
    pub id: i64,
    /// Absent once the segment was deleted; `segment_name` keeps its name then.
    pub segment_id: Option<i64>,
    pub segment_name: String,
    /// Entered (true) or left (false).
    pub entered: bool,
    /// Why, for the operator: "`$country` became Germany", "tag vip added",
    /// "performed Added to cart (3rd time)", "7-day window for Added to cart passed",
    /// "segment definition changed".
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A segment with its filter checked once, ready to evaluate many times.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSegment {
    pub id: i64,
    pub name: String,
    pub filter: ValidFilter,
}

impl Segment {
    /// The segment ready for [`matching_segments`], its segment conditions opened from `saved`;
    /// `None` if its stored filter no longer checks.
    pub fn checked(&self, saved: &[Segment]) -> Option<CheckedSegment> {
        let filter = self.filter.check_with(saved, Some(self.id)).ok()?;
        Some(CheckedSegment { id: self.id, name: self.name.clone(), filter })
    }
}

/// The saved segments whose conditions name segment `id` (directly), by name.
pub fn referring_to(saved: &[Segment], id: i64) -> Vec<&Segment> {
    saved.iter().filter(|s| s.id != id && s.filter.segment_ids().contains(&id)).collect()
}

/// The ids of the saved segments whose meaning follows segment `id`: those naming it, and those
/// naming them in turn. Their members change when it is redefined.
pub fn depending_on(saved: &[Segment], id: i64) -> Vec<i64> {
    let mut found: Vec<i64> = Vec::new();
    let mut next = vec![id];
    while let Some(current) = next.pop() {
        for segment in referring_to(saved, current) {
            if segment.id != id && !found.contains(&segment.id) {
                found.push(segment.id);
                next.push(segment.id);
            }
        }
    }
    found
}

/// The segments (in the order given) a lead with these facts matches at `now`: what the card lists.
pub fn matching_segments(segments: &[CheckedSegment], facts: &LeadFacts, now: DateTime<Utc>) -> Vec<SegmentRef> {
    segments
        .iter()
        .filter(|s| s.filter.matches(facts, now))
        .map(|s| SegmentRef { id: s.id, name: s.name.clone() })
        .collect()
}

/// What the core evaluator knows of one lead: everything a condition reads
/// (`GET /api/v1/leads/{id}/facts`). Build the non-event part from the card with
/// [`LeadFacts::from_card`]; keep it current after an edit with [`LeadFacts::update_from_card`] and
/// [`LeadFacts::record_event`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadFacts {
    /// Every property the lead has, by name.
    pub properties: BTreeMap<String, PropertyValue>,
    pub tags: Vec<String>,
    /// The status of the lead's address as the card shows it (`invalid_email` without one).
    pub subscription: SubscriptionStatus,
    /// Presence inputs, as on the card.
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub last_active: Option<DateTime<Utc>>,
    /// Per event name: how often ever, and when (see `times_since`). The server fills in the
    /// names that segments' conditions use; other names count as never performed.
    #[serde(default)]
    pub events: BTreeMap<String, EventFacts>,
    /// `times` hold every occurrence at or after this instant (unix ms); null: every occurrence.
    /// Windowed counts are exact for windows that start at or after it: the server sends the
    /// longest window of any segment.
    #[serde(default)]
    pub times_since: Option<i64>,
}

/// How often one lead performed one event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventFacts {
    /// Occurrences ever.
    pub count: u64,
    /// Occurrence times in unix ms, ascending (those at or after `LeadFacts::times_since`).
    pub times: Vec<i64>,
}

impl LeadFacts {
    /// The facts a card carries (no events: add them from `GET /leads/{id}/facts`).
    pub fn from_card(card: &LeadCard) -> Self {
        let mut facts = LeadFacts::default();
        facts.update_from_card(card);
        facts
    }

    /// Takes the card's properties, tags, subscription and presence; keeps the events.
    pub fn update_from_card(&mut self, card: &LeadCard) {
        self.properties = card.properties.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
        self.tags = card.tags.clone();
        self.subscription = card.subscription.status;
        self.last_heartbeat = card.last_heartbeat;
        self.last_active = card.last_active;
    }

    /// One more occurrence of `name` at `at` (an event the operator just added).
    pub fn record_event(&mut self, name: &str, at: DateTime<Utc>) {
        let event = self.events.entry(name.to_owned()).or_default();
        event.count += 1;
        let ms = at.timestamp_millis();
        if self.times_since.is_none_or(|since| ms >= since) {
            let at = event.times.partition_point(|t| *t <= ms);
            event.times.insert(at, ms);
        }
    }

    /// How often the lead performed `name` at or after `since` (unix ms), or ever.
    pub fn event_count(&self, name: &str, since: Option<i64>) -> i64 {
        let Some(event) = self.events.get(name) else {
            return 0;
        };
        let count = match since {
            None => event.count as usize,
            Some(start) => event.times.len() - event.times.partition_point(|t| *t < start),
        };
        i64::try_from(count).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(id: i64, filter: &str) -> Segment {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Segment {
            id,
            name: format!("S{id}"),
            filter: Filter::from_query(filter).unwrap(),
            created_by: None,
            created_at: at,
            updated_at: at,
            members_ready: true,
        }
    }

    #[test]
    fn a_redefinition_reaches_every_segment_that_names_it_directly_or_not() {
        let tag = r#"{"all":[{"kind":"tag","tag":"vip"}]}"#;
        let library = [
            saved(1, tag),
            saved(2, r#"{"all":[{"kind":"segment","segment":1}]}"#),
            saved(3, r#"{"all":[{"kind":"group","conditions":[{"kind":"segment","segment":2,"in":false}]}]}"#),
            saved(4, tag),
        ];
        assert_eq!(referring_to(&library, 1).iter().map(|s| s.id).collect::<Vec<_>>(), [2]);
        let mut depending = depending_on(&library, 1);
        depending.sort_unstable();
        assert_eq!(depending, [2, 3]);
        assert!(depending_on(&library, 4).is_empty());
        let new = NewSegment {
            name: "S2".into(),
            filter: Filter::from_query(r#"{"all":[{"kind":"segment","segment":3}]}"#).unwrap(),
        };
        assert!(new.check(&library, Some(2)).unwrap_err().message.to_string().contains("cycle"));
        assert!(new.check(&library, None).is_ok(), "a new segment cannot be in a cycle yet");
    }
}
