//! Who is on the site now (`GET /visitors`), and the project's keys for installing the widget.

use axum::extract::State;
use axum::{Extension, Json};
use leadcard_core::locale::{Message, k};
use leadcard_core::tracking::{ProjectKeys, VisitorList};
use leadcard_core::wire::{ErrorBody, Role};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::CurrentSession;
use crate::error::ApiError;
use crate::extract::ApiQuery;

pub const DEFAULT_VISITORS: u32 = 200;
pub const MAX_VISITORS: u32 = 1_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VisitorsParams {
    /// How many visitors to list, 1 to 1,000 (default 200).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// Leads on the site now (online or sleeping), not hidden, most recently active first.
#[utoipa::path(
    get, path = "/visitors", tag = "visitors", params(VisitorsParams), security(("session" = [])),
    responses(
        (status = 200, body = VisitorList),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, description = "`invalid`, field `limit`", body = ErrorBody),
    )
)]
async fn visitors(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<VisitorsParams>,
) -> Result<Json<VisitorList>, ApiError> {
    let limit = match params.limit.as_deref().filter(|l| !l.is_empty()) {
        Some(raw) => raw.parse::<u32>().ok().filter(|n| (1..=MAX_VISITORS).contains(n)).ok_or_else(|| {
            ApiError::invalid("limit", Message::new(k::ERROR_VISITORS_LIMIT).arg("max", MAX_VISITORS))
        })?,
        None => DEFAULT_VISITORS,
    };
    Ok(Json(state.store.visitors(state.clock.now(), limit).await?))
}

/// The project's keys and the widget snippet; the secret key only for admins.
#[utoipa::path(
    get, path = "/project", tag = "visitors", security(("session" = [])),
    responses(
        (status = 200, body = ProjectKeys),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    )
)]
async fn project(
    State(state): State<AppState>,
    Extension(session): Extension<CurrentSession>,
    headers: axum::http::HeaderMap,
) -> Result<Json<ProjectKeys>, ApiError> {
    let project = state.store.ensure_project(state.clock.now()).await?;
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("LEADCARD-HOST");
    let snippet = format!(r#"<script src="http://{host}/widget.js" data-key="{}" async></script>"#, project.public_key);
    Ok(Json(ProjectKeys {
        name: project.name,
        public_key: project.public_key,
        secret_key: (session.operator.role == Role::Admin).then_some(project.secret_key),
        snippet,
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(visitors)).routes(routes!(project))
}
