//! Email subscription statuses (SPEC section 6), as data. One status per normalized address.

use crate::locale::{Message, Text, k};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The default is the status of a lead without an address: `invalid_email`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Subscribed,
    WaitingForConfirmation,
    #[default]
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
    pub fn text(self) -> Text {
        match self {
            SubscriptionStatus::Subscribed => k::CORE_SUBSCRIPTION_STATUS_SUBSCRIBED,
            SubscriptionStatus::WaitingForConfirmation => k::CORE_SUBSCRIPTION_STATUS_WAITING_FOR_CONFIRMATION,
            SubscriptionStatus::InvalidEmail => k::CORE_SUBSCRIPTION_STATUS_INVALID_EMAIL,
            SubscriptionStatus::Unsubscribed => k::CORE_SUBSCRIPTION_STATUS_UNSUBSCRIBED,
            SubscriptionStatus::Bounced => k::CORE_SUBSCRIPTION_STATUS_BOUNCED,
        }
    }

    pub fn label(self) -> &'static str {
        self.text().en
    }
}

/// Project settings the status rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailSettings {
    pub double_opt_in: bool,
    /// After a soft bounce, no mail until this much time has passed.
    pub soft_bounce_cool_down: Duration,
    /// This many soft bounces in a row make a hard bounce.
    pub soft_bounces_to_hard: u32,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self { double_opt_in: false, soft_bounce_cool_down: Duration::hours(24), soft_bounces_to_hard: 3 }
    }
}

/// The status of one normalized address with what the rules need to remember.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressState {
    pub status: SubscriptionStatus,
    pub bounce: Option<BounceKind>,
    /// Soft bounces since the last delivery.
    pub soft_bounces: u32,
    /// When a soft bounce's cool-down ends.
    pub cool_down_until: Option<DateTime<Utc>>,
    /// Whether this address confirmed through Double Opt-In at some point.
    pub confirmed: bool,
    pub reason: Option<String>,
}

/// What can happen to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusEvent {
    /// The address appeared on a card (new, or a card's email changed to it).
    AddressAdded {
        valid: bool,
    },
    ConfirmationSent,
    /// The lead followed the confirmation link.
    Confirmed,
    UnsubscribedByLead,
    UnsubscribedByOperator,
    Delivered,
    /// SMTP 4.x.x.
    SoftBounce {
        code: String,
        reason: String,
    },
    /// SMTP 5.x.x.
    HardBounce {
        code: String,
        reason: String,
    },
}

/// Why a transition is refused (the address stays as it was). [`TransitionError::message`] is
/// what the operator reads; `Display` is its English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    HardBounced,
    InvalidAddress,
    Unsubscribed,
    DoubleOptInOff,
    AlreadySubscribed,
}

impl TransitionError {
    /// Why, as a fragment ("the address is not valid").
    pub fn message(&self) -> Message {
        match self {
            TransitionError::HardBounced => k::CHECK_SUBSCRIPTION_HARD_BOUNCED,
            TransitionError::InvalidAddress => k::CHECK_SUBSCRIPTION_INVALID_ADDRESS,
            TransitionError::Unsubscribed => k::CHECK_SUBSCRIPTION_UNSUBSCRIBED_BY_LEAD,
            TransitionError::DoubleOptInOff => k::CHECK_SUBSCRIPTION_DOUBLE_OPT_IN_OFF,
            TransitionError::AlreadySubscribed => k::CHECK_SUBSCRIPTION_ALREADY_SUBSCRIBED,
        }
        .into()
    }
}

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for TransitionError {}

impl AddressState {
    /// A newly seen address (SPEC section 6: Subscribed, unless invalid or Double Opt-In is on).
    pub fn new(valid: bool, settings: &EmailSettings) -> Self {
        Self {
            status: SubscriptionStatus::initial(valid, settings.double_opt_in),
            bounce: None,
            soft_bounces: 0,
            cool_down_until: None,
            confirmed: false,
            reason: None,
        }
    }

