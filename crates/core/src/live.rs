//! Live updates: what the server pushes to operators' pages over Server-Sent Events
//! (`GET /api/v1/stream`). Each message has an id that only grows; a page that reconnects with
//! `Last-Event-ID` receives every message after it, once.

use serde::{Deserialize, Serialize};

/// One change an open page may need to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveEvent {
    /// Something on the lead's card changed (properties, tags, notes, status, events): pages
    /// showing it fetch it again.
    LeadChanged { lead_id: i64 },
    /// The lead was removed completely: pages showing it say so.
    LeadRemoved { lead_id: i64 },
    /// The lead was merged into the lead `into` (which is announced as changed): pages showing
    /// it show that card instead; its link now opens it.
    LeadMerged { lead_id: i64, into: i64 },
    /// A conversation changed: a new message (`message_id`), its status, assignee or unread
    /// count. The Inbox list fetches the conversation again; an open thread fetches messages
    /// after the last it shows; the card's conversation history reloads.
    ConversationChanged {
        conversation_id: i64,
        lead_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<i64>,
    },
    /// A heartbeat or activity: the inputs of the lead's presence, in unix milliseconds, and the
    /// page the lead is on. The page computes presence from them with `Presence::at`.
    Presence {
        lead_id: i64,
        last_heartbeat_at: Option<i64>,
        last_active_at: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page_url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page_title: Option<String>,
        /// When the lead's current site session started, unix milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_started_at: Option<i64>,
        /// Pages viewed in the current site session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pages_viewed: Option<u32>,
        /// The lead is hidden from Visitors (an operator hid it and it has not been active since).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        hidden: bool,
    },
    /// A background job (an import, a bulk action) moved on, finished or was asked to cancel: the
    /// job as it is now. Sent at most a few times a second per job while it runs.
    JobChanged { job: Box<crate::job::Job> },
}

/// An event as sent: `id:` is [`LiveMessage::id`], `data:` is this JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveMessage {
    pub id: i64,
    /// When the server published it, unix milliseconds.
    pub at: i64,
    pub event: LiveEvent,
}

/// The SSE event name of a message the page could not be given because it is older than the
/// server keeps (`data:` is empty): the page fetches what it shows again.
pub const RESET: &str = "reset";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let m = LiveMessage { id: 7, at: 1, event: LiveEvent::LeadChanged { lead_id: 3 } };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"id":7,"at":1,"event":{"kind":"lead_changed","lead_id":3}}"#);
        assert_eq!(serde_json::from_str::<LiveMessage>(&json).unwrap(), m);
    }
}
