//! Each operator's pinned properties, in pin order.

use leadcard_core::PropertyName;

use super::batch::insert_rows;
use super::sql::Value;
use super::{Store, StoreResult};

impl Store {
    /// The operator's pinned property names, in pin order.
    pub async fn pins(&self, operator_id: i64) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM operator_pins WHERE operator_id = $1 ORDER BY position")
            .bind(operator_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Replaces the operator's pins with these names (already checked, each once), in this order.
    pub async fn set_pins(&self, operator_id: i64, names: &[PropertyName]) -> StoreResult<Vec<String>> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM operator_pins WHERE operator_id = $1").bind(operator_id).execute(&mut *tx).await?;
        let rows = names
            .iter()
            .enumerate()
            .map(|(position, name)| {
                [Value::from(operator_id), Value::from(position as i64), Value::from(name.as_str())]
            })
            .collect();
        insert_rows(&mut tx, self.backend, "INSERT INTO operator_pins (operator_id, position, name) VALUES ", "", rows)
            .await?;
        tx.commit().await?;
        Ok(names.iter().map(|name| name.as_str().to_owned()).collect())
    }
}
