//! Session tokens: 256 random bits in the cookie, only their SHA-256 in the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;

/// A fresh token: the cookie value and the hash to store.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok((URL_SAFE_NO_PAD.encode(bytes), hash_bytes(&bytes)))
}

/// The stored hash of a cookie value, or `None` when the value cannot be a token.
pub fn token_hash(cookie_value: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cookie_value).ok()?;
    (bytes.len() == TOKEN_BYTES).then(|| hash_bytes(&bytes))
}

fn hash_bytes(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_value_hashes_to_what_was_stored() {
        let (cookie, stored) = new_token().unwrap();
        assert_eq!(token_hash(&cookie).as_deref(), Some(stored.as_str()));
        assert_eq!(stored.len(), 64);
        assert_ne!(new_token().unwrap().0, cookie);
    }

    #[test]
    fn values_that_cannot_be_tokens_have_no_hash() {
        assert_eq!(token_hash("abc"), None);
        assert_eq!(token_hash("not base64 !!"), None);
    }
}
