//! The console's stylesheets, loaded with the frame of the signed-in pages rather than with the
//! sign-in page: index.html links `main.css` and `login.css`, and keeps the others in
//! `<template id="console-styles">` (Trunk still hashes them; a template's links are not fetched).
//! The frame's route waits for them before it shows anything, so no page appears unstyled.

use std::cell::RefCell;

use js_sys::{Array, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const TEMPLATE: &str = "console-styles";

thread_local! {
    /// Settles when every stylesheet of the template has loaded (or failed): one load per page.
    static LOADED: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

/// Moves the template's stylesheets into `<head>` (the first time) and waits until they apply.
pub async fn console_styles() {
    let loaded = LOADED.with(|cell| cell.borrow_mut().get_or_insert_with(insert).clone());
    // A stylesheet that fails to load settles too: the pages still work, only plainer.
    let _ = JsFuture::from(loaded).await;
}

fn insert() -> Promise {
    let waits = Array::new();
    let document = web_sys::window().and_then(|w| w.document());
    let template = document
        .as_ref()
        .and_then(|d| d.get_element_by_id(TEMPLATE))
        .and_then(|t| t.dyn_into::<web_sys::HtmlTemplateElement>().ok());
    if let (Some(document), Some(template)) = (document, template) {
        let head = document.head();
        let links = template.content().query_selector_all("link[rel=stylesheet]").ok();
        for i in 0..links.as_ref().map_or(0, web_sys::NodeList::length) {
            let Some(link) =
                links.as_ref().and_then(|l| l.item(i)).and_then(|l| l.dyn_into::<web_sys::HtmlElement>().ok())
            else {
                continue;
            };
            waits.push(&Promise::new(&mut |resolve, _| {
                link.set_onload(Some(&resolve));
                link.set_onerror(Some(&resolve));
            }));
            if let Some(head) = &head {
                let _ = head.append_child(&link);
            }
        }
        template.remove();
    }
    Promise::all(&waits)
}
