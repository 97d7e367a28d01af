//! Operator accounts, for the API and the command line alike: adding one (with a password, or a
//! one-time link that sets it), changing a role, disabling, set-password links, and an operator
//! changing their own password. The rules are core's (`leadcard_core::account`); this stores
//! them and answers which sessions ended, so their open streams can be ended too.

use chrono::{DateTime, Duration, Utc};
use leadcard_core::account::{
    AddedOperator, NewOperatorAccount, OperatorAccount, OperatorChange, PasswordLink, check_keeps_an_admin,
    check_new_password,
};
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::Role;
use leadcard_core::{EmailAddress, FieldError};

use crate::auth::password::{MAX_PASSWORD_CHARS, hash_password, verify_password};
use crate::auth::token;
use crate::store::{NewOperator, Store, StoreError};

/// How long a set-password link works (once).
pub const LINK_VALID_FOR: Duration = Duration::hours(24);
/// The longest operator name.
const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("There is no operator with this id.")]
    NotFound,
    #[error("An operator with this email exists already.")]
    Duplicate,
    #[error("This link was used already or has expired. Ask an admin for a new one.")]
    LinkGone,
    #[error("The current password is wrong.")]
    WrongPassword,
    /// A change the operators' current state refuses (the only admin, a disabled operator): 409,
    /// naming the field.
    #[error("{}", .1.message)]
    Conflict(&'static str, FieldError),
    #[error(transparent)]
    Store(StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(_) => AccountError::Duplicate,
            other => AccountError::Store(other),
        }
    }
}

/// argon2id off the async executor.
async fn hash(password: &str) -> Result<String, AccountError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Internal(e.to_string()))?
        .map_err(|e| AccountError::Internal(e.to_string()))
}

fn check_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(FieldError::new("name", Message::new(k::ERROR_OPERATOR_NAME).arg("max", MAX_NAME_CHARS)));
    }
    Ok(name.to_owned())
}

/// Adds an operator: with `password`, ready to sign in; without, with a link that sets it.
pub async fn add(
    store: &Store,
    new: &NewOperatorAccount,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<AddedOperator, AccountError> {
    let email = EmailAddress::parse(&new.email).map_err(|e| FieldError::new("email", e.sentence()))?.to_string();
    let name = check_name(&new.name)?;
    let password_hash = match &new.password {
        Some(password) => {
            check_new_password(password, &email, "password")?;
            hash(password).await?
        }
        // No password yet: nothing verifies against an empty hash.
        None => String::new(),
    };
    let operator = store.create_operator(&NewOperator { email, name, role: new.role, password_hash }, now).await?;
    let password_link = match new.password {
        Some(_) => None,
        None => Some(password_link(store, operator.id, public_url, now).await?),
    };
    let operator = store.operator_account(operator.id, now).await?.ok_or(AccountError::NotFound)?;
    Ok(AddedOperator { operator, password_link })
}

/// A new one-time link that sets the operator's password; earlier links stop working.
pub async fn password_link(
    store: &Store,
    operator_id: i64,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<PasswordLink, AccountError> {
    let account = store.operator_account(operator_id, now).await?.ok_or(AccountError::NotFound)?;
    if account.disabled {
        return Err(AccountError::Conflict(
            "operator_disabled",
            FieldError::new("disabled", k::ERROR_OPERATOR_ENABLE_FIRST),
        ));
    }
    let (token, token_hash) = token::new_token().map_err(|e| AccountError::Internal(e.to_string()))?;
    let expires_at = now + LINK_VALID_FOR;
    store.create_password_link(operator_id, &token_hash, now, expires_at).await?;
    Ok(PasswordLink { link: format!("{}/set-password?token={token}", public_url.trim_end_matches('/')), expires_at })
}

/// Changes an operator's role or disables / enables them, keeping one enabled admin. Returns the
/// account and the sessions that ended (all of a disabled operator's).
pub async fn change(
    store: &Store,
    id: i64,
    change: &OperatorChange,
    now: DateTime<Utc>,
) -> Result<(OperatorAccount, Vec<String>), AccountError> {
    let before = store.operator_account(id, now).await?.ok_or(AccountError::NotFound)?;
    let role = change.role.unwrap_or(before.role);
    let disabled = change.disabled.unwrap_or(before.disabled);
    let was_admin = before.role == Role::Admin && !before.disabled;
    let stays_admin = role == Role::Admin && !disabled;
    let field = if change.disabled.is_some() && disabled != before.disabled { "disabled" } else { "role" };
    check_keeps_an_admin(store.enabled_admins().await?, was_admin, stays_admin).map_err(|e| {
        AccountError::Conflict("last_admin", FieldError { field: field.to_owned(), message: e.message })
    })?;
    if role != before.role {
        store.set_operator_role(id, role).await?;
    }
    let mut ended = Vec::new();
    if disabled != before.disabled {
        ended = store.set_operator_disabled(id, disabled, now).await?;
    }
    let after = store.operator_account(id, now).await?.ok_or(AccountError::NotFound)?;
    Ok((after, ended))
}

/// Sets a password through a link (once). Returns the sessions that ended (all of them).
pub async fn set_password_with_link(
    store: &Store,
    link_token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AccountError> {
    let token_hash = token::token_hash(link_token.trim()).ok_or(AccountError::LinkGone)?;
    let owner = store.password_link_owner(&token_hash, now).await?.ok_or(AccountError::LinkGone)?;
    check_new_password(password, &owner.email, "password")?;
    let password_hash = hash(password).await?;
    let (_, ended) = store.use_password_link(&token_hash, &password_hash, now).await?.ok_or(AccountError::LinkGone)?;
    Ok(ended)
}

/// The operator's own new password, after the current one; every other session ends.
pub async fn change_own_password(
    store: &Store,
    operator_id: i64,
    email: &str,
    current_session: &str,
    current_password: &str,
    new_password: &str,
) -> Result<Vec<String>, AccountError> {
    if current_password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AccountError::WrongPassword);
    }
    let stored = store.operator_hash(operator_id).await?.filter(|h| !h.is_empty());
    let current = current_password.to_owned();
    let matches = tokio::task::spawn_blocking(move || verify_password(&current, stored.as_deref()))
        .await
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    if !matches {
        return Err(AccountError::WrongPassword);
    }
    check_new_password(new_password, email, "new_password")?;
    if new_password == current_password {
        return Err(FieldError::new("new_password", k::ERROR_OPERATOR_SAME_PASSWORD).into());
    }
    let password_hash = hash(new_password).await?;
    Ok(store.change_password(operator_id, &password_hash, current_session).await?)
}
