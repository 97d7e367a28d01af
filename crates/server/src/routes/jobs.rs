//! Background jobs (imports, bulk actions): the list, one job, a cancel, and the report of what
//! each could not take (JSON pages, or a CSV download safe to open in a spreadsheet).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use futures::StreamExt;
use leadcard_core::LiveEvent;
use leadcard_core::export::neutralise;
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::{ErrorBody, Job, JobKind, JobPage, JobProblem, JobProblemPage};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{ApiQuery, cursor_id, page_size};
use crate::store::{CancelOutcome, Store};

const JOB_NOT_FOUND: ApiError = ApiError::NotFound(k::ERROR_JOB_NOT_FOUND);
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;
/// Report rows per page of `GET /jobs/{id}/problems`, and per chunk of the CSV.
const PROBLEMS_PAGE: i64 = 1_000;

pub fn job_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(JOB_NOT_FOUND)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// The `next` of the previous page: the last job's id.
    #[param(pattern = r"^([1-9][0-9]{0,17})?$")]
    after: Option<String>,
    /// Jobs per page, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// Every job, newest first (imports and bulk actions, by any operator).
#[utoipa::path(
    get, path = "/jobs", tag = "jobs", params(ListParams), security(("session" = [])),
    responses(
        (status = 200, body = JobPage),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, description = "`invalid` (`after`, `limit`)", body = ErrorBody),
    )
)]
async fn list_jobs(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<JobPage>, ApiError> {
    let limit = i64::from(page_size(params.limit.as_deref(), MAX_LIMIT, DEFAULT_LIMIT)?);
    let after = cursor_id(params.after.as_deref(), "after", 1)?;
    let mut items = state.store.jobs(after, limit + 1).await?;
    let next = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or_default());
        items.last().map(|job| job.id.to_string())
    } else {
        None
    };
    Ok(Json(JobPage { items, next }))
}

/// One job as it is now (a page follows it with `job_changed` live updates).
#[utoipa::path(
    get, path = "/jobs/{id}", tag = "jobs", security(("session" = [])),
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, body = Job),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn get_job(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Job>, ApiError> {
    let id = job_id(&id)?;
    state.store.job(id).await?.map(Json).ok_or(JOB_NOT_FOUND)
}

/// Asks a running job to stop: it stops at the end of the batch it is on and keeps what it did
/// (its state becomes `cancelled` then, announced live).
#[utoipa::path(
    post, path = "/jobs/{id}/cancel", tag = "jobs", security(("session" = [])),
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 202, description = "Asked: the job as it is now (`cancel_requested`)", body = Job),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`job_finished`, field `id`: the job has already ended", body = ErrorBody),
    )
)]
async fn cancel_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let id = job_id(&id)?;
    match state.store.cancel_job(id, state.clock.now()).await? {
        CancelOutcome::Requested(job) => {
            state.live.publish(LiveEvent::JobChanged { job: Box::new(job.clone()) }).await;
            Ok((StatusCode::ACCEPTED, Json(job)))
        }
        CancelOutcome::Finished(job) => Err(ApiError::Conflict {
            code: "job_finished",
            field: "id".to_owned(),
            message: Message::new(k::ERROR_JOB_FINISHED).arg("state", job.state.as_str()),
        }),
        CancelOutcome::NotFound => Err(JOB_NOT_FOUND),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ProblemParams {
    /// The `next` of the previous page: `<position>.<row>`.
    #[param(pattern = r"^(-?[0-9]{1,18}\.-?[0-9]{1,18})?$")]
    after: Option<String>,
}

/// `position.row` keyset of the report.
fn parse_problem_cursor(raw: Option<&str>) -> Result<Option<(i64, i64)>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    let parsed = raw.split_once('.').and_then(|(p, r)| Some((p.parse::<i64>().ok()?, r.parse::<i64>().ok()?)));
    parsed.map(Some).ok_or_else(|| ApiError::invalid("after", k::ERROR_AFTER))
}

