//! All HTTP to the leadcard API (`/api/v1`): typed requests, typed answers, typed errors.
//! Pages call these functions and never build an API URL themselves.

use std::fmt;

use gloo_net::http::{Method, RequestBuilder, Response};
use leadcard_core::filter::{Filter, FilterError};
use leadcard_core::wire::{ErrorBody, LeadCard, LeadPage, Operator, PropertyInfo, SignIn, TagInfo};
use leptos::prelude::on_cleanup;
use send_wrapper::SendWrapper;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
        Self { status: 401, code: SIGNED_OUT.to_owned(), message: "Signed out.".to_owned(), field: None }
    }

    /// The operator signed out (rather than the session ending by itself).
    pub fn is_signed_out(&self) -> bool {
        self.status == 401 && self.code == SIGNED_OUT
    }

    fn unreachable() -> Self {
        Self {
            status: 0,
            code: "network".to_owned(),
            message: "The server cannot be reached. Check the connection and try again.".to_owned(),
            field: None,
        }
    }

    fn unreadable(status: u16) -> Self {
        let message = match status {
            401 => "Your session has ended. Sign in again.".to_owned(),
            500.. => "The server had a problem. Try again in a moment.".to_owned(),
            _ => format!("The server answered with an unexpected response (HTTP {status})."),
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

/// One request for the Leads Database: search text, filter, and where the page starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadQuery {
    pub q: String,
    pub filter: Filter,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

impl LeadQuery {
    /// The same search and filter, starting after `cursor`.
    pub fn after(&self, cursor: String) -> Self {
        Self { after: Some(cursor), ..self.clone() }
    }
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
    let filter = if query.filter.is_empty() { String::new() } else { query.filter.to_query() };
    let params = [("q", query.q.trim()), ("filter", filter.as_str()), ("after", query.after.as_deref().unwrap_or(""))];
    let builder = request(Method::GET, "/leads").query(params.into_iter().filter(|(_, value)| !value.is_empty()));
    call(builder).await
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

fn request(method: Method, path: &str) -> RequestBuilder {
    RequestBuilder::new(&format!("{BASE}{path}")).method(method).header("X-Requested-With", "leadcard")
}

async fn call<T: DeserializeOwned>(builder: RequestBuilder) -> Result<T, ApiError> {
    json(send(builder, None::<&()>).await?).await
}

/// Sends a request; it is aborted when the component or resource that made it is cleaned up.
async fn send(builder: RequestBuilder, body: Option<&impl Serialize>) -> Result<Response, ApiError> {
    let controller = web_sys::AbortController::new().ok();
    let builder = builder.abort_signal(controller.as_ref().map(|c| c.signal()).as_ref());
    let controller = SendWrapper::new(controller);
    on_cleanup(move || {
        if let Some(controller) = controller.take() {
            controller.abort();
        }
    });
    let request = match body {
        Some(body) => builder.json(body),
        None => builder.build(),
    }
    .map_err(|_| ApiError::unreachable())?;
    let response = request.send().await.map_err(|_| ApiError::unreachable())?;
    if response.ok() { Ok(response) } else { Err(error_of(&response).await) }
}

async fn json<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    response.json().await.map_err(|_| ApiError::unreadable(response.status()))
}

async fn error_of(response: &Response) -> ApiError {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(ErrorBody { error }) => ApiError { status, code: error.code, message: error.message, field: error.field },
        Err(_) => ApiError::unreadable(status),
    }
}
