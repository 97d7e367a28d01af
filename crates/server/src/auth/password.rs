//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).

use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// ASVS 2.1.1: at least 12 characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer inputs are refused before hashing, so nobody can make the server hash megabytes.
pub const MAX_PASSWORD_CHARS: usize = 1024;

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

/// Why a new password is refused; the message is what the person reads.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("a password needs at least {MIN_PASSWORD_CHARS} characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("a password can have at most {MAX_PASSWORD_CHARS} characters"));
    }
    Ok(())
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

    #[test]
    fn new_passwords_need_twelve_characters() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("leadcard-demo").is_ok());
    }
}
