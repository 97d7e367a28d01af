//! Operator sessions, stored by the hash of their token.

use std::collections::HashMap;

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

/// A session as its operator sees it.
#[derive(Debug, Clone)]
pub struct OperatorSession {
    pub token_hash: String,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct SessionRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    language: Option<String>,
    last_used_at: i64,
    expires_at: i64,
}

impl Store {
    pub async fn create_session(
        &self,
        token_hash: &str,
        operator_id: i64,
        user_agent: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, operator_id, user_agent, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash.to_owned())
        .bind(operator_id)
        .bind(user_agent.to_owned())
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An operator's sessions not past their absolute limit, most recently used first.
    pub async fn sessions_of(&self, operator_id: i64, now: DateTime<Utc>) -> StoreResult<Vec<OperatorSession>> {
        let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT token_hash, user_agent, created_at, last_used_at, expires_at FROM sessions \
             WHERE operator_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC, created_at DESC",
        )
        .bind(operator_id)
        .bind(to_ms(now))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(token_hash, user_agent, created_at, last_used_at, expires_at)| OperatorSession {
                token_hash,
                user_agent,
                created_at: from_ms(created_at),
                last_used_at: from_ms(last_used_at),
                expires_at: from_ms(expires_at),
            })
            .collect())
    }

    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT o.id, o.email, o.name, o.role, o.language, s.last_used_at, s.expires_at \
             FROM sessions s JOIN operators o ON o.id = s.operator_id \
             WHERE s.token_hash = $1 AND o.disabled_at IS NULL",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                operator: OperatorRow { id: r.id, email: r.email, name: r.name, role: r.role, language: r.language }
                    .into_operator()?,
                last_used_at: from_ms(r.last_used_at),
                expires_at: from_ms(r.expires_at),
            })
        })
        .transpose()
    }

    /// `last_used_at` and `expires_at` of those of these sessions that exist.
    pub async fn session_times(
        &self,
        token_hashes: &[String],
    ) -> StoreResult<HashMap<String, (DateTime<Utc>, DateTime<Utc>)>> {
        let mut times = HashMap::with_capacity(token_hashes.len());
        // Under SQLite's and PostgreSQL's bound-parameter limits.
        for chunk in token_hashes.chunks(500) {
            let list = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            let sql = format!("SELECT token_hash, last_used_at, expires_at FROM sessions WHERE token_hash IN ({list})");
            let mut query = sqlx::query_as::<_, (String, i64, i64)>(sqlx::AssertSqlSafe(sql));
            for hash in chunk {
                query = query.bind(hash.clone());
            }
            for (hash, last_used_at, expires_at) in query.fetch_all(&self.pool).await? {
                times.insert(hash, (from_ms(last_used_at), from_ms(expires_at)));
            }
        }
        Ok(times)
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
