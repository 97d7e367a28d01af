//! Bulk actions: one of the card's actions over many leads at once — the rows an operator ticked,
//! or every lead a search and filter find — checked here, run by the server as a job.

use serde::{Deserialize, Serialize};

use crate::field::FieldError;
use crate::filter::Filter;
use crate::locale::{Message, k};
use crate::operation::{Operation, check_operator_batch};
use crate::tag::parse_tag;

/// The most lead ids a selection names one by one (more: select by filter).
pub const MAX_IDS: usize = 10_000;

/// Properties that name one person; a bulk action would give many people the same one.
const ONE_PERSON: [&str; 2] = ["$email", "$user_id"];

/// Which leads: `ids` (the ticked rows), or without them every lead `q`, `filter` and `segment`
/// find (as `GET /leads` would list them) when the job starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkSelection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 10000))]
    pub ids: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub q: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub segment: Option<i64>,
}

impl BulkSelection {
    /// The ids, checked (1 to [`MAX_IDS`], each above 0, duplicates dropped), or None for a
    /// selection by search and filter.
    pub fn checked_ids(&self) -> Result<Option<Vec<i64>>, FieldError> {
        let Some(ids) = &self.ids else { return Ok(None) };
        if ids.is_empty() {
            return Err(FieldError::new("selection.ids", k::CHECK_BULK_NO_IDS));
        }
        if ids.len() > MAX_IDS {
            return Err(FieldError::new("selection.ids", Message::new(k::CHECK_BULK_TOO_MANY_IDS).arg("max", MAX_IDS)));
        }
        if let Some(i) = ids.iter().position(|id| *id <= 0) {
            return Err(FieldError::new(format!("selection.ids[{i}]"), k::CHECK_BULK_BAD_ID));
        }
        let mut ids = ids.clone();
        ids.sort_unstable();
        ids.dedup();
        Ok(Some(ids))
    }
}

/// What to do to each lead: the card's own actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BulkAction {
    AddTag {
        tag: String,
    },
    RemoveTag {
        tag: String,
    },
    /// Property operations, as the card sends them (set, set once, add, append, union, exclude,
    /// delete), applied to each lead's current values.
    Properties {
        operations: Vec<Operation>,
    },
    /// Every address of the selection becomes Unsubscribed (and every card with it follows).
    Unsubscribe,
    /// Out of Visitors until their next activity.
    Hide,
    /// Removed completely. `confirm` is the number of leads the selection holds, typed.
    Remove {
        confirm: String,
    },
}

/// `POST /api/v1/leads/bulk`: which leads, and what to do to each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkRequest {
    pub selection: BulkSelection,
    pub action: BulkAction,
}

/// `POST /api/v1/leads/bulk/count`: how many leads a selection holds now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkCount {
    pub selection: BulkSelection,
}

/// A bulk action, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckedAction {
    AddTag(String),
    RemoveTag(String),
    Properties(Vec<Operation>),
    Unsubscribe,
    Hide,
    Remove,
}

impl BulkAction {
    /// The action, checked by the card's rules; the field names what is wrong (`action.tag`,
    /// the property's name). Removal's confirmation is checked against the count, apart.
    pub fn check(&self) -> Result<CheckedAction, FieldError> {
        Ok(match self {
            BulkAction::AddTag { tag } => {
                CheckedAction::AddTag(parse_tag(tag).map_err(|e| FieldError::new("action.tag", e.tag_message()))?)
            }
            BulkAction::RemoveTag { tag } => {
                CheckedAction::RemoveTag(parse_tag(tag).map_err(|e| FieldError::new("action.tag", e.tag_message()))?)
            }
            BulkAction::Properties { operations } => {
                if operations.is_empty() {
                    return Err(FieldError::new("action.operations", k::CHECK_BULK_NO_OPERATIONS));
                }
                check_operator_batch(operations).map_err(|e| {
                    FieldError::new(
                        if e.name.is_empty() { "action.operations".to_owned() } else { e.name.clone() },
                        e.error.message(),
                    )
                })?;
                if let Some(op) = operations.iter().find(|op| ONE_PERSON.contains(&op.name().as_str())) {
                    return Err(FieldError::new(
                        op.name().as_str(),
                        Message::new(k::CHECK_BULK_ONE_PERSON).with("name", op.name().label_message()),
                    ));
                }
                CheckedAction::Properties(operations.clone())
            }
            BulkAction::Unsubscribe => CheckedAction::Unsubscribe,
            BulkAction::Hide => CheckedAction::Hide,
            BulkAction::Remove { .. } => CheckedAction::Remove,
        })
    }

    /// The request as it is recorded with the job (a removal's typed confirmation left out).
    pub fn recorded(&self) -> BulkAction {
        match self {
            BulkAction::Remove { .. } => BulkAction::Remove { confirm: String::new() },
            other => other.clone(),
        }
    }
}