    /// The state after `event`, or why the event cannot apply.
    pub fn apply(
        &self,
        event: &StatusEvent,
        settings: &EmailSettings,
        now: DateTime<Utc>,
    ) -> Result<Self, TransitionError> {
        use StatusEvent as E;
        use SubscriptionStatus as S;
        let hard = self.status == S::Bounced && self.bounce == Some(BounceKind::Hard);
        let mut next = self.clone();
        match event {
            // Seeing the address again changes nothing it has earned (unsubscribe, bounce, confirmation).
            E::AddressAdded { valid } => {
                if !valid {
                    next = Self::new(false, settings);
                } else if self.status == S::InvalidEmail {
                    next = Self::new(true, settings);
                }
            }
            E::ConfirmationSent => match self.status {
                _ if hard => return Err(TransitionError::HardBounced),
                _ if !settings.double_opt_in => return Err(TransitionError::DoubleOptInOff),
                S::InvalidEmail => return Err(TransitionError::InvalidAddress),
                S::Subscribed => return Err(TransitionError::AlreadySubscribed),
                S::Unsubscribed => return Err(TransitionError::Unsubscribed),
                S::WaitingForConfirmation | S::Bounced => {}
            },
            E::Confirmed => {
                if hard {
                    return Err(TransitionError::HardBounced);
                }
                if self.status == S::InvalidEmail {
                    return Err(TransitionError::InvalidAddress);
                }
                next.status = S::Subscribed;
                next.bounce = None;
                next.confirmed = true;
                next.reason = None;
            }
            E::UnsubscribedByLead | E::UnsubscribedByOperator => {
                if hard {
                    return Err(TransitionError::HardBounced);
                }
                if self.status == S::InvalidEmail {
                    return Err(TransitionError::InvalidAddress);
                }
                next.status = S::Unsubscribed;
                next.bounce = None;
                next.cool_down_until = None;
                let reason = if matches!(event, E::UnsubscribedByLead) {
                    k::REASON_UNSUBSCRIBED_BY_LEAD
                } else {
                    k::REASON_UNSUBSCRIBED_BY_OPERATOR
                };
                // Kept as a stored message: each reader sees it in their language.
                next.reason = Some(crate::locale::Message::new(reason).to_stored());
            }
            E::Delivered => {
                next.soft_bounces = 0;
                next.cool_down_until = None;
                if self.status == S::Bounced && self.bounce == Some(BounceKind::Soft) {
                    next.status = if settings.double_opt_in && !self.confirmed {
                        S::WaitingForConfirmation
                    } else {
                        S::Subscribed
                    };
                    next.bounce = None;
                    next.reason = None;
                }
            }
            E::SoftBounce { code, reason } => {
                if hard {
                    return Ok(next);
                }
                next.soft_bounces = self.soft_bounces + 1;
                next.reason = Some(format!("{code} {reason}"));
                if next.soft_bounces >= settings.soft_bounces_to_hard {
                    next.status = S::Bounced;
                    next.bounce = Some(BounceKind::Hard);
                    next.cool_down_until = None;
                } else if self.status != S::Unsubscribed {
                    next.status = S::Bounced;
                    next.bounce = Some(BounceKind::Soft);
                    next.cool_down_until = Some(now + settings.soft_bounce_cool_down);
                }
            }
            E::HardBounce { code, reason } => {
                next.status = S::Bounced;
                next.bounce = Some(BounceKind::Hard);
                next.cool_down_until = None;
                next.reason = Some(format!("{code} {reason}"));
            }
        }
        Ok(next)
    }

    /// The cause of the address's bounce, read from the recorded reason (which starts with its
    /// code); `None` unless it bounced.
    pub fn bounce_cause(&self) -> Option<crate::mail::BounceCause> {
        match (self.status, &self.reason) {
            (SubscriptionStatus::Bounced, Some(reason)) => Some(crate::mail::BounceCause::of_recorded(reason)),
            _ => None,
        }
    }

    /// Whether mail of `kind` may go to this address now, and if not, why (for the server before
    /// any send, and for the card to disable an action with the reason shown).
    pub fn may_send(&self, kind: MailKind, settings: &EmailSettings, now: DateTime<Utc>) -> Result<(), Refusal> {
        use SubscriptionStatus as S;
        match (self.status, self.bounce) {
            (S::InvalidEmail, _) => Err(Refusal::InvalidAddress),
            (S::Bounced, Some(BounceKind::Hard)) => Err(Refusal::HardBounced),
            (S::Bounced, _) if self.cool_down_until.is_some_and(|until| now < until) => Err(Refusal::CoolingDown),
            (S::Unsubscribed, _) => Err(Refusal::Unsubscribed),
            (_, _) if kind == MailKind::ConfirmationRequest && !settings.double_opt_in => Err(Refusal::DoubleOptInOff),
            (S::Subscribed, _) if kind == MailKind::ConfirmationRequest => Err(Refusal::AlreadySubscribed),
            (S::WaitingForConfirmation, _) if kind == MailKind::Campaign => Err(Refusal::NotConfirmed),
            (S::Bounced, _) if kind == MailKind::Campaign => Err(Refusal::CoolingDown),
            _ => Ok(()),
        }
    }
}

/// The kinds of mail the rules tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    Campaign,
    Triggered,
    ChatReplyCopy,
    ConfirmationRequest,
}

