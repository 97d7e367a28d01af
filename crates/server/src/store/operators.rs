//! Operators: the people who sign in to the console.

use chrono::{DateTime, Utc};
use leadcard_core::account::OperatorAccount;
use leadcard_core::locale::Language;
use leadcard_core::wire::{Operator, Role};
use sqlx::FromRow;

use super::{Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

/// An operator to create; the email is stored lower-cased.
#[derive(Debug, Clone)]
pub struct NewOperator {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// An operator with the stored password hash (empty: none set yet), for signing in.
#[derive(Debug, Clone)]
pub struct OperatorWithHash {
    pub operator: Operator,
    pub password_hash: String,
    pub disabled: bool,
}

/// Whose password a link sets.
#[derive(Debug, Clone)]
pub struct PasswordLinkOwner {
    pub operator_id: i64,
    pub email: String,
}

#[derive(FromRow)]
pub(crate) struct OperatorRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub language: Option<String>,
}

impl OperatorRow {
    pub(crate) fn into_operator(self) -> StoreResult<Operator> {
        Ok(Operator {
            id: self.id,
            email: self.email,
            name: self.name,
            role: parse_role(&self.role)?,
            language: self.language,
        })
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
            Some(id) => Ok(Operator { id, email, name: new.name.clone(), role: new.role, language: None }),
            None => Err(StoreError::Duplicate(format!("an operator with the email {email}"))),
        }
    }

    pub async fn operator_by_email(&self, email: &str) -> StoreResult<Option<OperatorWithHash>> {
        type Row = (i64, String, String, String, String, Option<i64>, Option<String>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, email, name, role, password_hash, disabled_at, language FROM operators WHERE email = $1",
        )
        .bind(email_key(email))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, email, name, role, password_hash, disabled_at, language)| {
            Ok(OperatorWithHash {
                operator: OperatorRow { id, email, name, role, language }.into_operator()?,
                password_hash,
                disabled: disabled_at.is_some(),
            })
        })
        .transpose()
    }

    /// Sets the console's language an operator picked (`None`: their browser's).
    pub async fn set_operator_language(&self, id: i64, language: Option<Language>) -> StoreResult<()> {
        sqlx::query("UPDATE operators SET language = $1 WHERE id = $2")
            .bind(language.map(|l| l.as_str().to_owned()))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn operator_hash(&self, id: i64) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT password_hash FROM operators WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every operator with their count of sessions not past their absolute limit, by email.
    pub async fn operator_accounts(&self, now: DateTime<Utc>) -> StoreResult<Vec<OperatorAccount>> {
        self.accounts_where("", None, now).await
    }

    pub async fn operator_account(&self, id: i64, now: DateTime<Utc>) -> StoreResult<Option<OperatorAccount>> {
        Ok(self.accounts_where("WHERE o.id = $2", Some(id), now).await?.pop())
    }

    async fn accounts_where(
        &self,
        condition: &'static str,
        id: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<OperatorAccount>> {
        type Row = (i64, String, String, String, Option<i64>, String, i64, i64);
        let sql = format!(
            "SELECT o.id, o.email, o.name, o.role, o.disabled_at, o.password_hash, o.created_at, \
             (SELECT COUNT(*) FROM sessions s WHERE s.operator_id = o.id AND s.expires_at > $1) \
             FROM operators o {condition} ORDER BY o.email"
        );
        let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).bind(to_ms(now));
        if let Some(id) = id {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|(id, email, name, role, disabled_at, password_hash, created_at, sessions)| {
                Ok(OperatorAccount {
                    id,
                    email,
                    name,
                    role: parse_role(&role)?,
                    disabled: disabled_at.is_some(),
                    has_password: !password_hash.is_empty(),
                    sessions: u32::try_from(sessions).unwrap_or(u32::MAX),
                    created_at: from_ms(created_at),
                })
            })
            .collect()
    }

    pub async fn enabled_admins(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operators WHERE role = 'admin' AND disabled_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    pub async fn set_operator_role(&self, id: i64, role: Role) -> StoreResult<()> {
        sqlx::query("UPDATE operators SET role = $1 WHERE id = $2")
            .bind(role_str(role))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Disables (their sessions and links end in the same transaction) or enables an operator;
    /// the token hashes of the sessions ended.
    pub async fn set_operator_disabled(&self, id: i64, disabled: bool, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let at = disabled.then(|| to_ms(now));
        sqlx::query("UPDATE operators SET disabled_at = $1 WHERE id = $2").bind(at).bind(id).execute(&mut *tx).await?;
        let mut ended = Vec::new();
        if disabled {
            ended = sqlx::query_scalar("DELETE FROM sessions WHERE operator_id = $1 RETURNING token_hash")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM password_links WHERE operator_id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }

    /// A new set-password link for an operator; earlier ones stop working.
    pub async fn create_password_link(
        &self,
        operator_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM password_links WHERE operator_id = $1").bind(operator_id).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO password_links (token_hash, operator_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.to_owned())
        .bind(operator_id)
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whose password an unexpired link sets (the operator not disabled).
    pub async fn password_link_owner(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PasswordLinkOwner>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT o.id, o.email FROM password_links l JOIN operators o ON o.id = l.operator_id \
             WHERE l.token_hash = $1 AND l.expires_at > $2 AND o.disabled_at IS NULL",
        )
        .bind(token_hash.to_owned())
        .bind(to_ms(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(operator_id, email)| PasswordLinkOwner { operator_id, email }))
    }

    /// Sets a password through a link, once: the link is used up in the same transaction, and
    /// every session of the operator ends. `false` when the link was used or expired meanwhile.
    pub async fn use_password_link(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(i64, Vec<String>)>> {
        let mut tx = self.pool.begin().await?;
        let operator_id: Option<i64> = sqlx::query_scalar(
            "DELETE FROM password_links WHERE token_hash = $1 AND expires_at > $2 RETURNING operator_id",
        )
        .bind(token_hash.to_owned())
        .bind(to_ms(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(operator_id) = operator_id else {
            return Ok(None);
        };
        sqlx::query("UPDATE operators SET password_hash = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(password_hash.to_owned())
            .bind(operator_id)
            .execute(&mut *tx)
            .await?;
        let ended: Vec<String> = sqlx::query_scalar("DELETE FROM sessions WHERE operator_id = $1 RETURNING token_hash")
            .bind(operator_id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((operator_id, ended)))
    }

    /// A new password from the operator themself: every other session ends.
    pub async fn change_password(&self, id: i64, password_hash: &str, keep_session: &str) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE operators SET password_hash = $1 WHERE id = $2")
            .bind(password_hash.to_owned())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let ended: Vec<String> =
            sqlx::query_scalar("DELETE FROM sessions WHERE operator_id = $1 AND token_hash <> $2 RETURNING token_hash")
                .bind(id)
                .bind(keep_session.to_owned())
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(ended)
    }
}
