//! Pinned properties: which names an operator may pin to the card header, and how many.

use crate::locale::{Message, k};
use crate::property::{PropertyError, PropertyName};

/// Most properties one operator may pin.
pub const MAX_PINS: usize = 20;

/// Why a list of pins is refused; `field` names the offending part of `Pins`, and
/// [`PinsError::message`] says why (`Display` is its English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinsError {
    TooMany,
    BadName { index: usize, error: PropertyError },
}

impl std::fmt::Display for PinsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for PinsError {}

impl PinsError {
    /// Why, for the operator.
    pub fn message(&self) -> Message {
        match self {
            PinsError::TooMany => Message::new(k::CHECK_PIN_TOO_MANY).arg("max", MAX_PINS),
            PinsError::BadName { error, .. } => error.message(),
        }
    }

    /// The field of `Pins` at fault: `names` or `names[i]`.
    pub fn field(&self) -> String {
        match self {
            PinsError::TooMany => "names".to_owned(),
            PinsError::BadName { index, .. } => format!("names[{index}]"),
        }
    }
}

/// The pins as stored: valid property names in pin order, each once (the first place counts).
pub fn parse_pins(names: &[String]) -> Result<Vec<PropertyName>, PinsError> {
    let mut pins: Vec<PropertyName> = Vec::with_capacity(names.len());
    for (index, raw) in names.iter().enumerate() {
        let name = PropertyName::parse(raw).map_err(|error| PinsError::BadName { index, error })?;
        if !pins.contains(&name) {
            if pins.len() == MAX_PINS {
                return Err(PinsError::TooMany);
            }
            pins.push(name);
        }
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pins_keep_their_order_and_the_first_place_of_a_repeated_name() {
        let pins = parse_pins(&strings(&["plan", " $email ", "plan", "Amount"])).unwrap();
        let names: Vec<&str> = pins.iter().map(PropertyName::as_str).collect();
        assert_eq!(names, ["plan", "$email", "Amount"]);
    }

    #[test]
    fn twenty_pins_are_allowed_and_twenty_one_refused() {
        let twenty: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        assert_eq!(parse_pins(&twenty).unwrap().len(), 20);
        let mut more = twenty;
        more.push("p20".into());
        assert_eq!(parse_pins(&more), Err(PinsError::TooMany));
        assert_eq!(PinsError::TooMany.field(), "names");
    }

    #[test]
    fn a_bad_name_is_named_by_its_place() {
        let err = parse_pins(&strings(&["plan", "$plan"])).unwrap_err();
        assert_eq!(err, PinsError::BadName { index: 1, error: PropertyError::UnknownSystemName("$plan".into()) });
        assert_eq!(err.field(), "names[1]");
        assert!(matches!(parse_pins(&strings(&[" "])), Err(PinsError::BadName { index: 0, .. })));
    }

    #[test]
    fn read_only_system_properties_can_be_pinned() {
        assert!(parse_pins(&strings(&["$last_seen", "$sessions"])).is_ok());
    }
}
