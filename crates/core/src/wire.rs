//! The API's wire types: what the server sends and the page reads, in one definition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::job::{Job, JobKind, JobPage, JobProblem, JobProblemPage, JobResult, JobState};
use crate::mail::{BounceCause, EmailActions};
use crate::presence::Presence;
use crate::property::{PropertyType, PropertyValue};
use crate::subscription::{BounceKind, SubscriptionStatus};

/// Every API error: `{"error": {"code", "message", "field"?, "request_id"?}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_credentials`, `not_found`, `invalid_filter`.
    pub code: String,
    /// What the operator reads.
    pub message: String,
    /// The offending field, e.g. `email` or `filter.all[1].value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request's id, also in the `X-Request-Id` header and the server's log line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `POST /api/v1/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignIn {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Operator,
}

/// The signed-in operator (`GET /api/v1/me`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Operator {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The console's language the operator picked (`en`, `ru`); null while they follow their
    /// browser's (`PATCH /api/v1/account`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(en|ru)$"))]
    pub language: Option<String>,
}

/// `PATCH /api/v1/account`: the signed-in operator's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountSettings {
    /// `en` or `ru`; null to follow the browser's languages again.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(en|ru)$"))]
    pub language: Option<String>,
}

/// One row of the Leads Database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadSummary {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub last_seen: Option<DateTime<Utc>>,
    /// Presence inputs; the page computes the badge with [`Presence::at`] on its own clock.
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub last_active: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub subscription: SubscriptionStatus,
}

impl LeadSummary {
    pub fn presence(&self, now: DateTime<Utc>) -> Presence {
        Presence::at(now, self.last_heartbeat, self.last_active)
    }
}

/// `GET /api/v1/leads`: one page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadPage {
    pub items: Vec<LeadSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// `GET /api/v1/leads/count`: how many leads match. Counting stops at a cap; above it `exact` is
/// false and `count` is the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Total {
    pub count: u64,
    pub exact: bool,
}

impl Total {
    /// "1,234 leads" or "10,000+ leads".
    pub fn label(&self) -> String {
        let digits = self.count.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let plus = if self.exact { "" } else { "+" };
        let noun = if self.count == 1 && self.exact { "lead" } else { "leads" };
        format!("{grouped}{plus} {noun}")
    }
}

/// `GET /api/v1/leads/{id}`: the card. The response's ETag is `"<version>"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeadCard {
    pub id: i64,
    /// Grows by one with every change; writes send it back as If-Match.
    pub version: i64,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen: Option<DateTime<Utc>>,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub last_active: Option<DateTime<Utc>>,
    /// System properties first (in `SYSTEM_PROPERTIES` order), then custom ones by name.
    pub properties: Vec<Property>,
    pub tags: Vec<String>,
    pub subscription: Subscription,
}

impl LeadCard {
    pub fn presence(&self, now: DateTime<Utc>) -> Presence {
        Presence::at(now, self.last_heartbeat, self.last_active)
    }

    pub fn property(&self, name: &str) -> Option<&PropertyValue> {
        self.properties.iter().find(|p| p.name == name).map(|p| &p.value)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Property {
    pub name: String,
    pub value: PropertyValue,
    pub updated_at: DateTime<Utc>,
}

/// The subscription status of the card's address (shared by every card with that address).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscription {
    /// Absent when the lead has no email address; `status` is then `invalid_email`.
    pub email: Option<String>,
    pub status: SubscriptionStatus,
    pub bounce: Option<BounceKind>,
    /// A bounce's cause (SPEC section 6), read from its code: "mailbox full", "the address does
    /// not exist"...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounce_cause: Option<BounceCause>,
    /// Why: e.g. "550 5.1.1 mailbox does not exist" for a bounce, "unsubscribed by an operator".
    pub reason: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
    /// After a soft bounce: no mail until then.
    pub cool_down_until: Option<DateTime<Utc>>,
    /// The card menu's email actions, decided by the core rules on the server.
    pub actions: EmailActions,
}

/// A property name known in the project, for the filter builder (`GET /api/v1/properties`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertyInfo {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub ty: PropertyType,
}

/// A tag in use, with how many leads carry it (`GET /api/v1/tags`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagInfo {
    pub tag: String,
    pub leads: u64,
}

/// `PATCH /api/v1/leads/{id}/properties`: operations applied in one transaction, all or nothing.
/// Send `If-Match: "<version>"`; it is required when any operation is a set or a delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatchProperties {
    pub operations: Vec<crate::operation::Operation>,
}

/// 412 body: the write was based on an old version; here is the card as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    pub error: ErrorDetail,
    pub current: LeadCard,
}

/// `PUT /api/v1/pins`: the signed-in operator's pinned property names, in pin order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pins {
    #[cfg_attr(feature = "openapi", schema(max_items = 20, value_type = Vec<crate::property::PropertyName>))]
    pub names: Vec<String>,
}

/// `POST /api/v1/leads/{id}/tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTag {
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$",
            max_length = 64
        )
    )]
    pub tag: String,
}

/// `POST /api/v1/leads/{id}/notes`, and `PATCH /api/v1/leads/{id}/notes/{note_id}` (the new body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewNote {
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$",
            max_length = 5000
        )
    )]
    pub body: String,
}

/// An operator's note on a lead; `body` is plain text, shown as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub id: i64,
    pub body: String,
    pub author_id: i64,
    pub author_name: String,
    pub created_at: DateTime<Utc>,
    /// When its author last changed the body; absent while it is as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_read_as_operators_expect() {
        assert_eq!(Total { count: 1234, exact: true }.label(), "1,234 leads");
        assert_eq!(Total { count: 10_000, exact: false }.label(), "10,000+ leads");
        assert_eq!(Total { count: 1, exact: true }.label(), "1 lead");
        assert_eq!(Total { count: 0, exact: true }.label(), "0 leads");
    }
}
