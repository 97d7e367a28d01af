//! Entry point of the browser app: report panics to the console, pick the page's language (and
//! fetch its texts when it is not English), then mount the app.

fn main() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        leadcard::browser::i18n::start().await;
        leptos::mount::mount_to_body(leadcard::App);
    });
}
