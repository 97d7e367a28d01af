//! The core email rules give the same verdicts in the browser (wasm) as natively: the table below
//! is the one the core's native tests assert.
#![cfg(target_arch = "wasm32")]

use leadcard_core::{EmailAddress, EmailError};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn verdicts() -> Vec<(String, Result<(), EmailError>)> {
    vec![
        ("иван@пример.рф".to_owned(), Err(EmailError::NonAscii)),
        ("a..b@x.com".to_owned(), Err(EmailError::MisplacedDot)),
        (".a@x.com".to_owned(), Err(EmailError::MisplacedDot)),
        ("a@1.2.3.4".to_owned(), Err(EmailError::NumericTopLevelDomain)),
        ("user@xn--e1afmkfd.xn--p1ai".to_owned(), Ok(())),
        ("anna.example.com".to_owned(), Err(EmailError::MissingAt)),
        ("  Anna@Example.com \n".to_owned(), Ok(())),
        (format!("{}@x.com", "a".repeat(64)), Ok(())),
        (format!("{}@x.com", "a".repeat(65)), Err(EmailError::LocalPartTooLong)),
        (format!("{}@{}.{}.{}", "a".repeat(64), "b".repeat(63), "c".repeat(63), "d".repeat(61)), Ok(())),
        (
            format!("{}@{}.{}.{}e", "a".repeat(64), "b".repeat(63), "c".repeat(63), "d".repeat(61)),
            Err(EmailError::TooLong),
        ),
        (format!("a@{}.com", "b".repeat(64)), Err(EmailError::DomainLabelTooLong)),
    ]
}

#[wasm_bindgen_test]
fn email_verdicts_in_the_browser_match_the_native_ones() {
    for (raw, expected) in verdicts() {
        assert_eq!(EmailAddress::parse(&raw).map(drop), expected, "verdict for {raw:?}");
    }
}

#[wasm_bindgen_test]
fn a_valid_address_is_kept_trimmed_and_normalizes_to_lower_case() {
    let email = EmailAddress::parse("  Anna@Example.COM ").expect("valid");
    assert_eq!(email.as_str(), "Anna@Example.COM");
    assert_eq!(email.normalized(), "anna@example.com");
}
