//! Mail: the card menu's email actions, the project's email settings, bounces (RFC 3463),
//! campaigns, the outbox and removal, as wire types with the pure rules behind them.

use crate::locale::{English, Message, Text, Texts, k};
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::email::EmailAddress;
use crate::filter::{Filter, ValidFilter};
use crate::property::display_name_message;
use crate::subscription::{
    AddressState, BounceKind, EmailSettings, MailKind, Refusal, StatusEvent, SubscriptionStatus, TransitionError,
};

pub use crate::field::FieldError;

/// Longest soft-bounce cool-down an admin can set: 30 days.
pub const MAX_COOL_DOWN_HOURS: u32 = 720;
/// Most consecutive soft bounces an admin can allow before they make a hard bounce.
pub const MAX_SOFT_BOUNCES_TO_HARD: u32 = 100;

/// `GET`/`PUT /api/v1/settings/email`: the project's email settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailSettingsBody {
    /// New addresses wait for the lead's confirmation before they are Subscribed.
    pub double_opt_in: bool,
    /// After a soft bounce, no mail for this many hours (1 to 720).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 720))]
    pub soft_bounce_cool_down_hours: u32,
    /// This many soft bounces in a row make a hard bounce (1 to 100).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub soft_bounces_to_hard: u32,
}

impl EmailSettingsBody {
    /// The settings the rules use, or the first field out of range.
    pub fn check(&self) -> Result<EmailSettings, FieldError> {
        if !(1..=MAX_COOL_DOWN_HOURS).contains(&self.soft_bounce_cool_down_hours) {
            return Err(FieldError::new(
                "soft_bounce_cool_down_hours",
                Message::new(k::CHECK_MAIL_COOL_DOWN_RANGE).arg("max", MAX_COOL_DOWN_HOURS),
            ));
        }
        if !(1..=MAX_SOFT_BOUNCES_TO_HARD).contains(&self.soft_bounces_to_hard) {
            return Err(FieldError::new(
                "soft_bounces_to_hard",
                Message::new(k::CHECK_MAIL_SOFT_BOUNCES_RANGE).arg("max", MAX_SOFT_BOUNCES_TO_HARD),
            ));
        }
        Ok(EmailSettings {
            double_opt_in: self.double_opt_in,
            soft_bounce_cool_down: Duration::hours(self.soft_bounce_cool_down_hours.into()),
            soft_bounces_to_hard: self.soft_bounces_to_hard,
        })
    }
}

impl From<&EmailSettings> for EmailSettingsBody {
    fn from(settings: &EmailSettings) -> Self {
        Self {
            double_opt_in: settings.double_opt_in,
            soft_bounce_cool_down_hours: u32::try_from(settings.soft_bounce_cool_down.num_hours()).unwrap_or(0),
            soft_bounces_to_hard: settings.soft_bounces_to_hard,
        }
    }
}

/// Why a menu action on a card's address cannot be taken now. [`MenuRefusal::message`] is what
/// the operator reads; `Display` is its English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuRefusal {
    NoAddress,
    AlreadyUnsubscribed,
    Transition(TransitionError),
    Send(Refusal),
}

impl MenuRefusal {
    /// Why, as a fragment ("the lead has no email address").
    pub fn message(&self) -> Message {
        match self {
            MenuRefusal::NoAddress => k::CHECK_MAIL_NO_ADDRESS.into(),
            MenuRefusal::AlreadyUnsubscribed => k::CHECK_MAIL_ALREADY_UNSUBSCRIBED.into(),
            MenuRefusal::Transition(e) => e.message(),
            MenuRefusal::Send(e) => e.message(),
        }
    }
}

impl std::fmt::Display for MenuRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for MenuRefusal {}

impl From<TransitionError> for MenuRefusal {
    fn from(e: TransitionError) -> Self {
        MenuRefusal::Transition(e)
    }
}

impl From<Refusal> for MenuRefusal {
    fn from(e: Refusal) -> Self {
        MenuRefusal::Send(e)
    }
}

/// *Unsubscribe from emails* by an operator: allowed unless the address cannot take it
/// (no address, invalid, hard-bounced) or already is unsubscribed.
pub fn operator_unsubscribe(
    state: Option<&AddressState>,
    settings: &EmailSettings,
    now: DateTime<Utc>,
) -> Result<AddressState, MenuRefusal> {
    let state = state.ok_or(MenuRefusal::NoAddress)?;
    if state.status == SubscriptionStatus::Unsubscribed {
        return Err(MenuRefusal::AlreadyUnsubscribed);
    }
    Ok(state.apply(&StatusEvent::UnsubscribedByOperator, settings, now)?)
}

