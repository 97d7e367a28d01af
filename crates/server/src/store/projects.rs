//! Projects: the site's public key (for the widget) and secret key (for identify hashes).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Store, StoreError, StoreResult, random_key};
use crate::clock::to_ms;

/// A project: its keys and name.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub public_key: String,
    pub secret_key: String,
}

impl Store {
    /// The first project, created (with new random keys) when there is none.
    pub async fn ensure_project(&self, now: DateTime<Utc>) -> StoreResult<Project> {
        if let Some(project) = self.first_project().await? {
            return Ok(project);
        }
        sqlx::query("INSERT INTO projects (name, public_key, secret_key, created_at) VALUES ($1, $2, $3, $4)")
            .bind("Default project")
            .bind(random_key("pk_")?)
            .bind(random_key("sk_")?)
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?;
        self.first_project().await?.ok_or_else(|| StoreError::Corrupt("the new project vanished".to_owned()))
    }

    pub async fn first_project(&self) -> StoreResult<Option<Project>> {
        Ok(sqlx::query_as("SELECT id, name, public_key, secret_key FROM projects ORDER BY id LIMIT 1")
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn project_by_public_key(&self, key: &str) -> StoreResult<Option<Project>> {
        Ok(sqlx::query_as("SELECT id, name, public_key, secret_key FROM projects WHERE public_key = $1")
            .bind(key.to_owned())
            .fetch_optional(&self.pool)
            .await?)
    }
}
