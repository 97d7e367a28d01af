//! Identify: a visitor becomes the site's user. Inside the writer's batch, in a savepoint: the
//! lead with that user id (found, promoted from the visitor's anonymous lead, or created), and the
//! anonymous lead's history — events, aggregates, properties, tags, notes, conversations,
//! segments, visitors — merged into it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadcard_core::{Operation, PropertyName, PropertyValue};
use sqlx::AnyConnection;

use super::super::edits::bump_version;
use super::super::leads::{AGGREGATES_MERGE, MIRRORED_TEXT_COLUMNS};
use super::super::{Store, StoreError, StoreResult, VersionCheck};
use super::{TrackWrite, guess_rank};
use crate::clock::to_ms;

/// What identify did: the lead that is the user now, the lead merged into it, mails queued.
pub(super) struct Identified {
    pub(super) target: i64,
    pub(super) removed: Option<i64>,
    pub(super) mails: usize,
}

impl Store {
    /// Identify inside a savepoint: the lead with this user id (found, promoted from the
    /// visitor's anonymous lead, or created), the visitor's anonymous history merged into it,
    /// the operations applied. Returns the target and the lead merged away, if any.
    pub(super) async fn identify(
        &self,
        tx: &mut AnyConnection,
        visitors: &HashMap<(i64, String), i64>,
        write: &TrackWrite,
        user_id: &str,
        operations: &[Operation],
        now: DateTime<Utc>,
    ) -> StoreResult<Identified> {
        let visitor_lead = visitors.get(&(write.project_id, write.visitor_id.clone())).copied();
        let visitor_user: Option<String> = match visitor_lead {
            Some(lead) => sqlx::query_scalar::<_, Option<String>>("SELECT user_id FROM leads WHERE id = $1")
                .bind(lead)
                .fetch_optional(&mut *tx)
                .await?
                .flatten(),
            None => None,
        };
        let anonymous = visitor_lead.filter(|_| visitor_user.is_none());
        let existing: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM leads WHERE user_id = $1")
            .bind(user_id.to_owned())
            .fetch_one(&mut *tx)
            .await?;
        let (target, removed, mut mails) = match (existing, anonymous) {
            (Some(target), Some(anon)) if anon != target => {
                let mails = self.merge_leads(tx, anon, target, None, now).await?;
                (target, Some(anon), mails)
            }
            (Some(target), _) => (target, None, 0),
            (None, Some(anon)) => (anon, None, 0),
            (None, None) => (self.new_tracked_lead(tx, now).await?, None, 0),
        };
        sqlx::query(
            "INSERT INTO visitors (project_id, visitor_id, lead_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, visitor_id) DO UPDATE SET lead_id = excluded.lead_id",
        )
        .bind(write.project_id)
        .bind(write.visitor_id.clone())
        .bind(target)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        bump_version(tx, self.backend, target, &VersionCheck::Current, now).await?;
        let user_id_name = PropertyName::parse("$user_id")
            .map_err(|source| StoreError::InvalidProperty { name: "$user_id".to_owned(), source })?;
        let mut all = operations.to_vec();
        all.push(Operation::Set { name: user_id_name, value: PropertyValue::Text(user_id.to_owned()) });
        mails += self.apply_operations(tx, target, &all, now).await?;
        Ok(Identified { target, removed, mails })
    }

