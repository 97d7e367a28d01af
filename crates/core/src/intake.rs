//! Leads that come in by an operator's hand (`POST /api/v1/leads`): the request and the rules a
//! new lead must pass — the card's own property checks, and at least one thing to know it by.

use serde::{Deserialize, Serialize};

use crate::field::FieldError;
use crate::locale::{Message, k};
use crate::operation::{Operation, check_operator_batch};
use crate::property::{PropertyName, PropertyValue};
use crate::tag::parse_tag;

/// The system properties a lead is known by; a new lead needs at least one of them.
pub const IDENTIFYING_PROPERTIES: [&str; 4] = ["$name", "$email", "$phone", "$user_id"];

/// Most tags on a lead added by hand.
pub const MAX_NEW_TAGS: usize = 50;

/// `POST /api/v1/leads`: a lead's properties (system ones such as `$name`, `$email`, `$phone`,
/// `$user_id`, and custom ones) and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewLeadBody {
    pub properties: Vec<NewProperty>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One property of a new lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewProperty {
    /// A custom name, or a system one an operator may set.
    pub name: String,
    pub value: PropertyValue,
}

/// A new lead as checked: properties by the card's rules (an operator's batch of sets), blank
/// text values left out, at least one identifying property, tags by the tag rule.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedNewLead {
    pub properties: Vec<(PropertyName, PropertyValue)>,
    pub tags: Vec<String>,
}

/// A refused property names the property itself in `field` (as the card's refusals do); a tag its
/// place, `tags[i]`; a lead with nothing to know it by `properties`.
pub fn check_new_lead(body: &NewLeadBody) -> Result<CheckedNewLead, FieldError> {
    let mut operations = Vec::with_capacity(body.properties.len());
    for property in &body.properties {
        let name = PropertyName::parse(&property.name).map_err(|e| FieldError::new(&property.name, e.message()))?;
        if operations.iter().any(|op: &Operation| op.name() == &name) {
            return Err(FieldError::new(name.as_str(), k::CHECK_INTAKE_GIVEN_TWICE));
        }
        let blank = matches!(&property.value, PropertyValue::Text(text) if text.trim().is_empty());
        if !blank {
            operations.push(Operation::Set { name, value: property.value.clone() });
        }
    }
    check_operator_batch(&operations).map_err(|e| {
        FieldError::new(if e.name.is_empty() { "properties".to_owned() } else { e.name }, e.error.message())
    })?;
    let properties: Vec<(PropertyName, PropertyValue)> = operations
        .into_iter()
        .filter_map(|op| match op {
            Operation::Set { name, value } => Some((name, trimmed(value))),
            _ => None,
        })
        .collect();
    if !properties.iter().any(|(name, _)| IDENTIFYING_PROPERTIES.contains(&name.as_str())) {
        return Err(FieldError::new("properties", k::CHECK_INTAKE_NOTHING_TO_KNOW_BY));
    }
    if body.tags.len() > MAX_NEW_TAGS {
        return Err(FieldError::new("tags", Message::new(k::CHECK_INTAKE_TOO_MANY_TAGS).arg("max", MAX_NEW_TAGS)));
    }
    let mut tags: Vec<String> = Vec::with_capacity(body.tags.len());
    for (i, raw) in body.tags.iter().enumerate() {
        let tag = parse_tag(raw).map_err(|e| FieldError::new(format!("tags[{i}]"), e.tag_message()))?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(CheckedNewLead { properties, tags })
}

/// Text as the card stores what an operator typed: without surrounding spaces.
fn trimmed(value: PropertyValue) -> PropertyValue {
    match value {
        PropertyValue::Text(text) => PropertyValue::Text(text.trim().to_owned()),
        other => other,
    }
}

impl CheckedNewLead {
    /// The text of a system property, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(n, _)| n.as_str() == name).and_then(|(_, v)| v.as_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(properties: &[(&str, PropertyValue)]) -> NewLeadBody {
        NewLeadBody {
            properties: properties
                .iter()
                .map(|(name, value)| NewProperty { name: (*name).to_owned(), value: value.clone() })
                .collect(),
            tags: vec![],
        }
    }

    fn text(s: &str) -> PropertyValue {
        PropertyValue::Text(s.to_owned())
    }

    #[test]
    fn a_lead_needs_something_to_know_it_by() {
        let err = check_new_lead(&body(&[("plan", text("pro"))])).unwrap_err();
        assert_eq!(err.field, "properties");
        let err = check_new_lead(&body(&[("$name", text("  ")), ("plan", text("pro"))])).unwrap_err();
        assert_eq!(err.field, "properties");
        let ok = check_new_lead(&body(&[("$phone", text(" +49 30 1 ")), ("plan", text("pro"))])).unwrap();
        assert_eq!(ok.text("$phone"), Some("+49 30 1"));
        assert_eq!(ok.properties.len(), 2);
    }

    #[test]
    fn refusals_name_the_property_or_the_tag() {
        let err = check_new_lead(&body(&[("$name", text("A")), ("$last_seen", text("x"))])).unwrap_err();
        assert_eq!(err.field, "$last_seen");
        let err = check_new_lead(&body(&[("$plan", text("x"))])).unwrap_err();
        assert_eq!(err.field, "$plan");
        let err = check_new_lead(&body(&[("$email", PropertyValue::Number(1.0))])).unwrap_err();
        assert_eq!(err.field, "$email");
        let err = check_new_lead(&body(&[("$name", text(&"x".repeat(256)))])).unwrap_err();
        assert_eq!(err.field, "$name");
        let err = check_new_lead(&body(&[("$name", text("A")), ("$name", text("B"))])).unwrap_err();
        assert_eq!(err.field, "$name");
        let mut tagged = body(&[("$name", text("A"))]);
        tagged.tags = vec!["vip".into(), " ".into()];
        assert_eq!(check_new_lead(&tagged).unwrap_err().field, "tags[1]");
    }

    #[test]
    fn an_invalid_email_is_still_a_lead() {
        let ok = check_new_lead(&body(&[("$email", text("not an address"))])).unwrap();
        assert_eq!(ok.text("$email"), Some("not an address"));
    }
}
