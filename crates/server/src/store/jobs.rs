//! Background jobs and their reports: a row per job (kind, state, progress, result), the rows
//! or leads each could not take, and the heartbeat that tells a running job from one whose
//! process died.

use chrono::{DateTime, Utc};
use leadcard_core::inbox::OperatorRef;
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::{Job, JobKind, JobProblem, JobResult, JobState};
use sqlx::FromRow;

use super::batch::insert_rows;
use super::sql::Value;
use super::{Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

/// A new job's row.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    pub operator_id: Option<i64>,
    pub summary: String,
    /// What was asked, as JSON, for the record.
    pub params: serde_json::Value,
    pub total: Option<u64>,
}

/// What a request to cancel found.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// The job runs and will stop at the end of its batch: the job as it is now.
    Requested(Job),
    /// The job had already finished.
    Finished(Job),
    NotFound,
}

#[derive(FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    state: String,
    summary: String,
    total: Option<i64>,
    done: i64,
    result: String,
    cancel_requested: i64,
    created_at: i64,
    finished_at: Option<i64>,
    operator_id: Option<i64>,
    operator_name: Option<String>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> StoreResult<Job> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("job {}: {what}", r.id));
        let result: JobResult = serde_json::from_str(&r.result).map_err(|_| corrupt("result"))?;
        Ok(Job {
            id: r.id,
            kind: JobKind::parse(&r.kind).ok_or_else(|| corrupt("kind"))?,
            state: JobState::parse(&r.state).ok_or_else(|| corrupt("state"))?,
            summary: r.summary,
            total: r.total.map(|t| t.max(0).unsigned_abs()),
            done: r.done.max(0).unsigned_abs(),
            result,
            cancel_requested: r.cancel_requested != 0,
            created_at: from_ms(r.created_at),
            finished_at: r.finished_at.map(from_ms),
            by: match (r.operator_id, r.operator_name) {
                (Some(id), Some(name)) => Some(OperatorRef { id, name }),
                _ => None,
            },
        })
    }
}

const SELECT_JOB: &str = "SELECT j.id, j.kind, j.state, j.summary, j.total, j.done, j.result, j.cancel_requested, \
     j.created_at, j.finished_at, j.operator_id, o.name AS operator_name \
     FROM jobs j LEFT JOIN operators o ON o.id = j.operator_id";

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn result_json(result: &JobResult) -> StoreResult<String> {
    serde_json::to_string(result).map_err(|e| StoreError::Invalid(format!("a job's result: {e}")))
}

impl Store {
    /// Adds a running job; its id.
    pub async fn insert_job(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<i64> {
        let params = serde_json::to_string(&job.params).map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(sqlx::query_scalar(
            "INSERT INTO jobs (kind, state, operator_id, summary, params, total, done, result, cancel_requested, \
             created_at, updated_at) VALUES ($1, 'running', $2, $3, $4, $5, 0, '{}', 0, $6, $6) RETURNING id",
        )
        .bind(job.kind.as_str())
        .bind(job.operator_id)
        .bind(job.summary.clone())
        .bind(params)
        .bind(job.total.map(count))
        .bind(to_ms(now))
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn job(&self, id: i64) -> StoreResult<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_JOB} WHERE j.id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Job::try_from).transpose()
    }

