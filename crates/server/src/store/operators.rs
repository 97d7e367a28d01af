//! Operators: the people who sign in to the console.

use chrono::{DateTime, Utc};
use leadcard_core::wire::{Operator, Role};
use sqlx::FromRow;

use super::{Store, StoreError, StoreResult};
use crate::clock::to_ms;

/// An operator to create; the email is stored lower-cased.
#[derive(Debug, Clone)]
pub struct NewOperator {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// An operator with the stored password hash, for signing in.
#[derive(Debug, Clone)]
pub struct OperatorWithHash {
    pub operator: Operator,
    pub password_hash: String,
}

#[derive(FromRow)]
pub(crate) struct OperatorRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
}

impl OperatorRow {
    pub(crate) fn into_operator(self) -> StoreResult<Operator> {
        Ok(Operator { id: self.id, email: self.email, name: self.name, role: parse_role(&self.role)? })
    }
}

pub(crate) fn role_str(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Operator => "operator",
    }
}

fn parse_role(raw: &str) -> StoreResult<Role> {
    match raw {
        "admin" => Ok(Role::Admin),
        "operator" => Ok(Role::Operator),
        other => Err(StoreError::Corrupt(format!("unknown role {other:?}"))),
    }
}

/// The form emails are stored and looked up in.
fn email_key(email: &str) -> String {
    leadcard_core::normalize_email(email)
}

impl Store {
    pub async fn create_operator(&self, new: &NewOperator, now: DateTime<Utc>) -> StoreResult<Operator> {
        let email = email_key(&new.email);
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO operators (email, name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING id",
        )
        .bind(email.clone())
        .bind(new.name.clone())
        .bind(role_str(new.role))
        .bind(new.password_hash.clone())
        .bind(to_ms(now))
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => Ok(Operator { id, email, name: new.name.clone(), role: new.role }),
            None => Err(StoreError::Duplicate(format!("an operator with the email {email}"))),
        }
    }

    pub async fn operator_by_email(&self, email: &str) -> StoreResult<Option<OperatorWithHash>> {
        let row: Option<(i64, String, String, String, String)> =
            sqlx::query_as("SELECT id, email, name, role, password_hash FROM operators WHERE email = $1")
                .bind(email_key(email))
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(id, email, name, role, password_hash)| {
            Ok(OperatorWithHash { operator: OperatorRow { id, email, name, role }.into_operator()?, password_hash })
        })
        .transpose()
    }
}
