//! The Leads Database's orders in SQL: each order's key expression (indexed with the id by
//! migration 0014, so every order is an index walk as the default one is), and its keyset cursor
//! (`<id>` for the default order, `<id>.<key>` for the others): no OFFSET on any.

use leadcard_core::lead_sort::{LeadSort, SortKey};
use leadcard_core::normalize_email;

use super::Backend;
use super::sql::Sql;

/// Where a page starts: after the lead `id`, whose key was `key` (none when sorted by creation,
/// whose key is the id itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortCursor {
    id: i64,
    key: Option<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyValue {
    Number(i64),
    Text(String),
}

/// The key a lead is ordered by, as SQL over `leads l`: exactly the expressions migration 0014
/// indexes. Text keys compare by code point on both databases (PostgreSQL's `C` collation, whose
/// `lower` folds ASCII letters only, as SQLite's does).
fn key_sql(key: SortKey, backend: Backend) -> Option<&'static str> {
    match (key, backend) {
        (SortKey::Created, _) => None,
        (SortKey::LastSeen, _) => Some("COALESCE(l.last_seen_at, 0)"),
        (SortKey::Name, Backend::Sqlite) => Some("lower(COALESCE(l.name, ''))"),
        (SortKey::Name, Backend::Postgres) => Some("lower(COALESCE(l.name, '') COLLATE \"C\")"),
        (SortKey::Email, Backend::Sqlite) => Some("COALESCE(l.email_norm, '')"),
        (SortKey::Email, Backend::Postgres) => Some("(COALESCE(l.email_norm, '') COLLATE \"C\")"),
    }
}

impl SortCursor {
    /// The cursor of a page of `sort`, or None when `raw` is not one.
    pub fn parse(sort: LeadSort, raw: &str) -> Option<SortCursor> {
        let (id, key) = match raw.split_once('.') {
            Some((id, key)) => (id, Some(key)),
            None => (raw, None),
        };
        let id = id.parse::<i64>().ok().filter(|id| *id > 0)?;
        let key = match (sort.key, key) {
            (SortKey::Created, None) => None,
            (SortKey::LastSeen, Some(key)) => Some(KeyValue::Number(key.parse().ok()?)),
            (SortKey::Name | SortKey::Email, Some(key)) => Some(KeyValue::Text(key.to_owned())),
            _ => return None,
        };
        Some(SortCursor { id, key })
    }

    /// The lead the page starts after.
    pub(super) fn id(&self) -> i64 {
        self.id
    }

    /// The cursor after a lead with these columns: its key computed as [`key_sql`] computes it.
    pub(super) fn after_lead(
        sort: LeadSort,
        id: i64,
        name: Option<&str>,
        email: Option<&str>,
        last_seen_at: Option<i64>,
    ) -> String {
        match sort.key {
            SortKey::Created => id.to_string(),
            SortKey::LastSeen => format!("{id}.{}", last_seen_at.unwrap_or(0)),
            SortKey::Name => format!("{id}.{}", name.unwrap_or_default().to_ascii_lowercase()),
            SortKey::Email => format!("{id}.{}", email.map(normalize_email).unwrap_or_default()),
        }
    }
}

/// Appends the keyset condition (after `after`) and the `ORDER BY` of `sort`.
pub(super) fn push_order(sql: &mut Sql, backend: Backend, sort: LeadSort, after: Option<&SortCursor>) {
    let (compare, direction) = if sort.descending { ("<", "DESC") } else { (">", "ASC") };
    match key_sql(sort.key, backend) {
        None => {
            if let Some(after) = after {
                sql.push(&format!(" AND l.id {compare} ")).bind(after.id);
            }
            sql.push(&format!(" ORDER BY l.id {direction}"));
        }
        Some(key) => {
            if let Some(after) = after {
                sql.push(&format!(" AND ({key}, l.id) {compare} ("));
                match &after.key {
                    Some(KeyValue::Number(n)) => sql.bind(*n),
                    Some(KeyValue::Text(t)) => sql.bind(t.clone()),
                    // A cursor is parsed for its own order: the created order has no key.
                    None => sql.bind(String::new()),
                };
                sql.push(", ").bind(after.id).push(")");
            }
            sql.push(&format!(" ORDER BY {key} {direction}, l.id {direction}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sort(raw: &str) -> LeadSort {
        LeadSort::parse(raw).unwrap()
    }

    #[test]
    fn cursors_read_back_for_their_own_order_only() {
        let name = SortCursor::after_lead(sort("name"), 7, Some("Ada Lovelace.Jr"), None, None);
        assert_eq!(name, "7.ada lovelace.jr");
        let parsed = SortCursor::parse(sort("name"), &name).unwrap();
        assert_eq!(parsed, SortCursor { id: 7, key: Some(KeyValue::Text("ada lovelace.jr".into())) });
        assert_eq!(SortCursor::after_lead(sort("-last_seen"), 3, None, None, None), "3.0");
        assert_eq!(SortCursor::after_lead(sort("email"), 3, None, Some("Ada@Example.com"), None), "3.ada@example.com");
        assert!(SortCursor::parse(sort("-last_seen"), "3.12x").is_none());
        assert!(SortCursor::parse(sort("-last_seen"), "3").is_none());
        assert!(SortCursor::parse(sort("created"), "3.5").is_none());
        assert!(SortCursor::parse(sort("created"), "-3").is_none());
        assert_eq!(SortCursor::parse(LeadSort::default(), "42"), Some(SortCursor { id: 42, key: None }));
    }

    #[test]
    fn the_key_is_bound_never_written_into_the_sql() {
        let mut sql = Sql::new(Backend::Postgres, "SELECT l.id FROM leads l WHERE 1 = 1");
        let after = SortCursor::parse(sort("-name"), "9.o'hara").unwrap();
        push_order(&mut sql, Backend::Postgres, sort("-name"), Some(&after));
        assert!(!sql.text().contains("hara"), "{}", sql.text());
        assert!(sql.text().ends_with("ORDER BY lower(COALESCE(l.name, '') COLLATE \"C\") DESC, l.id DESC"));
    }
}
