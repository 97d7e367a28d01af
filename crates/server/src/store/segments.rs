//! Segments: their definitions, each lead's current memberships, the timeline of entries and
//! exits, and the facts of one lead that the core evaluator reads.

use leadcard_core::locale::Message;
use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use leadcard_core::filter::fold;
use leadcard_core::{
    CheckedSegment, EventFacts, Filter, LeadFacts, Match, Presence, Segment, SegmentCount, SegmentHistoryEntry,
    ValidFilter,
};
use sqlx::pool::PoolConnection;
use sqlx::{Any, FromRow};

use super::addresses::read_subscription;
use super::leads::parse_stored_value;
use super::leads::{DRIVER_SIZING_CAP, page_joins};
use super::settings::email_settings_in;
use super::sql::{
    Join, Sql, Value, driver_rank, push_driver_source, push_lateral_event, push_lead_conditions, reads_lead_row,
};
use super::{Backend, Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

#[derive(FromRow)]
struct SegmentRow {
    id: i64,
    name: String,
    filter: String,
    created_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
    members_ready: i64,
}

const SEGMENT_COLUMNS: &str = "SELECT id, name, filter, created_by, created_at, updated_at, \
     CAST(CASE WHEN rebuild_needed = 0 THEN 1 ELSE 0 END AS BIGINT) AS members_ready FROM segments";

impl SegmentRow {
    fn into_segment(self) -> StoreResult<Segment> {
        let filter = Filter::from_query(&self.filter)
            .map_err(|e| StoreError::Corrupt(format!("filter of segment {}: {}", self.id, e.message)))?;
        Ok(Segment {
            id: self.id,
            name: self.name,
            filter,
            created_by: self.created_by,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            members_ready: self.members_ready == 1,
        })
    }
}

/// A segment whose members must be recomputed (after it was created or its definition changed).
#[derive(Debug, Clone)]
pub struct PendingRebuild {
    pub segment: Segment,
    /// Created, not edited: members are filled in without timeline entries.
    pub silent: bool,
}

/// What a membership update writes in the timeline of each lead that entered or left.
#[derive(Debug, Clone, Copy)]
pub enum Reason<'a> {
    /// Nothing (a new segment's first fill).
    Silent,
    /// The same sentence for every lead.
    Text(&'a str),
    /// The presence each lead has now ("came online", "went offline ..."): `leadcard_core::Presence::change_reason`.
    Presence,
}

/// The most leads one membership write decides and writes (see [`Store::update_members`]): each
/// write holds SQLite's write lock for about a millisecond per hundred leads.
pub const WRITE_CHUNK: usize = 500;

/// The pause between two of those writes on SQLite, when one call makes several: the lock is
/// free this long for operators' writes, which SQLite's busy handler retries every 1-25 ms in
/// their first quarter second of waiting.
pub const WRITE_PAUSE: std::time::Duration = std::time::Duration::from_millis(30);

impl LeadScope {
    /// How a membership update reads the conditions for this scope. A known set of leads (a job's
    /// batch, the leads whose window passed, those beating): every condition probed for just them
    /// by id. Sizing the conditions as the lists do counts rows across the whole table, and a set
    /// join can read them all: with 100,000 leads that was ~0.6 s a segment for a batch of 500,
    /// against ~1 ms probed (BENCHMARKS.md, bulk actions). The rebuild's walk over id ranges is
    /// planned by size.
    pub fn plan(&self) -> Plan {
        match self {
            LeadScope::Ids(_) => Plan::Probes,
            LeadScope::Range { .. } => Plan::Sized,
        }
    }
}

/// How the SQL reads each condition of a filter (the agreement test checks both forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// As the lists do: by the size of each condition's rows.
    Sized,
    /// Every condition as a set of lead ids.
    Sets,
    /// Every condition probed lead by lead.
    Probes,
}

/// Which leads a membership update looks at.
#[derive(Debug, Clone)]
pub enum LeadScope {
    /// Ids in `(after, upto]`.
    Range {
        after: i64,
        upto: i64,
    },
    Ids(Vec<i64>),
}

