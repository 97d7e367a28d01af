//! SQL text with its bound values, and the Leads Database filter compiled into it. Nothing the
//! operator types ever becomes SQL text: every value is a `$n` parameter.

use chrono::{DateTime, Utc};
use leadcard_core::filter::{fold, parse_number};
use leadcard_core::property::format_number;
use leadcard_core::{EventCount, Match, Presence, PropertyTest, SubscriptionStatus, ValidCondition, ValidFilter};
use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, AssertSqlSafe, FromRow};

use crate::clock::to_ms;

use super::Backend;

/// A value bound to a `$n` placeholder: the types both databases read through Any. NULLs are
/// typed, as PostgreSQL wants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Float(f64),
    Bool(bool),
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
    backend: Backend,
}

impl Sql {
    pub fn new(backend: Backend, text: &str) -> Self {
        Sql { text: text.to_owned(), values: Vec::new(), anonymous: backend == Backend::Sqlite, backend }
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
                Value::Bool(b) => query.bind(b),
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
                Value::Bool(b) => query.bind(b),
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
                Value::Bool(b) => query.bind(b),
                Value::NullableFloat(n) => query.bind(n.unwrap_or(f64::NAN)),
            };
        }
        query
    }
}

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
    /// The query reads this condition's own rows as its source `l` (see [`push_driver_source`]):
    /// every lead it yields already passes, nothing is left to test.
    Driven,
    /// A probe that PostgreSQL cannot turn into a join (fenced, as in an OR): for a few given
    /// leads, where its semi-join by its statistics read every lead of a common condition (75,000
    /// leads of one country to test 100 sampled ones: 15-115 ms, against 1-2 ms probed).
    Lookup,
}

/// Whether a page can walk this condition's rows newest first as its source (`w`, see
/// [`push_walk_source`]): a range on a number or date property, whose matches are many (else it
/// is a set) and may all be old (a sign-up before a date), so probing lead by lead newest first
/// would read every newer lead before the first match.
pub(crate) fn walks(condition: &ValidCondition) -> bool {
    matches!(
        condition,
        ValidCondition::Property {
            test: PropertyTest::Greater(_)
                | PropertyTest::Less(_)
                | PropertyTest::Before(_)
                | PropertyTest::After(_)
                | PropertyTest::WithinLastDays(_),
            ..
        }
    )
}

/// The page's source when it walks a range condition (see [`walks`]): the condition's property
/// rows by lead id, newest first, through `lead_properties_walk` (migration 0015), each joined to
/// its lead `l`. The page then orders and pages by `w.id`; the condition's own leaf is
/// [`Join::Driven`].
/// The walk starts below `below` (a lead id, exclusive; see [`walk_start_block`]).
pub(crate) fn push_walk_source(sql: &mut Sql, condition: &ValidCondition, below: Option<i64>, now: DateTime<Utc>) {
    // SQLite would rather read the range through `lead_properties_number` and sort every match
    // (1.2 s for a tenth of 300,000 leads); the walk stops with the page.
    sql.push(match sql.backend {
        Backend::Sqlite => "(SELECT p.lead_id AS id FROM lead_properties p INDEXED BY lead_properties_walk WHERE ",
        Backend::Postgres => "(SELECT p.lead_id AS id FROM lead_properties p WHERE ",
    });
    sql.push("p.number_value IS NOT NULL AND ");
    push_related_where(sql, condition, now);
    if let Some(below) = below {
        sql.push(" AND p.lead_id < ").bind(below);
    }
    sql.push(" ORDER BY p.lead_id DESC) w ");
    // SQLite keeps the written order of a CROSS JOIN: the walk outside, the lead looked up inside.
    sql.push(match sql.backend {
        Backend::Sqlite => "CROSS JOIN leads l ON l.id = w.id",
        Backend::Postgres => "JOIN leads l ON l.id = w.id",
    });
}

