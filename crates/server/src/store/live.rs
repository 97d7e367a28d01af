//! The table behind live updates: messages in id order, kept for a while for pages that reconnect.

use sqlx::AnyConnection;

use super::batch::insert_rows;
use super::sql::Value;
use super::{Backend, Store, StoreResult};

/// A stored live message: its id, the JSON of its `LiveEvent`, and when it was published.
#[derive(Debug, sqlx::FromRow)]
pub struct LiveRow {
    pub id: i64,
    pub payload: String,
    pub created_at: i64,
}

impl Store {
    /// Stores a message and returns its id; on PostgreSQL, wakes every instance's reader.
    pub async fn insert_live_event(&self, payload: &str, at: i64) -> StoreResult<i64> {
        let id = sqlx::query_scalar("INSERT INTO live_events (payload, created_at) VALUES ($1, $2) RETURNING id")
            .bind(payload)
            .bind(at)
            .fetch_one(&self.pool)
            .await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify('live_events', '')").execute(&self.pool).await?;
        }
        Ok(id)
    }

    /// Messages with `after < id <= upto`, oldest first, at most `limit`.
    pub async fn live_events(&self, after: i64, upto: i64, limit: i64) -> StoreResult<Vec<LiveRow>> {
        Ok(sqlx::query_as(
            "SELECT id, payload, created_at FROM live_events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
        )
        .bind(after)
        .bind(upto)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The highest id stored, 0 when none.
    pub async fn last_live_event_id(&self) -> StoreResult<i64> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM live_events").fetch_one(&self.pool).await?;
        Ok(id.unwrap_or(0))
    }

    /// The lowest id still kept, if any.
    pub async fn first_live_event_id(&self) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MIN(id) FROM live_events").fetch_one(&self.pool).await?)
    }

    /// Drops messages published before `before`; returns how many.
    pub async fn delete_live_events_before(&self, before: i64) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM live_events WHERE created_at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

/// Stores messages inside the caller's transaction, so they exist exactly when its changes do;
/// on PostgreSQL the notification is delivered at commit. The caller wakes the bus after commit.
pub(super) async fn insert_live_events(
    tx: &mut AnyConnection,
    backend: Backend,
    payloads: &[String],
    at: i64,
) -> StoreResult<()> {
    if payloads.is_empty() {
        return Ok(());
    }
    let rows = payloads.iter().map(|p| [Value::from(p.as_str()), Value::from(at)]).collect();
    insert_rows(tx, backend, "INSERT INTO live_events (payload, created_at) VALUES ", "", rows).await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify('live_events', '')").execute(&mut *tx).await?;
    }
    Ok(())
}
