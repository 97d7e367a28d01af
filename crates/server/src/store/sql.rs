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

/// How a condition on another table meets `leads l`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Join {
    /// `l.id [NOT] IN (subquery)`: the subquery's rows are read once, from an index. Cheap when
    /// they are few.
    Set,
    /// `[NOT] EXISTS (correlated subquery)`: one index probe per lead, newest first. Cheap when the
    /// rows are many, because a page (or the capped count) fills after few leads; SQLite runs it
    /// as written, while PostgreSQL plans both forms alike.
    Probe,
}

/// A condition's rows in another table, keyed to a column of `leads l`.
struct Related {
    table: &'static str,
    key: &'static str,
    outer: &'static str,
    negated: bool,
}

fn related(condition: &ValidCondition) -> Option<Related> {
    match condition {
        ValidCondition::Property { test, .. } => Some(Related {
            table: "lead_properties p",
            key: "p.lead_id",
            outer: "l.id",
            negated: matches!(test, PropertyTest::NotEquals(_) | PropertyTest::NotExists),
        }),
        ValidCondition::Tag { has, .. } => {
            Some(Related { table: "lead_tags t", key: "t.lead_id", outer: "l.id", negated: !has })
        }
        ValidCondition::Subscription(_) => {
            Some(Related { table: "email_statuses s", key: "s.email_norm", outer: "l.email_norm", negated: false })
        }
        ValidCondition::Presence(_) => None,
    }
}

/// The WHERE of a condition's rows in its table, without the link to the lead.
fn push_related_where(sql: &mut Sql, condition: &ValidCondition) {
    match condition {
        ValidCondition::Property { name, test } => {
            sql.push("p.name = ").bind(name.as_str());
            push_property_test(sql, test);
        }
        ValidCondition::Tag { tag, .. } => {
            sql.push("t.tag = ").bind(tag.as_str());
        }
        ValidCondition::Subscription(status) => {
            sql.push("s.status = ").bind(status.as_str());
        }
        ValidCondition::Presence(_) => {}
    }
}

/// `SELECT COUNT(*)` of a condition's rows in its table, counting no further than `cap`; `None`
/// for conditions on the lead's own columns.
pub(crate) fn related_rows_count(backend: Backend, condition: &ValidCondition, cap: i64) -> Option<Sql> {
    let related = related(condition)?;
    let mut sql = Sql::new(backend, "SELECT COUNT(*) FROM (SELECT 1 FROM ");
    sql.push(related.table).push(" WHERE ");
    push_related_where(&mut sql, condition);
    sql.push(" LIMIT ").bind(cap).push(") n");
    Some(sql)
}

/// Appends ` AND <condition>` for the search text and every filter condition, over `leads l`;
/// `joins[i]` says how condition `i` meets the lead (see [`Join`]).
pub(crate) fn push_lead_conditions(
    sql: &mut Sql,
    filter: &ValidFilter,
    joins: &[Join],
    search: Option<&str>,
    now: DateTime<Utc>,
) {
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        sql.push(" AND l.id IN (SELECT p.lead_id FROM lead_properties p WHERE p.name IN ")
            .bind_list(SEARCHED_PROPERTIES)
            .push(" AND p.text_value LIKE ")
            .bind(like_contains(search))
            .push(" ESCAPE '\\')");
    }
    for (i, condition) in filter.all.iter().enumerate() {
        sql.push(" AND ");
        push_condition(sql, condition, joins.get(i).copied().unwrap_or(Join::Set), now);
    }
}

fn push_condition(sql: &mut Sql, condition: &ValidCondition, join: Join, now: DateTime<Utc>) {
    if let Some(related) = related(condition) {
        // A lead without an address has no status row and counts as an invalid address.
        let no_address = *condition == ValidCondition::Subscription(SubscriptionStatus::InvalidEmail);
        sql.push(if no_address { "(l.email_norm IS NULL OR " } else { "(" });
        let not = if related.negated { "NOT " } else { "" };
        match join {
            Join::Set => {
                sql.push(related.outer).push(" ").push(not).push("IN (SELECT ").push(related.key);
                sql.push(" FROM ").push(related.table).push(" WHERE ");
            }
            Join::Probe => {
                sql.push(not).push("EXISTS (SELECT 1 FROM ").push(related.table).push(" WHERE ");
                sql.push(related.key).push(" = ").push(related.outer).push(" AND ");
            }
        }
        push_related_where(sql, condition);
        sql.push("))");
        return;
    }
    if let ValidCondition::Presence(presence) = condition {
        let cutoff = to_ms(Presence::cutoff(now));
        match presence {
            Presence::Online => {
                sql.push("(l.last_heartbeat_at > ").bind(cutoff).push(" AND l.last_active_at > ").bind(cutoff).push(")")
            }
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
        push_lead_conditions(&mut sql, &filter, &[Join::Set, Join::Probe], Some("o'hara"), Utc::now());
        assert!(!sql.text().contains("DROP"));
        assert!(!sql.text().contains("hara"));
        assert!(!sql.text().contains("vip"));
        assert_eq!(sql.values.len(), 4 + 1 + 2 + 1 + 2);
    }
}
