//! Editing a card's properties: `PATCH /leads/{id}/properties` with a list of operations,
//! applied in one transaction under the card's version (ETag / If-Match).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use leadcard_core::operation::check_operator_batch;
use leadcard_core::wire::{Conflict, ErrorBody, LeadCard, PatchProperties};
use leadcard_core::{Operation, PropertyName};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::error::{ApiError, etag};
use crate::extract::ApiJson;
use crate::segments::{Cause, recompute_lead_logged};
use crate::store::{VersionCheck, Written};
use leadcard_core::LiveEvent;

/// `PatchProperties` with each operation still raw JSON, so that a refused one can be named.
#[derive(Deserialize)]
struct RawPatch {
    operations: Vec<serde_json::Value>,
}

/// Each operation as a core `Operation`. A property name the core refuses (`$plan`) is
/// `invalid_property` naming it; any other shape error (unknown op or value type, a value of
/// the wrong JSON type) is `invalid` naming `operations[i]` and where in it.
fn parse_operations(raw: Vec<serde_json::Value>) -> Result<Vec<Operation>, ApiError> {
    raw.into_iter()
        .enumerate()
        .map(|(index, value)| {
            let name = value.get("name").and_then(serde_json::Value::as_str).map(str::to_owned);
            serde_path_to_error::deserialize(value).map_err(|e| {
                if let Some(Err(error)) = name.as_deref().map(PropertyName::parse) {
                    return ApiError::InvalidProperty { field: name.unwrap_or_default(), message: error.message() };
                }
                let path = e.path().to_string();
                let field =
                    if path == "." { format!("operations[{index}]") } else { format!("operations[{index}].{path}") };
                // serde's words: the console never sends an operation of the wrong shape.
                ApiError::invalid(field, leadcard_core::locale::Message::plain(e.into_inner().to_string()))
            })
        })
        .collect()
}

/// The versions an `If-Match` header allows, or None without the header. `*` allows the
/// current version; weak or malformed tags match no version (RFC 9110 uses strong comparison).
fn version_check(headers: &HeaderMap) -> Option<VersionCheck> {
    let values: Vec<&str> = headers
        .get_all(header::IF_MATCH)
        .iter()
        .map(|v| v.to_str().unwrap_or_default())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if values.is_empty() {
        return None;
    }
    if values.contains(&"*") {
        return Some(VersionCheck::Current);
    }
    let versions =
        values.iter().filter_map(|tag| tag.strip_prefix('"')?.strip_suffix('"')?.parse::<i64>().ok()).collect();
    Some(VersionCheck::OneOf(versions))
}

/// Applies property operations (set, set_once, add, append, union, exclude, delete) in order, in
/// one transaction, all or nothing. Set and delete need `If-Match: "<version>"`; the commuting
/// operations apply to the current values without it (no conflict possible, no edit lost).
#[utoipa::path(
    patch, path = "/leads/{id}/properties", tag = "leads", security(("session" = [])),
    params(
        ("id" = i64, Path, description = "The lead's id"),
        ("If-Match" = Option<String>, Header,
            description = "`\"<version>\"` from the card's ETag; required with set or delete"),
    ),
    request_body = PatchProperties,
    responses(
        (status = 200, description = "Applied; the version grew by one", body = LeadCard,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 412, body = Conflict,
            description = "`version_conflict`: the card changed; `current` is the card now"),
        (status = 422, body = ErrorBody,
            description = "`invalid_property` (field: the property's name) or `invalid` (field `operations[i]...`)"),
        (status = 428, description = "`precondition_required`: set or delete without If-Match", body = ErrorBody),
    )
)]
async fn patch_properties(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RawPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = lead_id(&id)?;
    let operations = parse_operations(body.operations)?;
    check_operator_batch(&operations).map_err(|e| ApiError::InvalidProperty {
        field: if e.name.is_empty() { "operations".to_owned() } else { e.name },
        message: e.error.message(),
    })?;
    let check = match version_check(&headers) {
        Some(check) => check,
        None if operations.iter().all(Operation::commutes) => VersionCheck::Current,
        None => return Err(ApiError::PreconditionRequired),
    };
    match state.store.patch_properties(id, &operations, &check, state.clock.now()).await? {
        Written::Done(card) => {
            let mut changes: Vec<(String, Option<leadcard_core::PropertyValue>)> = Vec::new();
            for op in &operations {
                let name = op.name().as_str();
                if !changes.iter().any(|(n, _)| n == name) {
                    changes.push((name.to_owned(), card.property(name).cloned()));
                }
            }
            recompute_lead_logged(&state, id, Cause::Properties(changes)).await;
            state.live.publish(LiveEvent::LeadChanged { lead_id: id }).await;
            Ok(([(header::ETAG, etag(card.version))], Json(card)))
        }
        Written::NotApplied => match state.store.lead_card(id, state.clock.now()).await? {
            Some(current) => Err(ApiError::VersionConflict(Box::new(current))),
            None => Err(LEAD_NOT_FOUND),
        },
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(patch_properties))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;

    fn field(err: ApiError) -> Option<String> {
        err.body().error.field
    }

    #[test]
    fn if_match_gives_the_versions_a_write_may_apply_to() {
        let mut headers = HeaderMap::new();
        assert_eq!(version_check(&headers), None);
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"7\""));
        assert_eq!(version_check(&headers), Some(VersionCheck::OneOf(vec![7])));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"7\", W/\"8\", \"9\""));
        assert_eq!(version_check(&headers), Some(VersionCheck::OneOf(vec![7, 9])));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("garbage"));
        assert_eq!(version_check(&headers), Some(VersionCheck::OneOf(vec![])));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(version_check(&headers), Some(VersionCheck::Current));
    }

    #[test]
    fn refused_operations_name_the_property_or_their_place() {
        let err =
            parse_operations(vec![json!({"op": "set", "name": "$plan", "value": {"type": "text", "value": "x"}})])
                .unwrap_err();
        assert!(matches!(err, ApiError::InvalidProperty { ref field, .. } if field == "$plan"), "{err:?}");
        let err = parse_operations(vec![
            json!({"op": "add", "name": "visits", "by": 1}),
            json!({"op": "multiply", "name": "visits", "by": 2}),
        ])
        .unwrap_err();
        assert_eq!(field(err).as_deref(), Some("operations[1].op"));
        let ops = parse_operations(vec![json!({"op": "delete", "name": "plan"})]).unwrap();
        assert_eq!(ops, [Operation::Delete { name: PropertyName::parse("plan").unwrap() }]);
    }
}