impl MailKind {
    pub const ALL: [MailKind; 4] =
        [MailKind::Campaign, MailKind::Triggered, MailKind::ChatReplyCopy, MailKind::ConfirmationRequest];

    /// The stored and wire name (`chat_reply_copy`).
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Campaign => "campaign",
            MailKind::Triggered => "triggered",
            MailKind::ChatReplyCopy => "chat_reply_copy",
            MailKind::ConfirmationRequest => "confirmation_request",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == s)
    }

    /// Marketing and automated mail carry a one-click unsubscribe link (RFC 8058).
    pub fn has_unsubscribe_link(self) -> bool {
        matches!(self, MailKind::Campaign | MailKind::Triggered)
    }
}

/// Why a mail may not be sent. [`Refusal::message`] is what the operator reads; `Display` is its
/// English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    InvalidAddress,
    HardBounced,
    CoolingDown,
    Unsubscribed,
    NotConfirmed,
    DoubleOptInOff,
    AlreadySubscribed,
}

impl Refusal {
    /// Why, as a fragment ("the lead unsubscribed from emails").
    pub fn message(&self) -> Message {
        match self {
            Refusal::InvalidAddress => k::CHECK_SUBSCRIPTION_INVALID_ADDRESS,
            Refusal::HardBounced => k::CHECK_SUBSCRIPTION_NEVER_MAILED_AGAIN,
            Refusal::CoolingDown => k::CHECK_SUBSCRIPTION_COOLING_DOWN,
            Refusal::Unsubscribed => k::CHECK_SUBSCRIPTION_UNSUBSCRIBED,
            Refusal::NotConfirmed => k::CHECK_SUBSCRIPTION_NOT_CONFIRMED,
            Refusal::DoubleOptInOff => k::CHECK_SUBSCRIPTION_DOUBLE_OPT_IN_OFF,
            Refusal::AlreadySubscribed => k::CHECK_SUBSCRIPTION_ALREADY_SUBSCRIBED,
        }
        .into()
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for Refusal {}

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

    fn state(status: SubscriptionStatus, bounce: Option<BounceKind>) -> AddressState {
        AddressState { status, bounce, soft_bounces: 0, cool_down_until: None, confirmed: false, reason: None }
    }

    fn short(r: &Result<AddressState, TransitionError>) -> String {
        match r {
            Ok(s) => match s.bounce {
                Some(BounceKind::Hard) => "bounced/hard".into(),
                Some(BounceKind::Soft) => "bounced/soft".into(),
                None => s.status.as_str().into(),
            },
            Err(e) => format!("error: {e}"),
        }
    }

    /// Every (status, event) pair with Double Opt-In on, the outcome written out.
    #[test]
    fn transition_table_with_double_opt_in() {
        use SubscriptionStatus as S;
        let settings = EmailSettings { double_opt_in: true, ..EmailSettings::default() };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let statuses = [
            ("subscribed", state(S::Subscribed, None)),
            ("waiting", state(S::WaitingForConfirmation, None)),
            ("invalid", state(S::InvalidEmail, None)),
            ("unsubscribed", state(S::Unsubscribed, None)),
            ("soft", state(S::Bounced, Some(BounceKind::Soft))),
            ("hard", state(S::Bounced, Some(BounceKind::Hard))),
        ];
        let soft = StatusEvent::SoftBounce { code: "4.2.2".into(), reason: "mailbox full".into() };
        let hard = StatusEvent::HardBounce { code: "5.1.1".into(), reason: "no such mailbox".into() };
        let events = [
            ("added valid", StatusEvent::AddressAdded { valid: true }),
            ("added invalid", StatusEvent::AddressAdded { valid: false }),
            ("confirmation sent", StatusEvent::ConfirmationSent),
            ("confirmed", StatusEvent::Confirmed),
            ("unsubscribed by lead", StatusEvent::UnsubscribedByLead),
            ("unsubscribed by operator", StatusEvent::UnsubscribedByOperator),
            ("delivered", StatusEvent::Delivered),
            ("soft bounce", soft),
            ("hard bounce", hard),
        ];
        let hb = "error: a hard-bounced address is never mailed again";
        let inv = "error: the address is not valid";
        #[rustfmt::skip]
        let expected: [[&str; 9]; 6] = [
            // added valid, added invalid, confirmation sent, confirmed, unsub lead, unsub operator, delivered, soft, hard
            ["subscribed", "invalid_email", "error: the address is already subscribed", "subscribed", "unsubscribed", "unsubscribed", "subscribed", "bounced/soft", "bounced/hard"],
            ["waiting_for_confirmation", "invalid_email", "waiting_for_confirmation", "subscribed", "unsubscribed", "unsubscribed", "waiting_for_confirmation", "bounced/soft", "bounced/hard"],
            ["waiting_for_confirmation", "invalid_email", inv, inv, inv, inv, "invalid_email", "bounced/soft", "bounced/hard"],
            ["unsubscribed", "invalid_email", "error: the lead unsubscribed; only the lead can subscribe again, by confirming", "subscribed", "unsubscribed", "unsubscribed", "unsubscribed", "unsubscribed", "bounced/hard"],
            ["bounced/soft", "invalid_email", "bounced/soft", "subscribed", "unsubscribed", "unsubscribed", "waiting_for_confirmation", "bounced/soft", "bounced/hard"],
            ["bounced/hard", "invalid_email", hb, hb, hb, hb, "bounced/hard", "bounced/hard", "bounced/hard"],
        ];
        for (row, (sname, st)) in statuses.iter().enumerate() {
            for (col, (ename, ev)) in events.iter().enumerate() {
                assert_eq!(short(&st.apply(ev, &settings, now)), expected[row][col], "{sname} + {ename}");
            }
        }
    }

    #[test]
    fn without_double_opt_in_new_addresses_are_subscribed_and_confirmation_is_refused() {
        let settings = EmailSettings::default();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let s = AddressState::new(true, &settings);
        assert_eq!(s.status, SubscriptionStatus::Subscribed);
        assert_eq!(s.apply(&StatusEvent::ConfirmationSent, &settings, now), Err(TransitionError::DoubleOptInOff));
        let soft = state(SubscriptionStatus::Bounced, Some(BounceKind::Soft));
        assert_eq!(soft.apply(&StatusEvent::Delivered, &settings, now).unwrap().status, SubscriptionStatus::Subscribed);
    }

    #[test]
    fn repeated_soft_bounces_become_hard_and_cool_down_ends() {
        let settings = EmailSettings::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let bounce = StatusEvent::SoftBounce { code: "4.2.2".into(), reason: "mailbox full".into() };
        let once = AddressState::new(true, &settings).apply(&bounce, &settings, t0).unwrap();
        assert_eq!(once.may_send(MailKind::Triggered, &settings, t0), Err(Refusal::CoolingDown));
        let later = t0 + Duration::hours(25);
        assert_eq!(once.may_send(MailKind::Triggered, &settings, later), Ok(()));
        assert_eq!(once.may_send(MailKind::Campaign, &settings, later), Err(Refusal::CoolingDown));
        let twice = once.apply(&bounce, &settings, later).unwrap();
        let thrice = twice.apply(&bounce, &settings, later).unwrap();
        assert_eq!((thrice.status, thrice.bounce), (SubscriptionStatus::Bounced, Some(BounceKind::Hard)));
        assert_eq!(
            thrice.may_send(MailKind::Triggered, &settings, later + Duration::days(365)),
            Err(Refusal::HardBounced)
        );
    }

    /// Every (status, mail kind) pair, Double Opt-In on.
    #[test]
    fn may_send_table() {
        use MailKind as K;
        use SubscriptionStatus as S;
        let settings = EmailSettings { double_opt_in: true, ..EmailSettings::default() };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let cooling = AddressState {
            cool_down_until: Some(now + Duration::hours(1)),
            ..state(S::Bounced, Some(BounceKind::Soft))
        };
        let rows: [(AddressState, [Result<(), Refusal>; 4]); 6] = [
            (state(S::Subscribed, None), [Ok(()), Ok(()), Ok(()), Err(Refusal::AlreadySubscribed)]),
            (state(S::WaitingForConfirmation, None), [Err(Refusal::NotConfirmed), Ok(()), Ok(()), Ok(())]),
            (state(S::InvalidEmail, None), [Err(Refusal::InvalidAddress); 4]),
            (state(S::Unsubscribed, None), [Err(Refusal::Unsubscribed); 4]),
            (cooling, [Err(Refusal::CoolingDown); 4]),
            (state(S::Bounced, Some(BounceKind::Hard)), [Err(Refusal::HardBounced); 4]),
        ];
        for (st, expected) in rows {
            for (kind, want) in
                [K::Campaign, K::Triggered, K::ChatReplyCopy, K::ConfirmationRequest].into_iter().zip(expected)
            {
                assert_eq!(st.may_send(kind, &settings, now), want, "{:?} {:?} {kind:?}", st.status, st.bounce);
            }
        }
    }

    #[test]
    fn stored_names_round_trip() {
        for status in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{}\"", kind.as_str()));
        }
    }
}
