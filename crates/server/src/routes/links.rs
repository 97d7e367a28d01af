//! The links in mails, for leads (no session, no cookie): `/u/{token}` unsubscribes an address
//! in one click (RFC 8058: a POST, answered without a redirect; a GET shows a page whose button
//! posts), `/c/{token}` confirms a Double Opt-In address (a GET shows a page whose button
//! posts; each link works once). They answer small HTML pages, in the language the browser asks
//! for (`Accept-Language`) when the product speaks it, else English.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadcard_core::StatusEvent;
use leadcard_core::locale::{Language, fill, k};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;
use crate::mail::links::{Confirmation, LinkError, token_hash};
use crate::mail::{CONFIRMATION_VALID_FOR, announce};
use crate::store::AddressOutcome;

/// Text made safe to put in HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The language the browser asks for.
fn language_of(headers: &HeaderMap) -> Language {
    let header = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Language::of_accept_language(header)
}

/// A form whose one button posts to the page's own URL; its label is plain text.
fn button(label: &str) -> String {
    format!("<form method=\"post\"><button type=\"submit\">{}</button></form>", escape(label))
}

/// A small page; `title` and `text` are plain text, `form` is trusted markup.
fn page(language: Language, status: StatusCode, title: &str, text: &str, form: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         button{{font:inherit;padding:.5rem 1rem}}</style></head>\
         <body><main><h1>{title}</h1><p>{text}</p>{form}</main></body></html>\n",
        lang = language.as_str(),
        title = escape(title),
        text = escape(text),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // The token in the URL must not leave with a Referer.
            (header::REFERRER_POLICY, "no-referrer"),
            // Nothing but this page's own style and form; no framing (a hidden unsubscribe button).
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

fn bad_link(l: Language, error: LinkError) -> Response {
    match error {
        LinkError::Invalid => {
            // No link the server made: not found (a forged or mangled token names nothing).
            page(l, StatusCode::NOT_FOUND, k::LINKS_INVALID_TITLE.get(l), k::LINKS_INVALID_TEXT.get(l), "")
        }
        LinkError::Expired => {
            let days = u64::try_from(CONFIRMATION_VALID_FOR.num_days()).unwrap_or_default();
            let text = fill(k::LINKS_EXPIRED_TEXT.get(l), &[("days", &k::MAIL_DAYS.get(l, days))]);
            page(l, StatusCode::GONE, k::LINKS_EXPIRED_TITLE.get(l), &text, "")
        }
    }
}

/// The unsubscribe page: what will happen, and the button that does it.
#[utoipa::path(
    get, path = "/u/{token}", tag = "links",
    params(("token" = String, Path, description = "The signed token from the mail's List-Unsubscribe link")),
    responses(
        (status = 200, description = "A page with a button that POSTs to the same URL", content_type = "text/html"),
        (status = 404, description = "A page saying the link is not valid (no link the server made)", content_type = "text/html"),
    )
)]
async fn unsubscribe_page(State(state): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let l = language_of(&headers);
    match state.mailer.links.unsubscribe_address(&token) {
        Ok(address) => page(
            l,
            StatusCode::OK,
            k::LINKS_UNSUBSCRIBE_TITLE.get(l),
            &fill(k::LINKS_UNSUBSCRIBE_TEXT.get(l), &[("address", &address)]),
            &button(k::LINKS_UNSUBSCRIBE_BUTTON.get(l)),
        ),
        Err(error) => bad_link(l, error),
    }
}

/// One-click unsubscribe (RFC 8058): no session, no cookie, no redirect. Every card with the
/// address shows Unsubscribed; no mail of any kind goes to it afterwards.
#[utoipa::path(
    post, path = "/u/{token}", tag = "links",
    params(("token" = String, Path, description = "The signed token from the mail's List-Unsubscribe link")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`List-Unsubscribe=One-Click` (any body is accepted)"),
    responses(
        (status = 200, description = "Unsubscribed (also when it already was)", content_type = "text/html"),
        (status = 404, description = "The link is not valid (no link the server made); nothing changed", content_type = "text/html"),
    )
)]
async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let l = language_of(&headers);
    let address = match state.mailer.links.unsubscribe_address(&token) {
        Ok(address) => address,
        Err(error) => return Ok(bad_link(l, error)),
    };
    let outcome = state.store.apply_status_event(&address, &StatusEvent::UnsubscribedByLead, state.clock.now()).await?;
    if let AddressOutcome::Changed(change) = &outcome {
        announce(&state.live, change).await;
    }
    // Refused (an invalid or hard-bounced address) or unknown: it gets no mail either way.
    let text = fill(k::LINKS_UNSUBSCRIBED_TEXT.get(l), &[("address", &address)]);
    Ok(page(l, StatusCode::OK, k::LINKS_UNSUBSCRIBED_TITLE.get(l), &text, ""))
}

