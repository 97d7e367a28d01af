//! All HTTP to the leadcard API (`/api/v1`): typed requests, typed answers, typed errors.
//! Pages call these functions and never build an API URL themselves.

use std::fmt;

use gloo_net::http::{Method, RequestBuilder, Response};
use leadcard_core::Operation;
use leadcard_core::filter::{Filter, FilterError};
use leadcard_core::import::{ImportRun, ImportUpload};
use leadcard_core::inbox::{
    Assign, Channels, Conversation, ConversationFilter, ConversationPage, MessagePage, NewMessage, OperatorRef,
    SendMessage, Sent, Thread,
};
use leadcard_core::mail::{CampaignQueued, EmailSettingsBody, NewCampaign, OutboxPage, RemoveLead};
use leadcard_core::merge::MergeLeads;
use leadcard_core::segment::{CountRequest, LeadFacts, NewSegment, Segment, SegmentCount, SegmentHistoryEntry};
use leadcard_core::tracking::{AddEvent, EventGroup, EventPage, LeadEvent, SessionPages, VisitorList};
use leadcard_core::wire::{
    AccountSettings, Conflict, ErrorBody, Job, JobProblemPage, LeadCard, LeadPage, NewNote, NewTag, Note, Operator,
    PatchProperties, Pins, PropertyInfo, SignIn, Subscription, TagInfo, Total,
};
use leptos::prelude::on_cleanup;
use send_wrapper::SendWrapper;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen_futures::JsFuture;

use crate::browser::i18n::{k, t, tf};
use crate::browser::json;

const BASE: &str = "/api/v1";
/// The code of [`ApiError::signed_out`]; the server never sends it.
const SIGNED_OUT: &str = "signed_out";

/// An API error as the server describes it (`{"error": {"code", "message", "field"?}}`), or a
/// failure to reach the server at all (`status` 0). `message` is what the operator reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    /// No session, or it has ended: the operator has to sign in.
    pub fn is_unauthenticated(&self) -> bool {
        self.status == 401
    }

    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    /// A filter the server (or the core check in the page) refused, naming the condition in `field`.
    pub fn is_filter_error(&self) -> bool {
        self.status == 422 && self.field.as_deref().is_some_and(|f| f.starts_with("filter"))
    }

    /// What the session holds after the operator signed out on purpose.
    pub fn signed_out() -> Self {
        Self { status: 401, code: SIGNED_OUT.to_owned(), message: t(k::API_SIGNED_OUT).to_owned(), field: None }
    }

    /// The operator signed out (rather than the session ending by itself).
    pub fn is_signed_out(&self) -> bool {
        self.status == 401 && self.code == SIGNED_OUT
    }

    fn unreachable() -> Self {
        Self { status: 0, code: "network".to_owned(), message: t(k::API_UNREACHABLE).to_owned(), field: None }
    }

    fn unreadable(status: u16) -> Self {
        let message = match status {
            401 => t(k::API_SESSION_ENDED).to_owned(),
            500.. => t(k::API_SERVER_PROBLEM).to_owned(),
            _ => tf(k::API_UNEXPECTED, &[("status", &status.to_string())]),
        };
        Self { status, code: "unexpected_response".to_owned(), message, field: None }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// The page runs the core filter check before asking; a refusal reads like the server's 422.
impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        Self { status: 422, code: "invalid_filter".to_owned(), message: e.to_string(), field: Some(e.field) }
    }
}

/// Why a property write did not land.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    /// The card changed since the version the write was based on; this is the card as it is now.
    Conflict(Box<LeadCard>),
    Refused(ApiError),
}

impl From<ApiError> for WriteError {
    fn from(e: ApiError) -> Self {
        Self::Refused(e)
    }
}

/// One request for the Leads Database: search text, filter, and where the page starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadQuery {
    pub q: String,
    pub filter: Filter,
    /// The order (the count ignores it).
    pub sort: leadcard_core::lead_sort::LeadSort,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Only these leads, those of them that match (empty: no restriction).
    pub ids: Vec<i64>,
}