/// Lead ids per block of `lead_properties_blocks` (migration 0019), whose expression
/// `lead_id / 16384` the query below writes word for word (an index on an expression serves only
/// that expression; a unit test holds the two equal).
pub(crate) const WALK_BLOCK: i64 = 16_384;

/// `SELECT MIN(k) ...`: the newest block of lead ids, from block `top` down, that holds a number
/// row of a walked range condition's property (see [`walks`]) passing its test, else 0: one seek
/// of `lead_properties_blocks` per block (a block with no match is passed over at the cost of
/// one seek, where the walk would read each of its entries). The walk starts at the top of that
/// block: every newer lead fails the condition. Its number alone decides (the index holds no
/// value type), so a block with a number row of another type is walked from too: later, never
/// wrong. `None` for other conditions.
pub(crate) fn walk_start_block(
    backend: Backend,
    condition: &ValidCondition,
    top: Option<i64>,
    now: DateTime<Utc>,
) -> Option<Sql> {
    let ValidCondition::Property { name, test } = condition else { return None };
    if !walks(condition) {
        return None;
    }
    let mut sql = Sql::new(backend, "WITH RECURSIVE b(k) AS (SELECT ");
    match top {
        Some(top) => sql.bind(top),
        None => sql.push(&format!("COALESCE((SELECT MAX(id) FROM leads), 0) / {WALK_BLOCK}")),
    };
    sql.push(" UNION ALL SELECT b.k - 1 FROM b WHERE b.k > 0 AND NOT EXISTS (SELECT 1 FROM lead_properties p ");
    if backend == Backend::Sqlite {
        // SQLite reads a range closed on both sides (within the last days) through
        // `lead_properties_number` otherwise: every match of the range for each block.
        sql.push("INDEXED BY lead_properties_blocks ");
    }
    sql.push("WHERE p.name = ").bind(name.as_str());
    sql.push(&format!(" AND p.lead_id / {WALK_BLOCK} = b.k AND p.number_value IS NOT NULL"));
    push_property_test(&mut sql, test, now, false);
    sql.push(")) SELECT MIN(k) FROM b");
    Some(sql)
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
        // A list's items are rows of their own (migration 0016), read like an equals.
        ValidCondition::Property { test: PropertyTest::ListContains(_), .. } => {
            Some(Related { table: "lead_list_items p", key: "p.lead_id", outer: "l.id", negated: false })
        }
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
        ValidCondition::Event(test) => Some(Related {
            table: "events e",
            key: "e.lead_id",
            outer: "l.id",
            negated: matches!(test.count, EventCount::AtMost(_) | EventCount::NotPerformed),
        }),
        // Online and sleeping leads are the few with a recent heartbeat: a set read through
        // `leads_heartbeat` (else a page with no such lead read every lead to find none: 176 ms
        // at 1M). Offline is nearly everyone: a test of the lead's own row.
        ValidCondition::Presence(Presence::Online | Presence::Sleeping) => {
            Some(Related { table: "leads h", key: "h.id", outer: "l.id", negated: false })
        }
        ValidCondition::Presence(Presence::Offline) | ValidCondition::Group { .. } | ValidCondition::Segment { .. } => {
            None
        }
    }
}

/// Whether a condition read as a set (`l.id IN (...)`) can drive a query: the database walks its
/// lead ids and looks each lead up by primary key. Negated conditions (`NOT IN`) cannot, nor can
/// conditions on other columns than the id. Events rank after the rest on equal size (their set
/// is grouped by lead).
pub(crate) fn driver_rank(condition: &ValidCondition) -> Option<u8> {
    let related = related(condition)?;
    if related.negated || related.outer != "l.id" {
        return None;
    }
    Some(if matches!(condition, ValidCondition::Event(_)) { 1 } else { 0 })
}

/// The predicate of the partial index `events_custom` (migration 0008), word for word: the events
/// that are not automatic (`$page_view`, `$session_start`, ...).
const CUSTOM_EVENTS: &str = "substr(e.name, 1, 1) <> '$'";