/// A confirmation link that was used already: it changes nothing a second time.
fn used_link(l: Language) -> Response {
    page(l, StatusCode::GONE, k::LINKS_USED_TITLE.get(l), k::LINKS_USED_TEXT.get(l), "")
}

/// The confirmation page: what will happen, and the button that does it. A GET changes nothing,
/// so mail scanners and link previews that fetch the link do not confirm for the lead.
#[utoipa::path(
    get, path = "/c/{token}", tag = "links",
    params(("token" = String, Path, description = "The signed, expiring token from the confirmation mail")),
    responses(
        (status = 200, description = "A page with a button that POSTs to the same URL", content_type = "text/html"),
        (status = 404, description = "The link is not valid (no link the server made)", content_type = "text/html"),
        (status = 410, description = "The link has expired or was used already", content_type = "text/html"),
    )
)]
async fn confirm_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let l = language_of(&headers);
    let confirmation = match state.mailer.links.confirmation(&token, state.clock.now()) {
        Ok(confirmation) => confirmation,
        Err(error) => return Ok(bad_link(l, error)),
    };
    if state.store.link_used(&token_hash(&token)).await? {
        return Ok(used_link(l));
    }
    Ok(page(
        l,
        StatusCode::OK,
        k::LINKS_CONFIRM_TITLE.get(l),
        &fill(k::LINKS_CONFIRM_TEXT.get(l), &[("address", &confirmation.email_norm)]),
        &button(k::LINKS_CONFIRM_BUTTON.get(l)),
    ))
}

/// Confirms a Double Opt-In address: it becomes Subscribed. Each link works once.
#[utoipa::path(
    post, path = "/c/{token}", tag = "links",
    params(("token" = String, Path, description = "The signed, expiring token from the confirmation mail")),
    responses(
        (status = 200, description = "Confirmed", content_type = "text/html"),
        (status = 404, description = "The link is not valid (no link the server made); nothing changed", content_type = "text/html"),
        (status = 404, description = "No lead has the address any more", content_type = "text/html"),
        (status = 409, description = "The address cannot be subscribed (invalid or hard-bounced)", content_type = "text/html"),
        (status = 410, description = "The link has expired or was used already; nothing changed", content_type = "text/html"),
    )
)]
async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let l = language_of(&headers);
    let Confirmation { email_norm: address, expires } = match state.mailer.links.confirmation(&token, state.clock.now())
    {
        Ok(confirmation) => confirmation,
        Err(error) => return Ok(bad_link(l, error)),
    };
    let used = token_hash(&token);
    if !state.store.claim_link(&used, expires).await? {
        return Ok(used_link(l));
    }
    let outcome = match state.store.apply_status_event(&address, &StatusEvent::Confirmed, state.clock.now()).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // Nothing changed: the link stays good for another try.
            state.store.release_link(&used).await?;
            return Err(e.into());
        }
    };
    Ok(match outcome {
        AddressOutcome::Changed(change) => {
            announce(&state.live, &change).await;
            let text = fill(k::LINKS_CONFIRMED_TEXT.get(l), &[("address", &address)]);
            page(l, StatusCode::OK, k::LINKS_CONFIRMED_TITLE.get(l), &text, "")
        }
        AddressOutcome::Refused(refusal) => {
            let reason = refusal.to_string();
            let text = fill(k::LINKS_REFUSED_TEXT.get(l), &[("address", &address), ("reason", &reason)]);
            page(l, StatusCode::CONFLICT, k::LINKS_REFUSED_TITLE.get(l), &text, "")
        }
        AddressOutcome::Unknown => {
            let text = fill(k::LINKS_UNKNOWN_TEXT.get(l), &[("address", &address)]);
            page(l, StatusCode::NOT_FOUND, k::LINKS_UNKNOWN_TITLE.get(l), &text, "")
        }
    })
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(unsubscribe_page, unsubscribe)).routes(routes!(confirm_page, confirm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_in_pages() {
        assert_eq!(
            escape("<a href=\"x\">O'Hara & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Hara &amp; co&lt;/a&gt;"
        );
    }
}
