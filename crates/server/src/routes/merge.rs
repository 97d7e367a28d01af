//! Merging two cards of one person: `POST /leads/{id}/merge` moves the other card into this one.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use leadcard_core::LiveEvent;
use leadcard_core::locale::{Message, k};
use leadcard_core::merge::MergeLeads;
use leadcard_core::wire::{ErrorBody, LeadCard};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::leads::{LEAD_NOT_FOUND, lead_id};
use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::{ApiError, etag};
use crate::extract::ApiJson;
use crate::segments::{Cause, recompute_lead_logged};
use crate::store::Merged;

/// Merges the card `other` into this card, in one transaction: the properties named in `take`
/// take the other card's value (the others both have keep this card's; sessions add up, first
/// and last seen widen), and its events, conversations and messages, notes, tags, segment
/// timeline, site sessions and visitor ids move here. A hard bounce or an unsubscribe of an
/// address the person loses carries over to the kept address. The other card's id then answers
/// `GET /leads/{id}` with a redirect to this card. Two cards with different user ids are refused.
#[utoipa::path(
    post, path = "/leads/{id}/merge", tag = "leads", security(("session" = [])), request_body = MergeLeads,
    params(("id" = i64, Path, description = "The kept lead's id")),
    responses(
        (status = 200, description = "Merged; the kept card now", body = LeadCard,
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`csrf`", body = ErrorBody),
        (status = 404, description = "`not_found`: no kept lead with this id", body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid` (field `other`: no such lead or this one; \
            `take` or `take[i]`: not a property of the other card, or one the merge combines), or \
            `merge_refused` (field `other`: both cards have different user ids)"),
    )
)]
async fn merge(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MergeLeads>,
) -> Result<impl IntoResponse, ApiError> {
    let id = lead_id(&id)?;
    let take = body.taken(id)?;
    let other = body.other;
    match state.store.merge_cards(id, other, &take, session.operator.id, state.clock.now()).await? {
        Merged::Done { card, address_leads } => {
            state.live.publish(LiveEvent::LeadMerged { lead_id: other, into: id }).await;
            recompute_lead_logged(&state, id, Cause::Other(Message::new(k::REASON_MERGED_WITH).arg("id", other))).await;
            state.live.publish(LiveEvent::LeadChanged { lead_id: id }).await;
            for lead_id in address_leads {
                state.live.publish(LiveEvent::LeadChanged { lead_id }).await;
            }
            Ok(([(header::ETAG, etag(card.version))], Json(*card)))
        }
        Merged::NotFound => Err(LEAD_NOT_FOUND),
        Merged::OtherNotFound => Err(ApiError::invalid("other", k::ERROR_LEAD_NOT_FOUND)),
        Merged::NotOnOther(index) => Err(ApiError::invalid(
            format!("take[{index}]"),
            Message::new(k::ERROR_MERGE_NO_PROPERTY).arg("id", other).arg("name", take[index].as_str()),
        )),
        Merged::Refused(reason) => {
            Err(ApiError::Unprocessable { code: "merge_refused", field: "other".to_owned(), message: reason.into() })
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(merge))
}
