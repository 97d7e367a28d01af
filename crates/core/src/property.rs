//! Property names and typed values with the limits of SPEC section 3.

use crate::locale::{Message, Text, k};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest text value, in characters.
pub const MAX_TEXT_CHARS: usize = 255;
/// Most strings in a list value.
pub const MAX_LIST_ITEMS: usize = 30;
/// Largest integer a number may hold exactly (2^53).
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;
/// Most properties in one request.
pub const MAX_PROPERTIES_PER_REQUEST: usize = 250;
/// Longest property name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest stored text form of a value, in bytes: long lists are cut so that the database's
/// `(name, text_value)` index entry stays within PostgreSQL's B-tree row limit.
pub const MAX_TEXT_FORM_BYTES: usize = 1000;

/// A system property: its name, type, label, and whether only tracking may set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemProperty {
    pub name: &'static str,
    pub ty: PropertyType,
    /// What the operator reads (the catalogue's text: `t(p.label)` in the app, `p.label.en` here).
    pub label: Text,
    pub read_only: bool,
}

const fn sys(name: &'static str, ty: PropertyType, label: Text, read_only: bool) -> SystemProperty {
    SystemProperty { name, ty, label, read_only }
}

/// Every system property, in the order the card lists them.
pub const SYSTEM_PROPERTIES: &[SystemProperty] = &[
    sys("$name", PropertyType::Text, k::CORE_PROPERTY_NAME, false),
    sys("$email", PropertyType::Text, k::CORE_PROPERTY_EMAIL, false),
    sys("$phone", PropertyType::Text, k::CORE_PROPERTY_PHONE, false),
    sys("$user_id", PropertyType::Text, k::CORE_PROPERTY_USER_ID, false),
    sys("$avatar", PropertyType::Text, k::CORE_PROPERTY_AVATAR, false),
    sys("$city", PropertyType::Text, k::CORE_PROPERTY_CITY, false),
    sys("$country", PropertyType::Text, k::CORE_PROPERTY_COUNTRY, false),
    sys("$timezone", PropertyType::Text, k::CORE_PROPERTY_TIMEZONE, false),
    sys("$language", PropertyType::Text, k::CORE_PROPERTY_LANGUAGE, false),
    sys("$first_seen", PropertyType::DateTime, k::CORE_PROPERTY_FIRST_SEEN, true),
    sys("$last_seen", PropertyType::DateTime, k::CORE_PROPERTY_LAST_SEEN, true),
    sys("$sessions", PropertyType::Number, k::CORE_PROPERTY_SESSIONS, true),
    sys("$browser", PropertyType::Text, k::CORE_PROPERTY_BROWSER, true),
    sys("$os", PropertyType::Text, k::CORE_PROPERTY_OS, true),
    sys("$initial_referrer", PropertyType::Text, k::CORE_PROPERTY_INITIAL_REFERRER, true),
    sys("$referrer", PropertyType::Text, k::CORE_PROPERTY_REFERRER, true),
    sys("$utm_source", PropertyType::Text, k::CORE_PROPERTY_UTM_SOURCE, true),
    sys("$utm_medium", PropertyType::Text, k::CORE_PROPERTY_UTM_MEDIUM, true),
    sys("$utm_campaign", PropertyType::Text, k::CORE_PROPERTY_UTM_CAMPAIGN, true),
    sys("$utm_term", PropertyType::Text, k::CORE_PROPERTY_UTM_TERM, true),
    sys("$utm_content", PropertyType::Text, k::CORE_PROPERTY_UTM_CONTENT, true),
];

pub fn system_property(name: &str) -> Option<&'static SystemProperty> {
    SYSTEM_PROPERTIES.iter().find(|p| p.name == name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PropertyType {
    Text,
    Number,
    Bool,
    DateTime,
    List,
}

impl PropertyType {
    pub const ALL: [PropertyType; 5] =
        [PropertyType::Text, PropertyType::Number, PropertyType::Bool, PropertyType::DateTime, PropertyType::List];

    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::Text => "text",
            PropertyType::Number => "number",
            PropertyType::Bool => "bool",
            PropertyType::DateTime => "date_time",
            PropertyType::List => "list",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn text(self) -> Text {
        match self {
            PropertyType::Text => k::CORE_PROPERTY_TYPE_TEXT,
            PropertyType::Number => k::CORE_PROPERTY_TYPE_NUMBER,
            PropertyType::Bool => k::CORE_PROPERTY_TYPE_BOOL,
            PropertyType::DateTime => k::CORE_PROPERTY_TYPE_DATE_TIME,
            PropertyType::List => k::CORE_PROPERTY_TYPE_LIST,
        }
    }

    pub fn label(self) -> &'static str {
        self.text().en
    }
}

