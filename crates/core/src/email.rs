//! Email address validity per SPEC section 6: what may exist, and why not when it may not.

use std::fmt;

use crate::locale::{Message, k};

/// Longest local part, in octets (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL_OCTETS: usize = 64;
/// Longest whole address, in octets (RFC 5321 path limit less the angle brackets).
pub const MAX_ADDRESS_OCTETS: usize = 254;
/// Longest domain label, in octets (RFC 1035).
pub const MAX_LABEL_OCTETS: usize = 63;

/// A syntactically valid email address: trimmed, ASCII, WHATWG grammar tightened by RFC 5321.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Why an address cannot exist. [`EmailError::message`] is what the operator reads: a fragment
/// that completes "The address …" ([`EmailError::sentence`]); `Display` is its English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailError {
    Empty,
    NonAscii,
    MissingAt,
    EmptyLocalPart,
    EmptyDomain,
    InvalidLocalChar(char),
    MisplacedDot,
    LocalPartTooLong,
    TooLong,
    InvalidDomainChar(char),
    EmptyDomainLabel,
    DomainLabelTooLong,
    DomainLabelHyphen,
    DomainWithoutDot,
    NumericTopLevelDomain,
}

impl EmailError {
    /// Why, as a fragment after "The address" ("is missing the @ sign").
    pub fn message(&self) -> Message {
        match self {
            EmailError::Empty => k::CHECK_EMAIL_EMPTY.into(),
            EmailError::NonAscii => k::CHECK_EMAIL_NON_ASCII.into(),
            EmailError::MissingAt => k::CHECK_EMAIL_MISSING_AT.into(),
            EmailError::EmptyLocalPart => k::CHECK_EMAIL_EMPTY_LOCAL_PART.into(),
            EmailError::EmptyDomain => k::CHECK_EMAIL_EMPTY_DOMAIN.into(),
            EmailError::InvalidLocalChar(c) => {
                Message::new(k::CHECK_EMAIL_INVALID_LOCAL_CHAR).arg("char", format!("{c:?}"))
            }
            EmailError::MisplacedDot => k::CHECK_EMAIL_MISPLACED_DOT.into(),
            EmailError::LocalPartTooLong => {
                Message::new(k::CHECK_EMAIL_LOCAL_PART_TOO_LONG).arg("max", MAX_LOCAL_OCTETS)
            }
            EmailError::TooLong => Message::new(k::CHECK_EMAIL_TOO_LONG).arg("max", MAX_ADDRESS_OCTETS),
            EmailError::InvalidDomainChar(c) => {
                Message::new(k::CHECK_EMAIL_INVALID_DOMAIN_CHAR).arg("char", format!("{c:?}"))
            }
            EmailError::EmptyDomainLabel => k::CHECK_EMAIL_EMPTY_DOMAIN_LABEL.into(),
            EmailError::DomainLabelTooLong => {
                Message::new(k::CHECK_EMAIL_DOMAIN_LABEL_TOO_LONG).arg("max", MAX_LABEL_OCTETS)
            }
            EmailError::DomainLabelHyphen => k::CHECK_EMAIL_DOMAIN_LABEL_HYPHEN.into(),
            EmailError::DomainWithoutDot => k::CHECK_EMAIL_DOMAIN_WITHOUT_DOT.into(),
            EmailError::NumericTopLevelDomain => k::CHECK_EMAIL_NUMERIC_TOP_LEVEL_DOMAIN.into(),
        }
    }

    /// The whole sentence: "The address is missing the @ sign."
    pub fn sentence(&self) -> Message {
        Message::new(k::CHECK_EMAIL_SENTENCE).with("reason", self.message())
    }
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for EmailError {}

impl EmailAddress {
    /// Parses an address typed by a person or sent by a site; surrounding white space is ignored.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let address = raw.trim();
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if !address.is_ascii() {
            return Err(EmailError::NonAscii);
        }
        let (local, domain) = address.split_once('@').ok_or(EmailError::MissingAt)?;
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        if domain.is_empty() {
            return Err(EmailError::EmptyDomain);
        }
        if let Some(c) = local.chars().find(|c| !is_atext(*c) && *c != '.') {
            return Err(EmailError::InvalidLocalChar(c));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(EmailError::MisplacedDot);
        }
        if local.len() > MAX_LOCAL_OCTETS {
            return Err(EmailError::LocalPartTooLong);
        }
        if let Some(c) = domain.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '-' && *c != '.') {
            return Err(EmailError::InvalidDomainChar(c));
        }
        for label in domain.split('.') {
            if label.is_empty() {
                return Err(EmailError::EmptyDomainLabel);
            }
            if label.len() > MAX_LABEL_OCTETS {
                return Err(EmailError::DomainLabelTooLong);
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(EmailError::DomainLabelHyphen);
            }
        }
        if !domain.contains('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        if domain.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return Err(EmailError::NumericTopLevelDomain);
        }
        if address.len() > MAX_ADDRESS_OCTETS {
            return Err(EmailError::TooLong);
        }
        Ok(Self(address.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that every card with this address shares (SPEC section 6).
    pub fn normalized(&self) -> String {
        normalize_email(&self.0)
    }
}

/// The shared-status key of any address, valid or not: trimmed and lower-cased.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// WHATWG "atext": the characters allowed in a local part besides the dot.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn verdict(raw: &str) -> Result<String, EmailError> {
        EmailAddress::parse(raw).map(|e| e.to_string())
    }

