//! Whether this database is a demo: `--seed-demo` seeds only a database with no leads and no
//! operators, and records that it did, so the demo shop (which signs any user id for identify)
//! never opens on a database that held real data.

use super::{Store, StoreResult};

const DEMO_SEEDED: &str = "demo_seeded";

impl Store {
    /// Whether the database holds any lead or any operator.
    pub async fn holds_leads_or_operators(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM leads LIMIT 1) l) \
             + (SELECT COUNT(*) FROM (SELECT 1 FROM operators LIMIT 1) o)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Records that the demo seed filled this database.
    pub async fn mark_demo_seeded(&self) -> StoreResult<()> {
        sqlx::query("INSERT INTO project_settings (key, value) VALUES ($1, 'true') ON CONFLICT (key) DO NOTHING")
            .bind(DEMO_SEEDED)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the demo seed filled this database.
    pub async fn is_demo_seeded(&self) -> StoreResult<bool> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM project_settings WHERE key = $1")
            .bind(DEMO_SEEDED)
            .fetch_optional(&self.pool)
            .await?;
        Ok(value.is_some())
    }
}