impl CheckedAction {
    /// What the job does, for people: "Add tag vip to 1,204 leads".
    pub fn summary(&self, count: u64) -> Message {
        match self {
            CheckedAction::AddTag(tag) => Message::count(k::JOB_BULK_ADD_TAG, count).arg("tag", tag),
            CheckedAction::RemoveTag(tag) => Message::count(k::JOB_BULK_REMOVE_TAG, count).arg("tag", tag),
            CheckedAction::Properties(ops) => {
                let names: Vec<&str> = ops.iter().map(|op| op.name().as_str()).collect();
                Message::count(k::JOB_BULK_PROPERTIES, count).arg("names", names.join(", "))
            }
            CheckedAction::Unsubscribe => Message::count(k::JOB_BULK_UNSUBSCRIBE, count),
            CheckedAction::Hide => Message::count(k::JOB_BULK_HIDE, count),
            CheckedAction::Remove => Message::count(k::JOB_BULK_REMOVE, count),
        }
    }

    /// Why a lead's segments may have moved, in its timeline.
    pub fn reason(&self) -> Message {
        match self {
            CheckedAction::AddTag(tag) => Message::new(k::REASON_BULK_TAG_ADDED).arg("tag", tag),
            CheckedAction::RemoveTag(tag) => Message::new(k::REASON_BULK_TAG_REMOVED).arg("tag", tag),
            CheckedAction::Properties(_) => k::REASON_BULK_PROPERTIES.into(),
            CheckedAction::Unsubscribe => k::REASON_BULK_UNSUBSCRIBED.into(),
            CheckedAction::Hide => k::REASON_BULK_HIDDEN.into(),
            CheckedAction::Remove => k::REASON_BULK_REMOVED.into(),
        }
    }
}

/// Whether `typed` confirms removing `count` leads: the number, with or without separators.
pub fn confirms_bulk_removal(typed: &str, count: u64) -> bool {
    let digits: String = typed.trim().chars().filter(|c| !matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\'')).collect();
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && digits.parse::<u64>().ok() == Some(count)
}

/// 1204 -> "1,204" (the jobs' own grouping, one rule).
pub use crate::job::grouped;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::property::{PropertyName, PropertyValue};

    #[test]
    fn selections_by_id_are_checked() {
        let sel = |ids: Vec<i64>| BulkSelection { ids: Some(ids), ..Default::default() };
        assert_eq!(sel(vec![3, 1, 3]).checked_ids().unwrap(), Some(vec![1, 3]));
        assert_eq!(sel(vec![]).checked_ids().unwrap_err().field, "selection.ids");
        assert_eq!(sel(vec![1, 0]).checked_ids().unwrap_err().field, "selection.ids[1]");
        assert_eq!(sel(vec![1; MAX_IDS + 1]).checked_ids().unwrap_err().field, "selection.ids");
        assert_eq!(BulkSelection::default().checked_ids().unwrap(), None);
    }

    #[test]
    fn actions_are_checked_by_the_cards_rules() {
        assert_eq!(BulkAction::AddTag { tag: " vip ".into() }.check().unwrap(), CheckedAction::AddTag("vip".into()));
        assert_eq!(BulkAction::AddTag { tag: " ".into() }.check().unwrap_err().field, "action.tag");
        let set = |name: &str| Operation::Set {
            name: PropertyName::parse(name).unwrap(),
            value: PropertyValue::Text("x@example.com".into()),
        };
        assert_eq!(
            BulkAction::Properties { operations: vec![set("plan")] }.check().unwrap().summary(2),
            "Change plan on 2 leads"
        );
        assert_eq!(BulkAction::Properties { operations: vec![set("$email")] }.check().unwrap_err().field, "$email");
        assert_eq!(BulkAction::Properties { operations: vec![] }.check().unwrap_err().field, "action.operations");
        let read_only =
            Operation::Set { name: PropertyName::parse("$sessions").unwrap(), value: PropertyValue::Number(1.0) };
        assert_eq!(BulkAction::Properties { operations: vec![read_only] }.check().unwrap_err().field, "$sessions");
    }

    #[test]
    fn summaries_say_what_to_how_many() {
        assert_eq!(CheckedAction::AddTag("vip".into()).summary(1204), "Add tag vip to 1,204 leads");
        assert_eq!(CheckedAction::Remove.summary(1), "Remove 1 lead completely");
        let ru = CheckedAction::AddTag("vip".into()).summary(1204).in_language(crate::locale::Language::Ru);
        assert_eq!(ru, "Добавить тег vip 1\u{a0}204 лидам");
    }

    #[test]
    fn removal_is_confirmed_by_the_count() {
        assert!(confirms_bulk_removal(" 1,204 ", 1204));
        assert!(confirms_bulk_removal("1204", 1204));
        assert!(!confirms_bulk_removal("1203", 1204));
        assert!(!confirms_bulk_removal("", 0));
        assert!(!confirms_bulk_removal("all", 3));
        assert_eq!(
            BulkAction::Remove { confirm: "3".into() }.recorded(),
            BulkAction::Remove { confirm: String::new() }
        );
    }
}
