//! The page's clock: the time presence and "5 min ago" are computed against, ticking every 30 s.

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
