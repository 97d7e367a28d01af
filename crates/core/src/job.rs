//! Background jobs: an import or a bulk action that runs after its request has been answered,
//! with live progress, a cancel that keeps what was done, a result and a report of the rows or
//! leads it could not take.

use crate::locale::{Message, k};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::inbox::OperatorRef;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Leads in from a CSV file (or its dry run).
    Import,
    /// One action over many leads.
    Bulk,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Import => "import",
            JobKind::Bulk => "bulk",
        }
    }

    pub fn parse(raw: &str) -> Option<JobKind> {
        match raw {
            "import" => Some(JobKind::Import),
            "bulk" => Some(JobKind::Bulk),
            _ => None,
        }
    }

    /// What a problem's position is: a line of the file, or a lead's id.
    pub fn position_label(self) -> &'static str {
        match self {
            JobKind::Import => "line",
            JobKind::Bulk => "lead_id",
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    /// Ran to its end (some rows may have failed: see the result).
    Done,
    /// Stopped by an operator; what it did before stays.
    Cancelled,
    /// Stopped by an error, or by the server stopping under it ("interrupted").
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<JobState> {
        match raw {
            "running" => Some(JobState::Running),
            "done" => Some(JobState::Done),
            "cancelled" => Some(JobState::Cancelled),
            "failed" => Some(JobState::Failed),
            _ => None,
        }
    }

    pub fn is_finished(self) -> bool {
        self != JobState::Running
    }
}

/// What a job did so far (or in the end): counts by outcome, and a sentence when it stopped early.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobResult {
    /// Leads created (an import).
    #[serde(default)]
    pub created: u64,
    /// Leads updated (an import's rows that matched).
    #[serde(default)]
    pub updated: u64,
    /// Rows or leads left as they were (a match with "skip", a lead the action did not apply to).
    #[serde(default)]
    pub skipped: u64,
    /// Rows or leads refused, each in the report with its reason.
    #[serde(default)]
    pub failed: u64,
    /// Leads changed (a bulk action).
    #[serde(default)]
    pub changed: u64,
    /// Why the job stopped early (cancelled, failed, interrupted), or what a dry run found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /api/v1/jobs/{id}`, and what a `job_changed` live update carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub state: JobState,
    /// What it does, for people: "Import leads.csv", "Add tag vip to 1,204 leads".
    pub summary: String,
    /// Rows or leads to go through, when known.
    pub total: Option<u64>,
    /// Rows or leads gone through so far.
    pub done: u64,
    pub result: JobResult,
    /// An operator asked to cancel it; it stops at the end of its current batch.
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Who started it (absent for the command line).
    pub by: Option<OperatorRef>,
}

impl Job {
    /// How far along, 0.0 to 1.0, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        let total = self.total.filter(|t| *t > 0)?;
        // Counts far below 2^53: exact as floats.
        Some((self.done.min(total) as f64) / (total as f64))
    }

    /// "1,204 of 10,000" or "1,204".
    pub fn progress_label(&self) -> String {
        self.progress_message().to_string()
    }

    /// [`Job::progress_label`] in no language yet.
    pub fn progress_message(&self) -> Message {
        match self.total {
            Some(total) => Message::new(k::JOB_PROGRESS_OF)
                .with("done", Message::number(self.done))
                .with("total", Message::number(total)),
            None => Message::number(self.done),
        }
    }

    /// The result in words: "12 created, 3 updated, 1 skipped, 2 failed" (counts above zero).
    pub fn result_label(&self) -> String {
        self.result_message().to_string()
    }

    /// [`Job::result_label`] in no language yet.
    pub fn result_message(&self) -> Message {
        let r = &self.result;
        let parts: Vec<Message> = [
            (r.created, k::JOB_RESULT_CREATED),
            (r.updated, k::JOB_RESULT_UPDATED),
            (r.changed, k::JOB_RESULT_CHANGED),
            (r.skipped, k::JOB_RESULT_SKIPPED),
            (r.failed, k::JOB_RESULT_FAILED),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| Message::new(what).with("n", Message::number(n)))
        .collect();
        // "a, b, c": each list joined to the next.
        parts
            .into_iter()
            .rev()
            .reduce(|rest, first| Message::new(k::JOB_RESULT_LIST).with("first", first).with("rest", rest))
            .unwrap_or_else(|| k::JOB_RESULT_NOTHING.into())
    }
}

/// 1234567 as "1,234,567".
pub fn grouped(n: u64) -> String {
    crate::locale::Language::En.number(n)
}

/// `GET /api/v1/jobs`: newest first, keyset-paginated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobPage {
    pub items: Vec<Job>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// One row of a job's report: where (a line of the file, or a lead's id) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobProblem {
    pub position: i64,
    pub reason: String,
}

/// `GET /api/v1/jobs/{id}/problems`: the report's rows in order of position, keyset-paginated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobProblemPage {
    pub items: Vec<JobProblem>,
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job {
            id: 1,
            kind: JobKind::Import,
            state: JobState::Running,
            summary: "Import a.csv".into(),
            total: Some(10_000),
            done: 1_204,
            result: JobResult { created: 1_200, failed: 4, ..JobResult::default() },
            cancel_requested: false,
            created_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            finished_at: None,
            by: None,
        }
    }

    #[test]
    fn labels_and_fraction() {
        let j = job();
        assert_eq!(j.progress_label(), "1,204 of 10,000");
        assert_eq!(j.result_label(), "1,200 created, 4 failed");
        let ru = crate::locale::Language::Ru;
        assert_eq!(j.progress_message().in_language(ru), "1\u{a0}204 из 10\u{a0}000");
        assert_eq!(j.result_message().in_language(ru), "создано: 1\u{a0}200, с ошибкой: 4");
        assert!((j.fraction().unwrap() - 0.1204).abs() < 1e-9);
        assert_eq!(Job { total: None, ..job() }.fraction(), None);
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(12), "12");
    }

    #[test]
    fn wire_names() {
        let json = serde_json::to_value(job()).unwrap();
        assert_eq!(json["kind"], "import");
        assert_eq!(json["state"], "running");
        assert!(json["result"].get("message").is_none());
        for state in [JobState::Running, JobState::Done, JobState::Cancelled, JobState::Failed] {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobKind::parse("bulk"), Some(JobKind::Bulk));
    }
}