/// `POST /session`: signs in; the server sets the session cookie.
pub async fn sign_in(credentials: &SignIn) -> Result<Operator, ApiError> {
    json(send(request(Method::POST, "/session"), Some(credentials)).await?).await
}

/// `DELETE /session`: ends the session on the server.
pub async fn sign_out() -> Result<(), ApiError> {
    send(request(Method::DELETE, "/session"), None::<&()>).await.map(drop)
}

/// `GET /me`: the signed-in operator, or a 401 error.
pub async fn me() -> Result<Operator, ApiError> {
    call(request(Method::GET, "/me")).await
}

/// `GET /leads`: one page of leads matching the search and filter.
pub async fn leads(query: LeadQuery) -> Result<LeadPage, ApiError> {
    let filter = if query.filter.is_empty() { String::new() } else { json::filter_to_query(&query.filter) };
    let sort = query.sort.as_query();
    let ids = query.ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let params = [
        ("q", query.q.trim()),
        ("filter", filter.as_str()),
        ("sort", sort.as_str()),
        ("after", query.after.as_deref().unwrap_or("")),
        ("ids", ids.as_str()),
    ];
    let builder = request(Method::GET, "/leads").query(params.into_iter().filter(|(_, value)| !value.is_empty()));
    call(builder).await
}

/// `GET /leads/count`: how many leads match the search and filter (capped), asked beside the rows.
pub async fn lead_count(query: LeadQuery) -> Result<Total, ApiError> {
    let filter = if query.filter.is_empty() { String::new() } else { json::filter_to_query(&query.filter) };
    let params = [("q", query.q.trim()), ("filter", filter.as_str())];
    let builder = request(Method::GET, "/leads/count").query(params.into_iter().filter(|(_, value)| !value.is_empty()));
    call(builder).await
}

/// `POST /leads`: adds a lead by hand; the new card.
pub async fn create_lead(body: &leadcard_core::intake::NewLeadBody) -> Result<LeadCard, ApiError> {
    json(send(request(Method::POST, "/leads"), Some(body)).await?).await
}

/// `GET /leads/export`: where the CSV of the leads a search and filter find is downloaded, with
/// these columns (the server's defaults when none) and, for Excel, a byte-order mark. A link, not
/// a request: the browser downloads the file itself, streamed.
pub fn leads_export_url(q: &str, filter: &Filter, columns: &[String], bom: bool) -> String {
    let filter = if filter.is_empty() { String::new() } else { json::filter_to_query(filter) };
    let columns = columns.join(",");
    let params = [
        ("q", q.trim()),
        ("filter", filter.as_str()),
        ("columns", columns.as_str()),
        ("bom", if bom { "true" } else { "" }),
    ];
    let Ok(query) = web_sys::UrlSearchParams::new() else { return format!("{BASE}/leads/export") };
    for (name, value) in params.into_iter().filter(|(_, value)| !value.is_empty()) {
        query.append(name, value);
    }
    format!("{BASE}/leads/export?{}", String::from(query.to_string()))
}

/// `GET /leads/{id}`: the card of one lead; 404 when there is none.
pub async fn lead(id: i64) -> Result<LeadCard, ApiError> {
    call(request(Method::GET, &format!("/leads/{id}"))).await
}

/// `GET /properties`: the property names in use (system first), for the filter builder.
pub async fn properties() -> Result<Vec<PropertyInfo>, ApiError> {
    call(request(Method::GET, "/properties")).await
}

/// `GET /tags`: the tags in use, most used first.
pub async fn tags() -> Result<Vec<TagInfo>, ApiError> {
    call(request(Method::GET, "/tags")).await
}