/// The job's report: each row of the file (`position` = its line) or lead (`position` = its id)
/// it did not take, and why, in order of position; 1,000 a page.
#[utoipa::path(
    get, path = "/jobs/{id}/problems", tag = "jobs", security(("session" = [])),
    params(("id" = i64, Path, description = "The job's id"), ProblemParams),
    responses(
        (status = 200, body = JobProblemPage),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid` (`after`)", body = ErrorBody),
    )
)]
async fn job_problems(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ProblemParams>,
) -> Result<Json<JobProblemPage>, ApiError> {
    let id = job_id(&id)?;
    let after = parse_problem_cursor(params.after.as_deref())?;
    state.store.job(id).await?.ok_or(JOB_NOT_FOUND)?;
    let rows = state.store.job_problems(id, after, PROBLEMS_PAGE).await?;
    let next =
        (rows.len() as i64 == PROBLEMS_PAGE).then(|| rows.last().map(|(_, (p, r))| format!("{p}.{r}"))).flatten();
    Ok(Json(JobProblemPage { items: rows.into_iter().map(|(problem, _)| problem).collect(), next }))
}

fn csv_rows(kind: Option<JobKind>, problems: &[JobProblem]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    if let Some(kind) = kind {
        let _ = writer.write_record([kind.position_label(), "reason"]);
    }
    for p in problems {
        let _ = writer.write_record([p.position.to_string(), neutralise(p.reason.clone())]);
    }
    writer.into_inner().unwrap_or_default()
}

/// The job's report as CSV (RFC 4180, UTF-8): `line,reason` for an import, `lead_id,reason` for
/// a bulk action, in order of position. A reason that begins with `=`, `+`, `-`, `@`, a tab or a
/// carriage return starts with `'` (no spreadsheet runs it).
#[utoipa::path(
    get, path = "/jobs/{id}/report.csv", tag = "jobs", security(("session" = [])),
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The report, streamed", content_type = "text/csv",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"job-<id>-report.csv\"`"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn job_report(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let id = job_id(&id)?;
    let job = state.store.job(id).await?.ok_or(JOB_NOT_FOUND)?;
    let first = state.store.job_problems(id, None, PROBLEMS_PAGE).await?;
    let head = csv_rows(Some(job.kind), &first.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
    let after = (first.len() as i64 == PROBLEMS_PAGE).then(|| first.last().map(|(_, k)| *k)).flatten();
    let rest = futures::stream::unfold(
        (state.store.clone(), after),
        move |(store, after): (Store, Option<(i64, i64)>)| async move {
            let after = after?;
            match store.job_problems(id, Some(after), PROBLEMS_PAGE).await {
                Ok(rows) => {
                    let next = (rows.len() as i64 == PROBLEMS_PAGE).then(|| rows.last().map(|(_, k)| *k)).flatten();
                    let chunk = csv_rows(None, &rows.into_iter().map(|(p, _)| p).collect::<Vec<_>>());
                    Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), (store, next)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "a job report stopped");
                    Some((Err(std::io::Error::other("the report stopped")), (store, None)))
                }
            }
        },
    );
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) }).chain(rest).fuse();
    let filename = format!("attachment; filename=\"job-{id}-report.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, filename)],
        Body::from_stream(body),
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(cancel_job))
        .routes(routes!(job_problems))
        .routes(routes!(job_report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_cells_are_neutralised_and_cursors_checked() {
        let rows = [JobProblem { position: 3, reason: "=cmd".into() }];
        let text = String::from_utf8(csv_rows(Some(JobKind::Import), &rows)).unwrap();
        assert_eq!(text, "line,reason\r\n3,'=cmd\r\n");
        assert_eq!(parse_problem_cursor(Some("3.9")).unwrap(), Some((3, 9)));
        assert!(parse_problem_cursor(Some("x")).is_err());
    }
}
