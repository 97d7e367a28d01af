//! Writing text to the clipboard, reporting whether the browser allowed it.

use wasm_bindgen_futures::JsFuture;

/// Whether the browser took the text. Without a clipboard (an insecure page) or when the operator
/// refuses permission, the caller shows the text to copy by hand.
pub async fn copy_text(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let clipboard = window.navigator().clipboard();
    if clipboard.is_undefined() {
        return false;
    }
    JsFuture::from(clipboard.write_text(text)).await.is_ok()
}