/// `PATCH /leads/{id}/properties`: applies the operations, all or nothing, to the card at `version`
/// (sent as If-Match); the card after them, or the current card when `version` is stale.
pub async fn patch_properties(id: i64, version: i64, operations: Vec<Operation>) -> Result<LeadCard, WriteError> {
    let builder =
        request(Method::PATCH, &format!("/leads/{id}/properties")).header("If-Match", &format!("\"{version}\""));
    let response = transmit(builder, Some(&PatchProperties { operations })).await?;
    match response.status() {
        412 => match read_body::<Conflict>(response).await {
            Some(conflict) => Err(WriteError::Conflict(Box::new(conflict.current))),
            None => Err(ApiError::unreadable(412).into()),
        },
        _ if response.ok() => Ok(json(response).await?),
        _ => Err(error_of(response).await.into()),
    }
}

/// `PATCH /leads/{id}/properties` without If-Match: operations that commute (add, union,
/// exclude) apply to whatever the lead holds now, so they never conflict; the card after them.
pub async fn apply_operations(id: i64, operations: Vec<Operation>) -> Result<LeadCard, ApiError> {
    json(send(request(Method::PATCH, &format!("/leads/{id}/properties")), Some(&PatchProperties { operations })).await?)
        .await
}

/// `GET /pins`: the signed-in operator's pinned property names, in pin order.
pub async fn pins() -> Result<Pins, ApiError> {
    call(request(Method::GET, "/pins")).await
}

/// `PUT /pins`: replaces the signed-in operator's pins; the pins as stored.
pub async fn set_pins(pins: &Pins) -> Result<Pins, ApiError> {
    json(send(request(Method::PUT, "/pins"), Some(pins)).await?).await
}

/// A lead's tags after a change, sorted, and the card version the change made (its ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagsChanged {
    pub tags: Vec<String>,
    pub version: Option<i64>,
}

/// `POST /leads/{id}/tags`.
pub async fn add_tag(id: i64, tag: &NewTag) -> Result<TagsChanged, ApiError> {
    tags_changed(send(request(Method::POST, &format!("/leads/{id}/tags")), Some(tag)).await?).await
}

/// `DELETE /leads/{id}/tags/{tag}`.
pub async fn remove_tag(id: i64, tag: &str) -> Result<TagsChanged, ApiError> {
    let tag = String::from(js_sys::encode_uri_component(tag));
    tags_changed(send(request(Method::DELETE, &format!("/leads/{id}/tags/{tag}")), None::<&()>).await?).await
}

async fn tags_changed(response: Response) -> Result<TagsChanged, ApiError> {
    let version = response.headers().get("ETag").and_then(|etag| etag.trim_matches('"').parse().ok());
    Ok(TagsChanged { tags: json(response).await?, version })
}

/// `GET /leads/{id}/notes`: the operators' notes on the lead, newest first.
pub async fn notes(id: i64) -> Result<Vec<Note>, ApiError> {
    call(request(Method::GET, &format!("/leads/{id}/notes"))).await
}

/// `POST /leads/{id}/notes`: the note as stored.
pub async fn add_note(id: i64, note: &NewNote) -> Result<Note, ApiError> {
    json(send(request(Method::POST, &format!("/leads/{id}/notes")), Some(note)).await?).await
}

/// `PATCH /leads/{id}/notes/{note_id}`: a new body for one's own note; the note as stored.
pub async fn edit_note(id: i64, note_id: i64, note: &NewNote) -> Result<Note, ApiError> {
    json(send(request(Method::PATCH, &format!("/leads/{id}/notes/{note_id}")), Some(note)).await?).await
}

/// `DELETE /leads/{id}/notes/{note_id}`: only the note's author may.
pub async fn delete_note(id: i64, note_id: i64) -> Result<(), ApiError> {
    send(request(Method::DELETE, &format!("/leads/{id}/notes/{note_id}")), None::<&()>).await.map(drop)
}