    /// Moves everything of `from` (an anonymous visitor, or a card an operator `by` merges) into
    /// `into` and deletes `from`, whose id then redirects to `into`. Properties `into` has keep
    /// their value (a location guess gives way). Returns how many confirmation mails the target's
    /// new address queued.
    pub(in crate::store) async fn merge_leads(
        &self,
        tx: &mut AnyConnection,
        from: i64,
        into: i64,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        both(tx, into, from, "UPDATE events SET lead_id = $1 WHERE lead_id = $2").await?;
        let aggregates = format!(
            "{AGGREGATES_INSERT_SELECT} SELECT $1, name, event_count, first_at, last_at FROM event_aggregates \
             WHERE lead_id = $2 {AGGREGATES_MERGE}"
        );
        both(tx, into, from, &aggregates).await?;
        // A session key both leads have (the same browser session) keeps the target's row and
        // takes the other's pages.
        both(
            tx,
            into,
            from,
            "UPDATE page_views SET session_id = (SELECT t.id FROM site_sessions t, site_sessions f \
             WHERE f.id = page_views.session_id AND t.lead_id = $1 AND t.session_key = f.session_key) \
             WHERE session_id IN (SELECT f.id FROM site_sessions f JOIN site_sessions t \
             ON t.session_key = f.session_key AND t.lead_id = $1 WHERE f.lead_id = $2)",
        )
        .await?;
        both(
            tx,
            into,
            from,
            "UPDATE site_sessions SET page_views = page_views + (SELECT f.page_views FROM site_sessions f \
             WHERE f.lead_id = $2 AND f.session_key = site_sessions.session_key) \
             WHERE lead_id = $1 AND session_key IN (SELECT session_key FROM site_sessions WHERE lead_id = $2)",
        )
        .await?;
        both(
            tx,
            into,
            from,
            "UPDATE site_sessions SET lead_id = $1 WHERE lead_id = $2 \
             AND session_key NOT IN (SELECT session_key FROM site_sessions WHERE lead_id = $1)",
        )
        .await?;
        both(tx, into, from, "UPDATE lead_notes SET lead_id = $1 WHERE lead_id = $2").await?;
        both(
            tx,
            into,
            from,
            "INSERT INTO lead_tags (lead_id, tag, created_at) SELECT $1, tag, created_at FROM lead_tags \
             WHERE lead_id = $2 ON CONFLICT (lead_id, tag) DO NOTHING",
        )
        .await?;
        both(tx, into, from, "UPDATE visitors SET lead_id = $1 WHERE lead_id = $2").await?;
        // The visitor's conversations (a chat before signing in) go on with the lead.
        both(tx, into, from, "UPDATE conversations SET lead_id = $1 WHERE lead_id = $2").await?;
        both(tx, into, from, "UPDATE messages SET lead_id = $1 WHERE lead_id = $2").await?;
        both(tx, into, from, "UPDATE outbox SET lead_id = $1 WHERE lead_id = $2").await?;
        // Its timeline of segment entries and exits goes on the kept card; its memberships go
        // with it and the caller recomputes the kept card's.
        both(tx, into, from, "UPDATE segment_history SET lead_id = $1 WHERE lead_id = $2").await?;
        both(tx, into, from, "UPDATE lead_redirects SET into_lead_id = $1 WHERE into_lead_id = $2").await?;
        sqlx::query(
            "INSERT INTO lead_redirects (merged_id, into_lead_id, merged_by, merged_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(from)
        .bind(into)
        .bind(by)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;

        // Properties: the target keeps its own; counts add up and first/last seen widen.
        let specials = ["$sessions", "$first_seen", "$last_seen"];
        let target_values = self.stored_values(tx, into, &specials).await?;
        let source_values = self.stored_values(tx, from, &specials).await?;
        // ... except a guess, which a set value or a guess as good (the visit's own) replaces.
        let properties = format!(
            "INSERT INTO lead_properties \
             (lead_id, name, value_type, text_value, number_value, json_value, updated_at, guessed_by) \
             SELECT $1, name, value_type, text_value, number_value, json_value, updated_at, guessed_by \
             FROM lead_properties WHERE lead_id = $2 ON CONFLICT (lead_id, name) DO UPDATE SET \
             value_type = excluded.value_type, text_value = excluded.text_value, \
             number_value = excluded.number_value, json_value = excluded.json_value, \
             updated_at = excluded.updated_at, guessed_by = excluded.guessed_by \
             WHERE lead_properties.guessed_by IS NOT NULL \
             AND (excluded.guessed_by IS NULL OR {} <= {})",
            guess_rank("lead_properties.guessed_by"),
            guess_rank("excluded.guessed_by"),
        );
        both(tx, into, from, &properties).await?;
        let mut ops = Vec::new();
        for special in specials {
            let merged = match (target_values.get(special), source_values.get(special)) {
                (Some(PropertyValue::Number(a)), Some(PropertyValue::Number(b))) => Some(PropertyValue::Number(a + b)),
                (Some(PropertyValue::DateTime(a)), Some(PropertyValue::DateTime(b))) => {
                    Some(PropertyValue::DateTime(if special == "$first_seen" { *a.min(b) } else { *a.max(b) }))
                }
                _ => None,
            };
            if let Some(value) = merged {
                let name = PropertyName::parse(special)
                    .map_err(|source| StoreError::InvalidProperty { name: special.to_owned(), source })?;
                ops.push(Operation::Set { name, value });
            }
        }
        self.apply_operations(tx, into, &ops, now).await?;
        // The copied system properties reach their `leads` columns.
        let mirrored: Vec<&str> = MIRRORED_TEXT_COLUMNS.iter().map(|(p, _)| *p).chain(["$last_seen"]).collect();
        let values = self.stored_values(tx, into, &mirrored).await?;
        let mails = self.sync_mirrored_columns(tx, into, &mirrored, &values, now).await?;

        // Presence: the later of both.
        let presence: Vec<(Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT last_heartbeat_at, last_active_at FROM leads WHERE id = $1 OR id = $2")
                .bind(into)
                .bind(from)
                .fetch_all(&mut *tx)
                .await?;
        let beat = presence.iter().filter_map(|p| p.0).max();
        let active = presence.iter().filter_map(|p| p.1).max();
        sqlx::query("UPDATE leads SET last_heartbeat_at = $1, last_active_at = $2 WHERE id = $3")
            .bind(beat)
            .bind(active)
            .bind(into)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM leads WHERE id = $1").bind(from).execute(&mut *tx).await?;
        Ok(mails)
    }
}

/// Runs a statement whose `$1` is the lead merged into and `$2` the lead merged away.
async fn both(tx: &mut AnyConnection, into: i64, from: i64, sql: &str) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(into).bind(from).execute(&mut *tx).await?;
    Ok(())
}

const AGGREGATES_INSERT_SELECT: &str = "INSERT INTO event_aggregates (lead_id, name, event_count, first_at, last_at)";