/// *Send subscription confirmation*: only with Double Opt-In on, to an address that may receive it.
pub fn send_confirmation(
    state: Option<&AddressState>,
    settings: &EmailSettings,
    now: DateTime<Utc>,
) -> Result<AddressState, MenuRefusal> {
    let state = state.ok_or(MenuRefusal::NoAddress)?;
    let next = state.apply(&StatusEvent::ConfirmationSent, settings, now)?;
    state.may_send(MailKind::ConfirmationRequest, settings, now)?;
    Ok(next)
}

/// Whether a menu action can be taken, and if not, why (the reason already in the reader's
/// language: build it with [`Availability::rendered`], or `Availability::from` for English).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Availability {
    pub allowed: bool,
    /// Why not, when not allowed (e.g. "the address hard-bounced and is never mailed again").
    pub reason: Option<String>,
}

impl Availability {
    /// Allowed, or not with the refusal's message as `render` writes it (the server:
    /// `|m| m.in_language(language)`).
    pub fn rendered<T, E: Into<Message>>(result: Result<T, E>, render: impl FnOnce(&Message) -> String) -> Self {
        match result {
            Ok(_) => Availability { allowed: true, reason: None },
            Err(refusal) => Availability { allowed: false, reason: Some(render(&refusal.into())) },
        }
    }
}

impl From<MenuRefusal> for Message {
    fn from(refusal: MenuRefusal) -> Message {
        refusal.message()
    }
}

/// In English.
impl<T> From<Result<T, MenuRefusal>> for Availability {
    fn from(result: Result<T, MenuRefusal>) -> Self {
        Availability::rendered(result, Message::to_string)
    }
}

/// The card menu's email actions as the rules see them now (*Hide* and *Remove completely* are
/// always available).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailActions {
    pub unsubscribe: Availability,
    pub send_confirmation: Availability,
}

impl EmailActions {
    /// The actions, their reasons in English.
    pub fn of(state: Option<&AddressState>, settings: &EmailSettings, now: DateTime<Utc>) -> Self {
        EmailActions::rendered(state, settings, now, Message::to_string)
    }

    /// The actions, their reasons as `render` writes a message (the reader's language).
    pub fn rendered(
        state: Option<&AddressState>,
        settings: &EmailSettings,
        now: DateTime<Utc>,
        render: impl Fn(&Message) -> String,
    ) -> Self {
        EmailActions {
            unsubscribe: Availability::rendered(operator_unsubscribe(state, settings, now), &render),
            send_confirmation: Availability::rendered(send_confirmation(state, settings, now), &render),
        }
    }
}

/// An RFC 3463 enhanced status code, `class.subject.detail` (e.g. `5.1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnhancedStatus {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl EnhancedStatus {
    /// Parses `5.1.1`: the class 2, 4 or 5, then one to three digits twice.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let number = |s: &str, max_len: usize| -> Option<u16> {
            if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let class = u8::try_from(number(class, 1)?).ok().filter(|c| matches!(c, 2 | 4 | 5))?;
        Some(EnhancedStatus { class, subject: number(subject, 3)?, detail: number(detail, 3)? })
    }
}

impl std::fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Why a mail server refused mail for an address, as SPEC section 6 names the causes: read from the
/// enhanced status code (RFC 3463) where there is one, not from its class digit alone. The cause
/// decides the kind: a hard bounce is never mailed again, a soft one cools down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BounceCause {
    /// X.1.1, X.1.10: the recipient's address does not exist.
    UnknownAddress,
    /// X.1.2: the recipient's domain does not exist.
    UnknownDomain,
    /// 5.7.x: the recipient's server refuses our mail by policy.
    Blocked,
    /// Any other permanent (5.x.x) refusal.
    Refused,
    /// X.2.2: the mailbox is full (even as 552 5.2.2).
    MailboxFull,
    /// X.3.4, X.2.3, or a bare 552: the message is too big.
    TooBig,
    /// The server cannot be reached or is turned off: 4.4.x, 421, or no connection after the
    /// retries.
    Unavailable,
    /// Any other temporary (4.x.x) failure.
    Temporary,
}