/// `GET /visitors`: leads on the site now (online or sleeping, not hidden), with the server's clock.
pub async fn visitors() -> Result<VisitorList, ApiError> {
    call(request(Method::GET, "/visitors").query([("limit", "1000")])).await
}

/// `GET /leads/{id}/events`: one page of the lead's events, newest first; `name` keeps one group.
pub async fn events(id: i64, after: Option<&str>, name: Option<&str>) -> Result<EventPage, ApiError> {
    let params = [("after", after.unwrap_or("")), ("name", name.unwrap_or(""))];
    let builder =
        request(Method::GET, &format!("/leads/{id}/events")).query(params.into_iter().filter(|(_, v)| !v.is_empty()));
    call(builder).await
}

/// `GET /leads/{id}/event-groups`: the lead's events by name, most recent first.
pub async fn event_groups(id: i64) -> Result<Vec<EventGroup>, ApiError> {
    call(request(Method::GET, &format!("/leads/{id}/event-groups"))).await
}

/// `POST /leads/{id}/events`: an event added by hand, as stored.
pub async fn add_event(id: i64, event: &AddEvent) -> Result<LeadEvent, ApiError> {
    json(send(request(Method::POST, &format!("/leads/{id}/events")), Some(event)).await?).await
}

/// `GET /leads/{id}/session-pages`: the lead's latest site session and the pages viewed in it.
pub async fn session_pages(id: i64) -> Result<SessionPages, ApiError> {
    call(request(Method::GET, &format!("/leads/{id}/session-pages"))).await
}

/// `POST /leads/{id}/unsubscribe`: every card with the address follows; the subscription now.
pub async fn unsubscribe(id: i64) -> Result<Subscription, ApiError> {
    json(send(request(Method::POST, &format!("/leads/{id}/unsubscribe")), None::<&()>).await?).await
}

/// `POST /leads/{id}/confirmation`: queues the Double Opt-In confirmation mail again.
pub async fn send_confirmation(id: i64) -> Result<Subscription, ApiError> {
    json(send(request(Method::POST, &format!("/leads/{id}/confirmation")), None::<&()>).await?).await
}

/// `POST /leads/{id}/merge`: the card `other` merged into card `id`; the kept card now.
pub async fn merge_leads(id: i64, body: &MergeLeads) -> Result<LeadCard, ApiError> {
    json(send(request(Method::POST, &format!("/leads/{id}/merge")), Some(body)).await?).await
}

/// `POST /leads/bulk/count`: how many leads a selection holds now.
pub async fn bulk_count(body: &leadcard_core::bulk::BulkCount) -> Result<Total, ApiError> {
    json(send(request(Method::POST, "/leads/bulk/count"), Some(body)).await?).await
}

/// `POST /leads/bulk`: starts a bulk action as a job (202, the job).
pub async fn start_bulk(body: &leadcard_core::bulk::BulkRequest) -> Result<Job, ApiError> {
    json(send(request(Method::POST, "/leads/bulk"), Some(body)).await?).await
}

/// `GET /leads/export?ids=`: where the CSV of these leads is downloaded (the default columns).
pub fn leads_export_ids_url(ids: &[i64]) -> String {
    let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    format!("{BASE}/leads/export?ids={ids}")
}

/// `POST /leads/{id}/hide`: out of Visitors until the lead's next activity.
pub async fn hide(id: i64) -> Result<(), ApiError> {
    send(request(Method::POST, &format!("/leads/{id}/hide")), None::<&()>).await.map(drop)
}

/// `DELETE /leads/{id}`: erases the lead and everything about it.
pub async fn remove_lead(id: i64, confirm: &RemoveLead) -> Result<(), ApiError> {
    send(request(Method::DELETE, &format!("/leads/{id}")), Some(confirm)).await.map(drop)
}

/// `GET /settings/email`.
pub async fn email_settings() -> Result<EmailSettingsBody, ApiError> {
    call(request(Method::GET, "/settings/email")).await
}

