//! Property operations of SPEC section 3 (set, set once, add, append, union, exclude, delete):
//! what each does to the current value, within the limits. The server applies a list of them in
//! one transaction; the card builds them.

use serde::{Deserialize, Serialize};

use crate::locale::{Message, Text, k};
use crate::property::{MAX_PROPERTIES_PER_REQUEST, PropertyError, PropertyName, PropertyValue};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Replace the value.
    Set {
        name: PropertyName,
        value: PropertyValue,
    },
    /// Set only when the property is absent.
    SetOnce {
        name: PropertyName,
        value: PropertyValue,
    },
    /// Add to a number; an absent property counts as 0.
    Add {
        name: PropertyName,
        by: f64,
    },
    /// Add strings at the end of a list (an absent property counts as an empty list).
    Append {
        name: PropertyName,
        values: Vec<String>,
    },
    /// Add the strings the list does not hold yet.
    Union {
        name: PropertyName,
        values: Vec<String>,
    },
    /// Remove every occurrence of the strings.
    Exclude {
        name: PropertyName,
        values: Vec<String>,
    },
    Delete {
        name: PropertyName,
    },
}

/// Why an operation in a list was refused: its position and property, and the reason
/// ([`OperationError::message`]; `Display` is its English, "plan: text can have at most ...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationError {
    pub index: usize,
    pub name: String,
    pub error: PropertyError,
}

impl OperationError {
    /// "name: reason", for the operator.
    pub fn message(&self) -> Message {
        Message::new(k::CHECK_OPERATION_NAMED).arg("name", &self.name).with("reason", self.error.message())
    }
}

impl std::fmt::Display for OperationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for OperationError {}

impl Operation {
    pub fn name(&self) -> &PropertyName {
        match self {
            Operation::Set { name, .. }
            | Operation::SetOnce { name, .. }
            | Operation::Add { name, .. }
            | Operation::Append { name, .. }
            | Operation::Union { name, .. }
            | Operation::Exclude { name, .. }
            | Operation::Delete { name } => name,
        }
    }

    /// Whether the operation keeps its meaning whatever edits ran before it, so the server may
    /// apply it to the current value without the client's version (no lost update either way:
    /// "add 5" adds 5, "union x" leaves x in the list). Set and delete replace what the operator
    /// saw, so they need the version the operator saw (If-Match) and a stale one is a conflict.
    pub fn commutes(&self) -> bool {
        !matches!(self, Operation::Set { .. } | Operation::Delete { .. })
    }

    /// The value after this operation, or None when the property is (or stays) absent.
    pub fn apply(&self, current: Option<&PropertyValue>) -> Result<Option<PropertyValue>, PropertyError> {
        let name = self.name();
        let next = match self {
            Operation::Set { value, .. } => Some(value.clone()),
            Operation::SetOnce { value, .. } => Some(current.cloned().unwrap_or_else(|| value.clone())),
            Operation::Add { by, .. } => {
                let base = match current {
                    None => 0.0,
                    Some(PropertyValue::Number(n)) => *n,
                    Some(other) => return Err(wrong_type(name, k::CHECK_PROPERTY_A_NUMBER, other)),
                };
                Some(PropertyValue::Number(base + by))
            }
            Operation::Append { values, .. } | Operation::Union { values, .. } | Operation::Exclude { values, .. } => {
                let mut list = match current {
                    None => Vec::new(),
                    Some(PropertyValue::List(items)) => items.clone(),
                    Some(other) => return Err(wrong_type(name, k::CHECK_PROPERTY_A_LIST, other)),
                };
                match self {
                    Operation::Append { .. } => list.extend(values.iter().cloned()),
                    Operation::Union { .. } => {
                        for v in values {
                            if !list.contains(v) {
                                list.push(v.clone());
                            }
                        }
                    }
                    _ => list.retain(|item| !values.contains(item)),
                }
                Some(PropertyValue::List(list))
            }
            Operation::Delete { .. } => None,
        };
        if let Some(value) = &next {
            value.check_for(name)?;
        }
        Ok(next)
    }

    /// Checks what can be checked without the current value: operands within limits,
    /// and that an operator may change this property.
    pub fn check_for_operator(&self) -> Result<(), PropertyError> {
        let name = self.name();
        if !name.editable_by_operator() {
            return Err(PropertyError::ReadOnly(name.as_str().to_owned()));
        }
        match self {
            Operation::Set { value, .. } | Operation::SetOnce { value, .. } => value.check_for(name),
            Operation::Add { by, .. } => PropertyValue::Number(*by).check(),
            Operation::Append { values, .. } | Operation::Union { values, .. } | Operation::Exclude { values, .. } => {
                PropertyValue::List(values.clone()).check()
            }
            Operation::Delete { .. } => Ok(()),
        }
    }
}

/// Checks a whole request of operations from an operator; the first bad one is named.
pub fn check_operator_batch(ops: &[Operation]) -> Result<(), OperationError> {
    if ops.len() > MAX_PROPERTIES_PER_REQUEST {
        return Err(OperationError {
            index: MAX_PROPERTIES_PER_REQUEST,
            name: String::new(),
            error: PropertyError::TooManyProperties,
        });
    }
    ops.iter().enumerate().try_for_each(|(index, op)| {
        op.check_for_operator().map_err(|error| OperationError { index, name: op.name().as_str().to_owned(), error })
    })
}

