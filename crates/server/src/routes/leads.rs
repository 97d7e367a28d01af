//! The Leads Database (`GET /leads`, its count `GET /leads/count`) and the card (`GET /leads/{id}`;
//! a merged card's id redirects to the card it was merged into).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadcard_core::lead_sort::LeadSort;
use leadcard_core::locale::{Message, k};
use leadcard_core::property::MAX_TEXT_CHARS;
use leadcard_core::wire::{ErrorBody, LeadCard, LeadPage, Total};
use leadcard_core::{Filter, Match, Segment, ValidCondition, ValidFilter};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::API_BASE;
use crate::app::AppState;
use crate::error::{ApiError, etag};
use crate::extract::{ApiQuery, page_size};
use crate::store::{LeadQuery, SearchTerms, SortCursor};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// The list's query parameters, as sent; [`LeadsParams::parse`] checks them.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LeadsParams {
    /// Search in name, email, phone and user id: a fragment, in any case, accents ignored
    /// (`muller` finds Müller); a phone number also by its digits alone.
    q: Option<String>,
    /// A `Filter` as JSON (what the page's filter builder writes to its URL).
    filter: Option<String>,
    /// A segment's id: only leads in it now (and matching `filter`).
    #[param(value_type = Option<i64>)]
    segment: Option<String>,
    /// The order: `last_seen`, `created`, `name` or `email`, ascending, or with a leading `-`
    /// descending (default `-created`, newest first). Each order is paged by its own keyset.
    sort: Option<String>,
    /// The `next` cursor of the previous page (of the same `sort`).
    after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// Comma-separated lead ids, at most 200: only those of them that match (a page learns which
    /// leads that changed belong in its list). The page size is then the number of ids.
    ids: Option<String>,
}

/// The count's query parameters: the list's, without the page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CountParams {
    /// As for `GET /leads`.
    q: Option<String>,
    /// As for `GET /leads`.
    filter: Option<String>,
    /// As for `GET /leads`.
    #[param(value_type = Option<i64>)]
    segment: Option<String>,
}

/// The search text: blank is none; longer than a text value is refused.
pub(super) fn parse_search(q: Option<&str>) -> Result<Option<SearchTerms>, ApiError> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else { return Ok(None) };
    if q.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::invalid("q", Message::new(k::ERROR_SEARCH_TOO_LONG).arg("max", MAX_TEXT_CHARS)));
    }
    Ok(SearchTerms::parse(q))
}

/// The saved segments the filter's segment conditions open (none read when it has none).
pub(super) async fn segments_for(state: &AppState, raw: Option<&str>) -> Result<Vec<Segment>, ApiError> {
    let names_segments =
        raw.and_then(|raw| Filter::from_query(raw.trim()).ok()).is_some_and(|f| !f.segment_ids().is_empty());
    Ok(if names_segments { state.store.segments().await? } else { Vec::new() })
}

/// The filter as JSON, checked (segment conditions opened from `saved`); blank is no filter.
pub(super) fn parse_filter(raw: Option<&str>, saved: &[Segment]) -> Result<ValidFilter, ApiError> {
    match raw.map(str::trim).filter(|f| !f.is_empty()) {
        Some(raw) => Ok(Filter::from_query(raw)?.check_with(saved, None)?),
        None => Ok(ValidFilter::default()),
    }
}

/// `filter`, and within the segment `segment` names (when given) too.
pub(super) async fn within_segment(
    state: &AppState,
    segment: Option<&str>,
    filter: ValidFilter,
) -> Result<ValidFilter, ApiError> {
    let Some(raw) = segment.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(filter) };
    let unknown = || ApiError::invalid("segment", k::ERROR_SEGMENT_NOT_FOUND);
    let id = raw.parse::<i64>().map_err(|_| unknown())?;
    let saved = state.store.segments().await?;
    let segment = saved.iter().find(|s| s.id == id).ok_or_else(unknown)?;
    let segment = segment.filter.check_with(&saved, Some(id))?;
    Ok(ValidFilter {
        mode: Match::All,
        all: [segment, filter]
            .into_iter()
            .filter(|f| !f.all.is_empty())
            .map(|f| ValidCondition::Group { mode: f.mode, conditions: f.all })
            .collect(),
    })
}

impl LeadsParams {
    /// The query; `saved` are the segments the filter's segment conditions open.
    fn parse(self, saved: &[Segment]) -> Result<LeadQuery, ApiError> {
        let search = parse_search(self.q.as_deref())?;
        let filter = parse_filter(self.filter.as_deref(), saved)?;
        let sort = LeadSort::parse(self.sort.as_deref().unwrap_or_default())
            .ok_or_else(|| ApiError::invalid("sort", Message::new(k::ERROR_SORT).arg("values", LeadSort::VALUES)))?;
        let after = match self.after.as_deref().filter(|a| !a.is_empty()) {
            Some(raw) => Some(SortCursor::parse(sort, raw).ok_or_else(|| ApiError::invalid("after", k::ERROR_CURSOR))?),
            None => None,
        };
        let limit = page_size(self.limit.as_deref(), MAX_LIMIT, DEFAULT_LIMIT)?;
        let ids = parse_ids(self.ids.as_deref())?;
        let limit = match &ids {
            Some(ids) if self.limit.as_deref().is_none_or(str::is_empty) => ids.len() as u32,
            _ => limit,
        };
        Ok(LeadQuery { filter, search, sort, after, limit, ids })
    }
}