/// Whether a condition reads columns of the lead's own row (not only its id), so that a query
/// must read `leads` itself rather than a driver's ids (see [`push_driver_source`]).
pub(crate) fn reads_lead_row(condition: &ValidCondition) -> bool {
    match condition {
        ValidCondition::Group { conditions, .. } | ValidCondition::Segment { conditions, .. } => {
            conditions.iter().any(reads_lead_row)
        }
        ValidCondition::Presence(Presence::Offline) => true,
        _ => related(condition).is_some_and(|r| r.outer != "l.id"),
    }
}

/// `SELECT ... AS id`: the ids of the leads a driving condition (see [`driver_rank`]) holds for,
/// each once, read from the condition's own index. A query that reads it as `l` in place of
/// `leads l` walks that index instead of probing it once per lead: the exact count of a segment
/// over 1M leads, driven by `$country` = Germany (115,000 leads), from 0.30 s to 0.21 s in SQLite.
/// Only for conditions where [`driver_rank`] is `Some`.
pub(crate) fn push_driver_source(sql: &mut Sql, condition: &ValidCondition, now: DateTime<Utc>) {
    match condition {
        ValidCondition::Event(test) => {
            // Events repeat per lead: grouped, which also counts them when more than one is needed.
            sql.push("SELECT e.lead_id AS id FROM events e WHERE ");
            push_related_where(sql, condition, now);
            sql.push(" GROUP BY e.lead_id");
            if let EventCount::AtLeast(n) = test.count
                && n > 1
            {
                sql.push(" HAVING COUNT(*) >= ").bind(n);
            }
        }
        _ => {
            // A property and a tag are one row per lead at most (their primary keys).
            let Some(related) = related(condition) else { return };
            sql.push("SELECT ").push(related.key).push(" AS id FROM ").push(related.table).push(" WHERE ");
            push_related_where(sql, condition, now);
        }
    }
}

/// ` CROSS JOIN LATERAL (...) n<i>` when `condition` is "performed X at least n times" with
/// n > 1, which holds for a lead of `l` when its n-th such event exists; `false` (nothing
/// written) for any other condition. PostgreSQL only. It cannot turn the `EXISTS (... LIMIT 1
/// OFFSET n-1)` probe into a join, so it tests that probe on every row of the driving scan, before
/// the other conditions' joins narrow it; as a lateral join the probe runs after them: a segment
/// count at 1M leads from 172 ms to 91 ms (115,000 probes to 29,000).
pub(crate) fn push_lateral_event(sql: &mut Sql, condition: &ValidCondition, i: usize, now: DateTime<Utc>) -> bool {
    let ValidCondition::Event(test) = condition else { return false };
    let EventCount::AtLeast(n) = test.count else { return false };
    if n < 2 {
        return false;
    }
    sql.push(" CROSS JOIN LATERAL (SELECT 1 FROM events e WHERE e.lead_id = l.id AND ");
    push_related_where(sql, condition, now);
    sql.push(" LIMIT 1 OFFSET ").bind(n - 1).push(") n").push(&i.to_string());
    true
}

/// The WHERE of a condition's rows in its table, without the link to the lead.
fn push_related_where(sql: &mut Sql, condition: &ValidCondition, now: DateTime<Utc>) {
    match condition {
        ValidCondition::Property { name, test } => {
            sql.push("p.name = ").bind(name.as_str());
            push_property_test(sql, test, now, true);
        }
        ValidCondition::Event(test) => {
            sql.push("e.name = ").bind(test.name.as_str());
            if !test.name.as_str().starts_with('$') {
                // Lets the databases read the smaller partial index `events_custom` (migration 0008).
                sql.push(" AND ").push(CUSTOM_EVENTS);
            }
            if let Some(start) = test.window_start_ms(now) {
                sql.push(" AND e.occurred_at >= ").bind(start);
            }
        }
        ValidCondition::Tag { tag, .. } => {
            sql.push("t.tag = ").bind(tag.as_str());
        }
        ValidCondition::Subscription(status) => {
            sql.push("s.status = ").bind(status.as_str());
        }
        ValidCondition::Presence(presence) => push_presence(sql, "h", *presence, now),
        ValidCondition::Group { .. } | ValidCondition::Segment { .. } => {}
    }
}

