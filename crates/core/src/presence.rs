//! Presence per SPEC section 2: online, sleeping or offline, from heartbeat and activity times.

use crate::locale::{Text, k};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Inactive this long -> sleeping; no heartbeat this long -> offline.
pub const PRESENCE_WINDOW: Duration = Duration::minutes(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Sleeping,
    Offline,
}

impl Presence {
    pub const ALL: [Presence; 3] = [Presence::Online, Presence::Sleeping, Presence::Offline];

    /// Presence at `now` of a lead whose last heartbeat and last activity are given.
    pub fn at(now: DateTime<Utc>, last_heartbeat: Option<DateTime<Utc>>, last_active: Option<DateTime<Utc>>) -> Self {
        let cutoff = Self::cutoff(now);
        match last_heartbeat {
            Some(beat) if beat > cutoff => match last_active {
                Some(active) if active > cutoff => Presence::Online,
                _ => Presence::Sleeping,
            },
            _ => Presence::Offline,
        }
    }

    /// Heartbeats and activity strictly after this instant count as "within the window".
    /// The server's SQL compares against the same instant, so list and badge agree.
    pub fn cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
        now - PRESENCE_WINDOW
    }

    /// Why a lead whose presence just became `self` entered or left a segment, as its timeline
    /// says it ("Entered segment *Online now* — came online").
    pub fn change_reason(self) -> crate::locale::Message {
        match self {
            Presence::Online => k::REASON_CAME_ONLINE,
            Presence::Sleeping => k::REASON_WENT_IDLE,
            Presence::Offline => k::REASON_WENT_OFFLINE,
        }
        .into()
    }

    pub fn text(self) -> Text {
        match self {
            Presence::Online => k::CORE_PRESENCE_ONLINE,
            Presence::Sleeping => k::CORE_PRESENCE_SLEEPING,
            Presence::Offline => k::CORE_PRESENCE_OFFLINE,
        }
    }

    pub fn label(self) -> &'static str {
        self.text().en
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn active_heartbeat_within_two_minutes_is_online() {
        assert_eq!(Presence::at(t(119), Some(t(0)), Some(t(0))), Presence::Online);
    }

    #[test]
    fn inactive_for_exactly_two_minutes_is_sleeping() {
        assert_eq!(Presence::at(t(120), Some(t(119)), Some(t(0))), Presence::Sleeping);
        assert_eq!(Presence::at(t(120), Some(t(119)), Some(t(1))), Presence::Online);
        assert_eq!(Presence::at(t(10), Some(t(5)), None), Presence::Sleeping);
    }

    #[test]
    fn no_heartbeat_for_exactly_two_minutes_is_offline() {
        assert_eq!(Presence::at(t(120), Some(t(0)), Some(t(0))), Presence::Offline);
        assert_eq!(Presence::at(t(119), Some(t(0)), Some(t(0))), Presence::Online);
        assert_eq!(Presence::at(t(0), None, None), Presence::Offline);
    }
}
