//! Numbers, plural categories, dates and relative times in the page's language, through the
//! browser's `Intl`: every screen formats the same way ("1,234", "5 minutes ago",
//! "Nov 28, 2026, 4:21 PM" in English; "1 234", "5 минут назад" in Russian), and the wasm carries
//! no locale data. The locale is the browser's own when it is in the page's language (`en-GB`
//! keeps its dates), else the language's (`i18n::intl_locale`). Each formatter is built once per page.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use js_sys::{Array, Date, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

thread_local! {
    /// The formatters built so far, by what they are for.
    static FORMATTERS: RefCell<HashMap<&'static str, JsValue>> = RefCell::new(HashMap::new());
}

/// An `Intl` object (`Intl.<constructor>(locale, options)`) for the page's locale, built once.
fn formatter(key: &'static str, constructor: &str, options: &[(&str, &str)]) -> Option<JsValue> {
    if let Some(found) = FORMATTERS.with(|f| f.borrow().get(key).cloned()) {
        return Some(found);
    }
    let settings = Object::new();
    for (name, value) in options {
        Reflect::set(&settings, &(*name).into(), &(*value).into()).ok()?;
    }
    let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let class = Reflect::get(&intl, &constructor.into()).ok()?.dyn_into::<Function>().ok()?;
    let made = Reflect::construct(&class, &Array::of2(&super::i18n::intl_locale(), &settings)).ok()?;
    FORMATTERS.with(|f| f.borrow_mut().insert(key, made.clone()));
    Some(made)
}

/// Calls `method` of an `Intl` object with `args`, for a string.
fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<String> {
    let function = Reflect::get(target, &method.into()).ok()?.dyn_into::<Function>().ok()?;
    let args = args.iter().collect::<Array>();
    function.apply(target, &args).ok()?.as_string()
}

/// A number as the locale writes it: "1,234.5".
pub fn number(n: f64) -> String {
    formatter("number", "NumberFormat", &[("maximumFractionDigits", "20")])
        .and_then(|f| call(&f, "format", &[n.into()]))
        .unwrap_or_else(|| leadcard_core::property::format_number(n))
}

/// The locale's plural category of a number (`one`, `few`, `many`, `other`...), for
/// `i18n::plural`.
pub fn plural_category(n: f64) -> String {
    formatter("plural", "PluralRules", &[])
        .and_then(|f| call(&f, "select", &[n.into()]))
        .unwrap_or_else(|| if n == 1.0 { "one" } else { "other" }.to_owned())
}

/// A moment as a date and time in the operator's zone: "Nov 28, 2026, 4:21 PM".
pub fn date_time(t: DateTime<Utc>) -> String {
    date_with("date-time", &[("dateStyle", "medium"), ("timeStyle", "short")], t)
}

/// A moment's date in the operator's zone: "Nov 28, 2026".
pub fn date(t: DateTime<Utc>) -> String {
    date_with("date", &[("dateStyle", "medium")], t)
}

fn date_with(key: &'static str, options: &[(&str, &str)], t: DateTime<Utc>) -> String {
    let date = Date::new(&JsValue::from_f64(t.timestamp_millis() as f64));
    formatter(key, "DateTimeFormat", options)
        .and_then(|f| call(&f, "format", &[date.into()]))
        .unwrap_or_else(|| t.to_rfc3339())
}

/// A past moment relative to `now`: "now", "5 minutes ago", "3 hours ago", "yesterday",
/// "4 days ago", then the date.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    const WEEK: i64 = 7 * DAY;
    let (amount, unit) = match (now - t).num_seconds() {
        ..MINUTE => (0, "second"),
        secs @ MINUTE..HOUR => (secs / MINUTE, "minute"),
        secs @ HOUR..DAY => (secs / HOUR, "hour"),
        secs @ DAY..WEEK => (secs / DAY, "day"),
        _ => return date(t),
    };
    formatter("relative", "RelativeTimeFormat", &[("numeric", "auto")])
        .and_then(|f| call(&f, "format", &[JsValue::from_f64(-(amount as f64)), unit.into()]))
        .unwrap_or_else(|| date_time(t))
}