    /// Jobs newest first, those with ids below `before` (all when `None`), at most `limit`.
    pub async fn jobs(&self, before: Option<i64>, limit: i64) -> StoreResult<Vec<Job>> {
        let rows: Vec<JobRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_JOB} WHERE j.id < $1 ORDER BY j.id DESC LIMIT $2")))
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    /// Writes a running job's progress (and its heartbeat); whether it was asked to cancel.
    pub async fn job_progress(
        &self,
        id: i64,
        done: u64,
        total: Option<u64>,
        result: &JobResult,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let cancel: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs SET done = $1, total = COALESCE($2, total), result = $3, updated_at = $4 \
             WHERE id = $5 RETURNING cancel_requested",
        )
        .bind(count(done))
        .bind(total.map(count))
        .bind(result_json(result)?)
        .bind(to_ms(now))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(cancel.is_some_and(|c| c != 0))
    }

    /// A running job's heartbeat alone (it is working on a long batch).
    pub async fn job_heartbeat(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET updated_at = $1 WHERE id = $2 AND state = 'running'")
            .bind(to_ms(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether an operator asked the job to stop.
    pub async fn job_cancel_requested(&self, id: i64) -> StoreResult<bool> {
        let cancel: Option<i64> = sqlx::query_scalar("SELECT cancel_requested FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(cancel.is_some_and(|c| c != 0))
    }

    /// Asks a running job to stop at the end of its batch.
    pub async fn cancel_job(&self, id: i64, now: DateTime<Utc>) -> StoreResult<CancelOutcome> {
        let asked =
            sqlx::query("UPDATE jobs SET cancel_requested = 1, updated_at = $1 WHERE id = $2 AND state = 'running'")
                .bind(to_ms(now))
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(match self.job(id).await? {
            None => CancelOutcome::NotFound,
            Some(job) if asked > 0 && !job.state.is_finished() => CancelOutcome::Requested(job),
            // It finished between the two statements, or before.
            Some(job) => CancelOutcome::Finished(job),
        })
    }

    /// Ends a running job (a job already ended stays as it was); the job as it is now.
    pub async fn finish_job(
        &self,
        id: i64,
        state: JobState,
        done: u64,
        total: Option<u64>,
        result: &JobResult,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Job>> {
        sqlx::query(
            "UPDATE jobs SET state = $1, done = $2, total = COALESCE($3, total), result = $4, finished_at = $5, \
             updated_at = $5 WHERE id = $6 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(count(done))
        .bind(total.map(count))
        .bind(result_json(result)?)
        .bind(to_ms(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.job(id).await
    }

    /// Marks 'failed' ("interrupted") the running jobs whose heartbeat is older than `stale_before`
    /// (every running job when `None`: a process that owns the database alone, at its start); the
    /// jobs so ended.
    pub async fn fail_interrupted_jobs(
        &self,
        stale_before: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Job>> {
        let stale = stale_before.map_or(i64::MAX, to_ms);
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM jobs WHERE state = 'running' AND updated_at < $1")
            .bind(stale)
            .fetch_all(&self.pool)
            .await?;
        let mut ended = Vec::new();
        for id in ids {
            let Some(job) = self.job(id).await? else { continue };
            let result = JobResult {
                message: Some(crate::language::said(
                    &Message::new(k::JOB_INTERRUPTED).with("progress", job.progress_message()),
                )),
                ..job.result.clone()
            };
            let ended_now = sqlx::query(
                "UPDATE jobs SET state = 'failed', result = $1, finished_at = $2 \
                 WHERE id = $3 AND state = 'running' AND updated_at < $4",
            )
            .bind(result_json(&result)?)
            .bind(to_ms(now))
            .bind(id)
            .bind(stale)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if ended_now > 0
                && let Some(job) = self.job(id).await?
            {
                ended.push(job);
            }
        }
        Ok(ended)
    }

    /// Adds rows to a job's report.
    pub async fn add_job_problems(&self, id: i64, problems: &[(i64, String)]) -> StoreResult<()> {
        if problems.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        let rows = problems
            .iter()
            .map(|(position, reason)| [Value::from(id), Value::from(*position), Value::from(reason.as_str())])
            .collect();
        insert_rows(&mut conn, self.backend, "INSERT INTO job_problems (job_id, position, reason) VALUES ", "", rows)
            .await
    }

    /// A job's report rows in order of position after the keyset `after` (position, row id), at
    /// most `limit`; each with its keyset.
    pub async fn job_problems(
        &self,
        id: i64,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<(JobProblem, (i64, i64))>> {
        let (position, row) = after.unwrap_or((i64::MIN, i64::MIN));
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, position, reason FROM job_problems WHERE job_id = $1 \
             AND (position > $2 OR (position = $2 AND id > $3)) ORDER BY position, id LIMIT $4",
        )
        .bind(id)
        .bind(position)
        .bind(row)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(row, position, reason)| (JobProblem { position, reason }, (position, row))).collect())
    }

    /// Stores many live messages in one statement (a job's batch of changed leads); the caller
    /// wakes the live reader.
    pub async fn insert_live_events(&self, payloads: Vec<String>, at: i64) -> StoreResult<()> {
        if payloads.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        let rows = payloads.into_iter().map(|p| [Value::from(p), Value::from(at)]).collect();
        insert_rows(&mut conn, self.backend, "INSERT INTO live_events (payload, created_at) VALUES ", "", rows).await?;
        if self.backend == super::Backend::Postgres {
            sqlx::query("SELECT pg_notify('live_events', '')").execute(&mut *conn).await?;
        }
        Ok(())
    }
}