/// `PUT /settings/email` (admins): the settings as stored.
pub async fn set_email_settings(settings: &EmailSettingsBody) -> Result<EmailSettingsBody, ApiError> {
    json(send(request(Method::PUT, "/settings/email"), Some(settings)).await?).await
}

/// `GET /outbox` (admins): one page of mail, newest first.
pub async fn outbox(after: Option<&str>) -> Result<OutboxPage, ApiError> {
    let builder = request(Method::GET, "/outbox").query(after.map(|a| ("after", a)));
    call(builder).await
}

/// `POST /campaigns` (admins): queues one mail per subscribed address among the matching leads.
pub async fn send_campaign(campaign: &NewCampaign) -> Result<CampaignQueued, ApiError> {
    json(send(request(Method::POST, "/campaigns"), Some(campaign)).await?).await
}

/// `GET /segments`: every segment, by name.
pub async fn segments() -> Result<Vec<Segment>, ApiError> {
    call(request(Method::GET, "/segments")).await
}

/// `POST /segments`: the segment as stored.
pub async fn create_segment(segment: &NewSegment) -> Result<Segment, ApiError> {
    json(send(request(Method::POST, "/segments"), Some(segment)).await?).await
}

/// `PUT /segments/{id}`: the segment as stored; members are recomputed in the background.
pub async fn update_segment(id: i64, segment: &NewSegment) -> Result<Segment, ApiError> {
    json(send(request(Method::PUT, &format!("/segments/{id}")), Some(segment)).await?).await
}

/// `DELETE /segments/{id}`.
pub async fn delete_segment(id: i64) -> Result<(), ApiError> {
    send(request(Method::DELETE, &format!("/segments/{id}")), None::<&()>).await.map(drop)
}

/// `POST /segments/count`: how many leads a filter matches now.
pub async fn count_segment(filter: &Filter) -> Result<SegmentCount, ApiError> {
    let body = CountRequest { filter: filter.clone() };
    json(send(request(Method::POST, "/segments/count"), Some(&body)).await?).await
}

/// `GET /leads/{id}/facts`: what the core evaluator needs to place the lead in segments.
pub async fn lead_facts(id: i64) -> Result<LeadFacts, ApiError> {
    call(request(Method::GET, &format!("/leads/{id}/facts"))).await
}

/// `GET /leads/{id}/segment-history`: entered / left entries with the reason, newest first.
pub async fn segment_history(id: i64) -> Result<Vec<SegmentHistoryEntry>, ApiError> {
    call(request(Method::GET, &format!("/leads/{id}/segment-history"))).await
}

/// Which conversations the Inbox lists: by status and by assignee (`me`: the signed-in operator).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationQuery {
    pub filter: ConversationFilter,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// `GET /operators`: every operator, by name (the assignee menu).
pub async fn operators() -> Result<Vec<OperatorRef>, ApiError> {
    call(request(Method::GET, "/operators")).await
}

/// `GET /conversations`: one page of the Inbox list, newest activity first, and the unread count.
pub async fn conversations(query: &ConversationQuery) -> Result<ConversationPage, ApiError> {
    let limit = query.limit.map(|l| l.to_string()).unwrap_or_default();
    let params = [
        ("status", query.filter.status_str()),
        ("assignee", query.filter.assignee.as_str()),
        ("after", query.after.as_deref().unwrap_or("")),
        ("limit", limit.as_str()),
    ];
    let builder = request(Method::GET, "/conversations").query(params.into_iter().filter(|(_, v)| !v.is_empty()));
    call(builder).await
}

/// The number of open conversations with unread messages (the navigation's badge): the first
/// page of one row, of which only the count is read.
pub async fn unread_conversations() -> Result<u64, ApiError> {
    #[derive(serde::Deserialize)]
    struct Unread {
        unread_conversations: u64,
    }
    let builder = request(Method::GET, "/conversations").query([("limit", "1")]);
    call::<Unread>(builder).await.map(|page| page.unread_conversations)
}

