//! CSV import in the console: `POST /imports` takes the file (streamed to a temporary file, never
//! held whole, up to `--import-max-mb`) and answers its first rows and a guessed mapping;
//! `POST /imports/{id}/run` checks the mapping the operator chose and runs the import (or its dry
//! run) as a background job on the same code path as `leadcard-server import`.

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;
use leadcard_core::import::{ImportRun, ImportUpload, check_mapping};
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::{ErrorBody, Job, JobKind, JobResult, JobState};
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::import::{FileError, ImportHook, ImportOptions, ImportReport, estimate_rows, import_with, preview};
use crate::jobs::{self, JobHandle, Jobs, Outcome, cancelled_message};

/// The upload route, which the request time limit leaves alone (a large file takes longer).
pub const UPLOAD_PATH: &str = "/api/v1/imports";

const UPLOAD_NOT_FOUND: ApiError = ApiError::NotFound(k::ERROR_IMPORT_UPLOAD_GONE);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadParams {
    /// The file's name, for the job's summary ("Import leads.csv").
    name: Option<String>,
}

/// A file name fit to show: its last path part, without control characters, at most 100
/// characters; `upload.csv` when nothing is left.
fn file_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = last.chars().filter(|c| !c.is_control()).take(100).collect();
    let name = name.trim();
    if name.is_empty() { "upload.csv".to_owned() } else { name.to_owned() }
}

fn too_large(max_bytes: u64) -> ApiError {
    ApiError::FileTooLarge { message: Message::new(k::ERROR_IMPORT_TOO_LARGE).arg("mb", max_bytes >> 20) }
}

fn file_refused(e: &FileError) -> ApiError {
    let message = e.message();
    match e {
        FileError::Io(_) | FileError::Store(_) => ApiError::Internal(message.to_string()),
        _ => ApiError::Unprocessable { code: "invalid_file", field: "file".to_owned(), message },
    }
}

/// Writes the request's body to `path` (on a blocking thread, chunk by chunk); its size, or
/// `None` when it grew past `max_bytes` (the file is then removed).
async fn save_body(body: Body, path: std::path::PathBuf, max_bytes: u64) -> Result<Option<u64>, ApiError> {
    let (sender, mut receiver) = mpsc::channel::<axum::body::Bytes>(8);
    let target = path.clone();
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&target)?);
        while let Some(chunk) = receiver.blocking_recv() {
            file.write_all(&chunk)?;
        }
        file.flush()
    });
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    let mut over = false;
    let mut broken = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                size += chunk.len() as u64;
                if size > max_bytes {
                    over = true;
                    break;
                }
                if sender.send(chunk).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                broken = Some(e.to_string());
                break;
            }
        }
    }
    drop(sender);
    let written = writer.await.map_err(|e| ApiError::Internal(e.to_string()))?;
    if over || broken.is_some() || written.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    if over {
        return Ok(None);
    }
    if let Some(e) = broken {
        return Err(ApiError::BadRequest {
            code: "invalid_body",
            message: Message::new(k::ERROR_IMPORT_BROKE_OFF).arg("reason", e),
        });
    }
    written.map_err(|e| ApiError::Internal(format!("cannot write an upload: {e}")))?;
    Ok(Some(size))
}

/// Takes a CSV file for import (the body, as it is: UTF-8, comma-separated, a header row naming
/// the columns) and answers its first rows with the guessed target of each column. Nothing is
/// imported yet: `POST /imports/{id}/run` does (or checks) that.
#[utoipa::path(
    post, path = "/imports", tag = "leads", params(UploadParams), security(("session" = [])),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    responses(
        (status = 201, description = "Taken: the preview and the guessed mapping", body = ImportUpload),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`, field `file`: over `--import-max-mb`", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid_file`, field `file`: empty, not comma-separated, a header that is not UTF-8 (the message names the line)"),
    )
)]
async fn upload(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<ImportUpload>), ApiError> {
    let max_bytes = state.uploads.max_bytes;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(too_large(max_bytes));
    }
    let name = file_name(params.name.as_deref());
    let (id, path) = state.uploads.create().map_err(|e| ApiError::Internal(format!("cannot store an upload: {e}")))?;
    let size = save_body(body, path.clone(), max_bytes).await?.ok_or_else(|| too_large(max_bytes))?;
    let read = path.clone();
    let previewed =
        tokio::task::spawn_blocking(move || preview(&read)).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let (header, rows, mapping) = match previewed {
        Ok(previewed) => previewed,
        Err(e) => {
            state.uploads.remove(&id);
            return Err(file_refused(&e));
        }
    };
    state.uploads.set_name(&id, &name).map_err(|e| ApiError::Internal(format!("cannot store an upload: {e}")))?;
    Ok((StatusCode::CREATED, Json(ImportUpload { id, name, size, header, rows, mapping })))
}