fn wrong_type(name: &PropertyName, expected: Text, got: &PropertyValue) -> PropertyError {
    PropertyError::WrongType { name: name.as_str().to_owned(), expected, got: got.ty().text() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(s: &str) -> PropertyName {
        PropertyName::parse(s).unwrap()
    }

    fn list(items: &[&str]) -> PropertyValue {
        PropertyValue::List(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn set_replaces_and_set_once_keeps_an_existing_value() {
        let v = PropertyValue::Text("b".into());
        let set = Operation::Set { name: name("plan"), value: v.clone() };
        assert_eq!(set.apply(Some(&PropertyValue::Text("a".into()))), Ok(Some(v.clone())));
        let once = Operation::SetOnce { name: name("plan"), value: v.clone() };
        assert_eq!(once.apply(None), Ok(Some(v)));
        assert_eq!(once.apply(Some(&PropertyValue::Text("a".into()))), Ok(Some(PropertyValue::Text("a".into()))));
    }

    #[test]
    fn add_counts_from_zero_and_refuses_non_numbers() {
        let add = Operation::Add { name: name("visits"), by: 2.5 };
        assert_eq!(add.apply(None), Ok(Some(PropertyValue::Number(2.5))));
        assert_eq!(add.apply(Some(&PropertyValue::Number(1.0))), Ok(Some(PropertyValue::Number(3.5))));
        assert!(matches!(add.apply(Some(&PropertyValue::Text("x".into()))), Err(PropertyError::WrongType { .. })));
    }

    #[test]
    fn list_operations() {
        let cur = list(&["a", "b"]);
        let append = Operation::Append { name: name("l"), values: vec!["a".into()] };
        assert_eq!(append.apply(Some(&cur)), Ok(Some(list(&["a", "b", "a"]))));
        let union = Operation::Union { name: name("l"), values: vec!["a".into(), "c".into()] };
        assert_eq!(union.apply(Some(&cur)), Ok(Some(list(&["a", "b", "c"]))));
        let exclude = Operation::Exclude { name: name("l"), values: vec!["a".into()] };
        assert_eq!(exclude.apply(Some(&list(&["a", "b", "a"]))), Ok(Some(list(&["b"]))));
        assert!(matches!(union.apply(Some(&PropertyValue::Number(1.0))), Err(PropertyError::WrongType { .. })));
    }

    #[test]
    fn a_list_cannot_grow_past_thirty_items() {
        let full = PropertyValue::List((0..30).map(|i| i.to_string()).collect());
        let append = Operation::Append { name: name("l"), values: vec!["x".into()] };
        assert_eq!(append.apply(Some(&full)), Err(PropertyError::TooManyItems));
    }

    #[test]
    fn delete_removes_and_read_only_properties_are_refused_for_operators() {
        assert_eq!(Operation::Delete { name: name("plan") }.apply(Some(&PropertyValue::Bool(true))), Ok(None));
        let op = Operation::Set { name: name("$last_seen"), value: PropertyValue::Number(1.0) };
        assert_eq!(op.check_for_operator(), Err(PropertyError::ReadOnly("$last_seen".into())));
    }

    #[test]
    fn a_batch_names_its_first_bad_operation() {
        let ops = vec![
            Operation::Set { name: name("a"), value: PropertyValue::Text("ok".into()) },
            Operation::Set { name: name("b"), value: PropertyValue::Text("x".repeat(300)) },
        ];
        let err = check_operator_batch(&ops).unwrap_err();
        assert_eq!((err.index, err.name.as_str(), err.error), (1, "b", PropertyError::TextTooLong));
        let many = vec![Operation::Delete { name: name("a") }; 251];
        assert_eq!(check_operator_batch(&many).unwrap_err().error, PropertyError::TooManyProperties);
    }

    #[test]
    fn operations_have_a_tagged_wire_form() {
        let op: Operation = serde_json::from_str(r#"{"op":"add","name":"visits","by":1}"#).unwrap();
        assert_eq!(op, Operation::Add { name: name("visits"), by: 1.0 });
        assert!(
            serde_json::from_str::<Operation>(r#"{"op":"set","name":"$plan","value":{"type":"text","value":"x"}}"#)
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn adds_commute(a in -1e6f64..1e6, b in -1e6f64..1e6, start in -1e6f64..1e6) {
            let x = Operation::Add { name: name("n"), by: a };
            let y = Operation::Add { name: name("n"), by: b };
            let s = PropertyValue::Number(start);
            let xy = y.apply(x.apply(Some(&s)).unwrap().as_ref()).unwrap();
            let yx = x.apply(y.apply(Some(&s)).unwrap().as_ref()).unwrap();
            match (xy, yx) {
                (Some(PropertyValue::Number(p)), Some(PropertyValue::Number(q))) => prop_assert!((p - q).abs() < 1e-6),
                other => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn unions_commute_as_sets(a in proptest::collection::vec("[a-d]", 0..4), b in proptest::collection::vec("[a-d]", 0..4)) {
            let x = Operation::Union { name: name("l"), values: a };
            let y = Operation::Union { name: name("l"), values: b };
            let as_set = |v: Option<PropertyValue>| match v {
                Some(PropertyValue::List(mut items)) => { items.sort(); items.dedup(); items }
                _ => vec![],
            };
            let xy = as_set(y.apply(x.apply(None).unwrap().as_ref()).unwrap());
            let yx = as_set(x.apply(y.apply(None).unwrap().as_ref()).unwrap());
            prop_assert_eq!(xy, yx);
        }

        #[test]
        fn applied_values_always_respect_the_limits(items in proptest::collection::vec("\\PC{0,5}", 0..40)) {
            let op = Operation::Append { name: name("l"), values: items };
            if let Ok(Some(v)) = op.apply(None) {
                prop_assert!(v.check().is_ok());
            }
        }
    }
}
