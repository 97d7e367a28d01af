//! Links in mails that work once: a use claims the token's hash until the link expires.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};
use crate::clock::to_ms;

impl Store {
    /// Claims a link's use: `false` when it was used before.
    pub async fn claim_link(&self, token_hash: &str, expires_at: DateTime<Utc>) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "INSERT INTO used_links (token_hash, expires_at) VALUES ($1, $2) ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(token_hash.to_owned())
        .bind(to_ms(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Gives a claimed use back (what it was claimed for failed).
    pub async fn release_link(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM used_links WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a link was used already.
    pub async fn link_used(&self, token_hash: &str) -> StoreResult<bool> {
        let found: Option<String> = sqlx::query_scalar("SELECT token_hash FROM used_links WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// Forgets uses of links that have expired since (they are refused as expired anyway).
    pub async fn forget_expired_links(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let gone =
            sqlx::query("DELETE FROM used_links WHERE expires_at <= $1").bind(to_ms(now)).execute(&self.pool).await?;
        Ok(gone.rows_affected())
    }
}
