//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).

use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

pub use leadcard_core::account::{MAX_PASSWORD_CHARS, check_new_password};

const PARAMS: Params = match Params::new(19 * 1024, 2, 1, None) {
    Ok(params) => params,
    Err(_) => panic!("argon2 parameters are out of range"),
};

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, PARAMS)
}

#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) with a random salt. CPU-heavy: call it
/// off the async executor.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    argon2().hash_password(password.as_bytes()).map(|hash| hash.to_string()).map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `stored`. Without a stored hash (unknown email) a dummy hash is
/// verified anyway and the answer is no, so both cases take about the same time.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: LazyLock<Option<String>> =
        LazyLock::new(|| hash_password("leadcard: no operator has this password").ok());
    let hash = stored.or(DUMMY.as_deref());
    let matches = hash
        .and_then(|h| PasswordHash::new(h).ok())
        .is_some_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok());
    matches && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_use_argon2id_at_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("wrong horse battery", Some(&hash)));
        assert!(!verify_password("correct horse battery", None));
    }
}
