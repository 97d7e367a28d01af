//! The app's own URLs: every in-app link, redirect and query string is built here.

use leadcard_core::inbox::ConversationFilter;
use web_sys::UrlSearchParams;

/// The Leads Database.
pub const LEADS: &str = "/leads";
/// Leads in from a CSV file.
pub const LEADS_IMPORT: &str = "/leads/import";
/// Who is on the site now.
pub const VISITORS: &str = "/visitors";
/// Email settings, campaigns and the outbox.
pub const SETTINGS: &str = "/settings";
/// Saved filters.
pub const SEGMENTS: &str = "/segments";
/// Conversations with leads.
pub const INBOX: &str = "/inbox";
/// The sign-in page.
pub const LOGIN: &str = "/login";
/// The signed-in operator's password and sessions.
pub const ACCOUNT: &str = "/account";
/// Operator accounts (admins).
pub const OPERATORS: &str = "/settings/operators";
/// Where a one-time set-password link points (the server builds it: `/set-password?token=…`).
pub const SET_PASSWORD: &str = "/set-password";

/// The card of one lead.
pub fn lead(id: i64) -> String {
    format!("{LEADS}/{id}")
}

/// Visitors with the card of lead `id` open beside the list.
pub fn visitor(id: i64) -> String {
    format!("{VISITORS}?lead={id}")
}

/// The Inbox list with its filters (the defaults, open and any, are left out).
pub fn inbox(filter: &ConversationFilter) -> String {
    with_query(INBOX, filter.query_pairs())
}

/// Conversation `id` in the Inbox, keeping the list's filters.
pub fn conversation(id: i64, filter: &ConversationFilter) -> String {
    with_query(&format!("{INBOX}/{id}"), filter.query_pairs())
}

/// Conversation `id` in the Inbox, with the list's default filters.
pub fn conversation_link(id: i64) -> String {
    format!("{INBOX}/{id}")
}

/// Segment `id`, open in its editor.
pub fn segment(id: i64) -> String {
    format!("{SEGMENTS}/{id}")
}

/// A new segment starting from a filter (its query form).
pub fn segments_from(filter: &str) -> String {
    with_query(SEGMENTS, [("filter", filter)])
}

/// The Leads Database showing a search and a filter (`filter` in its query form; empty means none).
/// The search is kept as typed (a trailing space included), so the search box keeps it too.
pub fn leads(q: &str, filter: &str) -> String {
    leads_sorted(q, filter, "")
}

/// [`leads`] in an order (`sort` in its query form; empty means the default).
pub fn leads_sorted(q: &str, filter: &str, sort: &str) -> String {
    let params = [("q", q), ("filter", filter), ("sort", sort)];
    with_query(LEADS, params.into_iter().filter(|(_, value)| !value.is_empty()))
}

/// The sign-in page, coming back to `next` afterwards.
pub fn login(next: &str) -> String {
    with_query(LOGIN, [("next", next)])
}

/// Where to go after signing in: `next` when it is a path of this site (the rule in
/// `leadcard_core::redirect`), read by the browser's URL parser as this origin too; otherwise the
/// Leads Database.
pub fn after_sign_in(next: Option<&str>) -> String {
    next.and_then(leadcard_core::redirect::same_site_path)
        .filter(|path| {
            let Some(origin) = web_sys::window().and_then(|w| w.location().origin().ok()) else { return false };
            web_sys::Url::new_with_base(path, &origin).is_ok_and(|url| url.origin() == origin)
        })
        .map_or_else(|| LEADS.to_owned(), str::to_owned)
}

/// A path of this app as an absolute URL, e.g. for a link copied to the clipboard.
pub fn absolute(path: &str) -> String {
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    format!("{origin}{path}")
}

/// The current path with its query string, from the router's location.
pub fn current(pathname: &str, search: &str) -> String {
    match search.trim_start_matches('?') {
        "" => pathname.to_owned(),
        query => format!("{pathname}?{query}"),
    }
}

fn with_query<'a>(path: &str, params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let Ok(query) = UrlSearchParams::new() else {
        return path.to_owned();
    };
    for (name, value) in params {
        query.append(name, value);
    }
    match String::from(query.to_string()) {
        encoded if encoded.is_empty() => path.to_owned(),
        encoded => format!("{path}?{encoded}"),
    }
}