/// Why a property name or value is refused. [`PropertyError::message`] is what the operator reads
/// (a fragment: "a property name cannot be empty"); `Display` is its English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyError {
    EmptyName,
    NameTooLong,
    NameControlChar,
    UnknownSystemName(String),
    ReadOnly(String),
    TextTooLong,
    TooManyItems,
    ListItemTooLong,
    NotFinite,
    IntegerOutOfRange,
    /// The property `name` holds `expected` (a type's text), the value given is `got`.
    WrongType {
        name: String,
        expected: Text,
        got: Text,
    },
    TooManyProperties,
}

impl PropertyError {
    /// Why, for the operator.
    pub fn message(&self) -> Message {
        match self {
            PropertyError::EmptyName => k::CHECK_PROPERTY_EMPTY_NAME.into(),
            PropertyError::NameTooLong => Message::new(k::CHECK_PROPERTY_NAME_TOO_LONG).arg("max", MAX_NAME_CHARS),
            PropertyError::NameControlChar => k::CHECK_PROPERTY_NAME_CONTROL_CHAR.into(),
            PropertyError::UnknownSystemName(name) => {
                Message::new(k::CHECK_PROPERTY_UNKNOWN_SYSTEM_NAME).arg("name", name)
            }
            PropertyError::ReadOnly(name) => Message::new(k::CHECK_PROPERTY_READ_ONLY).arg("name", name),
            PropertyError::TextTooLong => Message::new(k::CHECK_PROPERTY_TEXT_TOO_LONG).arg("max", MAX_TEXT_CHARS),
            PropertyError::TooManyItems => Message::new(k::CHECK_PROPERTY_TOO_MANY_ITEMS).arg("max", MAX_LIST_ITEMS),
            PropertyError::ListItemTooLong => {
                Message::new(k::CHECK_PROPERTY_LIST_ITEM_TOO_LONG).arg("max", MAX_TEXT_CHARS)
            }
            PropertyError::NotFinite => k::CHECK_PROPERTY_NOT_FINITE.into(),
            PropertyError::IntegerOutOfRange => k::CHECK_PROPERTY_INTEGER_OUT_OF_RANGE.into(),
            PropertyError::WrongType { name, expected, got } => Message::new(k::CHECK_PROPERTY_WRONG_TYPE)
                .arg("name", name)
                .with("expected", *expected)
                .with("got", *got),
            PropertyError::TooManyProperties => {
                Message::new(k::CHECK_PROPERTY_TOO_MANY_PROPERTIES).arg("max", MAX_PROPERTIES_PER_REQUEST)
            }
        }
    }
}

impl std::fmt::Display for PropertyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for PropertyError {}

/// The characters `str::trim` removes (Unicode White_Space), as a class of [`NAME_PATTERN`].
macro_rules! white_space {
    () => {
        "\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
    };
}
/// The characters `char::is_control` names (Unicode Cc), as a class of [`NAME_PATTERN`].
macro_rules! control {
    () => {
        "\\u0000-\\u001F\\u007F-\\u009F"
    };
}

/// What [`PropertyName::parse`] accepts, as the API document's pattern (ECMA-262, Python and
/// Rust read it alike): white space around either a system name from [`SYSTEM_PROPERTIES`], or a
/// custom name of 1 to 255 characters without control characters that starts with neither `$`
/// nor white space and does not end in white space. Unit tests hold it to the system list, and
/// property tests hold it equal to `parse`.
pub const NAME_PATTERN: &str = concat!(
    "^[",
    white_space!(),
    "]*(?:\\$(?:name|email|phone|user_id|avatar|city|country|timezone|language|first_seen|last_seen|sessions|",
    "browser|os|initial_referrer|referrer|utm_source|utm_medium|utm_campaign|utm_term|utm_content)",
    "|[^\\$",
    white_space!(),
    control!(),
    "](?:[^",
    control!(),
    "]{0,253}[^",
    white_space!(),
    control!(),
    "])?)[",
    white_space!(),
    "]*$"
);