/// `GET /leads/{id}/conversations`: every conversation of the lead, newest activity first.
pub async fn lead_conversations(id: i64) -> Result<Vec<Conversation>, ApiError> {
    call(request(Method::GET, &format!("/leads/{id}/conversations"))).await
}

/// `GET /leads/{id}/channels`: which channels the card may use now, and why not.
pub async fn lead_channels(id: i64) -> Result<Channels, ApiError> {
    call(request(Method::GET, &format!("/leads/{id}/channels"))).await
}

/// `GET /conversations/{id}`: the conversation and its newest messages, oldest first.
pub async fn thread(id: i64) -> Result<Thread, ApiError> {
    call(request(Method::GET, &format!("/conversations/{id}"))).await
}

/// `GET /conversations/{id}/messages`: messages before or after an id, oldest first.
pub async fn messages(id: i64, before: Option<i64>, after: Option<i64>) -> Result<MessagePage, ApiError> {
    let before = before.map(|b| b.to_string()).unwrap_or_default();
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    let params = [("before", before.as_str()), ("after", after.as_str())];
    let builder = request(Method::GET, &format!("/conversations/{id}/messages"))
        .query(params.into_iter().filter(|(_, v)| !v.is_empty()));
    call(builder).await
}

/// `POST /conversations/{id}/messages`: a reply in the conversation. Not aborted with the page
/// that started it: the pending-send queue outlives pages.
pub async fn reply(id: i64, message: &NewMessage) -> Result<Sent, ApiError> {
    let response = transmit_detached(request(Method::POST, &format!("/conversations/{id}/messages")), message).await?;
    if response.ok() { json(response).await } else { Err(error_of(response).await) }
}

/// `POST /leads/{id}/messages`: a message from the card by a channel (continues or starts a
/// conversation). Not aborted with the page, like [`reply`].
pub async fn send_to_lead(id: i64, message: &SendMessage) -> Result<Sent, ApiError> {
    let response = transmit_detached(request(Method::POST, &format!("/leads/{id}/messages")), message).await?;
    if response.ok() { json(response).await } else { Err(error_of(response).await) }
}

/// `POST /conversations/{id}/assign`: `None` unassigns.
pub async fn assign(id: i64, operator_id: Option<i64>) -> Result<Conversation, ApiError> {
    let body = Assign { operator_id };
    json(send(request(Method::POST, &format!("/conversations/{id}/assign")), Some(&body)).await?).await
}

/// `POST /conversations/{id}/close`.
pub async fn close_conversation(id: i64) -> Result<Conversation, ApiError> {
    json(send(request(Method::POST, &format!("/conversations/{id}/close")), None::<&()>).await?).await
}

/// `POST /conversations/{id}/reopen`.
pub async fn reopen_conversation(id: i64) -> Result<Conversation, ApiError> {
    json(send(request(Method::POST, &format!("/conversations/{id}/reopen")), None::<&()>).await?).await
}

/// `POST /conversations/{id}/read`: the operator has seen the lead's messages.
pub async fn mark_read(id: i64) -> Result<Conversation, ApiError> {
    json(send(request(Method::POST, &format!("/conversations/{id}/read")), None::<&()>).await?).await
}

/// `POST /imports?name=`: uploads a CSV file for import (the file itself is the body, read by the
/// browser as it is sent); its first rows and the guessed mapping.
pub async fn upload_import(file: web_sys::File) -> Result<ImportUpload, ApiError> {
    let name = file.name();
    let builder = request(Method::POST, "/imports").query([("name", name.as_str())]).header("Content-Type", "text/csv");
    let request = builder.body(wasm_bindgen::JsValue::from(file)).map_err(|_| ApiError::unreachable())?;
    let response = request.send().await.map_err(|_| ApiError::unreachable())?;
    if response.ok() { json(response).await } else { Err(error_of(response).await) }
}

