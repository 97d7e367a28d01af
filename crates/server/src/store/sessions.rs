//! Operator sessions, stored by the hash of their token.

use chrono::{DateTime, Utc};
use leadcard_core::wire::Operator;
use sqlx::FromRow;

use super::operators::OperatorRow;
use super::{Store, StoreResult};
use crate::clock::{from_ms, to_ms};

/// A stored session with its operator.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub operator: Operator,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct SessionRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    last_used_at: i64,
    expires_at: i64,
}

impl Store {
    pub async fn create_session(
        &self,
        token_hash: &str,
        operator_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, operator_id, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(token_hash.to_owned())
        .bind(operator_id)
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT o.id, o.email, o.name, o.role, s.last_used_at, s.expires_at \
             FROM sessions s JOIN operators o ON o.id = s.operator_id WHERE s.token_hash = $1",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                operator: OperatorRow { id: r.id, email: r.email, name: r.name, role: r.role }.into_operator()?,
                last_used_at: from_ms(r.last_used_at),
                expires_at: from_ms(r.expires_at),
            })
        })
        .transpose()
    }

    pub async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE token_hash = $2")
            .bind(to_ms(now))
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes sessions past their absolute expiry or unused since `idle_cutoff`.
    pub async fn delete_stale_sessions(&self, now: DateTime<Utc>, idle_cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_used_at <= $2")
            .bind(to_ms(now))
            .bind(to_ms(idle_cutoff))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
