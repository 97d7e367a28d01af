//! The page's `<title>` ("Jakub Romano — leadcard", "Leads — leadcard"): tabs, the history and
//! screen readers tell the pages apart by it.

use leptos::prelude::*;

const PRODUCT: &str = "leadcard";

/// Names the page `what` (a page whose name does not change; it runs once, so the sign-in page's
/// first load carries no effect for it).
pub fn page_title(what: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&format!("{what} — {PRODUCT}"));
    }
}

/// Names the page after `what` while the calling page lives, following it as it changes (a
/// lead's name); an empty name leaves the product's name alone.
pub fn follow_title(what: impl Fn() -> String + 'static) {
    Effect::new(move || {
        let what = what();
        if what.trim().is_empty() {
            if let Some(document) = web_sys::window().and_then(|w| w.document()) {
                document.set_title(PRODUCT);
            }
        } else {
            page_title(&what);
        }
    });
}
