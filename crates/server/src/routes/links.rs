//! The links in mails, for leads (no session, no cookie): `/u/{token}` unsubscribes an address
//! in one click (RFC 8058: a POST, answered without a redirect; a GET shows a page whose button
//! posts), `/c/{token}` confirms a Double Opt-In address (a GET shows a page whose button
//! posts; each link works once). They answer small HTML pages.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadcard_core::StatusEvent;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::ApiError;
use crate::mail::announce;
use crate::mail::links::{Confirmation, LinkError, token_hash};
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

/// A small page; `title` and `text` are plain text, `form` is trusted markup.
fn page(status: StatusCode, title: &str, text: &str, form: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         button{{font:inherit;padding:.5rem 1rem}}</style></head>\
         <body><main><h1>{title}</h1><p>{text}</p>{form}</main></body></html>\n",
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

fn bad_link(error: LinkError) -> Response {
    match error {
        // No link the server made: not found (a forged or mangled token names nothing).
        LinkError::Invalid => page(
            StatusCode::NOT_FOUND,
            "This link does not work",
            "The link is not valid. Copy the whole link from the email into the address bar, or use the \
             link in a newer email.",
            "",
        ),
        LinkError::Expired => page(
            StatusCode::GONE,
            "This link has expired",
            "Confirmation links work for 7 days. Nothing was changed; ask for a new confirmation email.",
            "",
        ),
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
async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.mailer.links.unsubscribe_address(&token) {
        Ok(address) => page(
            StatusCode::OK,
            "Unsubscribe",
            &format!("Stop all email to {address}?"),
            "<form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
        ),
        Err(error) => bad_link(error),
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
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let address = match state.mailer.links.unsubscribe_address(&token) {
        Ok(address) => address,
        Err(error) => return Ok(bad_link(error)),
    };
    let outcome = state.store.apply_status_event(&address, &StatusEvent::UnsubscribedByLead, state.clock.now()).await?;
    if let AddressOutcome::Changed(change) = &outcome {
        announce(&state.live, change).await;
    }
    // Refused (an invalid or hard-bounced address) or unknown: it gets no mail either way.
    Ok(page(StatusCode::OK, "You are unsubscribed", &format!("No more email will be sent to {address}."), ""))
}

/// A confirmation link that was used already: it changes nothing a second time.
fn used_link() -> Response {
    page(
        StatusCode::GONE,
        "This link was already used",
        "Each confirmation link works once. Nothing was changed; ask for a new confirmation email if you need one.",
        "",
    )
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
async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let confirmation = match state.mailer.links.confirmation(&token, state.clock.now()) {
        Ok(confirmation) => confirmation,
        Err(error) => return Ok(bad_link(error)),
    };
    if state.store.link_used(&token_hash(&token)).await? {
        return Ok(used_link());
    }
    Ok(page(
        StatusCode::OK,
        "Confirm your subscription",
        &format!("Receive email at {}?", confirmation.email_norm),
        "<form method=\"post\"><button type=\"submit\">Confirm</button></form>",
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
async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let Confirmation { email_norm: address, expires } = match state.mailer.links.confirmation(&token, state.clock.now())
    {
        Ok(confirmation) => confirmation,
        Err(error) => return Ok(bad_link(error)),
    };
    let used = token_hash(&token);
    if !state.store.claim_link(&used, expires).await? {
        return Ok(used_link());
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
            page(StatusCode::OK, "Thank you", &format!("{address} is confirmed: you are subscribed."), "")
        }
        AddressOutcome::Refused(refusal) => page(
            StatusCode::CONFLICT,
            "This address cannot be subscribed",
            &format!("{address} cannot be subscribed because {refusal}."),
            "",
        ),
        AddressOutcome::Unknown => {
            page(StatusCode::NOT_FOUND, "Nothing to confirm", &format!("{address} is not on our list any more."), "")
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