/// A valid property name: `$`-names only from the system list; custom names never start with `$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct PropertyName(String);

/// The document states the name's rules as [`NAME_PATTERN`], so clients (and the fuzzer) send
/// names the server takes.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for PropertyName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(NAME_PATTERN))
            .description(Some(
                "A property name: a system `$` name from the list, or a custom one (1 to 255 characters, no control \
                 characters, not starting with `$`); white space around it is trimmed.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for PropertyName {}

impl PropertyName {
    pub fn parse(raw: &str) -> Result<Self, PropertyError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(PropertyError::EmptyName);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(PropertyError::NameTooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(PropertyError::NameControlChar);
        }
        if name.starts_with('$') && system_property(name).is_none() {
            return Err(PropertyError::UnknownSystemName(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn system(&self) -> Option<&'static SystemProperty> {
        system_property(&self.0)
    }

    pub fn is_system(&self) -> bool {
        self.0.starts_with('$')
    }

    /// Whether an operator may change it from the card (tracking-only system properties may not).
    pub fn editable_by_operator(&self) -> bool {
        self.system().is_none_or(|p| !p.read_only)
    }

    /// What the card shows as the property's label.
    pub fn label(&self) -> &str {
        self.system().map_or(&self.0, |p| p.label.en)
    }

    /// [`PropertyName::label`] in the reader's language: a system property's label, a custom
    /// name as it is.
    pub fn label_message(&self) -> Message {
        self.system().map_or_else(|| Message::plain(self.0.as_str()), |p| p.label.into())
    }
}

impl<'de> Deserialize<'de> for PropertyName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        PropertyName::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A typed value. On the wire: `{"type": "number", "value": 120.5}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum PropertyValue {
    Text(String),
    Number(f64),
    Bool(bool),
    DateTime(DateTime<Utc>),
    List(Vec<String>),
}

impl PropertyValue {
    pub fn ty(&self) -> PropertyType {
        match self {
            PropertyValue::Text(_) => PropertyType::Text,
            PropertyValue::Number(_) => PropertyType::Number,
            PropertyValue::Bool(_) => PropertyType::Bool,
            PropertyValue::DateTime(_) => PropertyType::DateTime,
            PropertyValue::List(_) => PropertyType::List,
        }
    }

    /// Checks the limits of SPEC section 3.
    pub fn check(&self) -> Result<(), PropertyError> {
        match self {
            PropertyValue::Text(s) if s.chars().count() > MAX_TEXT_CHARS => Err(PropertyError::TextTooLong),
            PropertyValue::Number(n) if !n.is_finite() => Err(PropertyError::NotFinite),
            PropertyValue::Number(n) if n.fract() == 0.0 && n.abs() > MAX_SAFE_INTEGER => {
                Err(PropertyError::IntegerOutOfRange)
            }
            PropertyValue::List(items) if items.len() > MAX_LIST_ITEMS => Err(PropertyError::TooManyItems),
            PropertyValue::List(items) if items.iter().any(|s| s.chars().count() > MAX_TEXT_CHARS) => {
                Err(PropertyError::ListItemTooLong)
            }
            _ => Ok(()),
        }
    }

    /// Checks the limits, and for system properties the type the system expects.
    pub fn check_for(&self, name: &PropertyName) -> Result<(), PropertyError> {
        self.check()?;
        match name.system() {
            Some(sys) if sys.ty != self.ty() => Err(PropertyError::WrongType {
                name: name.as_str().to_owned(),
                expected: sys.ty.text(),
                got: self.ty().text(),
            }),
            _ => Ok(()),
        }
    }

    /// The value as the card shows it, without time-zone formatting for dates (RFC 3339, UTC).
    pub fn display(&self) -> String {
        match self {
            PropertyValue::Text(s) => s.clone(),
            PropertyValue::Number(n) => format_number(*n),
            PropertyValue::Bool(true) => "true".to_owned(),
            PropertyValue::Bool(false) => "false".to_owned(),
            PropertyValue::DateTime(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            PropertyValue::List(items) => items.join(", "),
        }
    }

    /// The form text conditions compare (equals, contains) and the database stores and indexes:
    /// [`PropertyValue::display`] lower-cased, cut to [`MAX_TEXT_FORM_BYTES`] on a character boundary.
    pub fn text_form(&self) -> String {
        let mut text = crate::filter::fold(&self.display());
        if text.len() > MAX_TEXT_FORM_BYTES {
            let mut end = MAX_TEXT_FORM_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        text
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            PropertyValue::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Whole numbers without a fraction, others as Rust prints them (shortest round-trip form).
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER { format!("{}", n as i64) } else { format!("{n}") }
}

/// The name a card shows: the lead's name, else its email, else `Lead #id` (English; see
/// [`display_name_message`] for the reader's language).
pub fn display_name(name: Option<&str>, email: Option<&str>, id: i64) -> String {
    display_name_message(name, email, id).to_string()
}

/// [`display_name`] as a message: the name or the email as they are, else the catalogue's
/// `Lead #id` ("Лид №7" in Russian).
pub fn display_name_message(name: Option<&str>, email: Option<&str>, id: i64) -> Message {
    [name, email]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map_or_else(|| Message::new(k::CHECK_LEAD_UNNAMED).arg("id", id), Message::plain)
}

/// Up to two initials for an avatar without a picture.
pub fn initials(display_name: &str) -> String {
    let words: Vec<&str> =
        display_name.split(|c: char| c.is_whitespace() || c == '@' || c == '.').filter(|w| !w.is_empty()).collect();
    let letters: String = match words.as_slice() {
        [] => String::new(),
        [one] => first_letter(one).into_iter().collect(),
        [first, .., last] if !display_name.contains('@') => {
            first_letter(first).into_iter().chain(first_letter(last)).collect()
        }
        [first, ..] => first_letter(first).into_iter().collect(),
    };
    letters.to_uppercase()
}

fn first_letter(word: &str) -> Option<char> {
    word.chars().find(|c| c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name_regex() -> regex::Regex {
        regex::Regex::new(NAME_PATTERN).unwrap()
    }

    #[test]
    fn the_name_pattern_holds_every_system_name_and_no_other_dollar_name() {
        let re = name_regex();
        for p in SYSTEM_PROPERTIES {
            assert!(re.is_match(p.name), "{}", p.name);
            assert!(re.is_match(&format!(" \t{}\u{3000}", p.name)), "{} with white space around", p.name);
        }
        let alternatives = NAME_PATTERN.split("(?:\\$(?:").nth(1).unwrap().split(')').next().unwrap();
        assert_eq!(alternatives.split('|').count(), SYSTEM_PROPERTIES.len(), "one alternative per system name");
        for name in ["$plan", "$", "$name2", "$Name", "a\u{0}b", "a\u{85}b", "", " ", "\u{2003}"] {
            assert!(!re.is_match(name), "{name:?}");
            assert!(PropertyName::parse(name).is_err(), "{name:?}");
        }
        assert!(re.is_match(&"x".repeat(255)) && !re.is_match(&"x".repeat(256)));
        assert!(re.is_match(&format!("  {}  ", "😀".repeat(255))));
    }

    #[test]
    fn custom_names_must_not_start_with_dollar_unless_system() {
        assert!(PropertyName::parse("Last purchase amount").is_ok());
        assert!(PropertyName::parse("$email").unwrap().is_system());
        assert_eq!(PropertyName::parse("$plan"), Err(PropertyError::UnknownSystemName("$plan".into())));
        assert_eq!(PropertyName::parse("  "), Err(PropertyError::EmptyName));
    }

    #[test]
    fn tracking_only_system_properties_are_read_only_for_operators() {
        assert!(!PropertyName::parse("$last_seen").unwrap().editable_by_operator());
        assert!(!PropertyName::parse("$sessions").unwrap().editable_by_operator());
        assert!(PropertyName::parse("$email").unwrap().editable_by_operator());
        assert!(PropertyName::parse("plan").unwrap().editable_by_operator());
    }

    #[test]
    fn limits_are_enforced() {
        assert!(PropertyValue::Text("x".repeat(255)).check().is_ok());
        assert_eq!(PropertyValue::Text("x".repeat(256)).check(), Err(PropertyError::TextTooLong));
        assert!(PropertyValue::List(vec!["a".into(); 30]).check().is_ok());
        assert_eq!(PropertyValue::List(vec!["a".into(); 31]).check(), Err(PropertyError::TooManyItems));
        assert!(PropertyValue::Number(MAX_SAFE_INTEGER).check().is_ok());
        assert_eq!(PropertyValue::Number(MAX_SAFE_INTEGER * 2.0).check(), Err(PropertyError::IntegerOutOfRange));
        assert_eq!(PropertyValue::Number(f64::NAN).check(), Err(PropertyError::NotFinite));
    }

    #[test]
    fn system_properties_keep_their_type() {
        let email = PropertyName::parse("$email").unwrap();
        assert!(PropertyValue::Text("a@b.co".into()).check_for(&email).is_ok());
        assert!(matches!(PropertyValue::Number(1.0).check_for(&email), Err(PropertyError::WrongType { .. })));
    }

    #[test]
    fn values_have_a_tagged_wire_form() {
        let v: PropertyValue = serde_json::from_str(r#"{"type":"number","value":120.5}"#).unwrap();
        assert_eq!(v, PropertyValue::Number(120.5));
        assert_eq!(serde_json::to_string(&PropertyValue::Bool(true)).unwrap(), r#"{"type":"bool","value":true}"#);
    }

    #[test]
    fn display_name_falls_back_to_email_then_id() {
        assert_eq!(display_name(Some("Anna"), Some("a@x.com"), 7), "Anna");
        assert_eq!(display_name(Some(" "), Some("a@x.com"), 7), "a@x.com");
        assert_eq!(display_name(None, None, 7), "Lead #7");
        assert_eq!(initials("Anna Maria Schmidt"), "AS");
        assert_eq!(initials("anna@x.com"), "A");
        assert_eq!(initials("Lead #7"), "L7");
    }

    proptest! {
        #[test]
        fn text_within_limit_is_accepted_and_over_it_refused(s in "\\PC{0,300}") {
            let ok = s.chars().count() <= MAX_TEXT_CHARS;
            prop_assert_eq!(PropertyValue::Text(s).check().is_ok(), ok);
        }

        #[test]
        fn integers_within_two_to_the_53_are_accepted(n in -9_007_199_254_740_992i64..=9_007_199_254_740_992i64) {
            prop_assert!(PropertyValue::Number(n as f64).check().is_ok());
        }

        #[test]
        fn values_round_trip_through_json(s in "\\PC{0,20}", n in -1e12f64..1e12, b: bool) {
            for v in [PropertyValue::Text(s.clone()), PropertyValue::Number(n), PropertyValue::Bool(b), PropertyValue::List(vec![s.clone()])] {
                let json = serde_json::to_string(&v).unwrap();
                prop_assert_eq!(serde_json::from_str::<PropertyValue>(&json).unwrap(), v);
            }
        }
    }

    /// Names the pattern describes, and strings near its edges: the document's pattern and
    /// `parse` agree on every one.
    fn name_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("$".to_owned()),
            Just("$email".to_owned()),
            Just("$utm_term".to_owned()),
            Just("$plan".to_owned()),
            Just(" ".to_owned()),
            Just("\t".to_owned()),
            Just("\u{85}".to_owned()),
            Just("\u{a0}".to_owned()),
            Just("\u{2028}".to_owned()),
            Just("\u{feff}".to_owned()),
            Just("\u{0}".to_owned()),
            Just("\u{1f}".to_owned()),
            Just("\u{9f}".to_owned()),
            Just("é".to_owned()),
            Just("😀".to_owned()),
            "[a-z]{1,3}",
            "x{100,130}",
        ];
        prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn the_name_pattern_accepts_what_parse_accepts(raw in name_like()) {
            prop_assert_eq!(name_regex().is_match(&raw), PropertyName::parse(&raw).is_ok(), "{:?}", raw);
        }

        #[test]
        fn every_name_the_pattern_generates_parses(
            raw in proptest::string::string_regex(&NAME_PATTERN[1..NAME_PATTERN.len() - 1]).unwrap()
        ) {
            prop_assert!(PropertyName::parse(&raw).is_ok(), "{:?}", raw);
        }
    }
}