impl BounceCause {
    /// The cause of a refusal with this SMTP reply code and (when the server gave one) enhanced
    /// status code.
    pub fn of(reply_code: Option<u16>, status: Option<EnhancedStatus>) -> BounceCause {
        if let Some(status) = status {
            return match (status.class, status.subject, status.detail) {
                (_, 1, 1 | 10) => BounceCause::UnknownAddress,
                (_, 1, 2) => BounceCause::UnknownDomain,
                (_, 2, 2) => BounceCause::MailboxFull,
                (_, 3, 4) | (_, 2, 3) => BounceCause::TooBig,
                (_, 4, _) => BounceCause::Unavailable,
                (5, 7, _) => BounceCause::Blocked,
                (5, _, _) => BounceCause::Refused,
                _ => BounceCause::Temporary,
            };
        }
        match reply_code {
            Some(552) => BounceCause::TooBig,
            Some(421) => BounceCause::Unavailable,
            Some(code) if code / 100 == 5 => BounceCause::Refused,
            _ => BounceCause::Temporary,
        }
    }

    pub fn kind(self) -> BounceKind {
        match self {
            BounceCause::UnknownAddress | BounceCause::UnknownDomain | BounceCause::Blocked | BounceCause::Refused => {
                BounceKind::Hard
            }
            BounceCause::MailboxFull | BounceCause::TooBig | BounceCause::Unavailable | BounceCause::Temporary => {
                BounceKind::Soft
            }
        }
    }

    /// For the status badge: "Bounced — soft: mailbox full".
    pub fn text(self) -> Text {
        match self {
            BounceCause::UnknownAddress => k::CORE_BOUNCE_CAUSE_UNKNOWN_ADDRESS,
            BounceCause::UnknownDomain => k::CORE_BOUNCE_CAUSE_UNKNOWN_DOMAIN,
            BounceCause::Blocked => k::CORE_BOUNCE_CAUSE_BLOCKED,
            BounceCause::Refused => k::CORE_BOUNCE_CAUSE_REFUSED,
            BounceCause::MailboxFull => k::CORE_BOUNCE_CAUSE_MAILBOX_FULL,
            BounceCause::TooBig => k::CORE_BOUNCE_CAUSE_TOO_BIG,
            BounceCause::Unavailable => k::CORE_BOUNCE_CAUSE_UNAVAILABLE,
            BounceCause::Temporary => k::CORE_BOUNCE_CAUSE_TEMPORARY,
        }
    }

    pub fn label(self) -> &'static str {
        self.text().en
    }

    /// The cause of a bounce as recorded: its reason starts with the code (`552 5.2.2 ...`,
    /// `5.1.1 ...`, `421 ...`), so a stored status tells its cause again.
    pub fn of_recorded(reason: &str) -> BounceCause {
        let mut words = reason.split_whitespace();
        let first = words.next().unwrap_or_default();
        match first.parse::<u16>().ok().filter(|c| (400..=599).contains(c)) {
            Some(reply) => BounceCause::of(Some(reply), words.next().and_then(EnhancedStatus::parse)),
            None => BounceCause::of(None, EnhancedStatus::parse(first)),
        }
    }
}

/// A mail server refused mail for an address (or could not be reached): its cause, and with it
/// the kind (hard or soft).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    pub cause: BounceCause,
    /// What the reason starts with: `550 5.1.1`, or `5.1.1` when no SMTP reply code is known.
    pub code: String,
    pub reason: String,
}

/// Longest bounce reason kept, in characters.
pub const MAX_BOUNCE_REASON_CHARS: usize = 500;

