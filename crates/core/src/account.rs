//! Operator accounts: the password rules (OWASP ASVS 2.1: at least 12 characters, at most 1,024
//! so nobody can make the server hash megabytes, not a known common password, not the account's
//! email), the rule that keeps one admin, and the API's account types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::field::FieldError;
use crate::locale::{Message, k};
use crate::wire::Role;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 1024;

const COMMON: &str = include_str!("common-passwords.txt");

/// Whether `password` is on the shipped list of common passwords (compared lower-cased).
pub fn is_common_password(password: &str) -> bool {
    let lower = password.trim().to_lowercase();
    COMMON.lines().filter(|line| !line.starts_with('#')).any(|line| line == lower)
}

/// Why a new password for the account `email` is refused, naming `field`.
pub fn check_new_password(password: &str, email: &str, field: &str) -> Result<(), FieldError> {
    check_password_shape(password, email, field)?;
    if is_common_password(password) {
        return Err(FieldError::new(field, k::CHECK_ACCOUNT_COMMON_PASSWORD));
    }
    Ok(())
}

/// [`check_new_password`] without the list of common passwords: what the console checks before
/// asking (the list would ride in its first load: wasm data is not split into page chunks).
pub fn check_password_shape(password: &str, email: &str, field: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            field,
            Message::new(k::CHECK_ACCOUNT_PASSWORD_TOO_SHORT).arg("min", MIN_PASSWORD_CHARS),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(FieldError::new(
            field,
            Message::new(k::CHECK_ACCOUNT_PASSWORD_TOO_LONG).arg("max", MAX_PASSWORD_CHARS),
        ));
    }
    if password.contains('\0') {
        return Err(FieldError::new(field, k::CHECK_ACCOUNT_PASSWORD_NUL));
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    let lower = password.trim().to_lowercase();
    if !email.is_empty() && (lower == email || lower == local) {
        return Err(FieldError::new(field, k::CHECK_ACCOUNT_PASSWORD_IS_EMAIL));
    }
    Ok(())
}

/// Whether a change leaves the console without an enabled admin: refused, or nobody could manage
/// operators again. `enabled_admins` counts before the change; `target_is_enabled_admin` says
/// whether the changed operator is one of them; `stays_enabled_admin` whether it still is after.
pub fn check_keeps_an_admin(
    enabled_admins: u64,
    target_is_enabled_admin: bool,
    stays_enabled_admin: bool,
) -> Result<(), FieldError> {
    if target_is_enabled_admin && !stays_enabled_admin && enabled_admins <= 1 {
        return Err(FieldError::new("role", k::CHECK_ACCOUNT_LAST_ADMIN));
    }
    Ok(())
}

/// An operator as admins manage it (`GET /api/v1/operator-accounts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorAccount {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    /// False until the operator set a password (added with a link that was not used yet).
    pub has_password: bool,
    /// Sessions not yet past their absolute limit.
    pub sessions: u32,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/operator-accounts`: without `password`, the answer carries a one-time set-password link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOperatorAccount {
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub password: Option<String>,
}

/// `PATCH /api/v1/operator-accounts/{id}`: what to change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorChange {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// A one-time link that sets an operator's password (`/set-password?token=...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordLink {
    pub link: String,
    pub expires_at: DateTime<Utc>,
}

/// The answer to adding an operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddedOperator {
    pub operator: OperatorAccount,
    /// Present when no password was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_link: Option<PasswordLink>,
}

/// `POST /api/v1/password-links/use`: the link's token and the new password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetPassword {
    pub token: String,
    pub password: String,
}

/// `PUT /api/v1/account/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// One of the signed-in operator's sessions (`GET /api/v1/account/sessions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// Names the session for ending it; not its token.
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// The browser that signed in (its User-Agent).
    pub user_agent: String,
    /// This request's session.
    pub current: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_common_and_email_passwords_are_refused_naming_the_field() {
        let e = check_new_password("short", "a@b.co", "password").unwrap_err();
        assert_eq!(e.field, "password");
        assert!(e.message.to_string().contains("12"));
        assert!(check_new_password(&"x".repeat(1025), "a@b.co", "password").is_err());
        let e = check_new_password("Q1W2E3R4T5Y6", "a@b.co", "new_password").unwrap_err();
        assert_eq!(e.field, "new_password");
        assert!(e.message.to_string().contains("common"), "{}", e.message);
        assert!(check_new_password("qwerty123456", "a@b.co", "password").is_err());
        assert!(check_new_password("anna.berg@example.com", "Anna.Berg@example.com", "password").is_err());
        assert!(check_new_password("with a nul\0 inside", "a@b.co", "password").is_err());
    }

    #[test]
    fn the_last_enabled_admin_stays() {
        assert!(check_keeps_an_admin(1, true, false).is_err());
        assert!(check_keeps_an_admin(2, true, false).is_ok());
        assert!(check_keeps_an_admin(1, true, true).is_ok());
        assert!(check_keeps_an_admin(1, false, false).is_ok());
    }

    #[test]
    fn a_long_uncommon_password_passes_and_the_list_holds_only_long_ones() {
        assert!(check_new_password("correct horse battery staple", "a@b.co", "password").is_ok());
        assert!(check_new_password("ĝis-la-revido-🦀", "a@b.co", "password").is_ok());
        let entries: Vec<&str> = COMMON.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(entries.len() > 150, "{}", entries.len());
        assert!(entries.iter().all(|e| e.len() >= MIN_PASSWORD_CHARS && *e == e.to_lowercase()));
    }
}
