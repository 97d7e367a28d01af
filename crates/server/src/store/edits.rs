//! Changing a lead: property operations and tags, each change one transaction that takes the
//! lead's write lock first and moves its version on by one.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use leadcard_core::wire::LeadCard;
use leadcard_core::{Operation, PropertyValue, normalize_email};
use sqlx::{Any, AnyConnection, Transaction};

use super::addresses::ensure_email_statuses;
use super::batch::insert_rows;
use super::leads::{
    MIRRORED_TEXT_COLUMNS, PropertyRow, SEARCHED_PROPERTIES, mirrored_text, parse_stored_value, read_card, read_tags,
    refresh_search_text,
};
use super::sql::{Sql, Value};
use super::{Backend, Store, StoreError, StoreResult};
use crate::clock::to_ms;

/// Which versions of a lead a write may apply to (from `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionCheck {
    /// Whatever the lead holds now: commuting operations, or `If-Match: *`.
    Current,
    /// Only one of these versions; any other is a conflict.
    OneOf(Vec<i64>),
}

/// What became of a write.
#[derive(Debug, Clone, PartialEq)]
pub enum Written<T> {
    Done(T),
    /// No such lead, or its version is none of those the write was based on.
    NotApplied,
}

/// Moves the lead's version on by one as the transaction's first statement, so the transaction
/// holds the lead's write lock before it reads anything: PostgreSQL locks the row (a second
/// writer waits, then sees the new version), SQLite takes the database's write lock at once
/// (no two transactions read the same old value, and no read lock has to be upgraded). Returns
/// the new version, or None when there is no such lead or its version does not pass the check.
pub(super) async fn bump_version(
    tx: &mut AnyConnection,
    backend: Backend,
    id: i64,
    check: &VersionCheck,
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let mut sql = Sql::new(backend, "UPDATE leads SET version = version + 1, updated_at = ");
    sql.bind(to_ms(now)).push(" WHERE id = ").bind(id);
    match check {
        VersionCheck::Current => {}
        VersionCheck::OneOf(versions) if versions.is_empty() => return Ok(None),
        VersionCheck::OneOf(versions) => {
            sql.push(" AND version IN ").bind_list(versions.iter().copied());
        }
    }
    sql.push(" RETURNING version");
    Ok(sql.query_scalar::<i64>().fetch_optional(&mut *tx).await?)
}

/// The card after the transaction's changes, which it then commits.
async fn commit_with_card(mut tx: Transaction<'static, Any>, id: i64, now: DateTime<Utc>) -> StoreResult<LeadCard> {
    let card = read_card(&mut tx, id, now)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("lead {id} vanished while locked")))?;
    tx.commit().await?;
    Ok(card)
}

impl Store {
    /// Applies the operations in order to the lead's current values, all or nothing, keeping the
    /// `leads` columns that mirror system properties (and the new address's status) in step.
    /// An operation that does not fit the current value fails the whole write with
    /// [`StoreError::InvalidProperty`]. The card returned is the one just written.
    pub async fn patch_properties(
        &self,
        id: i64,
        operations: &[Operation],
        check: &VersionCheck,
        now: DateTime<Utc>,
    ) -> StoreResult<Written<LeadCard>> {
        let mut tx = self.begin().await?;
        if bump_version(&mut tx, self.backend, id, check, now).await?.is_none() {
            return Ok(Written::NotApplied);
        }

        let confirmations = self.apply_operations(&mut tx, id, operations, now).await?;
        let card = commit_with_card(tx, id, now).await?;
        if confirmations > 0 {
            self.mail_queued.notify_one();
        }
        Ok(Written::Done(card))
    }

    /// Applies the operations in order to the lead's current values inside `tx` (a transaction
    /// or a savepoint that already holds the lead's write lock), keeping the mirrored `leads`
    /// columns in step. The version is the caller's business; so is waking the mail worker when
    /// this returns more than 0 (confirmation mails queued for a new address).
    pub(super) async fn apply_operations(
        &self,
        tx: &mut AnyConnection,
        id: i64,
        operations: &[Operation],
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let mut names: Vec<&str> = Vec::new();
        for op in operations {
            if !names.contains(&op.name().as_str()) {
                names.push(op.name().as_str());
            }
        }
        let (before, guessed) = self.stored_values_and_guesses(tx, id, &names).await?;
        let mut after = before.clone();
        for op in operations {
            let name = op.name().as_str();
            let next = op
                .apply(after.get(name))
                .map_err(|source| StoreError::InvalidProperty { name: name.to_owned(), source })?;
            match next {
                Some(value) => after.insert(name.to_owned(), value),
                None => after.remove(name),
            };
        }

        let changed: Vec<&str> = names.iter().copied().filter(|name| before.get(*name) != after.get(*name)).collect();
        // A guess the site or an operator now sets (even to the value guessed) is theirs from
        // here on: written again, so its guess mark goes. Set-once leaves a present guess alone.
        let claimed = names.iter().copied().filter(|name| {
            !changed.contains(name)
                && guessed.contains(*name)
                && operations.iter().any(|op| op.name().as_str() == *name && !matches!(op, Operation::SetOnce { .. }))
        });
        let written: Vec<&str> = changed.iter().copied().chain(claimed).collect();
        let at = to_ms(now);
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for name in &written {
            match after.get(*name) {
                Some(value) => {
                    let row = PropertyRow::of(value)?;
                    upserts.push([
                        Value::from(id),
                        Value::from(*name),
                        Value::from(row.value_type),
                        Value::from(row.text_value),
                        Value::from(row.number_value),
                        Value::from(row.json_value),
                        Value::from(at),
                    ]);
                }
                None => deletes.push(*name),
            }
        }
        insert_rows(
            tx,
            self.backend,
            "INSERT INTO lead_properties \
             (lead_id, name, value_type, text_value, number_value, json_value, updated_at) VALUES ",
            " ON CONFLICT (lead_id, name) DO UPDATE SET value_type = excluded.value_type, \
             text_value = excluded.text_value, number_value = excluded.number_value, \
             json_value = excluded.json_value, updated_at = excluded.updated_at, guessed_by = NULL",
            upserts,
        )
        .await?;
        if !deletes.is_empty() {
            let mut sql = Sql::new(self.backend, "DELETE FROM lead_properties WHERE lead_id = ");
            sql.bind(id).push(" AND name IN ").bind_list(deletes.iter().copied());
            sql.query().execute(&mut *tx).await?;
        }
        self.sync_mirrored_columns(tx, id, &changed, &after, now).await
    }

