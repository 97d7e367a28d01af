//! The page's clocks, in step with the server's: presence and "5 min ago" are computed against
//! the server's time (tests move it forward), learned from `GET /visitors` and from live messages.
//! One clock ticks every 30 s for presence and relative times, one changes exactly when the
//! minute does, for times shown to the minute.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;
use leptos_use::use_interval_fn;

/// How often presence badges and relative times are re-evaluated.
pub const TICK_MS: u64 = 30_000;

/// Below this, a new reading of the server's clock is noise (network time), not a change.
const OFFSET_NOISE_MS: i64 = 1_000;

thread_local! {
    /// The server's clock minus this browser's, in milliseconds.
    static OFFSET_MS: ArcRwSignal<i64> = ArcRwSignal::new(0);
}

fn offset() -> ArcRwSignal<i64> {
    OFFSET_MS.with(Clone::clone)
}

/// Takes in the server's time as it is now (just received).
pub fn observe_server_now(server_now: DateTime<Utc>) {
    let offset = offset();
    let measured = (server_now - Utc::now()).num_milliseconds();
    if (measured - offset.get_untracked()).abs() > OFFSET_NOISE_MS {
        offset.set(measured);
    }
}

/// The server's time now (not reactive).
pub fn server_now() -> DateTime<Utc> {
    Utc::now() + Duration::milliseconds(offset().get_untracked())
}

/// The server's time, refreshed every [`TICK_MS`] while the calling component lives, and at once
/// when the server's clock is seen to move.
pub fn use_now() -> Signal<DateTime<Utc>> {
    use_now_every(TICK_MS)
}

/// [`use_now`], refreshed every `ms`.
pub fn use_now_every(ms: u64) -> Signal<DateTime<Utc>> {
    let tick = RwSignal::new(0_u64);
    use_interval_fn(move || tick.update(|n| *n += 1), ms);
    let offset = offset();
    Signal::derive(move || {
        tick.track();
        Utc::now() + Duration::milliseconds(offset.get())
    })
}

/// The server's time, changing within a second of each new minute while the calling component lives.
pub fn use_minute_clock() -> Signal<DateTime<Utc>> {
    let now = RwSignal::new(server_now());
    use_interval_fn(
        move || {
            let t = server_now();
            if t.timestamp().div_euclid(60) != now.get_untracked().timestamp().div_euclid(60) {
                now.set(t);
            }
        },
        1_000,
    );
    now.into()
}
