//! `GET /leads/export`: the leads of a search, filter or segment (or the selected ones) as a CSV
//! download with the columns asked for, streamed as it is read.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use leadcard_core::export::parse_columns;
use leadcard_core::locale::{Message, k};
use leadcard_core::wire::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{parse_filter, parse_search, segments_for, within_segment};
use crate::app::AppState;
use crate::error::ApiError;
use crate::export::{ExportRequest, start};
use crate::extract::ApiQuery;
use crate::store::ExportScope;

/// Most ids in `ids` (the selected rows).
const MAX_IDS: usize = 10_000;

/// The export's query parameters, as sent.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// As for `GET /leads`.
    q: Option<String>,
    /// As for `GET /leads`.
    filter: Option<String>,
    /// As for `GET /leads`.
    #[param(value_type = Option<i64>)]
    segment: Option<String>,
    /// Only these leads (the selected rows): ids, comma-separated, at most 10,000.
    ids: Option<String>,
    /// The columns, comma-separated: `id`, `created_at`, `tags`, `subscription_status` or a
    /// property's name (`$name`, `$email`, `plan`, ...). Default: id, name, email, phone, user id,
    /// tags, status, created.
    columns: Option<String>,
    /// `true` to start the file with a UTF-8 byte-order mark (for Excel).
    #[param(value_type = Option<bool>)]
    bom: Option<String>,
}

fn parse_ids(raw: Option<&str>) -> Result<Option<Vec<i64>>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    let ids = raw
        .split(',')
        .map(|id| id.trim().parse::<i64>().ok().filter(|id| *id > 0))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| ApiError::invalid("ids", k::ERROR_EXPORT_IDS))?;
    if ids.len() > MAX_IDS {
        return Err(ApiError::invalid("ids", Message::new(k::ERROR_EXPORT_TOO_MANY_IDS).arg("max", MAX_IDS)));
    }
    Ok(Some(ids))
}

fn parse_bom(raw: Option<&str>) -> Result<bool, ApiError> {
    match raw.map(str::trim).unwrap_or_default() {
        "" | "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        _ => Err(ApiError::invalid("bom", k::ERROR_EXPORT_BOM)),
    }
}

/// The matching leads as CSV (RFC 4180, UTF-8): a header row of the column names, then a row per
/// lead in id order. A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return starts
/// with `'` (so a spreadsheet never runs it); lists and tags are `; `-separated.
#[utoipa::path(
    get, path = "/leads/export", tag = "leads", params(ExportParams), security(("session" = [])),
    responses(
        (status = 200, description = "The CSV file, streamed", content_type = "text/csv",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"leads-<time>.csv\"`"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid_filter` (field `filter.all[i]...`) or `invalid` (`q`, `segment`, `ids`, `columns`, `bom`)"),
    )
)]
async fn export(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<impl IntoResponse, ApiError> {
    let search = parse_search(params.q.as_deref())?;
    let saved = segments_for(&state, params.filter.as_deref()).await?;
    let filter = parse_filter(params.filter.as_deref(), &saved)?;
    let filter = within_segment(&state, params.segment.as_deref(), filter).await?;
    let ids = parse_ids(params.ids.as_deref())?;
    let columns = parse_columns(params.columns.as_deref()).map_err(|e| ApiError::invalid(e.field, e.message))?;
    let bom = parse_bom(params.bom.as_deref())?;
    let now = state.clock.now();
    let request = ExportRequest { scope: ExportScope { filter, search, ids }, columns, bom };
    let stream = start(state.store.clone(), request, now).await?;
    let filename = format!("attachment; filename=\"leads-{}.csv\"", now.format("%Y%m%d-%H%M%S"));
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, filename)],
        Body::from_stream(stream),
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_bom_are_refused_by_name() {
        assert_eq!(parse_ids(Some(" 3, 5 ")).unwrap(), Some(vec![3, 5]));
        assert_eq!(parse_ids(Some("")).unwrap(), None);
        for bad in ["3,x", "0", "-2", "3,,4"] {
            assert_eq!(parse_ids(Some(bad)).unwrap_err().body().error.field.as_deref(), Some("ids"), "{bad}");
        }
        assert!(parse_bom(Some("true")).unwrap());
        assert!(!parse_bom(None).unwrap());
        assert_eq!(parse_bom(Some("yes")).unwrap_err().body().error.field.as_deref(), Some("bom"));
    }
}