    /// The stored values of these properties of a lead (absent ones are not in the map).
    pub(super) async fn stored_values(
        &self,
        tx: &mut AnyConnection,
        id: i64,
        names: &[&str],
    ) -> StoreResult<HashMap<String, PropertyValue>> {
        Ok(self.stored_values_and_guesses(tx, id, names).await?.0)
    }

    /// As [`Store::stored_values`], and which of them are location guesses.
    async fn stored_values_and_guesses(
        &self,
        tx: &mut AnyConnection,
        id: i64,
        names: &[&str],
    ) -> StoreResult<(HashMap<String, PropertyValue>, HashSet<String>)> {
        if names.is_empty() {
            return Ok((HashMap::new(), HashSet::new()));
        }
        let mut sql =
            Sql::new(self.backend, "SELECT name, json_value, guessed_by FROM lead_properties WHERE lead_id = ");
        sql.bind(id).push(" AND name IN ").bind_list(names.iter().copied());
        let rows: Vec<(String, String, Option<String>)> = sql.query_as().fetch_all(&mut *tx).await?;
        let mut values = HashMap::with_capacity(rows.len());
        let mut guessed = HashSet::new();
        for (name, json, guessed_by) in rows {
            let value = parse_stored_value(&json, &name, id)?;
            if guessed_by.is_some() {
                guessed.insert(name.clone());
            }
            values.insert(name, value);
        }
        Ok((values, guessed))
    }

    /// Copies changed system properties into their `leads` columns; a new address gets its first
    /// subscription status, so the card shows the status of the address it now has (with Double
    /// Opt-In on, a confirmation mail is queued for it). Returns how many mails it queued.
    pub(super) async fn sync_mirrored_columns(
        &self,
        tx: &mut AnyConnection,
        id: i64,
        changed: &[&str],
        values: &HashMap<String, PropertyValue>,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let mut sql = Sql::new(self.backend, "UPDATE leads SET ");
        let mut columns = 0;
        let mut set = |sql: &mut Sql, column: &str, value: Value| {
            if columns > 0 {
                sql.push(", ");
            }
            columns += 1;
            sql.push(column).push(" = ").bind(value);
        };
        let mut new_email = None;
        for (property, column) in MIRRORED_TEXT_COLUMNS {
            if !changed.contains(&property) {
                continue;
            }
            let text = values.get(property).and_then(mirrored_text);
            if property == "$email" {
                set(&mut sql, "email_norm", Value::from(text.as_deref().map(normalize_email)));
                new_email.clone_from(&text);
            }
            set(&mut sql, column, Value::from(text));
        }
        if changed.contains(&"$last_seen") {
            let last_seen = match values.get("$last_seen") {
                Some(PropertyValue::DateTime(t)) => Some(to_ms(*t)),
                _ => None,
            };
            set(&mut sql, "last_seen_at", Value::from(last_seen));
        }
        if columns == 0 {
            return Ok(0);
        }
        sql.push(" WHERE id = ").bind(id);
        sql.query().execute(&mut *tx).await?;
        if SEARCHED_PROPERTIES.iter().any(|p| changed.contains(p)) {
            refresh_search_text(tx, id).await?;
        }
        match new_email {
            Some(email) => ensure_email_statuses(tx, self.backend, vec![(email, id, now)]).await,
            None => Ok(0),
        }
    }

    /// Adds a tag to a lead; the lead's tags after it, sorted, and its new version.
    pub async fn add_tag(&self, id: i64, tag: &str, now: DateTime<Utc>) -> StoreResult<Written<(Vec<String>, i64)>> {
        let mut tx = self.begin().await?;
        let Some(version) = bump_version(&mut tx, self.backend, id, &VersionCheck::Current, now).await? else {
            return Ok(Written::NotApplied);
        };
        sqlx::query("INSERT INTO lead_tags (lead_id, tag, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(tag.to_owned())
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        let tags = read_tags(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Written::Done((tags, version)))
    }

    /// Removes a tag from a lead (a tag it does not carry is no error); as [`Store::add_tag`].
    pub async fn remove_tag(&self, id: i64, tag: &str, now: DateTime<Utc>) -> StoreResult<Written<(Vec<String>, i64)>> {
        let mut tx = self.begin().await?;
        let Some(version) = bump_version(&mut tx, self.backend, id, &VersionCheck::Current, now).await? else {
            return Ok(Written::NotApplied);
        };
        sqlx::query("DELETE FROM lead_tags WHERE lead_id = $1 AND tag = $2")
            .bind(id)
            .bind(tag.to_owned())
            .execute(&mut *tx)
            .await?;
        let tags = read_tags(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Written::Done((tags, version)))
    }
}
