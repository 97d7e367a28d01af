//! Multi-row statements: many rows in as few statements as the databases' parameter limits allow.

use sqlx::AnyConnection;

use super::sql::{Sql, Value};
use super::{Backend, StoreResult};

/// Most parameters one statement binds: under SQLite's limit (32,766) and PostgreSQL's (65,535).
pub(super) const MAX_PARAMETERS: usize = 16_000;
/// Inserts rows of `N` values with as few statements as the parameter limit allows.
pub(super) async fn insert_rows<const N: usize>(
    tx: &mut AnyConnection,
    backend: Backend,
    head: &str,
    tail: &str,
    rows: Vec<[Value; N]>,
) -> StoreResult<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::new(backend, head);
        for (i, row) in rows.by_ref().take(MAX_PARAMETERS / N).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_list(row);
        }
        sql.push(tail);
        sql.query().execute(&mut *tx).await?;
    }
    Ok(())
}