/// Whether the lead `alias` has `presence` at `now` (core's `Presence::at`, from its columns).
fn push_presence(sql: &mut Sql, alias: &str, presence: Presence, now: DateTime<Utc>) {
    let cutoff = to_ms(Presence::cutoff(now));
    let beat = format!("{alias}.last_heartbeat_at");
    let active = format!("{alias}.last_active_at");
    match presence {
        Presence::Online => {
            sql.push(&format!("({beat} IS NOT NULL AND {beat} > ")).bind(cutoff);
            sql.push(&format!(" AND {active} > ")).bind(cutoff).push(")");
        }
        Presence::Sleeping => {
            sql.push(&format!("({beat} IS NOT NULL AND {beat} > ")).bind(cutoff);
            sql.push(&format!(" AND ({active} IS NULL OR {active} <= ")).bind(cutoff).push("))");
        }
        Presence::Offline => {
            sql.push(&format!("({beat} IS NULL OR {beat} <= ")).bind(cutoff).push(")");
        }
    }
}

/// `SELECT COUNT(*)` of a condition's rows in its table, counting no further than `cap`; `None`
/// for conditions on the lead's own columns.
pub(crate) fn related_rows_count(
    backend: Backend,
    condition: &ValidCondition,
    cap: i64,
    now: DateTime<Utc>,
) -> Option<Sql> {
    let related = related(condition)?;
    let mut sql = Sql::new(backend, "SELECT COUNT(*) FROM (SELECT 1 FROM ");
    sql.push(related.table).push(" WHERE ");
    match condition {
        // PostgreSQL takes a range of one property for a few thousand rows (its statistics mix
        // every property's numbers) and reads `lead_properties_walk` in lead order until the cap
        // instead: 130 ms for the newest fifth of a million sign-ups. Without the value type the
        // range is an index-only scan of `lead_properties_number` (2-10 ms). A size only plans
        // the page: a row of the same name and another type counted in it changes no answer.
        ValidCondition::Property { name, test } if backend == Backend::Postgres && walks(condition) => {
            sql.push("p.number_value IS NOT NULL AND p.name = ").bind(name.as_str());
            push_property_test(&mut sql, test, now, false);
        }
        _ => push_related_where(&mut sql, condition, now),
    }
    sql.push(" LIMIT ").bind(cap).push(") n");
    Some(sql)
}

/// For a `contains` condition (which no index answers: sizing it reads the property's rows in
/// text order until enough match, 500,000 of them at 1M leads before the first "firefox"):
/// how many of the newest `sample` leads match it, probed by key newest first as a page's
/// probes would read them. `None` for other conditions.
pub(crate) fn newest_matches_count(
    backend: Backend,
    condition: &ValidCondition,
    sample: i64,
    now: DateTime<Utc>,
) -> Option<Sql> {
    let ValidCondition::Property { test: PropertyTest::Contains(_), .. } = condition else { return None };
    let mut sql = Sql::new(backend, "SELECT COUNT(*) FROM (SELECT id FROM leads ORDER BY id DESC LIMIT ");
    sql.bind(sample).push(") l WHERE ");
    push_leaf(&mut sql, condition, Join::Probe, false, now);
    Some(sql)
}

/// Appends ` AND <conditions>` for the filter, over `leads l`; `joins[i]` says how the filter's
/// leaf `i` (in [`ValidFilter::leaves`] order) meets the lead (see [`Join`]). A search adds its own
/// condition before (`SearchTerms::push`).
pub(crate) fn push_lead_conditions(sql: &mut Sql, filter: &ValidFilter, joins: &[Join], now: DateTime<Utc>) {
    if !filter.all.is_empty() {
        sql.push(" AND ");
        push_list(sql, filter.mode, &filter.all, &mut joins.iter().copied(), now);
    }
}