/// `POST /imports/{id}/run`: imports (or checks) an uploaded file as a job; the job started.
pub async fn run_import(id: &str, run: &ImportRun) -> Result<Job, ApiError> {
    json(send(request(Method::POST, &format!("/imports/{id}/run")), Some(run)).await?).await
}

/// `GET /jobs/{id}`: a background job as it is now.
pub async fn job(id: i64) -> Result<Job, ApiError> {
    call(request(Method::GET, &format!("/jobs/{id}"))).await
}

/// `POST /jobs/{id}/cancel`: asks the job to stop after its current batch; the job as it is now.
pub async fn cancel_job(id: i64) -> Result<Job, ApiError> {
    json(send(request(Method::POST, &format!("/jobs/{id}/cancel")), None::<&()>).await?).await
}

/// `GET /jobs/{id}/problems`: a page of the job's report.
pub async fn job_problems(id: i64, after: Option<&str>) -> Result<JobProblemPage, ApiError> {
    let builder = request(Method::GET, &format!("/jobs/{id}/problems"));
    let builder = match after {
        Some(after) => builder.query([("after", after)]),
        None => builder,
    };
    call(builder).await
}

/// `GET /jobs/{id}/report.csv`: where the job's report is downloaded (a link, not a request).
pub fn job_report_url(id: i64) -> String {
    format!("{BASE}/jobs/{id}/report.csv")
}

fn request(method: Method, path: &str) -> RequestBuilder {
    RequestBuilder::new(&format!("{BASE}{path}"))
        .method(method)
        .header("X-Requested-With", "leadcard")
        // The server's messages in the page's language.
        .header("Accept-Language", crate::browser::i18n::language().as_str())
}

// Only the thin ends are generic (a body to JSON text, a parsed answer to `T`): the requests
// themselves are one copy of code for every route.

async fn call<T: DeserializeOwned>(builder: RequestBuilder) -> Result<T, ApiError> {
    json(send_text(builder, None).await?).await
}

/// Sends a request and reads a refusal as the server's error.
fn send(
    builder: RequestBuilder,
    body: Option<&impl Serialize>,
) -> impl std::future::Future<Output = Result<Response, ApiError>> {
    send_text(builder, body.map(body_text))
}

async fn send_text(builder: RequestBuilder, body: Option<Result<String, ApiError>>) -> Result<Response, ApiError> {
    let response = transmit_text(builder, body).await?;
    if response.ok() { Ok(response) } else { Err(error_of(response).await) }
}

fn body_text(body: &impl Serialize) -> Result<String, ApiError> {
    json::to_string(body).ok_or_else(ApiError::unreachable)
}

/// Sends a request and returns any answer; it is aborted when the component or resource that made
/// it is cleaned up.
fn transmit(
    builder: RequestBuilder,
    body: Option<&impl Serialize>,
) -> impl std::future::Future<Output = Result<Response, ApiError>> {
    transmit_text(builder, body.map(body_text))
}

async fn transmit_text(builder: RequestBuilder, body: Option<Result<String, ApiError>>) -> Result<Response, ApiError> {
    let controller = web_sys::AbortController::new().ok();
    let builder = builder.abort_signal(controller.as_ref().map(|c| c.signal()).as_ref());
    let controller = SendWrapper::new(controller);
    on_cleanup(move || {
        if let Some(controller) = controller.take() {
            controller.abort();
        }
    });
    let request = match body {
        Some(text) => builder.header("Content-Type", "application/json").body(text?),
        None => builder.build(),
    }
    .map_err(|_| ApiError::unreachable())?;
    request.send().await.map_err(|_| ApiError::unreachable())
}

/// Sends a JSON body and returns any answer, whoever is listening when it comes.
async fn transmit_detached(builder: RequestBuilder, body: &impl Serialize) -> Result<Response, ApiError> {
    let text = body_text(body)?;
    let request = builder.header("Content-Type", "application/json").body(text).map_err(|_| ApiError::unreachable())?;
    request.send().await.map_err(|_| ApiError::unreachable())
}