fn clip(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// RFC 3463's "4.4.1 No answer from host": the code a bounce for a server that could not be
/// reached is recorded with.
const NO_ANSWER: EnhancedStatus = EnhancedStatus { class: 4, subject: 4, detail: 1 };

impl Bounce {
    /// The bounce an SMTP reply to RCPT TO or to the message's data means, or None for a reply
    /// that is not a failure. The enhanced status code at the start of the text decides the cause
    /// (RFC 3463); without one the reply code does.
    pub fn from_smtp_reply(reply_code: u16, text: &str) -> Option<Bounce> {
        let text = text.trim();
        let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let (status, reason) = match EnhancedStatus::parse(first) {
            Some(status) => (Some(status), rest.trim()),
            None => (None, text),
        };
        let class = status.map_or(u8::try_from(reply_code / 100).ok()?, |s| s.class);
        if !matches!(class, 4 | 5) {
            return None;
        }
        let cause = BounceCause::of(Some(reply_code), status);
        let code = match status {
            Some(status) => format!("{reply_code} {status}"),
            None => reply_code.to_string(),
        };
        Some(Bounce { cause, code, reason: clip(reason, MAX_BOUNCE_REASON_CHARS) })
    }

    /// The mail server could not be reached after every retry (`why`: refused, timed out): a soft
    /// bounce, "the server is not available".
    pub fn unreachable(why: &str) -> Bounce {
        Bounce {
            cause: BounceCause::Unavailable,
            code: NO_ANSWER.to_string(),
            reason: clip(why.trim(), MAX_BOUNCE_REASON_CHARS),
        }
    }

    pub fn kind(&self) -> BounceKind {
        self.cause.kind()
    }

    /// The status machine's event for this bounce.
    pub fn event(&self) -> StatusEvent {
        let (code, reason) = (self.code.clone(), self.reason.clone());
        match self.kind() {
            BounceKind::Hard => StatusEvent::HardBounce { code, reason },
            BounceKind::Soft => StatusEvent::SoftBounce { code, reason },
        }
    }
}

/// `POST /api/v1/webhooks/email`: a bounce a mail provider reports after the fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BounceReport {
    pub address: String,
    /// RFC 3463 enhanced status code (`4.x.x` or `5.x.x`); its cause decides hard or soft, as for
    /// SMTP replies: 5.1.1 hard, 5.2.2 (mailbox full) soft, 4.4.x soft...
    #[cfg_attr(feature = "openapi", schema(pattern = "^\\s*[45]\\.[0-9]{1,3}\\.[0-9]{1,3}\\s*$"))]
    pub status_code: String,
    /// The SMTP reply code, when known (e.g. 550); its first digit must match the class.
    #[serde(default)]
    pub smtp_code: Option<u16>,
    /// The server's text, up to 500 characters.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$", max_length = 500))]
    pub reason: String,
}

impl BounceReport {
    /// The address and the bounce, or the first field that is wrong.
    pub fn check(&self) -> Result<(EmailAddress, Bounce), FieldError> {
        let address = EmailAddress::parse(&self.address).map_err(|e| FieldError::new("address", e.sentence()))?;
        let status = EnhancedStatus::parse(self.status_code.trim())
            .filter(|s| s.class != 2)
            .ok_or_else(|| FieldError::new("status_code", k::CHECK_MAIL_STATUS_CODE))?;
        if let Some(smtp) = self.smtp_code
            && (!(400..=599).contains(&smtp) || smtp / 100 != u16::from(status.class))
        {
            return Err(FieldError::new("smtp_code", Message::new(k::CHECK_MAIL_SMTP_CODE).arg("class", status.class)));
        }
        let reason = self.reason.trim();
        if reason.is_empty() {
            return Err(FieldError::new("reason", k::CHECK_MAIL_REASON_MISSING));
        }
        if reason.chars().count() > MAX_BOUNCE_REASON_CHARS {
            return Err(FieldError::new(
                "reason",
                Message::new(k::CHECK_MAIL_REASON_TOO_LONG).arg("max", MAX_BOUNCE_REASON_CHARS),
            ));
        }
        let cause = BounceCause::of(self.smtp_code, Some(status));
        let code = match self.smtp_code {
            Some(smtp) => format!("{smtp} {status}"),
            None => status.to_string(),
        };
        Ok((address, Bounce { cause, code, reason: reason.to_owned() }))
    }
}

/// The answer to a bounce report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BounceApplied {
    /// False when no lead has the address: nothing was recorded.
    pub known: bool,
    pub status: Option<SubscriptionStatus>,
    pub bounce: Option<BounceKind>,
}

/// Longest campaign subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest campaign body, in characters.
pub const MAX_BODY_CHARS: usize = 50_000;

/// `POST /api/v1/campaigns`: plain-text mail to every Subscribed address among the leads the
/// filter matches (all leads without one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCampaign {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[^\\u0000\\r\\n]*[^\\s\\u0000][^\\u0000\\r\\n]*$", max_length = 200)
    )]
    pub subject: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$", max_length = 50000))]
    pub body: String,
    #[serde(default)]
    pub filter: Option<Filter>,
}

/// A campaign that passed [`NewCampaign::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCampaign {
    pub subject: String,
    pub body: String,
    pub filter: ValidFilter,
}

