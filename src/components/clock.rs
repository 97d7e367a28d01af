//! The page's clocks: one ticking every 30 s for presence and "5 min ago", one changing exactly
//! when the minute does, for times shown to the minute.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_use::use_interval_fn;

/// How often presence badges and relative times are re-evaluated.
pub const TICK_MS: u64 = 30_000;

/// The current time, refreshed every [`TICK_MS`] while the calling component lives.
pub fn use_now() -> Signal<DateTime<Utc>> {
    let now = RwSignal::new(Utc::now());
    use_interval_fn(move || now.set(Utc::now()), TICK_MS);
    now.into()
}

/// The current time, changing within a second of each new minute while the calling component lives.
pub fn use_minute_clock() -> Signal<DateTime<Utc>> {
    let now = RwSignal::new(Utc::now());
    use_interval_fn(
        move || {
            let t = Utc::now();
            if t.timestamp().div_euclid(60) != now.get_untracked().timestamp().div_euclid(60) {
                now.set(t);
            }
        },
        1_000,
    );
    now.into()
}