/// `(c1 AND c2 ...)` or `(c1 OR c2 ...)`; no condition restricts nothing.
fn push_list(
    sql: &mut Sql,
    mode: Match,
    conditions: &[ValidCondition],
    joins: &mut impl Iterator<Item = Join>,
    now: DateTime<Utc>,
) {
    if conditions.is_empty() {
        sql.push("1 = 1");
        return;
    }
    // Each condition with the joins of its leaves (taken in leaf order, as they were planned).
    let mut items: Vec<(&ValidCondition, Vec<Join>)> =
        conditions.iter().map(|condition| (condition, joins.by_ref().take(condition.leaf_count()).collect())).collect();
    if mode == Match::All {
        // SQLite tests AND terms as written: the sets first (they drive), then the cheap probes
        // (an event probe reads a narrow index; a property probe a wide table), groups last.
        items.sort_by_key(|(condition, joins)| match (condition, joins.first()) {
            (ValidCondition::Group { .. } | ValidCondition::Segment { .. }, _) => 3,
            (_, Some(Join::Set | Join::Driven) | None) => 0,
            (ValidCondition::Event(_), _) => 1,
            _ => 2,
        });
    }
    sql.push("(");
    for (i, (condition, joins)) in items.into_iter().enumerate() {
        if i > 0 {
            sql.push(if mode == Match::All { " AND " } else { " OR " });
        }
        let mut joins = joins.into_iter();
        match condition {
            ValidCondition::Group { mode, conditions } => push_list(sql, *mode, conditions, &mut joins, now),
            ValidCondition::Segment { inside, mode, conditions, .. } => {
                // "Not in": true wherever the segment's conditions are not, including where SQL
                // finds them unknown (NULL: a lead without an address, or a heartbeat).
                if !inside {
                    sql.push("(");
                }
                push_list(sql, *mode, conditions, &mut joins, now);
                if !inside {
                    sql.push(" IS NOT TRUE)");
                }
            }
            leaf => push_leaf(sql, leaf, joins.next().unwrap_or(Join::Set), mode == Match::Any, now),
        }
    }
    sql.push(")");
}

/// `in_any`: the leaf is one of an OR's terms (see the fence below).
fn push_leaf(sql: &mut Sql, condition: &ValidCondition, join: Join, in_any: bool, now: DateTime<Utc>) {
    if join == Join::Driven {
        sql.push("1 = 1");
        return;
    }
    if let ValidCondition::Event(test) = condition
        && let Some((op, n)) = match test.count {
            EventCount::AtLeast(n) if n > 1 => Some((">=", n)),
            EventCount::AtMost(n) if n > 0 => Some(("<=", n)),
            _ => None,
        }
    {
        // Counting beyond one: the leads whose count passes (a set grouped by lead), or the
        // count of each lead (a probe). At-most is the complement of "more than n".
        match join {
            Join::Set => {
                let (not, having) = if op == ">=" { ("", ">= ") } else { ("NOT ", "> ") };
                sql.push("l.id ").push(not).push("IN (SELECT e.lead_id FROM events e WHERE ");
                push_related_where(sql, condition, now);
                sql.push(" GROUP BY e.lead_id HAVING COUNT(*) ").push(having).bind(n).push(")");
            }
            Join::Probe | Join::Driven | Join::Lookup => {
                // Whether an n-th (at least) or an (n+1)-th (at most: none) event exists, which
                // stops reading at that row instead of counting them all.
                let (not, skip) = if op == ">=" { ("", n - 1) } else { ("NOT ", n) };
                sql.push(not).push("EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id AND ");
                push_related_where(sql, condition, now);
                sql.push(" LIMIT 1 OFFSET ").bind(skip).push(")");
            }
        }
        return;
    }
    if let ValidCondition::Presence(presence) = condition
        && (join != Join::Set || *presence == Presence::Offline)
    {
        // Probed, or offline (never a set): the lead's own columns (no second read of its row).
        push_presence(sql, "l", *presence, now);
        return;
    }
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
            Join::Probe | Join::Driven | Join::Lookup => {
                sql.push(not).push("EXISTS (SELECT 1 FROM ").push(related.table).push(" WHERE ");
                sql.push(related.key).push(" = ").push(related.outer).push(" AND ");
            }
        }
        push_related_where(sql, condition, now);
        if (in_any || join == Join::Lookup) && join != Join::Set && sql.backend == Backend::Postgres {
            // A fence: in an OR, PostgreSQL would otherwise run a probe as a hashed set of all its
            // rows, reading the 250,000 leads with `plan` = enterprise before the first lead of the
            // page (an OR group 722 -> 1.9 ms at 1M leads). In an AND it plans a semi-join by its
            // statistics, which measured better than the probe (country and plan: 1.6 / 9.8 ms).
            sql.push(" OFFSET 0");
        }
        sql.push("))");
    }
}

