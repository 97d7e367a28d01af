//! Project settings, as key/value rows: the email settings the status rules depend on, and the
//! secret that signs the links in mails.

use chrono::Duration;
use leadcard_core::EmailSettings;
use sqlx::AnyConnection;

use super::{Store, StoreError, StoreResult};

const DOUBLE_OPT_IN: &str = "double_opt_in";
const COOL_DOWN_HOURS: &str = "soft_bounce_cool_down_hours";
const SOFT_BOUNCES_TO_HARD: &str = "soft_bounces_to_hard";
const SECRET_KEY: &str = "secret_key";

/// The email settings as `conn` sees them; absent keys keep their defaults.
pub(crate) async fn email_settings_in(conn: &mut AnyConnection) -> StoreResult<EmailSettings> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value FROM project_settings WHERE key IN ($1, $2, $3)")
            .bind(DOUBLE_OPT_IN)
            .bind(COOL_DOWN_HOURS)
            .bind(SOFT_BOUNCES_TO_HARD)
            .fetch_all(&mut *conn)
            .await?;
    let mut settings = EmailSettings::default();
    for (key, value) in rows {
        let corrupt = || StoreError::Corrupt(format!("setting {key} = {value:?}"));
        match key.as_str() {
            DOUBLE_OPT_IN => settings.double_opt_in = value.parse().map_err(|_| corrupt())?,
            COOL_DOWN_HOURS => settings.soft_bounce_cool_down = Duration::hours(value.parse().map_err(|_| corrupt())?),
            SOFT_BOUNCES_TO_HARD => settings.soft_bounces_to_hard = value.parse().map_err(|_| corrupt())?,
            _ => {}
        }
    }
    Ok(settings)
}

async fn put(conn: &mut AnyConnection, key: &str, value: String) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO project_settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key.to_owned())
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    pub async fn email_settings(&self) -> StoreResult<EmailSettings> {
        let mut conn = self.pool.acquire().await?;
        email_settings_in(&mut conn).await
    }

    /// Stores the email settings (already checked).
    pub async fn set_email_settings(&self, settings: &EmailSettings) -> StoreResult<EmailSettings> {
        let mut tx = self.begin().await?;
        put(&mut tx, DOUBLE_OPT_IN, settings.double_opt_in.to_string()).await?;
        put(&mut tx, COOL_DOWN_HOURS, settings.soft_bounce_cool_down.num_hours().to_string()).await?;
        put(&mut tx, SOFT_BOUNCES_TO_HARD, settings.soft_bounces_to_hard.to_string()).await?;
        let stored = email_settings_in(&mut tx).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The stored secret key, storing `candidate` first when there is none yet. Two servers
    /// starting at once on one database both get the one that was stored first.
    pub async fn secret_key_or_store(&self, candidate: &str) -> StoreResult<String> {
        sqlx::query("INSERT INTO project_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(SECRET_KEY)
            .bind(candidate.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM project_settings WHERE key = $1")
            .bind(SECRET_KEY)
            .fetch_one(&self.pool)
            .await?)
    }
}
