//! How times read on the page: in the operator's own time zone, or as "5 min ago".

use chrono::{DateTime, Local, Utc};

/// A moment as a local date and time, e.g. "28 Nov 2026, 16:21".
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%-d %b %Y, %H:%M").to_string()
}

/// A past moment relative to `now`: "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago",
/// then the local date.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    const TWO_DAYS: i64 = 2 * DAY;
    const WEEK: i64 = 7 * DAY;
    match (now - t).num_seconds() {
        ..MINUTE => "just now".to_owned(),
        secs @ MINUTE..HOUR => format!("{} min ago", secs / MINUTE),
        secs @ HOUR..DAY => format!("{} h ago", secs / HOUR),
        DAY..TWO_DAYS => "yesterday".to_owned(),
        secs @ TWO_DAYS..WEEK => format!("{} days ago", secs / DAY),
        _ => t.with_timezone(&Local).format("%-d %b %Y").to_string(),
    }
}
