//! SQL text with its bound values, and the Leads Database filter compiled into it. Nothing the
//! operator types ever becomes SQL text: every value is a `$n` parameter.

use chrono::{DateTime, Utc};
use leadcard_core::{Presence, PropertyTest, SubscriptionStatus, ValidCondition, ValidFilter};
use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, AssertSqlSafe, FromRow};

use crate::clock::to_ms;

use super::Backend;

use super::leads::fold;

/// A value bound to a `$n` placeholder: the types both databases read through Any. NULLs are
/// typed, as PostgreSQL wants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Float(f64),
    /// sqlx 0.9's Any driver sends a NULL double as a 4-byte float, and PostgreSQL then keeps
    /// that parameter type for the cached statement, refusing the next 8-byte value. So a missing
    /// number travels as NaN (which no stored number is) and `NULLIF($n, 'NaN')` makes it NULL;
    /// SQLite stores a bound NaN as NULL by itself.
    NullableFloat(Option<f64>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(Some(s.to_owned()))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(Some(s))
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(Some(n))
    }
}

impl From<Option<i64>> for Value {
    fn from(n: Option<i64>) -> Self {
        Value::Int(n)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Float(n)
    }
}

impl From<Option<f64>> for Value {
    fn from(n: Option<f64>) -> Self {
        Value::NullableFloat(n)
    }
}

/// A statement being built: fixed SQL text from the store, values as parameters.
#[derive(Debug)]
pub(crate) struct Sql {
    text: String,
    values: Vec<Value>,
    /// SQLite finds a numbered parameter's name by a linear scan, so binding thousands of `$n`
    /// takes quadratic time; its anonymous `?` binds in order at no cost. PostgreSQL needs `$n`.
    anonymous: bool,
}

impl Sql {
    pub fn new(backend: Backend, text: &str) -> Self {
        Sql { text: text.to_owned(), values: Vec::new(), anonymous: backend == Backend::Sqlite }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        let value = value.into();
        let nullable_float = matches!(value, Value::NullableFloat(_));
        self.values.push(value);
        let placeholder = if self.anonymous { "?".to_owned() } else { format!("${}", self.values.len()) };
        if nullable_float {
            self.text.push_str(&format!("NULLIF({placeholder}, 'NaN')"));
        } else {
            self.text.push_str(&placeholder);
        }
        self
    }

    /// Appends `(v1, v2, ...)` as placeholders.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn query(self) -> Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(self.text));
        for value in self.values {
            query = match value {
                Value::Text(s) => query.bind(s),
                Value::Int(n) => query.bind(n),
                Value::Float(n) => query.bind(n),
                Value::NullableFloat(n) => query.bind(n.unwrap_or(f64::NAN)),
            };
        }
        query
    }

    pub fn query_as<T>(self) -> QueryAs<'static, Any, T, AnyArguments>
    where
        T: for<'r> FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut query = sqlx::query_as(AssertSqlSafe(self.text));
        for value in self.values {
            query = match value {
                Value::Text(s) => query.bind(s),
                Value::Int(n) => query.bind(n),
                Value::Float(n) => query.bind(n),
                Value::NullableFloat(n) => query.bind(n.unwrap_or(f64::NAN)),
            };
        }
        query
    }

    pub fn query_scalar<T>(self) -> QueryScalar<'static, Any, T, AnyArguments>
    where
        (T,): for<'r> FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut query = sqlx::query_scalar(AssertSqlSafe(self.text));
        for value in self.values {
            query = match value {
                Value::Text(s) => query.bind(s),
                Value::Int(n) => query.bind(n),
                Value::Float(n) => query.bind(n),
                Value::NullableFloat(n) => query.bind(n.unwrap_or(f64::NAN)),
            };
        }
        query
    }
}

/// The properties the search box looks in.
const SEARCHED_PROPERTIES: [&str; 4] = ["$name", "$email", "$phone", "$user_id"];

/// Appends ` AND <condition>` for the search text and every filter condition, over `leads l`.
pub(crate) fn push_lead_conditions(sql: &mut Sql, filter: &ValidFilter, search: Option<&str>, now: DateTime<Utc>) {
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        sql.push(" AND l.id IN (SELECT p.lead_id FROM lead_properties p WHERE p.name IN ")
            .bind_list(SEARCHED_PROPERTIES)
            .push(" AND p.text_value LIKE ")
            .bind(like_contains(search))
            .push(" ESCAPE '\\')");
    }
    for condition in &filter.all {
        sql.push(" AND ");
        push_condition(sql, condition, now);
    }
}

