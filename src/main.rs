//! Entry point of the browser app: report panics to the console, read the page's language (and its
//! texts, which public/start.js fetched when it is not English), then mount the app.

fn main() {
    console_error_panic_hook::set_once();
    leadcard::browser::i18n::start();
    leptos::mount::mount_to_body(leadcard::App);
}
