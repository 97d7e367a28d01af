//! Signed links in mails: one-click unsubscribe (no expiry) and Double Opt-In confirmation
//! (expires). A token is `base64url(payload).base64url(HMAC-SHA256(key, payload))`; the payload
//! says what the link is for, so a token for one cannot be used for the other.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::clock::{from_ms, to_ms};

type HmacSha256 = Hmac<Sha256>;

/// The key a used link is remembered by: the token's SHA-256 in hex (the token itself, which
/// names an address, is not stored).
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired")]
    Expired,
}

/// What a valid confirmation token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The normalized address to confirm.
    pub email_norm: String,
    /// When the link stops working (its use is remembered until then).
    pub expires: DateTime<Utc>,
}

/// Signs and checks link tokens with the server's secret key.
#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

const UNSUBSCRIBE: &str = "u";
const CONFIRM: &str = "c";

impl LinkSigner {
    pub fn new(key: &[u8]) -> Self {
        LinkSigner { key: key.to_vec() }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length; the error type exists for fixed-size MACs only.
        HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
    }

    fn sign(&self, payload: &str) -> String {
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The payload of a token this key signed (compared in constant time).
    fn verify(&self, token: &str) -> Result<String, LinkError> {
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| LinkError::Invalid)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| LinkError::Invalid)?;
        String::from_utf8(payload).map_err(|_| LinkError::Invalid)
    }

    /// The token of the one-click unsubscribe link for a normalized address.
    pub fn unsubscribe_token(&self, email_norm: &str) -> String {
        self.sign(&format!("{UNSUBSCRIBE}:{email_norm}"))
    }

    /// The normalized address an unsubscribe token names.
    pub fn unsubscribe_address(&self, token: &str) -> Result<String, LinkError> {
        let payload = self.verify(token)?;
        payload
            .strip_prefix(UNSUBSCRIBE)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::to_owned)
            .ok_or(LinkError::Invalid)
    }

    /// The token of a confirmation link for a normalized address, valid until `expires`.
    pub fn confirmation_token(&self, email_norm: &str, expires: DateTime<Utc>) -> String {
        self.sign(&format!("{CONFIRM}:{}:{email_norm}", to_ms(expires)))
    }

    /// The address a confirmation token names and its expiry, if it has not expired at `now`.
    pub fn confirmation(&self, token: &str, now: DateTime<Utc>) -> Result<Confirmation, LinkError> {
        let payload = self.verify(token)?;
        let rest = payload.strip_prefix(CONFIRM).and_then(|rest| rest.strip_prefix(':')).ok_or(LinkError::Invalid)?;
        let (expires, email_norm) = rest.split_once(':').ok_or(LinkError::Invalid)?;
        let expires = expires.parse::<i64>().map_err(|_| LinkError::Invalid)?;
        let expires = from_ms(expires);
        if now >= expires {
            return Err(LinkError::Expired);
        }
        Ok(Confirmation { email_norm: email_norm.to_owned(), expires })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn unsubscribe_tokens_name_their_address_and_resist_tampering() {
        let signer = LinkSigner::new(b"0123456789abcdef0123456789abcdef");
        let token = signer.unsubscribe_token("lena@example.com");
        assert_eq!(signer.unsubscribe_address(&token).as_deref(), Ok("lena@example.com"));
        let other = LinkSigner::new(b"another key, another server......");
        assert_eq!(other.unsubscribe_address(&token), Err(LinkError::Invalid));
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("u:boss@example.com"));
        assert_eq!(signer.unsubscribe_address(&forged), Err(LinkError::Invalid));
        for junk in ["", ".", "abc", "a.b", "%%%.%%%"] {
            assert_eq!(signer.unsubscribe_address(junk), Err(LinkError::Invalid), "{junk}");
        }
    }

    #[test]
    fn confirmation_tokens_expire_and_are_not_unsubscribe_tokens() {
        let signer = LinkSigner::new(b"0123456789abcdef0123456789abcdef");
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let token = signer.confirmation_token("lena@example.com", now + Duration::days(7));
        let expires = from_ms(to_ms(now + Duration::days(7)));
        let confirmation = Confirmation { email_norm: "lena@example.com".to_owned(), expires };
        assert_eq!(signer.confirmation(&token, now), Ok(confirmation));
        assert_eq!(signer.confirmation(&token, now + Duration::days(7)), Err(LinkError::Expired));
        assert_eq!(signer.unsubscribe_address(&token), Err(LinkError::Invalid));
        let unsubscribe = signer.unsubscribe_token("lena@example.com");
        assert_eq!(signer.confirmation(&unsubscribe, now), Err(LinkError::Invalid));
    }
}