impl NewCampaign {
    pub fn check(&self) -> Result<ValidCampaign, FieldError> {
        let subject = self.subject.trim();
        if subject.is_empty() {
            return Err(FieldError::new("subject", k::CHECK_MAIL_SUBJECT_MISSING));
        }
        if subject.contains(['\r', '\n']) {
            return Err(FieldError::new("subject", k::CHECK_MAIL_SUBJECT_ONE_LINE));
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(FieldError::new(
                "subject",
                Message::new(k::CHECK_MAIL_SUBJECT_TOO_LONG).arg("max", MAX_SUBJECT_CHARS),
            ));
        }
        if self.body.trim().is_empty() {
            return Err(FieldError::new("body", k::CHECK_MAIL_BODY_MISSING));
        }
        if self.body.chars().count() > MAX_BODY_CHARS {
            return Err(FieldError::new("body", Message::new(k::CHECK_MAIL_BODY_TOO_LONG).arg("max", MAX_BODY_CHARS)));
        }
        let filter = match &self.filter {
            Some(filter) => filter.check().map_err(|e| FieldError::new(e.field, e.message))?,
            None => ValidFilter::default(),
        };
        Ok(ValidCampaign { subject: subject.to_owned(), body: self.body.clone(), filter })
    }
}

/// What a campaign send queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignQueued {
    pub id: i64,
    /// Distinct addresses mailed: each Subscribed address among the matching leads, once.
    pub recipients: u64,
    /// Distinct addresses left out, by their status (leads without an address are not counted).
    pub skipped: BTreeMap<SubscriptionStatus, u64>,
}

/// Where a mail of the outbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be sent (first try, or a retry at `next_attempt_at`).
    Queued,
    /// A delivery worker has it now.
    Sending,
    Sent,
    /// Given up: a bounce, or too many transient failures.
    Failed,
    /// Not sent because the address's status forbade it when its turn came.
    Dropped,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 5] =
        [OutboxStatus::Queued, OutboxStatus::Sending, OutboxStatus::Sent, OutboxStatus::Failed, OutboxStatus::Dropped];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// One mail of the outbox (`GET /api/v1/outbox`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxMail {
    pub id: i64,
    pub lead_id: Option<i64>,
    pub to: String,
    pub kind: MailKind,
    pub subject: String,
    pub status: OutboxStatus,
    /// Delivery attempts started so far.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When a queued mail is due (its next retry); absent once it is sent, failed or dropped.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/outbox`: newest first, keyset pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxPage {
    pub items: Vec<OutboxMail>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Waits before each retry after a transient failure; after the last, the mail has failed.
const RETRY_DELAYS_MINUTES: [i64; 5] = [1, 5, 30, 120, 360];

/// Delivery attempts a mail gets in all.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS_MINUTES.len() as u32 + 1;

/// How long to wait after the `attempts`-th failed attempt (1 for the first), or None when the
/// mail has had all its attempts.
pub fn retry_delay(attempts: u32) -> Option<Duration> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    RETRY_DELAYS_MINUTES.get(index).map(|minutes| Duration::minutes(*minutes))
}

/// `DELETE /api/v1/leads/{id}`: the operator types the lead's name or email to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoveLead {
    pub confirm: String,
}

/// Whether `typed` confirms removing the lead: its name, its email, or (for a lead with
/// neither) its display name `Lead #id`, ignoring case and surrounding white space.
pub fn confirms_removal(typed: &str, name: Option<&str>, email: Option<&str>, id: i64) -> bool {
    confirms_removal_in(typed, name, email, id, &[&English])
}