/// The rest of the `lead_properties p` subquery's WHERE for one test (negation is outside).
/// ` AND <the property row p passes test>`; `typed`: whether a range reads only rows of its own
/// value type (a number or a date-time), as every answer must (see [`related_rows_count`]).
fn push_property_test(sql: &mut Sql, test: &PropertyTest, now: DateTime<Utc>, typed: bool) {
    let range = |sql: &mut Sql, value_type: &str| {
        if typed {
            sql.push(&format!(" AND p.value_type = '{value_type}'"));
        }
    };
    match test {
        PropertyTest::Equals(value) | PropertyTest::NotEquals(value) => {
            // Core's `equals`: the text form, or for a number row the number. A number row's text
            // form is `format_number` of it, one text per number, so both are keys of
            // `(name, text_value)`: one index read. (`number_value = ?` beside it in an OR made
            // SQLite read every row of the property: 327 ms at 100,000 leads.)
            let text = fold(value);
            match parse_number(value).map(format_number).filter(|number| *number != text) {
                None => {
                    sql.push(" AND p.text_value = ").bind(text);
                }
                Some(number) => {
                    sql.push(" AND p.text_value IN (").bind(text.clone()).push(", ").bind(number);
                    sql.push(") AND (p.text_value = ").bind(text).push(" OR p.value_type = 'number')");
                }
            }
        }
        PropertyTest::Contains(value) => {
            sql.push(" AND p.text_value LIKE ").bind(like_contains(value)).push(" ESCAPE '\\'");
        }
        PropertyTest::Exists | PropertyTest::NotExists => {}
        PropertyTest::Greater(n) => {
            range(sql, "number");
            sql.push(" AND p.number_value > ").bind(*n);
        }
        PropertyTest::Less(n) => {
            range(sql, "number");
            sql.push(" AND p.number_value < ").bind(*n);
        }
        PropertyTest::Before(t) => {
            range(sql, "date_time");
            sql.push(" AND p.number_value < ").bind(to_ms(*t) as f64);
        }
        PropertyTest::After(t) => {
            range(sql, "date_time");
            sql.push(" AND p.number_value > ").bind(to_ms(*t) as f64);
        }
        PropertyTest::WithinLastDays(days) => {
            let start = leadcard_core::filter::window_start_ms(now, *days);
            range(sql, "date_time");
            sql.push(" AND p.number_value >= ").bind(start as f64);
            sql.push(" AND p.number_value <= ").bind(to_ms(now) as f64);
        }
        // `p` is `lead_list_items` here (see [`related`]).
        PropertyTest::ListContains(item) => {
            sql.push(" AND p.item = ").bind(item.as_str());
        }
    }
}

/// `%text%` for LIKE, matching `text` literally (its `%`, `_` and `\` escaped) and case-folded.
fn like_contains(text: &str) -> String {
    like_literal(&fold(text))
}