/// Imports an uploaded file with the mapping chosen (or, with `dry_run`, checks every row by the
/// card's rules and writes nothing), as a background job: 202 with the job, which then moves on
/// live. Rows are matched by user id, then email (`on_match`: update them or skip them); a refused
/// row is reported with its line and reason and never stops the others; a cancel keeps what was
/// imported. Imported leads get their segments recomputed and a live update, as an edit does.
#[utoipa::path(
    post, path = "/imports/{id}/run", tag = "leads", security(("session" = [])), request_body = ImportRun,
    params(("id" = String, Path, description = "The upload's id")),
    responses(
        (status = 202, description = "Started: the job", body = Job),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such upload (or no longer kept)", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid` (`mapping`, `mapping[i]`, `on_match`) or `invalid_file` (field `file`)"),
    )
)]
async fn run(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ImportRun>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let path = state.uploads.path(&id).ok_or(UPLOAD_NOT_FOUND)?;
    let read = path.clone();
    let header = tokio::task::spawn_blocking(move || crate::import::read_header(&read, &[]))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| file_refused(&e))?
        .0;
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    check_mapping(&names, &body.mapping)?;
    let name = state.uploads.name_of(&id).unwrap_or_else(|| "upload.csv".to_owned());
    let summary = Message::new(if body.dry_run { k::JOB_IMPORT_CHECK } else { k::JOB_IMPORT }).arg("name", &name);
    let params = serde_json::json!({
        "file": name, "upload": id, "mapping": body.mapping, "on_match": body.on_match, "dry_run": body.dry_run,
    });
    let handle = Jobs::of(&state).start(JobKind::Import, Some(&session.operator), summary, params, None).await?;
    let job = state.store.job(handle.id()).await?.ok_or(ApiError::Internal("a job just started is gone".into()))?;
    jobs::spawn(handle.clone(), import_job(state, handle, path, id, name, body));
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// The counts of an import's report as a job's result.
fn counts(report: &ImportReport) -> JobResult {
    JobResult {
        created: report.created,
        updated: report.updated,
        skipped: report.skipped,
        failed: report.failed,
        changed: 0,
        message: None,
    }
}

/// Each batch of the job: its problems to the report, its leads' segments and live updates, its
/// progress, and whether it was asked to cancel.
struct JobHook {
    state: AppState,
    handle: JobHandle,
    reason: String,
    cancelled: bool,
}

impl ImportHook for JobHook {
    async fn batch(&mut self, report: &mut ImportReport, changed: Vec<i64>) -> bool {
        let problems: Vec<(i64, String)> = std::mem::take(&mut report.problems)
            .into_iter()
            .map(|(line, reason)| (i64::try_from(line).unwrap_or(i64::MAX), reason))
            .collect();
        self.handle.problems(problems).await;
        jobs::leads_changed(&self.state, &changed, &self.reason).await;
        let asked = self.handle.progress(report.rows, &counts(report)).await;
        self.cancelled = asked || self.handle.is_cancelled().await;
        !self.cancelled
    }
}

async fn import_job(
    state: AppState,
    handle: JobHandle,
    path: std::path::PathBuf,
    upload: String,
    name: String,
    run: ImportRun,
) -> Result<Outcome, String> {
    let counted = path.clone();
    let estimate = tokio::task::spawn_blocking(move || estimate_rows(&counted)).await.ok().and_then(Result::ok);
    handle.set_total(estimate);
    let options =
        ImportOptions { map: Vec::new(), mapping: Some(run.mapping), on_match: run.on_match, dry_run: run.dry_run };
    let mut hook = JobHook {
        state: state.clone(),
        handle: handle.clone(),
        reason: Message::new(k::REASON_IMPORTED_FROM).arg("name", &name).to_stored(),
        cancelled: false,
    };
    let report = import_with(&state.store, &state.clock, &path, &options, &mut hook)
        .await
        .map_err(|e| file_refused(&e).body().error.message)?;
    let mut result = counts(&report);
    if hook.cancelled {
        result.message = Some(cancelled_message(report.rows, estimate));
        handle.progress(report.rows, &result).await;
        return Ok((JobState::Cancelled, result));
    }
    handle.set_total(Some(report.rows));
    let said = if run.dry_run {
        let fine = report.rows.saturating_sub(report.failed);
        Message::new(k::JOB_IMPORT_CHECKED)
            .with("rows", Message::number(report.rows))
            .with("fine", Message::number(fine))
            .with("failed", Message::number(report.failed))
    } else {
        state.uploads.remove(&upload);
        Message::count(k::JOB_IMPORT_IMPORTED, report.rows)
    };
    result.message = Some(crate::language::said(&said));
    handle.progress(report.rows, &result).await;
    Ok((JobState::Done, result))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload)).routes(routes!(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_fit_to_show() {
        assert_eq!(file_name(Some("C:\\Users\\ada\\leads.csv")), "leads.csv");
        assert_eq!(file_name(Some("a\u{1}b\u{7}.csv")), "ab.csv");
        assert_eq!(file_name(Some("  ")), "upload.csv");
        assert_eq!(file_name(None), "upload.csv");
        assert_eq!(file_name(Some(&"x".repeat(500))).len(), 100);
    }
}
