//! How times read on the page: in the operator's own time zone and locale (through `format`), as
//! "5 minutes ago", in a lead's zone, and as the value of a date-time input.

use chrono::{DateTime, Datelike, Local, NaiveDateTime, TimeZone, Timelike, Utc};

use crate::browser::i18n::{k, t};
use crate::browser::intl;

/// A moment as a local date and time in the operator's locale, e.g. "Nov 28, 2026, 4:21 PM".
pub fn local(t: DateTime<Utc>) -> String {
    intl::date_time(t)
}

/// A past moment relative to `now` in the operator's locale: "now", "5 minutes ago", "yesterday",
/// "4 days ago", then the local date.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    intl::relative(t, now)
}

/// A moment as the value of an `<input type=datetime-local>` in the operator's zone; seconds only
/// when there are some, so an unchanged editor saves the same moment.
pub fn to_datetime_local(t: DateTime<Utc>) -> String {
    let t = t.with_timezone(&Local);
    let minute = format!("{:04}-{:02}-{:02}T{:02}:{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute());
    if t.second() == 0 { minute } else { format!("{minute}:{:02}", t.second()) }
}

/// Why a datetime-local value does not name a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTimeError {
    Unreadable,
    /// The clock skipped it (the change to summer time).
    Skipped,
}

impl std::fmt::Display for LocalTimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LocalTimeError::Unreadable => t(k::TIME_ENTER),
            LocalTimeError::Skipped => t(k::TIME_SKIPPED),
        })
    }
}

/// The moment an `<input type=datetime-local>` value names in the operator's zone. A time the
/// clocks pass twice (the change to winter time) is read as the first one.
pub fn from_datetime_local(value: &str) -> Result<DateTime<Utc>, LocalTimeError> {
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M"))
        .map_err(|_| LocalTimeError::Unreadable)?;
    Local.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc)).ok_or(LocalTimeError::Skipped)
}

/// The wall-clock time at `t` in the IANA zone `zone` (e.g. "Tue 14:05"), through the browser's
/// Intl, which knows every zone without shipping a zone database in the wasm. None when the
/// browser does not know the zone.
pub fn time_in_zone(zone: &str, t: DateTime<Utc>) -> Option<String> {
    use js_sys::{Array, Date, Function, Object, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    let options = Object::new();
    for (key, value) in [("timeZone", zone), ("weekday", "short"), ("hour", "2-digit"), ("minute", "2-digit")] {
        Reflect::set(&options, &key.into(), &value.into()).ok()?;
    }
    let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let constructor = Reflect::get(&intl, &"DateTimeFormat".into()).ok()?.dyn_into::<Function>().ok()?;
    // `construct` reports the RangeError of an unknown zone instead of throwing through the wasm.
    let format = Reflect::construct(&constructor, &Array::of2(&JsValue::UNDEFINED, &options)).ok()?;
    let format = Reflect::get(&format, &"format".into()).ok()?.dyn_into::<Function>().ok()?;
    let date = Date::new(&JsValue::from_f64(t.timestamp_millis() as f64));
    format.call1(&JsValue::UNDEFINED, &date).ok()?.as_string()
}