/// `%text%` for LIKE ... ESCAPE '\', matching `text` as it is (its `%`, `_` and `\` escaped).
pub(crate) fn like_literal(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
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
    use crate::store::search::SearchTerms;

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
        SearchTerms::parse("o'hara").unwrap().plain(Backend::Postgres).push(&mut sql);
        push_lead_conditions(&mut sql, &filter, &[Join::Set, Join::Probe], Utc::now());
        assert!(!sql.text().contains("DROP"));
        assert!(!sql.text().contains("hara"));
        assert!(!sql.text().contains("vip"));
        assert_eq!(sql.values.len(), 1 + 2 + 1 + 2);
    }

    fn leaves(json: &str) -> ValidFilter {
        Filter::from_query(json).unwrap().check().unwrap()
    }

    #[test]
    fn a_driver_yields_each_lead_once() {
        let filter = leaves(
            r#"{"all":[{"kind":"event","event":"Added to cart","op":"at_least","count":2,"days":7},
                       {"kind":"event","event":"Purchase","op":"at_least","count":1},
                       {"kind":"property","name":"plan","op":"equals","value":"pro"}]}"#,
        );
        let sources: Vec<String> = filter
            .leaves()
            .into_iter()
            .map(|leaf| {
                let mut sql = Sql::new(Backend::Sqlite, "");
                push_driver_source(&mut sql, leaf, Utc::now());
                sql.text().to_owned()
            })
            .collect();
        assert!(sources[0].ends_with("GROUP BY e.lead_id HAVING COUNT(*) >= ?"), "{}", sources[0]);
        assert!(sources[1].ends_with("GROUP BY e.lead_id"), "events repeat per lead: {}", sources[1]);
        assert!(sources[2].starts_with("SELECT p.lead_id AS id FROM lead_properties p WHERE p.name = ?"));
    }

    #[test]
    fn conditions_on_the_lead_row_keep_the_leads_table() {
        let filter = leaves(
            r#"{"all":[{"kind":"presence","presence":"online"},{"kind":"subscription","status":"subscribed"},
                       {"kind":"tag","tag":"vip"},
                       {"kind":"group","match":"any","conditions":[{"kind":"tag","tag":"a"},{"kind":"presence","presence":"offline"}]}]}"#,
        );
        let read: Vec<bool> = filter.all.iter().map(reads_lead_row).collect();
        // Online is a set of ids (the few with a recent heartbeat); offline a test of the row.
        assert_eq!(read, [false, true, false, true]);
    }

    #[test]
    fn online_and_sleeping_are_sets_read_by_heartbeat_and_offline_is_probed() {
        let filter = leaves(
            r#"{"all":[{"kind":"presence","presence":"online"},{"kind":"presence","presence":"sleeping"},
                       {"kind":"presence","presence":"offline"}]}"#,
        );
        let ranks: Vec<Option<u8>> = filter.leaves().into_iter().map(driver_rank).collect();
        assert_eq!(ranks, [Some(0), Some(0), None]);
        let mut sql = Sql::new(Backend::Sqlite, "");
        push_lead_conditions(&mut sql, &filter, &[Join::Set, Join::Probe, Join::Probe], Utc::now());
        let text = sql.text();
        assert!(
            text.contains("l.id IN (SELECT h.id FROM leads h WHERE (h.last_heartbeat_at IS NOT NULL AND"),
            "{text}"
        );
        assert!(
            text.contains("(l.last_heartbeat_at IS NOT NULL AND l.last_heartbeat_at > ?"),
            "sleeping probed: {text}"
        );
        assert!(text.contains("(l.last_heartbeat_at IS NULL OR l.last_heartbeat_at <= ?)"), "{text}");
    }

    #[test]
    fn a_probe_stays_a_probe_on_postgresql() {
        // An OR of two probes, as a group "has tag vip or plan is enterprise" reads them.
        let filter = leaves(
            r#"{"all":[{"kind":"group","match":"any","conditions":[{"kind":"tag","tag":"vip"},
                       {"kind":"property","name":"plan","op":"equals","value":"enterprise"}]},
                       {"kind":"tag","tag":"rare"},{"kind":"tag","tag":"common"}]}"#,
        );
        let joins = [Join::Probe, Join::Probe, Join::Set, Join::Probe];
        let text = |backend| {
            let mut sql = Sql::new(backend, "");
            push_lead_conditions(&mut sql, &filter, &joins, Utc::now());
            sql.text().to_owned()
        };
        let postgres = text(Backend::Postgres);
        // Each probe of the OR fenced (PostgreSQL would hash every row of its set), the set left
        // as it is; a probe in an AND is left to PostgreSQL's semi-join.
        assert_eq!(postgres.matches("EXISTS (").count(), 3, "{postgres}");
        assert_eq!(postgres.matches(" OFFSET 0))").count(), 2, "{postgres}");
        assert!(postgres.contains("l.id IN (SELECT t.lead_id FROM lead_tags t WHERE t.tag = $"), "{postgres}");
        assert!(!text(Backend::Sqlite).contains("OFFSET"));
    }

    #[test]
    fn a_walk_starts_at_the_newest_block_with_a_match_through_its_own_index() {
        // The index is used only for the expression it was made with: the migrations and the
        // queries write the same block size.
        for migration in [
            include_str!("../../migrations/sqlite/0019_property_blocks.sql"),
            include_str!("../../migrations/postgres/0019_property_blocks.sql"),
        ] {
            assert!(migration.contains(&format!("(lead_id / {WALK_BLOCK})")), "{migration}");
        }
        let now = Utc::now();
        let filter = leaves(r#"{"all":[{"kind":"property","name":"Signed up","op":"before","value":"2026-01-01"}]}"#);
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let sql = walk_start_block(backend, &filter.all[0], Some(7), now).unwrap();
            assert!(sql.text().contains(&format!("p.lead_id / {WALK_BLOCK} = b.k")), "{}", sql.text());
            assert!(sql.text().contains("p.number_value <"), "{}", sql.text());
            let indexed = sql.text().contains("INDEXED BY lead_properties_blocks");
            assert_eq!(indexed, backend == Backend::Sqlite, "{}", sql.text());
            let mut page = Sql::new(backend, "");
            push_walk_source(&mut page, &filter.all[0], Some(3 * WALK_BLOCK), now);
            assert!(page.text().contains("AND p.lead_id < "), "{}", page.text());
        }
        let tag = leaves(r#"{"all":[{"kind":"tag","tag":"vip"}]}"#);
        assert!(walk_start_block(Backend::Sqlite, &tag.all[0], None, now).is_none());
    }

    #[test]
    fn postgresql_sizes_a_range_by_its_numbers_alone_and_answers_by_its_type() {
        let filter =
            leaves(r#"{"all":[{"kind":"property","name":"Signed up","op":"after","value":"2026-01-01T00:00:00Z"}]}"#);
        let size = |backend| related_rows_count(backend, &filter.all[0], 5_000, Utc::now()).unwrap().text().to_owned();
        assert_eq!(
            size(Backend::Postgres),
            "SELECT COUNT(*) FROM (SELECT 1 FROM lead_properties p WHERE p.number_value IS NOT NULL AND \
             p.name = $1 AND p.number_value > $2 LIMIT $3) n"
        );
        let sqlite = size(Backend::Sqlite);
        assert!(sqlite.contains("p.value_type = 'date_time' AND p.number_value > "), "{sqlite}");
        let mut page = Sql::new(Backend::Postgres, "");
        push_lead_conditions(&mut page, &filter, &[Join::Probe], Utc::now());
        assert!(page.text().contains("p.value_type = 'date_time' AND p.number_value > $"), "{}", page.text());
    }
}