/// Leads that entered and left a segment in one update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipChanges {
    pub entered: Vec<i64>,
    pub left: Vec<i64>,
}

/// One change of one lead's membership, to record.
#[derive(Debug, Clone)]
pub struct LeadMembershipChange {
    pub segment_id: i64,
    pub segment_name: String,
    pub entered: bool,
    pub reason: String,
}

#[derive(FromRow)]
struct HistoryRow {
    id: i64,
    segment_id: Option<i64>,
    segment_name: String,
    /// 1 or 0: a BOOLEAN column read the same way from both databases.
    entered: i64,
    reason: String,
    at: i64,
}

/// A claim on a job across instances: a PostgreSQL session-level advisory lock, held by one
/// connection until released. On SQLite (one instance per file) it is always granted.
pub struct JobLock {
    conn: Option<PoolConnection<Any>>,
    key: i64,
}

impl JobLock {
    pub async fn release(self) {
        if let Some(mut conn) = self.conn {
            let unlocked = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .fetch_one(&mut *conn)
                .await;
            if !matches!(unlocked, Ok(true)) {
                // Never hand a connection that may still hold the lock back to the pool.
                drop(conn.detach());
            }
        }
    }
}

impl Store {
    /// Every segment, by name (case-insensitive).
    pub async fn segments(&self) -> StoreResult<Vec<Segment>> {
        let rows: Vec<SegmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SEGMENT_COLUMNS} ORDER BY name_key")))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(SegmentRow::into_segment).collect()
    }

    pub async fn segment(&self, id: i64) -> StoreResult<Option<Segment>> {
        let row: Option<SegmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SEGMENT_COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(SegmentRow::into_segment).transpose()
    }

    /// Creates a segment (name and filter already checked); [`StoreError::Duplicate`] when the
    /// name is taken, whatever its case.
    pub async fn create_segment(
        &self,
        name: &str,
        filter: &Filter,
        created_by: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Segment> {
        let at = to_ms(now);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO segments (name, name_key, filter, created_by, created_at, updated_at, window_checked_at, \
             rebuild_needed, rebuild_silent) VALUES ($1, $2, $3, $4, $5, $5, $5, 1, 1) RETURNING id",
        )
        .bind(name.to_owned())
        .bind(fold(name))
        .bind(filter.to_query())
        .bind(created_by)
        .bind(at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| duplicate_name(e, name))?;
        self.segment(id).await?.ok_or_else(|| StoreError::Corrupt(format!("segment {id} vanished")))
    }

    /// Renames and redefines a segment; its members are then recomputed (with timeline entries).
    /// `None` when there is no such segment.
    pub async fn update_segment(
        &self,
        id: i64,
        name: &str,
        filter: &Filter,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Segment>> {
        let at = to_ms(now);
        let updated = sqlx::query(
            "UPDATE segments SET name = $1, name_key = $2, filter = $3, updated_at = $4, window_checked_at = $4, \
             rebuild_needed = 1, rebuild_silent = 0 WHERE id = $5",
        )
        .bind(name.to_owned())
        .bind(fold(name))
        .bind(filter.to_query())
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|e| duplicate_name(e, name))?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        self.segment(id).await
    }

    /// Marks segments whose conditions name a redefined segment (directly or not) for a rebuild
    /// with timeline entries: their meaning changed with it. `updated_at` moves on so that a
    /// rebuild already running on the old meaning leaves them pending.
    pub async fn redefined_through(&self, ids: &[i64], now: DateTime<Utc>) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut sql =
            Sql::new(self.backend, "UPDATE segments SET rebuild_needed = 1, rebuild_silent = 0, updated_at = ");
        sql.bind(to_ms(now)).push(" WHERE id IN ").bind_list(ids.iter().copied());
        sql.query().execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes a segment and its memberships; its timeline entries stay with its name.
    pub async fn delete_segment(&self, id: i64) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM segment_members WHERE segment_id = $1").bind(id).execute(&mut *tx).await?;
        let deleted = sqlx::query("DELETE FROM segments WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Segments whose members must be recomputed.
    pub async fn pending_rebuilds(&self) -> StoreResult<Vec<PendingRebuild>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, rebuild_silent FROM segments WHERE rebuild_needed = 1 ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let mut pending = Vec::new();
        for (id, silent) in rows {
            if let Some(segment) = self.segment(id).await? {
                pending.push(PendingRebuild { segment, silent: silent == 1 });
            }
        }
        Ok(pending)
    }

    /// Marks a rebuild done, unless the segment changed again meanwhile (then it stays pending).
    pub async fn finish_rebuild(&self, segment: &Segment) -> StoreResult<()> {
        sqlx::query("UPDATE segments SET rebuild_needed = 0 WHERE id = $1 AND updated_at = $2")
            .bind(segment.id)
            .bind(to_ms(segment.updated_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The leads with a heartbeat after `since` (unix ms), ascending: every lead whose presence
    /// can have changed since `since + PRESENCE_WINDOW` (coming online or going idle needs a
    /// recent heartbeat; going offline, one that is now just over the window old).
    pub async fn leads_beating_since(&self, since: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM leads WHERE last_heartbeat_at > $1 ORDER BY id")
            .bind(since)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The highest lead id (0 without leads).
    pub async fn max_lead_id(&self) -> StoreResult<i64> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM leads").fetch_one(&self.pool).await?;
        Ok(max.unwrap_or(0))
    }

    /// Brings the segment's members within `scope` in line with its filter at `now`, through the
    /// SQL compiler, and records an entry with `reason` for each lead that entered or left.
    ///
    /// The scope is read first, outside any transaction (on SQLite a read holds no lock); then
    /// only the leads whose membership differs are decided again and written, in short
    /// transactions of at most [`WRITE_CHUNK`] leads. So a fill over every lead holds the write
    /// lock for the few changed leads' statements instead of the whole scope's evaluation, and
    /// operators' writes go between. Each changed lead is still decided and written by one
    /// statement under the lock: a lead edited between the read and the write is written as it is
    /// at the write (its own recomputation after the edit sees the same), and a membership row
    /// that another writer already added or removed is not recorded twice.
    pub async fn update_members(
        &self,
        segment: &CheckedSegment,
        scope: &LeadScope,
        now: DateTime<Utc>,
        reason: Reason<'_>,
    ) -> StoreResult<MembershipChanges> {
        let matching = self.ids_matching(&segment.filter, scope, now, scope.plan()).await?;
        let mut members = Sql::new(self.backend, "SELECT lead_id FROM segment_members WHERE segment_id = ");
        members.bind(segment.id).push(" AND ");
        match scope {
            LeadScope::Range { after, upto } => {
                members.push("lead_id > ").bind(*after).push(" AND lead_id <= ").bind(*upto);
            }
            LeadScope::Ids(ids) if ids.is_empty() => return Ok(MembershipChanges::default()),
            LeadScope::Ids(ids) => {
                members.push("lead_id IN ").bind_list(ids.iter().copied());
            }
        }
        let members: HashSet<i64> = members.query_scalar().fetch_all(&self.pool).await?.into_iter().collect();
        let matching_set: HashSet<i64> = matching.iter().copied().collect();
        let to_enter: Vec<i64> = matching.into_iter().filter(|id| !members.contains(id)).collect();
        let mut to_leave: Vec<i64> = members.into_iter().filter(|id| !matching_set.contains(id)).collect();
        to_leave.sort_unstable();

        let mut changes = MembershipChanges::default();
        let writes =
            to_enter.chunks(WRITE_CHUNK).map(|c| (c, true)).chain(to_leave.chunks(WRITE_CHUNK).map(|c| (c, false)));
        for (i, (chunk, enter)) in writes.enumerate() {
            if i > 0 && self.backend == Backend::Sqlite {
                // Another writer waiting for the lock polls every few ms (SQLite's busy handler,
                // up to 100 ms apart after a while): back-to-back writes would starve it.
                tokio::time::sleep(WRITE_PAUSE).await;
            }
            let applied = self.write_members(segment, chunk, enter, now, reason).await?;
            if enter { changes.entered.extend(applied) } else { changes.left.extend(applied) }
        }
        changes.entered.sort_unstable();
        changes.left.sort_unstable();
        Ok(changes)
    }

    /// One short write of [`Store::update_members`]: `ids` enter (those that match now) or leave
    /// (those that no longer match), decided again under the write lock; their entries recorded.
    async fn write_members(
        &self,
        segment: &CheckedSegment,
        ids: &[i64],
        enter: bool,
        now: DateTime<Utc>,
        reason: Reason<'_>,
    ) -> StoreResult<Vec<i64>> {
        let at = to_ms(now);
        // A few leads, each looked up by id: every condition is probed for just them.
        let probes = vec![Join::Probe; segment.filter.leaves().len()];
        let mut tx = self.begin_write().await?;
        let mut applied: Vec<i64> = if enter {
            let mut sql = Sql::new(self.backend, "INSERT INTO segment_members (segment_id, lead_id, since) SELECT ");
            sql.bind(segment.id).push(", l.id, ").bind(at).push(" FROM leads l WHERE l.id IN ");
            sql.bind_list(ids.iter().copied());
            push_lead_conditions(&mut sql, &segment.filter, &probes, now);
            sql.push(" ON CONFLICT (segment_id, lead_id) DO NOTHING RETURNING lead_id");
            sql.query_scalar().fetch_all(&mut *tx).await?
        } else {
            let mut sql = Sql::new(self.backend, "DELETE FROM segment_members WHERE segment_id = ");
            sql.bind(segment.id).push(" AND lead_id IN ").bind_list(ids.iter().copied());
            sql.push(" AND lead_id NOT IN (SELECT l.id FROM leads l WHERE l.id IN ").bind_list(ids.iter().copied());
            push_lead_conditions(&mut sql, &segment.filter, &probes, now);
            sql.push(") RETURNING lead_id");
            sql.query_scalar().fetch_all(&mut *tx).await?
        };
        applied.sort_unstable();
        let reasons: Vec<(i64, String)> = match reason {
            Reason::Silent => Vec::new(),
            Reason::Text(text) => applied.iter().map(|id| (*id, text.to_owned())).collect(),
            Reason::Presence if applied.is_empty() => Vec::new(),
            Reason::Presence => {
                let mut sql =
                    Sql::new(self.backend, "SELECT id, last_heartbeat_at, last_active_at FROM leads WHERE id IN ");
                sql.bind_list(applied.iter().copied());
                let rows: Vec<(i64, Option<i64>, Option<i64>)> = sql.query_as().fetch_all(&mut *tx).await?;
                rows.into_iter()
                    .map(|(id, beat, active)| {
                        let presence = Presence::at(now, beat.map(from_ms), active.map(from_ms));
                        (id, presence.change_reason().to_stored())
                    })
                    .collect()
            }
        };
        if !reasons.is_empty() {
            let rows = reasons
                .iter()
                .map(|(lead_id, reason)| history_row(*lead_id, segment.id, &segment.name, enter, reason, at))
                .collect();
            insert_history(&mut tx, self.backend, rows).await?;
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// The segments a lead is a member of now (as last recorded).
    pub async fn memberships(&self, lead_id: i64) -> StoreResult<HashSet<i64>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT segment_id FROM segment_members WHERE lead_id = $1")
            .bind(lead_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().collect())
    }

    /// Records one lead's entries and exits; returns those applied (a membership another writer
    /// already added or removed is skipped, so nothing is recorded twice).
    pub async fn record_lead_memberships(
        &self,
        lead_id: i64,
        changes: Vec<LeadMembershipChange>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<LeadMembershipChange>> {
        if changes.is_empty() {
            return Ok(changes);
        }
        let at = to_ms(now);
        let mut tx = self.begin().await?;
        let mut applied = Vec::new();
        for change in changes {
            let done = if change.entered {
                sqlx::query(
                    "INSERT INTO segment_members (segment_id, lead_id, since) \
                     SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM segments WHERE id = $1) \
                     AND EXISTS (SELECT 1 FROM leads WHERE id = $2) \
                     ON CONFLICT (segment_id, lead_id) DO NOTHING",
                )
                .bind(change.segment_id)
                .bind(lead_id)
                .bind(at)
                .execute(&mut *tx)
                .await?
            } else {
                sqlx::query("DELETE FROM segment_members WHERE segment_id = $1 AND lead_id = $2")
                    .bind(change.segment_id)
                    .bind(lead_id)
                    .execute(&mut *tx)
                    .await?
            };
            if done.rows_affected() > 0 {
                applied.push(change);
            }
        }
        let rows = applied
            .iter()
            .map(|c| history_row(lead_id, c.segment_id, &c.segment_name, c.entered, &c.reason, at))
            .collect();
        insert_history(&mut tx, self.backend, rows).await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// A lead's timeline entries, newest first: `limit` of them with ids below `before`.
    /// `None` when there is no such lead.
    pub async fn segment_history(
        &self,
        lead_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Option<Vec<SegmentHistoryEntry>>> {
        if !self.lead_exists(lead_id).await? {
            return Ok(None);
        }
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT id, segment_id, segment_name, CAST(CASE WHEN entered THEN 1 ELSE 0 END AS BIGINT) AS entered, reason, at FROM segment_history \
             WHERE lead_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(lead_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(
            rows.into_iter()
                .map(|r| SegmentHistoryEntry {
                    id: r.id,
                    segment_id: r.segment_id,
                    segment_name: r.segment_name,
                    entered: r.entered != 0,
                    // Stored as a message: in the reader's language.
                    reason: crate::language::said(&Message::from_stored(&r.reason)),
                    at: from_ms(r.at),
                })
                .collect(),
        ))
    }

    pub async fn lead_exists(&self, lead_id: i64) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM leads WHERE id = $1").bind(lead_id).fetch_optional(&self.pool).await?;
        Ok(found.is_some())
    }

    /// How the exact count reads each condition, and which leaf drives it: when every top-level
    /// condition must hold, the smallest one that can drive (see `sql::driver_rank`) is walked
    /// and each other large one probed for just those leads, so the count costs about one probe
    /// per lead of the smallest condition instead of one per lead of the base. Otherwise as the
    /// lists do.
    async fn plan_exact_count(
        &self,
        filter: &ValidFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<(Vec<Join>, Option<usize>)> {
        if filter.mode != Match::All {
            return Ok((self.plan_joins(filter, now).await?.1, None));
        }
        let sizes = self.leaf_sizes(filter, DRIVER_SIZING_CAP, now).await?;
        // Leaves in `leaves()` order; only those directly under the top level may drive.
        let mut driver: Option<(i64, u8, usize)> = None;
        let mut leaf = 0;
        for condition in &filter.all {
            if !condition.is_leaf() {
                leaf += condition.leaf_count();
                continue;
            }
            if let Some(rank) = driver_rank(condition)
                && driver.is_none_or(|(rows, r, _)| (sizes[leaf], rank) < (rows, r))
            {
                driver = Some((sizes[leaf], rank, leaf));
            }
            leaf += 1;
        }
        let Some((_, _, driver)) = driver else {
            return Ok((self.plan_joins(filter, now).await?.1, None));
        };
        let joins = page_joins(&sizes)
            .into_iter()
            .enumerate()
            .map(|(i, join)| if i == driver { Join::Set } else { join })
            .collect();
        Ok((joins, Some(driver)))
    }

    /// How many leads match, exactly up to `cap`. With a driving leaf and no condition on the
    /// lead's own columns, the query reads the driver's ids instead of `leads` (see
    /// `sql::push_driver_source`); otherwise the driver is a set `leads` is walked through.
    pub async fn count_matching(
        &self,
        filter: &ValidFilter,
        cap: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SegmentCount> {
        let (mut joins, driver) = self.plan_exact_count(filter, now).await?;
        let leaves = filter.leaves();
        let mut count = Sql::new(self.backend, "SELECT COUNT(*) FROM (SELECT 1 FROM ");
        match driver {
            Some(leaf) if !leaves.iter().any(|c| reads_lead_row(c)) => {
                count.push("(");
                push_driver_source(&mut count, leaves[leaf], now);
                count.push(") l");
                joins[leaf] = Join::Driven;
                if self.backend == Backend::Postgres {
                    // Counted event conditions directly under the top level join after the rest.
                    let mut i = 0;
                    for condition in &filter.all {
                        if !condition.is_leaf() {
                            i += condition.leaf_count();
                            continue;
                        }
                        if i != leaf && push_lateral_event(&mut count, condition, i, now) {
                            joins[i] = Join::Driven;
                        }
                        i += 1;
                    }
                }
                count.push(" WHERE 1 = 1");
            }
            _ => {
                count.push("leads l WHERE 1 = 1");
            }
        }
        push_lead_conditions(&mut count, filter, &joins, now);
        count.push(" LIMIT ").bind(cap + 1).push(") t");
        let counted: i64 = count.query_scalar().fetch_one(&self.pool).await?;
        Ok(SegmentCount { count: counted.clamp(0, cap) as u64, exact: counted <= cap })
    }

    /// The ids, ascending, of the leads in `scope` that match a filter at `now` (SQL), with each
    /// condition read as `plan` says.
    pub async fn ids_matching(
        &self,
        filter: &ValidFilter,
        scope: &LeadScope,
        now: DateTime<Utc>,
        plan: Plan,
    ) -> StoreResult<Vec<i64>> {
        let leaves = filter.leaves().len();
        let page_joins = match plan {
            Plan::Sized => self.plan_joins(filter, now).await?.0,
            Plan::Sets => vec![Join::Set; leaves],
            Plan::Probes => vec![Join::Probe; leaves],
        };
        let mut sql = Sql::new(self.backend, "SELECT l.id FROM leads l WHERE ");
        match scope {
            LeadScope::Range { after, upto } => {
                sql.push("l.id > ").bind(*after).push(" AND l.id <= ").bind(*upto);
            }
            LeadScope::Ids(ids) if ids.is_empty() => return Ok(Vec::new()),
            LeadScope::Ids(ids) => {
                sql.push("l.id IN ").bind_list(ids.iter().copied());
            }
        }
        push_lead_conditions(&mut sql, filter, &page_joins, now);
        sql.push(" ORDER BY l.id");
        Ok(sql.query_scalar().fetch_all(&self.pool).await?)
    }

    /// Everything the core evaluator reads of one lead: the events named in `event_names` with
    /// their times from `times_since` (unix ms; `None`: all). `None` when there is no such lead.
    pub async fn lead_facts(
        &self,
        lead_id: i64,
        event_names: &[&str],
        times_since: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<LeadFacts>> {
        let mut conn = self.pool.acquire().await?;
        let lead: Option<(Option<String>, Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT email_norm, last_heartbeat_at, last_active_at FROM leads WHERE id = $1")
                .bind(lead_id)
                .fetch_optional(&mut *conn)
                .await?;
        let Some((email_norm, last_heartbeat, last_active)) = lead else {
            return Ok(None);
        };
        let stored: Vec<(String, String)> =
            sqlx::query_as("SELECT name, json_value FROM lead_properties WHERE lead_id = $1")
                .bind(lead_id)
                .fetch_all(&mut *conn)
                .await?;
        let properties = stored
            .into_iter()
            .map(|(name, json)| Ok((name.clone(), parse_stored_value(&json, &name, lead_id)?)))
            .collect::<StoreResult<BTreeMap<_, _>>>()?;
        let tags: Vec<String> = sqlx::query_scalar("SELECT tag FROM lead_tags WHERE lead_id = $1")
            .bind(lead_id)
            .fetch_all(&mut *conn)
            .await?;
        let settings = email_settings_in(&mut conn).await?;
        let subscription = read_subscription(&mut conn, None, email_norm.as_deref(), &settings, now).await?.status;

        let mut events: BTreeMap<String, EventFacts> = BTreeMap::new();
        if !event_names.is_empty() {
            let mut counts = Sql::new(self.backend, "SELECT name, COUNT(*) FROM events WHERE lead_id = ");
            counts.bind(lead_id).push(" AND name IN ").bind_list(event_names.iter().copied()).push(" GROUP BY name");
            let rows: Vec<(String, i64)> = counts.query_as().fetch_all(&mut *conn).await?;
            for (name, count) in rows {
                events.entry(name).or_default().count = count.max(0) as u64;
            }
            let mut times = Sql::new(self.backend, "SELECT name, occurred_at FROM events WHERE lead_id = ");
            times.bind(lead_id).push(" AND name IN ").bind_list(event_names.iter().copied());
            if let Some(since) = times_since {
                times.push(" AND occurred_at >= ").bind(since);
            }
            times.push(" ORDER BY occurred_at");
            let rows: Vec<(String, i64)> = times.query_as().fetch_all(&mut *conn).await?;
            for (name, at) in rows {
                events.entry(name).or_default().times.push(at);
            }
        }
        Ok(Some(LeadFacts {
            properties,
            tags,
            subscription,
            last_heartbeat: last_heartbeat.map(from_ms),
            last_active: last_active.map(from_ms),
            events,
            times_since,
        }))
    }

    /// Occurrences of `name` in `[from, to)` (unix ms), oldest first, at most `limit`: the events
    /// whose windows close between two runs of the window job.
    pub async fn events_between(&self, name: &str, from: i64, to: i64, limit: i64) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT lead_id, occurred_at FROM events WHERE name = $1 AND occurred_at >= $2 AND occurred_at < $3 \
             ORDER BY occurred_at LIMIT $4",
        )
        .bind(name.to_owned())
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Up to when (unix ms) the window job looked at this segment.
    pub async fn window_checked_at(&self, segment_id: i64) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT window_checked_at FROM segments WHERE id = $1")
            .bind(segment_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set_window_checked_at(&self, segment_id: i64, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE segments SET window_checked_at = $1 WHERE id = $2")
            .bind(at)
            .bind(segment_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims the job named by `key` across instances: `None` when another instance holds it.
    pub async fn try_job_lock(&self, key: i64) -> StoreResult<Option<JobLock>> {
        if self.backend != Backend::Postgres {
            return Ok(Some(JobLock { conn: None, key }));
        }
        let mut conn = self.pool.acquire().await?;
        let locked: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *conn).await?;
        Ok(locked.then_some(JobLock { conn: Some(conn), key }))
    }
}

fn history_row(lead_id: i64, segment_id: i64, name: &str, entered: bool, reason: &str, at: i64) -> [Value; 6] {
    [
        Value::from(lead_id),
        Value::from(segment_id),
        Value::from(name),
        Value::Bool(entered),
        Value::from(reason),
        Value::from(at),
    ]
}

async fn insert_history(
    tx: &mut sqlx::Transaction<'static, Any>,
    backend: Backend,
    rows: Vec<[Value; 6]>,
) -> StoreResult<()> {
    super::batch::insert_rows(
        tx,
        backend,
        "INSERT INTO segment_history (lead_id, segment_id, segment_name, entered, reason, at) VALUES ",
        "",
        rows,
    )
    .await
}

/// A unique violation on the name is [`StoreError::Duplicate`].
fn duplicate_name(e: sqlx::Error, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Duplicate(format!("a segment named \"{name}\""))
        }
        _ => StoreError::Database(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_set_of_leads_is_probed_and_a_range_planned_by_size() {
        assert_eq!(LeadScope::Ids(vec![1, 2, 3]).plan(), Plan::Probes);
        assert_eq!(LeadScope::Range { after: 0, upto: 1_000 }.plan(), Plan::Sized);
    }
}