/// `ids`: blank is no restriction; otherwise 1 to [`MAX_LIMIT`] lead ids, comma-separated.
fn parse_ids(raw: Option<&str>) -> Result<Option<Vec<i64>>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else { return Ok(None) };
    let ids = raw
        .split(',')
        .map(|id| id.trim().parse::<i64>().ok().filter(|id| *id > 0))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| ApiError::invalid("ids", k::ERROR_IDS))?;
    if ids.len() > MAX_LIMIT as usize {
        return Err(ApiError::invalid("ids", Message::new(k::ERROR_IDS_TOO_MANY).arg("max", MAX_LIMIT)));
    }
    Ok(Some(ids))
}

/// One page of leads, in the order `sort` asks (newest first by default). Only the rows: how many match is `GET /leads/count`, asked
/// beside it, so the rows never wait for the count.
#[utoipa::path(
    get, path = "/leads", tag = "leads", params(LeadsParams), security(("session" = [])),
    responses(
        (status = 200, body = LeadPage),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid_filter` (field `filter.all[i]...`) or `invalid` (`q`, `sort`, `after`, `limit`, `segment`, `ids`)"),
    )
)]
async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<LeadsParams>,
) -> Result<Json<LeadPage>, ApiError> {
    let segment = params.segment.clone();
    let saved = segments_for(&state, params.filter.as_deref()).await?;
    let mut query = params.parse(&saved)?;
    query.filter = within_segment(&state, segment.as_deref(), std::mem::take(&mut query.filter)).await?;
    Ok(Json(state.store.lead_page(&query, state.clock.now()).await?))
}

/// How many leads the same `q`, `filter` and `segment` as `GET /leads` match: exact up to 1,000,
/// above that `{"count": 1000, "exact": false}`.
#[utoipa::path(
    get, path = "/leads/count", tag = "leads", params(CountParams), security(("session" = [])),
    responses(
        (status = 200, body = Total),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, body = ErrorBody,
            description = "`invalid_filter` (field `filter.all[i]...`) or `invalid` (`q`, `segment`)"),
    )
)]
async fn count(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CountParams>,
) -> Result<Json<Total>, ApiError> {
    let search = parse_search(params.q.as_deref())?;
    let saved = segments_for(&state, params.filter.as_deref()).await?;
    let filter = parse_filter(params.filter.as_deref(), &saved)?;
    let filter = within_segment(&state, params.segment.as_deref(), filter).await?;
    Ok(Json(state.store.lead_count(&filter, search.as_ref(), state.clock.now()).await?))
}

/// A lead's card; the ETag is its version.
#[utoipa::path(
    get, path = "/leads/{id}", tag = "leads", security(("session" = [])),
    params(("id" = i64, Path, description = "The lead's id")),
    responses(
        (status = 200, body = LeadCard, headers(("ETag" = String, description = "`\"<version>\"`"))),
        (status = 308, description = "The lead was merged into another card: `Location` is that card's URL",
            headers(("Location" = String, description = "`/api/v1/leads/<kept id>`"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
async fn card(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = lead_id(&id)?;
    if let Some(card) = state.store.lead_card(id, state.clock.now()).await? {
        return Ok(([(header::ETAG, etag(card.version))], Json(card)).into_response());
    }
    match state.store.merged_into(id).await? {
        Some(into) => {
            Ok((StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, format!("{API_BASE}/leads/{into}"))])
                .into_response())
        }
        None => Err(LEAD_NOT_FOUND),
    }
}

pub(super) const LEAD_NOT_FOUND: ApiError = ApiError::NotFound(k::ERROR_LEAD_NOT_FOUND);

/// A lead id from the path; one that is not a number names no lead.
pub(super) fn lead_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| LEAD_NOT_FOUND)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(count)).routes(routes!(card))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: Option<&str>, filter: Option<&str>, after: Option<&str>, limit: Option<&str>) -> LeadsParams {
        LeadsParams {
            q: q.map(Into::into),
            filter: filter.map(Into::into),
            segment: None,
            sort: None,
            after: after.map(Into::into),
            limit: limit.map(Into::into),
            ids: None,
        }
    }

    fn field(err: ApiError) -> Option<String> {
        err.body().error.field
    }

    #[test]
    fn defaults_apply_when_parameters_are_absent_or_empty() {
        let q = params(Some("  "), Some(""), Some(""), None).parse(&[]).unwrap();
        assert_eq!((q.search, q.after, q.limit), (None, None, DEFAULT_LIMIT));
    }

    #[test]
    fn bad_parameters_name_their_field() {
        assert_eq!(field(params(None, None, Some("abc"), None).parse(&[]).unwrap_err()).as_deref(), Some("after"));
        assert_eq!(field(params(None, None, Some("-4"), None).parse(&[]).unwrap_err()).as_deref(), Some("after"));
        assert_eq!(field(params(None, None, None, Some("0")).parse(&[]).unwrap_err()).as_deref(), Some("limit"));
        assert_eq!(field(params(None, None, None, Some("201")).parse(&[]).unwrap_err()).as_deref(), Some("limit"));
        let long = "x".repeat(256);
        assert_eq!(field(params(Some(&long), None, None, None).parse(&[]).unwrap_err()).as_deref(), Some("q"));
        let bad = r#"{"all":[{"kind":"tag","tag":"vip"},{"kind":"tag","tag":" "}]}"#;
        assert_eq!(
            field(params(None, Some(bad), None, None).parse(&[]).unwrap_err()).as_deref(),
            Some("filter.all[1].tag")
        );
    }
}
