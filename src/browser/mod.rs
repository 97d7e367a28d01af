//! The page's glue to the browser, kept apart from the components: `localStorage`, JSON through
//! the browser's own parser, the clipboard, Performance timings, random keys and the viewport.
//! Components and the data layer call these and never reach for `web_sys` storage or JSON. Also
//! the page's language and its texts (`i18n`), formatting by the browser's `Intl` (`intl`), and the
//! colour theme (`theme`).

pub mod clipboard;
pub mod i18n;
pub mod intl;
pub mod json;
pub mod storage;
pub mod theme;
pub mod timing;

use wasm_bindgen::JsCast;

/// A fresh random UUID (`crypto.randomUUID` needs a secure context, so without one the key comes
/// from `crypto.getRandomValues`).
pub fn random_key() -> String {
    use js_sys::{Function, Reflect, Uint8Array};
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok();
    let uuid = crypto.as_ref().and_then(|crypto| {
        let f = Reflect::get(crypto, &"randomUUID".into()).ok()?.dyn_into::<Function>().ok()?;
        f.call0(crypto).ok()?.as_string()
    });
    if let Some(uuid) = uuid {
        return uuid;
    }
    let bytes = Uint8Array::new_with_length(16);
    let filled = crypto.as_ref().and_then(|crypto| {
        let f = Reflect::get(crypto, &"getRandomValues".into()).ok()?.dyn_into::<Function>().ok()?;
        f.call1(crypto, &bytes).ok()
    });
    if filled.is_none() {
        for i in 0..16 {
            bytes.set_index(i, (js_sys::Math::random() * 256.0) as u8);
        }
    }
    bytes.to_vec().iter().map(|b| format!("{b:02x}")).collect()
}

/// The window's inner width in CSS pixels (None outside a window).
pub fn viewport_width() -> Option<f64> {
    web_sys::window()?.inner_width().ok()?.as_f64()
}

/// Calls `f` whenever the browser comes back online, for as long as the page lives.
pub fn on_online(f: impl Fn() + 'static) {
    use wasm_bindgen::prelude::Closure;
    if let Some(window) = web_sys::window() {
        let on_online = Closure::<dyn Fn()>::new(f);
        let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        on_online.forget();
    }
}

/// Now, unix milliseconds, by the browser's clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}
