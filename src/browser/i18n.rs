//! The console's language and its texts. Every text a page shows is a key of the catalogue
//! (`locales/en.json`, compiled into `leadcard_core::locale::k`): `t(k::NAV_LEADS)`. English is
//! compiled in, each text where it is used, so an English page carries no table; Russian is a
//! table the server serves (`/locales/ru.json`, led by the catalogue's hash), fetched by
//! public/start.js before the app starts and only when the page is shown in Russian.
//!
//! The language: the operator's choice, kept on the server (`PATCH /api/v1/account`) and mirrored
//! in this browser so the next load starts in it; without one, the first of the browser's
//! languages (`navigator.languages`) the product speaks; else English. Changing it reloads the page.

use std::sync::OnceLock;

use js_sys::{Array, Reflect};
use leadcard_core::locale::{CATALOGUE_HASH, Language, Message, Plural, Text, Texts, fill};
use wasm_bindgen::{JsCast, JsValue};

pub use leadcard_core::locale::k;

use super::{intl, storage};

/// Where this browser keeps the operator's choice (none: follow the browser's languages).
pub const STORAGE_KEY: &str = "leadcard.language";

static LANGUAGE: OnceLock<Language> = OnceLock::new();
/// The Russian table, in the keys' order (a plural's forms joined by U+001F).
static TABLE: OnceLock<Vec<&'static str>> = OnceLock::new();

/// The language the page is shown in.
pub fn language() -> Language {
    LANGUAGE.get().copied().unwrap_or_default()
}

/// A text in the page's language. Never inlined: hundreds of places call it, and each call stays
/// about as small as the literal it replaced (the first load may not grow).
#[inline(never)]
pub fn t(text: Text) -> &'static str {
    match TABLE.get() {
        Some(table) => table.get(usize::from(text.index)).copied().unwrap_or(text.en),
        None => text.en,
    }
}

/// A text with its `{name}` placeholders filled.
#[inline(never)]
pub fn tf(text: Text, args: &[(&str, &str)]) -> String {
    fill(t(text), args)
}

/// A counted text in the form the number takes in the page's language (`Intl.PluralRules`), its
/// `{count}` written as the locale writes numbers: "1 lead", "1,234 leads"; "2 лида", "5 лидов".
pub fn plural(text: Plural, n: u64) -> String {
    plural_with(text, n, &[])
}

/// [`plural`] with other placeholders too.
#[inline(never)]
pub fn plural_with(text: Plural, n: u64, args: &[(&str, &str)]) -> String {
    let category = intl::plural_category(n as f64);
    let form = match TABLE.get().and_then(|table| table.get(usize::from(text.index))) {
        Some(row) => Plural::form_of_row(row, &category).unwrap_or(text.other),
        None => text.en_form(&category),
    };
    let count = intl::number(n as f64);
    let mut all = vec![("count", count.as_str())];
    all.extend_from_slice(args);
    fill(form, &all)
}

/// The page's own tables, for [`say`].
struct Page;

impl Texts for Page {
    fn text(&self, text: Text) -> &str {
        t(text)
    }

    fn count(&self, text: Plural, n: u64) -> String {
        plural(text, n)
    }

    fn number(&self, n: u64) -> String {
        intl::number(n as f64)
    }
}

/// The page's texts, where core's rules take a language.
pub fn texts() -> &'static dyn Texts {
    &Page
}

/// A message of core's rules (a refused field, a reason) in the page's language.
#[inline(never)]
pub fn say(message: &Message) -> String {
    message.render(&Page)
}

/// What the operator calls a property: a system property's label in the page's language (`$email`
/// -> "Email"), any other by its name.
pub fn property_label(name: &str) -> String {
    leadcard_core::property::system_property(name).map_or_else(|| name.to_owned(), |p| t(p.label).to_owned())
}

/// The browser's languages, most wanted first.
pub fn browser_languages() -> Vec<String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or(JsValue::UNDEFINED);
    let list = Reflect::get(&navigator, &"languages".into()).ok().and_then(|l| l.dyn_into::<Array>().ok());
    let mut tags: Vec<String> = list.map(|l| l.iter().filter_map(|t| t.as_string()).collect()).unwrap_or_default();
    if tags.is_empty() {
        tags.extend(Reflect::get(&navigator, &"language".into()).ok().and_then(|l| l.as_string()));
    }
    tags
}

/// The language this browser's load starts in: the choice it keeps, else the browser's.
fn wanted() -> Language {
    storage::get(STORAGE_KEY)
        .and_then(|code| Language::parse(&code))
        .unwrap_or_else(|| Language::of_tags(browser_languages().iter().map(String::as_str)))
}

/// The locale for `Intl`: the browser's own when it is in the page's language (`en-GB` keeps its
/// dates), else the language's code.
pub fn intl_locale() -> JsValue {
    let language = language();
    match browser_languages().first() {
        Some(tag) if Language::of_tag(tag) == Some(language) => JsValue::UNDEFINED,
        _ => language.as_str().into(),
    }
}

/// Reads the page's language and, for Russian, its table: public/start.js chose the language
/// (`<html lang>`) and fetched the table (`leadcardTexts`: the catalogue's hash, then the texts in the
/// keys' order) before the app started, so the first paint is in the right language. A table of
/// another build leaves the page English.
pub fn start() {
    let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) else { return };
    let mut language = root.get_attribute("lang").and_then(|code| Language::parse(&code)).unwrap_or_default();
    if language != Language::En {
        let rows =
            Reflect::get(&js_sys::global(), &"leadcardTexts".into()).ok().and_then(|r| r.dyn_into::<Array>().ok());
        match rows.filter(|rows| rows.get(0).as_string().as_deref() == Some(CATALOGUE_HASH)) {
            Some(rows) => {
                let _ =
                    TABLE.set(rows.iter().skip(1).map(|row| &*row.as_string().unwrap_or_default().leak()).collect());
            }
            None => {
                language = Language::En;
                let _ = root.set_attribute("lang", "en");
            }
        }
    }
    let _ = LANGUAGE.set(language);
}

/// The signed-in operator's choice as the server keeps it (`None`: the browser's). When this
/// browser kept another, it keeps this one; true when the page must load again to show it (once:
/// the kept choice then agrees, whatever the next load finds).
pub fn follow_operator(chosen: Option<&str>) -> bool {
    let chosen = chosen.and_then(Language::parse);
    let kept = storage::get(STORAGE_KEY).and_then(|code| Language::parse(&code));
    if chosen == kept {
        return false;
    }
    match chosen {
        Some(language) => storage::set(STORAGE_KEY, language.as_str()),
        None => storage::remove(STORAGE_KEY),
    }
    wanted() != language()
}

/// Keeps `language` as this browser's choice and shows the page in it.
pub fn switch_to(language: Language) {
    storage::set(STORAGE_KEY, language.as_str());
    if language != self::language() {
        reload();
    }
}

/// Loads the page again (in the language now kept).
pub fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}