async fn json<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let status = response.status();
    body_value(response)
        .await
        .and_then(|value| json::from_value(value).ok())
        .ok_or_else(|| ApiError::unreadable(status))
}

async fn error_of(response: Response) -> ApiError {
    let status = response.status();
    match read_body::<ErrorBody>(response).await {
        Some(ErrorBody { error }) => ApiError { status, code: error.code, message: error.message, field: error.field },
        None => ApiError::unreadable(status),
    }
}

/// The JSON body as `T`, parsed by the browser; `None` when it is not JSON or not a `T`.
async fn read_body<T: DeserializeOwned>(response: Response) -> Option<T> {
    json::from_value(body_value(response).await?).ok()
}

/// The JSON body, parsed by the browser; `None` when it is not JSON.
async fn body_value(response: Response) -> Option<wasm_bindgen::JsValue> {
    let parsing = web_sys::Response::from(response).json().ok()?;
    JsFuture::from(parsing).await.ok()
}

// Operator accounts: admins manage operators; every operator changes their own password and ends
// their own sessions; a set-password link is used without a session.
use leadcard_core::account::{
    AddedOperator, ChangePassword, NewOperatorAccount, OperatorAccount, OperatorChange, PasswordLink, SessionInfo,
    SetPassword,
};

/// `GET /operator-accounts` (admins): every operator, by email.
pub async fn operator_accounts() -> Result<Vec<OperatorAccount>, ApiError> {
    call(request(Method::GET, "/operator-accounts")).await
}

/// `POST /operator-accounts` (admins): without a password the answer carries a set-password link.
pub async fn add_operator(operator: &NewOperatorAccount) -> Result<AddedOperator, ApiError> {
    json(send(request(Method::POST, "/operator-accounts"), Some(operator)).await?).await
}

/// `PATCH /operator-accounts/{id}` (admins): a new role, or disabled / enabled; the operator after it.
pub async fn change_operator(id: i64, change: &OperatorChange) -> Result<OperatorAccount, ApiError> {
    json(send(request(Method::PATCH, &format!("/operator-accounts/{id}")), Some(change)).await?).await
}

/// `POST /operator-accounts/{id}/password-link` (admins): a new one-time link; earlier ones stop working.
pub async fn password_link(id: i64) -> Result<PasswordLink, ApiError> {
    json(send(request(Method::POST, &format!("/operator-accounts/{id}/password-link")), None::<&()>).await?).await
}

/// `POST /password-links/use`: sets the password with a link's token (no session needed).
pub async fn use_password_link(body: &SetPassword) -> Result<(), ApiError> {
    send(request(Method::POST, "/password-links/use"), Some(body)).await.map(drop)
}

/// `PUT /account/password`: the signed-in operator's new password; their other sessions end.
pub async fn change_password(body: &ChangePassword) -> Result<(), ApiError> {
    send(request(Method::PUT, "/account/password"), Some(body)).await.map(drop)
}

/// `PATCH /account`: the signed-in operator's language (`None`: their browser's).
pub async fn change_language(language: Option<&str>) -> Result<Operator, ApiError> {
    let body = AccountSettings { language: language.map(str::to_owned) };
    json(send(request(Method::PATCH, "/account"), Some(&body)).await?).await
}

/// `GET /account/sessions`: the signed-in operator's sessions, most recently used first.
pub async fn my_sessions() -> Result<Vec<SessionInfo>, ApiError> {
    call(request(Method::GET, "/account/sessions")).await
}

/// `DELETE /account/sessions/{id}`: ends one of the signed-in operator's sessions.
pub async fn end_session(id: &str) -> Result<(), ApiError> {
    let id = String::from(js_sys::encode_uri_component(id));
    send(request(Method::DELETE, &format!("/account/sessions/{id}")), None::<&()>).await.map(drop)
}
