//! Email subscription statuses (SPEC section 6), as data. One status per normalized address.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Subscribed,
    WaitingForConfirmation,
    InvalidEmail,
    Unsubscribed,
    Bounced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    Hard,
    Soft,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 5] = [
        SubscriptionStatus::Subscribed,
        SubscriptionStatus::WaitingForConfirmation,
        SubscriptionStatus::InvalidEmail,
        SubscriptionStatus::Unsubscribed,
        SubscriptionStatus::Bounced,
    ];

    /// The status a newly seen address starts in.
    pub fn initial(address_is_valid: bool, double_opt_in: bool) -> Self {
        match (address_is_valid, double_opt_in) {
            (false, _) => SubscriptionStatus::InvalidEmail,
            (true, false) => SubscriptionStatus::Subscribed,
            (true, true) => SubscriptionStatus::WaitingForConfirmation,
        }
    }

    /// The stored and wire name (`waiting_for_confirmation`).
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Subscribed => "subscribed",
            SubscriptionStatus::WaitingForConfirmation => "waiting_for_confirmation",
            SubscriptionStatus::InvalidEmail => "invalid_email",
            SubscriptionStatus::Unsubscribed => "unsubscribed",
            SubscriptionStatus::Bounced => "bounced",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// What the operator reads.
    pub fn label(self) -> &'static str {
        match self {
            SubscriptionStatus::Subscribed => "Subscribed",
            SubscriptionStatus::WaitingForConfirmation => "Waiting for confirmation",
            SubscriptionStatus::InvalidEmail => "Invalid email",
            SubscriptionStatus::Unsubscribed => "Unsubscribed",
            SubscriptionStatus::Bounced => "Bounced",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_addresses_start_subscribed_unless_invalid_or_double_opt_in() {
        assert_eq!(SubscriptionStatus::initial(true, false), SubscriptionStatus::Subscribed);
        assert_eq!(SubscriptionStatus::initial(true, true), SubscriptionStatus::WaitingForConfirmation);
        assert_eq!(SubscriptionStatus::initial(false, true), SubscriptionStatus::InvalidEmail);
        assert_eq!(SubscriptionStatus::initial(false, false), SubscriptionStatus::InvalidEmail);
    }

    #[test]
    fn stored_names_round_trip() {
        for status in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
    }
}