/// [`confirms_removal`], the display name as any of `languages` writes it ("Лид №7" as well as
/// "Lead #7": the operator types what their page shows).
pub fn confirms_removal_in(
    typed: &str,
    name: Option<&str>,
    email: Option<&str>,
    id: i64,
    languages: &[&dyn Texts],
) -> bool {
    let typed = typed.trim().to_lowercase();
    if typed.is_empty() {
        return false;
    }
    let shown = display_name_message(name, email, id);
    let shown: Vec<String> = languages.iter().map(|texts| shown.render(*texts)).collect();
    let candidates = [name, email].into_iter().flatten().chain(shown.iter().map(String::as_str));
    candidates.into_iter().any(|candidate| candidate.trim().to_lowercase() == typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn state(status: SubscriptionStatus, bounce: Option<BounceKind>) -> AddressState {
        AddressState { status, bounce, soft_bounces: 0, cool_down_until: None, confirmed: false, reason: None }
    }

    fn reason(a: &Availability) -> &str {
        a.reason.as_deref().unwrap_or("allowed")
    }

    /// The menu for every status, with Double Opt-In on and off, written out.
    #[test]
    fn the_menu_follows_the_status_machine() {
        use SubscriptionStatus as S;
        let on = EmailSettings { double_opt_in: true, ..EmailSettings::default() };
        let off = EmailSettings::default();
        let cooling = AddressState {
            cool_down_until: Some(at() + Duration::hours(1)),
            ..state(S::Bounced, Some(BounceKind::Soft))
        };
        let cooled = AddressState { cool_down_until: Some(at()), ..state(S::Bounced, Some(BounceKind::Soft)) };
        let hard = "a hard-bounced address is never mailed again";
        let rows: [(&str, Option<AddressState>, [&str; 3]); 8] = [
            ("no address", None, ["the lead has no email address"; 3]),
            (
                "subscribed",
                Some(state(S::Subscribed, None)),
                ["allowed", "the address is already subscribed", "Double Opt-In is off"],
            ),
            ("waiting", Some(state(S::WaitingForConfirmation, None)), ["allowed", "allowed", "Double Opt-In is off"]),
            (
                "invalid",
                Some(state(S::InvalidEmail, None)),
                ["the address is not valid", "the address is not valid", "Double Opt-In is off"],
            ),
            (
                "unsubscribed",
                Some(state(S::Unsubscribed, None)),
                [
                    "the lead is already unsubscribed",
                    "the lead unsubscribed; only the lead can subscribe again, by confirming",
                    "Double Opt-In is off",
                ],
            ),
            (
                "soft, cooling",
                Some(cooling),
                ["allowed", "the address soft-bounced and is cooling down", "Double Opt-In is off"],
            ),
            ("soft, cooled", Some(cooled), ["allowed", "allowed", "Double Opt-In is off"]),
            ("hard", Some(state(S::Bounced, Some(BounceKind::Hard))), [hard; 3]),
        ];
        for (name, st, [unsubscribe, confirm_on, confirm_off]) in rows {
            let with_on = EmailActions::of(st.as_ref(), &on, at());
            let with_off = EmailActions::of(st.as_ref(), &off, at());
            assert_eq!(reason(&with_on.unsubscribe), unsubscribe, "{name}: unsubscribe");
            assert_eq!(reason(&with_off.unsubscribe), unsubscribe, "{name}: unsubscribe, DOI off");
            assert_eq!(reason(&with_on.send_confirmation), confirm_on, "{name}: confirmation, DOI on");
            assert_eq!(reason(&with_off.send_confirmation), confirm_off, "{name}: confirmation, DOI off");
        }
    }

    #[test]
    fn an_operator_unsubscribe_goes_through_the_machine() {
        let settings = EmailSettings::default();
        let next = operator_unsubscribe(Some(&state(SubscriptionStatus::Subscribed, None)), &settings, at()).unwrap();
        assert_eq!(next.status, SubscriptionStatus::Unsubscribed);
        let reason = crate::locale::Message::from_stored(next.reason.as_deref().unwrap());
        assert_eq!(reason.to_string(), "unsubscribed by an operator");
        assert_eq!(reason.in_language(crate::locale::Language::Ru), "отписан оператором");
    }

    #[test]
    fn smtp_replies_classify_per_rfc_3463() {
        let hard = Bounce::from_smtp_reply(550, "5.1.1 mailbox does not exist").unwrap();
        assert_eq!(hard.kind(), BounceKind::Hard);
        assert_eq!((hard.code.as_str(), hard.reason.as_str()), ("550 5.1.1", "mailbox does not exist"));
        assert!(matches!(hard.event(), StatusEvent::HardBounce { .. }));
        let soft = Bounce::from_smtp_reply(452, "4.2.2 mailbox full").unwrap();
        assert_eq!((soft.kind(), soft.code.as_str()), (BounceKind::Soft, "452 4.2.2"));
        assert!(matches!(soft.event(), StatusEvent::SoftBounce { .. }));
        // The enhanced code decides over the reply code; without one, the reply code does.
        assert_eq!(Bounce::from_smtp_reply(550, "4.7.1 try later").unwrap().kind(), BounceKind::Soft);
        let bare = Bounce::from_smtp_reply(554, "no thanks").unwrap();
        assert_eq!((bare.kind(), bare.code.as_str(), bare.reason.as_str()), (BounceKind::Hard, "554", "no thanks"));
        assert_eq!(Bounce::from_smtp_reply(250, "2.1.5 ok"), None);
        assert_eq!(Bounce::from_smtp_reply(250, "ok"), None);
    }

    /// SPEC section 6: the kind follows the cause, read from the enhanced status code where there
    /// is one, not from its class digit alone.
    #[test]
    fn bounces_are_classified_by_their_cause() {
        use BounceCause as C;
        use BounceKind::{Hard, Soft};
        let table = [
            (550, "5.1.1 no such user", C::UnknownAddress, Hard),
            (550, "5.1.10 recipient address has null MX", C::UnknownAddress, Hard),
            (550, "5.1.2 bad destination system address", C::UnknownDomain, Hard),
            (554, "5.7.1 delivery not authorized, message refused", C::Blocked, Hard),
            (550, "5.7.26 unauthenticated mail is prohibited", C::Blocked, Hard),
            (553, "5.1.3 bad destination mailbox address syntax", C::Refused, Hard),
            (554, "transaction failed", C::Refused, Hard),
            (552, "5.2.2 mailbox full", C::MailboxFull, Soft),
            (452, "4.2.2 mailbox full", C::MailboxFull, Soft),
            (552, "5.3.4 message too big for system", C::TooBig, Soft),
            (552, "5.2.3 message length exceeds administrative limit", C::TooBig, Soft),
            (552, "message size exceeds fixed limit", C::TooBig, Soft),
            (421, "service not available, closing transmission channel", C::Unavailable, Soft),
            (451, "4.4.2 bad connection", C::Unavailable, Soft),
            (451, "4.3.0 try again later", C::Temporary, Soft),
            (450, "4.7.1 greylisted, try later", C::Temporary, Soft),
            (450, "mailbox busy", C::Temporary, Soft),
        ];
        for (reply, text, cause, kind) in table {
            let bounce = Bounce::from_smtp_reply(reply, text).unwrap();
            assert_eq!((bounce.cause, bounce.kind()), (cause, kind), "{reply} {text}");
            let recorded = format!("{} {}", bounce.code, bounce.reason);
            assert_eq!(
                BounceCause::of_recorded(&recorded),
                cause,
                "the stored reason tells the cause again: {recorded}"
            );
        }
        let unreachable = Bounce::unreachable("cannot connect to mx.example.com:25: connection refused");
        assert_eq!((unreachable.cause, unreachable.kind(), unreachable.code.as_str()), (C::Unavailable, Soft, "4.4.1"));
        assert!(matches!(unreachable.event(), StatusEvent::SoftBounce { .. }));
        assert_eq!(BounceCause::of_recorded("4.4.1 cannot connect: connection refused"), C::Unavailable);
        assert_eq!(BounceCause::of_recorded("5.1.1 reported by the provider"), C::UnknownAddress);
        assert_eq!(C::MailboxFull.label(), "mailbox full");
    }

    #[test]
    fn enhanced_status_codes_parse_strictly() {
        assert_eq!(EnhancedStatus::parse("5.1.1"), Some(EnhancedStatus { class: 5, subject: 1, detail: 1 }));
        assert_eq!(EnhancedStatus::parse("4.422.999").map(|s| s.to_string()).as_deref(), Some("4.422.999"));
        for bad in ["", "5", "5.1", "5.1.1.1", "3.1.1", "5.1000.1", "5.a.1", "55.1.1", "5..1", "+5.1.1"] {
            assert_eq!(EnhancedStatus::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bounce_reports_name_the_wrong_field() {
        let good = BounceReport {
            address: " Lena@Example.com ".into(),
            status_code: "5.1.1".into(),
            smtp_code: Some(550),
            reason: "mailbox does not exist".into(),
        };
        let (address, bounce) = good.check().unwrap();
        assert_eq!(address.normalized(), "lena@example.com");
        assert_eq!((bounce.kind(), bounce.code.as_str()), (BounceKind::Hard, "550 5.1.1"));
        let soft = BounceReport { status_code: "4.2.2".into(), smtp_code: None, ..good.clone() };
        assert_eq!(soft.check().unwrap().1.code, "4.2.2");
        let field = |r: BounceReport| r.check().unwrap_err().field;
        assert_eq!(field(BounceReport { address: "nope".into(), ..good.clone() }), "address");
        assert_eq!(field(BounceReport { status_code: "2.0.0".into(), ..good.clone() }), "status_code");
        assert_eq!(field(BounceReport { status_code: "bounce".into(), ..good.clone() }), "status_code");
        assert_eq!(field(BounceReport { smtp_code: Some(450), ..good.clone() }), "smtp_code");
        assert_eq!(field(BounceReport { smtp_code: Some(250), ..good.clone() }), "smtp_code");
        assert_eq!(field(BounceReport { reason: " ".into(), ..good.clone() }), "reason");
        assert_eq!(field(BounceReport { reason: "x".repeat(501), ..good }), "reason");
    }

    #[test]
    fn settings_are_checked_and_round_trip() {
        let body = EmailSettingsBody { double_opt_in: true, soft_bounce_cool_down_hours: 24, soft_bounces_to_hard: 3 };
        let settings = body.check().unwrap();
        assert_eq!(settings, EmailSettings { double_opt_in: true, ..EmailSettings::default() });
        assert_eq!(EmailSettingsBody::from(&settings), body);
        assert!(!EmailSettingsBody::from(&EmailSettings::default()).double_opt_in);
        let field = |b: EmailSettingsBody| b.check().unwrap_err().field;
        assert_eq!(field(EmailSettingsBody { soft_bounce_cool_down_hours: 0, ..body }), "soft_bounce_cool_down_hours");
        assert_eq!(
            field(EmailSettingsBody { soft_bounce_cool_down_hours: 721, ..body }),
            "soft_bounce_cool_down_hours"
        );
        assert_eq!(field(EmailSettingsBody { soft_bounces_to_hard: 0, ..body }), "soft_bounces_to_hard");
    }

    #[test]
    fn campaigns_are_checked() {
        let good = NewCampaign { subject: " News ".into(), body: "Hello".into(), filter: None };
        assert_eq!(good.check().unwrap().subject, "News");
        let field = |c: NewCampaign| c.check().unwrap_err().field;
        assert_eq!(field(NewCampaign { subject: " ".into(), ..good.clone() }), "subject");
        assert_eq!(field(NewCampaign { subject: "a\r\nBcc: x@y.z".into(), ..good.clone() }), "subject");
        assert_eq!(field(NewCampaign { subject: "s".repeat(201), ..good.clone() }), "subject");
        assert_eq!(field(NewCampaign { body: "\n".into(), ..good.clone() }), "body");
        let filter = Filter::from_query(r#"{"all":[{"kind":"tag","tag":" "}]}"#).unwrap();
        assert_eq!(field(NewCampaign { filter: Some(filter), ..good }), "filter.all[0].tag");
    }

    #[test]
    fn retries_back_off_then_stop() {
        assert_eq!(retry_delay(0), None);
        assert_eq!(retry_delay(1), Some(Duration::minutes(1)));
        assert_eq!(retry_delay(2), Some(Duration::minutes(5)));
        assert_eq!(retry_delay(5), Some(Duration::hours(6)));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
        assert_eq!(MAX_ATTEMPTS, 6);
    }

    #[test]
    fn removal_is_confirmed_by_the_name_or_the_email() {
        assert!(confirms_removal(" anna smith ", Some("Anna Smith"), Some("anna@example.com"), 7));
        assert!(confirms_removal("ANNA@example.com", Some("Anna Smith"), Some("anna@example.com"), 7));
        let both: [&dyn Texts; 2] = [&crate::locale::Language::En, &crate::locale::Language::Ru];
        assert!(confirms_removal_in(" лид №7 ", None, None, 7, &both));
        assert!(confirms_removal_in("Lead #7", None, None, 7, &both));
        assert!(!confirms_removal_in("Лид №8", None, None, 7, &both));
        assert!(!confirms_removal("Лид №7", None, None, 7));
        assert!(!confirms_removal("Anna", Some("Anna Smith"), Some("anna@example.com"), 7));
        assert!(!confirms_removal("", None, None, 7));
        assert!(confirms_removal("lead #7", None, None, 7));
        assert!(!confirms_removal("Lead #7", Some("Anna"), None, 7));
    }

    #[test]
    fn outbox_statuses_round_trip() {
        for status in OutboxStatus::ALL {
            assert_eq!(OutboxStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{}\"", status.as_str()));
        }
    }

    #[test]
    fn skipped_counts_read_as_an_object_of_statuses() {
        let queued = CampaignQueued {
            id: 1,
            recipients: 2,
            skipped: BTreeMap::from([(SubscriptionStatus::Unsubscribed, 3), (SubscriptionStatus::Bounced, 1)]),
        };
        let json = serde_json::to_value(&queued).unwrap();
        assert_eq!(json["skipped"], serde_json::json!({ "unsubscribed": 3, "bounced": 1 }));
    }
}