    #[test]
    fn cyrillic_address_is_invalid_because_it_is_not_ascii() {
        assert_eq!(verdict("иван@пример.рф"), Err(EmailError::NonAscii));
    }

    #[test]
    fn punycode_domain_is_valid() {
        assert_eq!(verdict("user@xn--e1afmkfd.xn--p1ai").as_deref(), Ok("user@xn--e1afmkfd.xn--p1ai"));
    }

    #[test]
    fn doubled_leading_and_trailing_dots_are_invalid() {
        assert_eq!(verdict("a..b@x.com"), Err(EmailError::MisplacedDot));
        assert_eq!(verdict(".a@x.com"), Err(EmailError::MisplacedDot));
        assert_eq!(verdict("a.@x.com"), Err(EmailError::MisplacedDot));
        assert!(verdict("a.b@x.com").is_ok());
    }

    #[test]
    fn ip_like_domain_is_invalid() {
        assert_eq!(verdict("a@1.2.3.4"), Err(EmailError::NumericTopLevelDomain));
        assert!(verdict("a@1.2.3.com").is_ok());
    }

    #[test]
    fn missing_at_and_empty_parts_are_named() {
        assert_eq!(verdict("anna.example.com"), Err(EmailError::MissingAt));
        assert_eq!(verdict("@example.com"), Err(EmailError::EmptyLocalPart));
        assert_eq!(verdict("anna@"), Err(EmailError::EmptyDomain));
        assert_eq!(verdict("   "), Err(EmailError::Empty));
        assert_eq!(verdict("a@b@c.com"), Err(EmailError::InvalidDomainChar('@')));
        assert_eq!(verdict("anna@localhost"), Err(EmailError::DomainWithoutDot));
        assert_eq!(verdict("an na@x.com"), Err(EmailError::InvalidLocalChar(' ')));
        assert_eq!(verdict("anna@-x.com"), Err(EmailError::DomainLabelHyphen));
        assert_eq!(verdict("anna@x..com"), Err(EmailError::EmptyDomainLabel));
    }

    #[test]
    fn surrounding_white_space_is_trimmed() {
        assert_eq!(verdict("  Anna@Example.com \n").as_deref(), Ok("Anna@Example.com"));
        assert_eq!(EmailAddress::parse(" Anna@Example.COM").unwrap().normalized(), "anna@example.com");
    }

    #[test]
    fn local_part_limit_is_64_octets() {
        let ok = format!("{}@x.com", "a".repeat(64));
        let long = format!("{}@x.com", "a".repeat(65));
        assert!(verdict(&ok).is_ok());
        assert_eq!(verdict(&long), Err(EmailError::LocalPartTooLong));
    }

    #[test]
    fn whole_address_limit_is_254_octets() {
        // 64 + 1 + 189 = 254: labels of 63 + dot + 63 + dot + 61 = 189.
        let domain = format!("{}.{}.{}", "b".repeat(63), "c".repeat(63), "d".repeat(61));
        let ok = format!("{}@{}", "a".repeat(64), domain);
        assert_eq!(ok.len(), 254);
        assert!(verdict(&ok).is_ok());
        let long = format!("{}@{}e", "a".repeat(64), domain);
        assert_eq!(verdict(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn domain_label_limit_is_63_octets() {
        assert!(verdict(&format!("a@{}.com", "b".repeat(63))).is_ok());
        assert_eq!(verdict(&format!("a@{}.com", "b".repeat(64))), Err(EmailError::DomainLabelTooLong));
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
    }

    proptest! {
        #[test]
        fn well_formed_addresses_are_accepted(
            local in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[a-zA-Z0-9_+-]{1,10}){0,2}",
            labels in proptest::collection::vec(label(), 1..4),
            tld in "[a-z]{2,10}",
        ) {
            let address = format!("{local}@{}.{tld}", labels.join("."));
            prop_assert!(EmailAddress::parse(&address).is_ok(), "{address}");
        }

        #[test]
        fn any_non_ascii_character_makes_an_address_invalid(prefix in "[a-z]{1,8}", c in "[^\\x00-\\x7f]") {
            let address = format!("{prefix}{c}@example.com");
            prop_assert_eq!(EmailAddress::parse(&address), Err(EmailError::NonAscii));
        }

        #[test]
        fn accepted_addresses_keep_every_limit(raw in "\\PC{0,80}") {
            if let Ok(email) = EmailAddress::parse(&raw) {
                let s = email.as_str();
                let (local, domain) = s.split_once('@').unwrap();
                prop_assert!(s.is_ascii() && s.len() <= MAX_ADDRESS_OCTETS && local.len() <= MAX_LOCAL_OCTETS);
                prop_assert!(domain.split('.').all(|l| !l.is_empty() && l.len() <= MAX_LABEL_OCTETS));
                prop_assert!(!local.contains("..") && !local.starts_with('.') && !local.ends_with('.'));
            }
        }
    }
}