/// Conditions on other tables are `[NOT] IN (subquery)` sets read from an index, rather than
/// correlated EXISTS probes: SQLite runs EXISTS once per lead, which is slow when few leads match,
/// while PostgreSQL plans both forms as the same semi-join.
fn push_condition(sql: &mut Sql, condition: &ValidCondition, now: DateTime<Utc>) {
    match condition {
        ValidCondition::Property { name, test } => {
            let negated = matches!(test, PropertyTest::NotEquals(_) | PropertyTest::NotExists);
            sql.push(if negated { "l.id NOT IN" } else { "l.id IN" })
                .push(" (SELECT p.lead_id FROM lead_properties p WHERE p.name = ")
                .bind(name.as_str());
            push_property_test(sql, test);
            sql.push(")");
        }
        ValidCondition::Tag { tag, has } => {
            sql.push(if *has { "l.id IN" } else { "l.id NOT IN" })
                .push(" (SELECT t.lead_id FROM lead_tags t WHERE t.tag = ")
                .bind(tag.as_str())
                .push(")");
        }
        ValidCondition::Subscription(status) => {
            // A lead without an address has no status row and counts as an invalid address.
            let no_address = *status == SubscriptionStatus::InvalidEmail;
            sql.push(if no_address { "(l.email_norm IS NULL OR " } else { "(" })
                .push("l.email_norm IN (SELECT s.email_norm FROM email_statuses s WHERE s.status = ")
                .bind(status.as_str())
                .push("))");
        }
        ValidCondition::Presence(presence) => {
            let cutoff = to_ms(Presence::cutoff(now));
            match presence {
                Presence::Online => sql
                    .push("(l.last_heartbeat_at > ")
                    .bind(cutoff)
                    .push(" AND l.last_active_at > ")
                    .bind(cutoff)
                    .push(")"),
                Presence::Sleeping => sql
                    .push("(l.last_heartbeat_at > ")
                    .bind(cutoff)
                    .push(" AND (l.last_active_at IS NULL OR l.last_active_at <= ")
                    .bind(cutoff)
                    .push("))"),
                Presence::Offline => {
                    sql.push("(l.last_heartbeat_at IS NULL OR l.last_heartbeat_at <= ").bind(cutoff).push(")")
                }
            };
        }
    }
}

/// The rest of the `lead_properties p` subquery's WHERE for one test (negation is outside).
fn push_property_test(sql: &mut Sql, test: &PropertyTest) {
    match test {
        PropertyTest::Equals(value) | PropertyTest::NotEquals(value) => {
            sql.push(" AND (p.text_value = ").bind(fold(value));
            if let Some(number) = value.parse::<f64>().ok().filter(|n| n.is_finite()) {
                sql.push(" OR (p.value_type = 'number' AND p.number_value = ").bind(number).push(")");
            }
            sql.push(")");
        }
        PropertyTest::Contains(value) => {
            sql.push(" AND p.text_value LIKE ").bind(like_contains(value)).push(" ESCAPE '\\'");
        }
        PropertyTest::Exists | PropertyTest::NotExists => {}
        PropertyTest::Greater(n) => {
            sql.push(" AND p.value_type = 'number' AND p.number_value > ").bind(*n);
        }
        PropertyTest::Less(n) => {
            sql.push(" AND p.value_type = 'number' AND p.number_value < ").bind(*n);
        }
        PropertyTest::Before(t) => {
            sql.push(" AND p.value_type = 'date_time' AND p.number_value < ").bind(to_ms(*t) as f64);
        }
        PropertyTest::After(t) => {
            sql.push(" AND p.value_type = 'date_time' AND p.number_value > ").bind(to_ms(*t) as f64);
        }
    }
}

/// `%text%` for LIKE, matching `text` literally (its `%`, `_` and `\` escaped) and case-folded.
fn like_contains(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in fold(text).chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use leadcard_core::Filter;

    use super::*;

    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(like_contains("50%_Off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn operator_text_only_ever_becomes_a_parameter() {
        let filter = Filter::from_query(
            r#"{"all":[{"kind":"property","name":"x'; DROP TABLE leads; --","op":"equals","value":"a' OR 1=1"},
                       {"kind":"tag","tag":"vip'"},{"kind":"presence","presence":"online"}]}"#,
        )
        .unwrap()
        .check()
        .unwrap();
        let mut sql = Sql::new(Backend::Postgres, "SELECT 1 FROM leads l WHERE 1 = 1");
        push_lead_conditions(&mut sql, &filter, Some("o'hara"), Utc::now());
        assert!(!sql.text().contains("DROP"));
        assert!(!sql.text().contains("hara"));
        assert!(!sql.text().contains("vip"));
        assert_eq!(sql.values.len(), 4 + 1 + 2 + 1 + 2);
    }
}
