//! Inbox and communications (SPEC sections 1 and 5): conversations with a lead by chat, email or
//! pop-up, their messages, and the rules both ends share — what a message may be, which channel an
//! operator may use now and why not, when a chat reply is also mailed, and how a message body is
//! shown (text, with links made clickable; never HTML).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::locale::{self, Text, k};
#[cfg(not(target_arch = "wasm32"))]
use crate::locale::{Language, fill};
use crate::mail::{Availability, FieldError};
use crate::presence::Presence;
use crate::subscription::{AddressState, EmailSettings, MailKind};

/// Longest message body, in characters (after trimming).
pub const MAX_BODY_CHARS: usize = 10_000;
/// Longest email subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 255;
/// An idempotency key: 8 to 64 characters of `A-Za-z0-9_-` (the page makes a UUID per message).
pub const MIN_KEY_CHARS: usize = 8;
pub const MAX_KEY_CHARS: usize = 64;
/// The list's preview of the last message, in characters.
pub const PREVIEW_CHARS: usize = 140;
/// Most conversations in one page of the list, and the default.
pub const MAX_PAGE: u32 = 100;
pub const DEFAULT_PAGE: u32 = 30;
/// Most messages in one page of a thread, and the default.
pub const MAX_MESSAGES_PAGE: u32 = 200;
pub const DEFAULT_MESSAGES_PAGE: u32 = 50;

/// How a conversation reaches the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The site widget's chat: the lead reads and answers there (and by email copy when away).
    Chat,
    /// Email through the outbox; the lead's answer by mail comes back into the conversation.
    Email,
    /// A pop-up the widget shows on the lead's next page (at once when the lead is online).
    Popup,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Chat, Channel::Email, Channel::Popup];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Popup => "popup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What the operator reads ("Chat", "Email", "Pop-up").
    pub fn text(self) -> Text {
        match self {
            Channel::Chat => k::CORE_CHANNEL_CHAT,
            Channel::Email => k::CORE_CHANNEL_EMAIL,
            Channel::Popup => k::CORE_CHANNEL_POPUP,
        }
    }

    pub fn label(self) -> &'static str {
        self.text().en
    }
}

/// Open conversations wait for an operator; closed ones reopen when anyone writes in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(ConversationStatus::Open),
            "closed" => Some(ConversationStatus::Closed),
            _ => None,
        }
    }
}

/// The subject of a conversation's email: the operator's, else "Re: " the conversation's first,
/// else one naming the project.
/// In the lead's `language` (the server's side only).
#[cfg(not(target_arch = "wasm32"))]
pub fn email_subject(language: Language, given: Option<&str>, first: Option<&str>, project: &str) -> String {
    match (given, first) {
        (Some(subject), _) => subject.to_owned(),
        (None, Some(first)) if first.to_ascii_lowercase().starts_with("re:") => first.to_owned(),
        (None, Some(first)) => format!("Re: {first}"),
        (None, None) => fill(k::MAIL_MESSAGE_SUBJECT.get(language), &[("project", project)]),
    }
}

/// The mailed copy of an operator's chat message to a lead who is away: its subject and text, in
/// the lead's `language` (the server's side only).
#[cfg(not(target_arch = "wasm32"))]
pub fn chat_copy(language: Language, operator: &str, project: &str, body: &str) -> (String, String) {
    let args = [("operator", operator), ("project", project), ("body", body)];
    (fill(k::MAIL_CHAT_COPY_SUBJECT.get(language), &args), fill(k::MAIL_CHAT_COPY_BODY.get(language), &args))
}

/// Which conversations the Inbox list shows: its two filters, as in the page's URL and the API's
/// query (`status`: open | closed | all, default open; `assignee`: any | me | unassigned, default
/// any). One parser for the server (strict: [`ConversationFilter::parse`]) and the page's URL
/// (lenient: [`ConversationFilter::from_url`], an unknown value shows the default list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConversationFilter {
    /// `None`: open and closed alike (`all`).
    pub status: Option<ConversationStatus>,
    pub assignee: AssigneeChoice,
}

/// The assignee filter as the operator chooses it; `Me` is whoever asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AssigneeChoice {
    #[default]
    Any,
    Me,
    Unassigned,
}

impl AssigneeChoice {
    pub const ALL: [AssigneeChoice; 3] = [AssigneeChoice::Any, AssigneeChoice::Me, AssigneeChoice::Unassigned];

    pub fn as_str(self) -> &'static str {
        match self {
            AssigneeChoice::Any => "any",
            AssigneeChoice::Me => "me",
            AssigneeChoice::Unassigned => "unassigned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        AssigneeChoice::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl Default for ConversationFilter {
    fn default() -> Self {
        ConversationFilter::new()
    }
}

impl ConversationFilter {
    /// The default list: open conversations, any assignee.
    pub fn new() -> Self {
        ConversationFilter { status: Some(ConversationStatus::Open), assignee: AssigneeChoice::Any }
    }

    /// The query's values as sent (absent or empty: the default); an unknown value is refused
    /// with its field.
    pub fn parse(status: Option<&str>, assignee: Option<&str>) -> Result<Self, FieldError> {
        let status = match status.filter(|s| !s.is_empty()) {
            None => Some(ConversationStatus::Open),
            Some("all") => None,
            Some(other) => {
                Some(ConversationStatus::parse(other).ok_or_else(|| FieldError::new("status", k::CHECK_INBOX_STATUS))?)
            }
        };
        let assignee = match assignee.filter(|s| !s.is_empty()) {
            None => AssigneeChoice::Any,
            Some(raw) => {
                AssigneeChoice::parse(raw).ok_or_else(|| FieldError::new("assignee", k::CHECK_INBOX_ASSIGNEE))?
            }
        };
        Ok(ConversationFilter { status, assignee })
    }

    /// From the page's URL: what cannot be read falls back to the default of that filter.
    pub fn from_url(status: Option<&str>, assignee: Option<&str>) -> Self {
        let default = ConversationFilter::new();
        ConversationFilter {
            status: ConversationFilter::parse(status, None).map_or(default.status, |f| f.status),
            assignee: ConversationFilter::parse(None, assignee).map_or(default.assignee, |f| f.assignee),
        }
    }

    /// Whether the list with this filter shows `conversation`; `me` is the operator looking.
    pub fn shows(&self, conversation: &Conversation, me: Option<i64>) -> bool {
        let status = self.status.is_none_or(|status| conversation.status == status);
        let assignee = conversation.assignee.as_ref().map(|a| a.id);
        let assigned = match self.assignee {
            AssigneeChoice::Any => true,
            AssigneeChoice::Me => me.is_some() && assignee == me,
            AssigneeChoice::Unassigned => assignee.is_none(),
        };
        status && assigned
    }

    /// The same filter with another status (`open`, `closed` or `all`; anything else: open).
    pub fn with_status(self, status: &str) -> Self {
        ConversationFilter { status: ConversationFilter::from_url(Some(status), None).status, ..self }
    }

    /// The same filter with another assignee choice (`any`, `me` or `unassigned`).
    pub fn with_assignee(self, assignee: &str) -> Self {
        ConversationFilter { assignee: ConversationFilter::from_url(None, Some(assignee)).assignee, ..self }
    }

    /// `open`, `closed` or `all`.
    pub fn status_str(&self) -> &'static str {
        self.status.map_or("all", ConversationStatus::as_str)
    }

    /// The query pairs that say this filter; the defaults are left out, so the plain list has a
    /// plain URL.
    pub fn query_pairs(&self) -> Vec<(&'static str, &'static str)> {
        let default = ConversationFilter::new();
        let mut pairs = Vec::new();
        if self.status != default.status {
            pairs.push(("status", self.status_str()));
        }
        if self.assignee != default.assignee {
            pairs.push(("assignee", self.assignee.as_str()));
        }
        pairs
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Lead,
    Operator,
    /// A system entry of the thread (assigned, closed, reopened); see [`SystemEntry`].
    System,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Lead => "lead",
            Author::Operator => "operator",
            Author::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lead" => Some(Author::Lead),
            "operator" => Some(Author::Operator),
            "system" => Some(Author::System),
            _ => None,
        }
    }
}

/// What a system entry records. Its text for the thread is [`SystemEntry::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SystemEntry {
    /// `by` assigned the conversation to `to` (`None`: unassigned it).
    Assigned {
        by: String,
        to: Option<String>,
    },
    Closed {
        by: String,
    },
    /// `by` is an operator's name, or `None` when the lead's new message reopened it.
    Reopened {
        by: Option<String>,
    },
}

impl SystemEntry {
    /// "Anna assigned this conversation to Boris", "Anna closed this conversation", ... (English;
    /// [`SystemEntry::message`] for the reader's language).
    pub fn text(&self) -> String {
        self.message().to_string()
    }

    /// The entry's text for the thread, in the reader's language.
    pub fn message(&self) -> locale::Message {
        use locale::Message;
        match self {
            SystemEntry::Assigned { by, to: Some(to) } if by == to => Message::new(k::CHECK_INBOX_TOOK).arg("by", by),
            SystemEntry::Assigned { by, to: Some(to) } => {
                Message::new(k::CHECK_INBOX_ASSIGNED).arg("by", by).arg("to", to)
            }
            SystemEntry::Assigned { by, to: None } => Message::new(k::CHECK_INBOX_UNASSIGNED).arg("by", by),
            SystemEntry::Closed { by } => Message::new(k::CHECK_INBOX_CLOSED).arg("by", by),
            SystemEntry::Reopened { by: Some(by) } => Message::new(k::CHECK_INBOX_REOPENED).arg("by", by),
            SystemEntry::Reopened { by: None } => k::CHECK_INBOX_REOPENED_BY_LEAD.into(),
        }
    }
}

/// An operator as a conversation shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorRef {
    pub id: i64,
    pub name: String,
}

/// Where an operator's message stands on its way to the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Stored; the widget has not shown it yet (chat, pop-up) or the mail is queued.
    Sent,
    /// The widget showed it to the lead (chat read, pop-up shown) or the mail server took it.
    Delivered,
    /// The mail could not be delivered (bounce, or refused by the email rules at sending time).
    Failed,
}

/// One entry of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub author: Author,
    /// The writing operator (`author = operator`).
    pub operator: Option<OperatorRef>,
    /// Plain text as written (never HTML); empty for system entries.
    pub body: String,
    /// Email messages: the subject line.
    pub subject: Option<String>,
    /// `author = system`: what happened.
    pub system: Option<SystemEntry>,
    /// Operator messages: where it stands (`None` for the lead's and system entries).
    pub delivery: Option<Delivery>,
    /// Chat messages of an operator written while the lead was away were also mailed (SPEC 5).
    #[serde(default)]
    pub emailed_copy: bool,
    /// An operator's message: the `Idempotency-Key` it was sent with, so the page that sent it
    /// knows its unconfirmed copy when the stored one reaches it first (over the live stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The lead of a conversation, with what the list needs to show presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationLead {
    pub id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub last_active: Option<DateTime<Utc>>,
}

impl ConversationLead {
    pub fn presence(&self, now: DateTime<Utc>) -> Presence {
        Presence::at(now, self.last_heartbeat, self.last_active)
    }
}

/// The last message as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePreview {
    pub author: Author,
    /// At most [`PREVIEW_CHARS`] characters of the body on one line ([`preview`]); a system entry's text.
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A conversation as the Inbox list and the card's history show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: i64,
    pub lead: ConversationLead,
    pub channel: Channel,
    pub status: ConversationStatus,
    pub assignee: Option<OperatorRef>,
    /// The lead's messages since an operator last read the thread.
    pub unread: u32,
    pub last_message: Option<MessagePreview>,
    /// Newest activity (a message or a system entry): the list's order.
    pub last_activity_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/conversations`: newest activity first; pass `next` as `after` for more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationPage {
    pub items: Vec<Conversation>,
    pub next: Option<String>,
    /// Open conversations with unread messages, for the navigation's badge (whatever the filter).
    pub unread_conversations: u64,
}

/// `GET /api/v1/conversations/{id}`: the conversation and its newest messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Thread {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    /// Older messages exist: `GET .../messages?before=<messages[0].id>`.
    pub more_before: bool,
}

/// `GET /api/v1/conversations/{id}/messages?before=&after=&limit=`: oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub items: Vec<Message>,
    /// With `before`: older ones exist still.
    pub more_before: bool,
}

/// `POST /api/v1/conversations/{id}/messages`: an operator's reply in a conversation (its channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMessage {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$", max_length = 10000))]
    pub body: String,
    /// Email conversations: the subject (default: "Re: " + the first subject, or the project's name).
    #[serde(default)]
    pub subject: Option<String>,
    /// The page's key for this message: the same key again stores nothing new and answers with
    /// the message stored the first time.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{8,64}$"))]
    pub idempotency_key: String,
}

/// `POST /api/v1/leads/{id}/messages`: send from the card by a channel; continues the lead's open
/// conversation of that channel, or starts one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessage {
    pub channel: Channel,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$", max_length = 10000))]
    pub body: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{8,64}$"))]
    pub idempotency_key: String,
}

/// A message after the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMessage {
    pub body: String,
    pub subject: Option<String>,
    pub idempotency_key: String,
}

/// The answer to a send: the stored message and its conversation. `created` is false when the
/// idempotency key had been used already (the stored message is returned, nothing is sent twice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sent {
    pub conversation: Conversation,
    pub message: Message,
    pub created: bool,
}

/// `POST /api/v1/conversations/{id}/assign`: `operator_id` null unassigns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assign {
    pub operator_id: Option<i64>,
}

/// Which channels the card may use for this lead now, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channels {
    pub chat: Availability,
    pub email: Availability,
    pub popup: Availability,
}

/// Why a channel cannot be used now. [`ChannelRefusal::message`] is what the operator reads;
/// `Display` is its English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRefusal {
    NeverOnSite,
    NoAddress,
    Email(crate::subscription::Refusal),
}

impl ChannelRefusal {
    /// Why, as a fragment ("the lead has no email address").
    pub fn message(&self) -> locale::Message {
        match self {
            ChannelRefusal::NeverOnSite => k::CHECK_INBOX_NEVER_ON_SITE.into(),
            ChannelRefusal::NoAddress => k::CHECK_MAIL_NO_ADDRESS.into(),
            ChannelRefusal::Email(refusal) => refusal.message(),
        }
    }
}

impl std::fmt::Display for ChannelRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for ChannelRefusal {}

impl From<crate::subscription::Refusal> for ChannelRefusal {
    fn from(refusal: crate::subscription::Refusal) -> Self {
        ChannelRefusal::Email(refusal)
    }
}

impl From<ChannelRefusal> for locale::Message {
    fn from(refusal: ChannelRefusal) -> locale::Message {
        refusal.message()
    }
}

/// The facts the channel rules read about one lead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelFacts<'a> {
    /// The widget has seen the lead (a visitor id points at it).
    pub has_visitor: bool,
    /// The lead's address state (`None`: no email address).
    pub address: Option<&'a AddressState>,
}

/// The kind of mail a conversation's email is under the email rules (SPEC 6: "copies of chat
/// replies" and an operator's own messages are refused to Unsubscribed, and follow bounces).
pub const CONVERSATION_MAIL: MailKind = MailKind::ChatReplyCopy;

/// May an operator send by `channel` now?
pub fn may_use(
    channel: Channel,
    facts: ChannelFacts<'_>,
    settings: &EmailSettings,
    now: DateTime<Utc>,
) -> Result<(), ChannelRefusal> {
    match channel {
        Channel::Email => {
            let state = facts.address.ok_or(ChannelRefusal::NoAddress)?;
            Ok(state.may_send(CONVERSATION_MAIL, settings, now)?)
        }
        // A chat reaches the lead in the widget, or by its email copy.
        Channel::Chat if facts.has_visitor => Ok(()),
        Channel::Chat => may_use(Channel::Email, facts, settings, now).map_err(|_| ChannelRefusal::NeverOnSite),
        Channel::Popup if facts.has_visitor => Ok(()),
        Channel::Popup => Err(ChannelRefusal::NeverOnSite),
    }
}

impl Channels {
    /// The channels, their reasons in English.
    pub fn of(facts: ChannelFacts<'_>, settings: &EmailSettings, now: DateTime<Utc>) -> Self {
        Channels::rendered(facts, settings, now, locale::Message::to_string)
    }

    /// The channels, their reasons as `render` writes a message (the reader's language).
    pub fn rendered(
        facts: ChannelFacts<'_>,
        settings: &EmailSettings,
        now: DateTime<Utc>,
        render: impl Fn(&locale::Message) -> String,
    ) -> Self {
        let one = |channel| Availability::rendered(may_use(channel, facts, settings, now), &render);
        Channels { chat: one(Channel::Chat), email: one(Channel::Email), popup: one(Channel::Popup) }
    }
}

/// SPEC 5: an operator's chat message is also mailed when the lead is not on the site (offline)
/// and the email rules allow a copy. Sleeping leads still have the page open: no copy.
pub fn chat_copy_by_email(
    presence: Presence,
    address: Option<&AddressState>,
    settings: &EmailSettings,
    now: DateTime<Utc>,
) -> bool {
    presence == Presence::Offline
        && address.is_some_and(|state| state.may_send(CONVERSATION_MAIL, settings, now).is_ok())
}

/// How long after the lead's message an operator's chat copy waits before it is mailed, so that a
/// lead who comes back at once reads it in the widget instead (the server mails it only if the
/// widget has not shown it by then).
pub const CHAT_COPY_DELAY: Duration = Duration::minutes(2);

fn check_key(key: &str) -> Result<(), FieldError> {
    let ok = (MIN_KEY_CHARS..=MAX_KEY_CHARS).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "idempotency_key",
            locale::Message::new(k::CHECK_INBOX_IDEMPOTENCY_KEY).arg("min", MIN_KEY_CHARS).arg("max", MAX_KEY_CHARS),
        ))
    }
}

/// A message body as stored: trimmed, not empty, at most [`MAX_BODY_CHARS`] characters. `field`
/// names where it came from (`body`; a mailed reply's `text`).
pub fn check_body<'a>(body: &'a str, field: &str) -> Result<&'a str, FieldError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(FieldError::new(field, k::CHECK_INBOX_BODY_MISSING));
    }
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(FieldError::new(
            field,
            locale::Message::new(k::CHECK_INBOX_BODY_TOO_LONG).arg("max", MAX_BODY_CHARS).arg("chars", chars),
        ));
    }
    Ok(body)
}

/// The checks of a message body, subject and key, for the server before storing and the page
/// before sending (the same message inline).
pub fn check_message(
    channel: Channel,
    body: &str,
    subject: Option<&str>,
    idempotency_key: &str,
) -> Result<CheckedMessage, FieldError> {
    let body = check_body(body, "body")?;
    let subject = subject.map(str::trim).filter(|s| !s.is_empty());
    if let Some(subject) = subject {
        if channel != Channel::Email {
            return Err(FieldError::new("subject", k::CHECK_INBOX_SUBJECT_NOT_EMAIL));
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(FieldError::new(
                "subject",
                locale::Message::new(k::CHECK_INBOX_SUBJECT_TOO_LONG).arg("max", MAX_SUBJECT_CHARS),
            ));
        }
        if subject.chars().any(char::is_control) {
            return Err(FieldError::new("subject", k::CHECK_INBOX_SUBJECT_ONE_LINE));
        }
    }
    check_key(idempotency_key)?;
    Ok(CheckedMessage {
        body: body.to_owned(),
        subject: subject.map(str::to_owned),
        idempotency_key: idempotency_key.to_owned(),
    })
}

impl SendMessage {
    pub fn check(&self) -> Result<CheckedMessage, FieldError> {
        check_message(self.channel, &self.body, self.subject.as_deref(), &self.idempotency_key)
    }
}

/// The list's one-line preview of a body: white space collapsed, at most [`PREVIEW_CHARS`]
/// characters, "…" when cut.
pub fn preview(body: &str) -> String {
    let mut out = String::new();
    let mut count = 0;
    for word in body.split_whitespace() {
        if count > 0 {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= PREVIEW_CHARS {
                out.pop();
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// A piece of a message body as shown: text, or a link (`http://`, `https://`, `mailto:` or a
/// bare `www.` address). Both are shown as text; a link's `href` is [`Piece::href`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

impl Piece<'_> {
    /// Where a link goes (`www.` addresses get `https://`).
    pub fn href(&self) -> Option<String> {
        match self {
            Piece::Link(l) if l.starts_with("www.") => Some(format!("https://{l}")),
            Piece::Link(l) => Some((*l).to_owned()),
            Piece::Text(_) => None,
        }
    }
}

/// Splits a body into text and links, so the page can make links clickable while everything else
/// stays text. Trailing punctuation (`.,;:!?)'"`) is not part of a link; a `)` is kept when the
/// link opened one.
pub fn linkify(body: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let bytes = body.as_bytes();
    while i < body.len() {
        let at_word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'/');
        let rest = &body[i..];
        let starts = at_word_start
            && ["https://", "http://", "mailto:", "www."]
                .iter()
                .any(|p| rest.len() > p.len() && rest.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p)));
        if starts {
            let mut end =
                rest.find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"').unwrap_or(rest.len());
            // Trailing punctuation belongs to the sentence, not the link.
            while let Some(last) = rest[..end].chars().last() {
                let unbalanced_paren =
                    last == ')' && rest[..end].matches('(').count() < rest[..end].matches(')').count();
                if ".,;:!?'".contains(last) || unbalanced_paren {
                    end -= last.len_utf8();
                } else {
                    break;
                }
            }
            let link = &rest[..end];
            let scheme_only = ["https://", "http://", "mailto:", "www."].iter().any(|p| link.eq_ignore_ascii_case(p));
            if !link.is_empty() && !scheme_only {
                if text_start < i {
                    pieces.push(Piece::Text(&body[text_start..i]));
                }
                pieces.push(Piece::Link(link));
                i += end;
                text_start = i;
                continue;
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    if text_start < body.len() {
        pieces.push(Piece::Text(&body[text_start..]));
    }
    pieces
}

// ---------------------------------------------------------------------------------------------
// The widget's side (public; the project's key and the visitor id)
// ---------------------------------------------------------------------------------------------

/// A message as the widget shows it to the lead (chat and pop-up only; never system entries or
/// email).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetMessage {
    pub id: i64,
    pub conversation_id: i64,
    pub channel: Channel,
    pub author: Author,
    /// The operator's name (`author = operator`).
    pub operator_name: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// The widget has shown it (pop-ups are shown once).
    pub seen: bool,
}

/// `GET /api/v1/track/messages?key=&visitor_id=&after=`: the lead's chat and pop-up messages
/// after the id `after` (default 0), oldest first, at most 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetMessages {
    pub items: Vec<WidgetMessage>,
}

/// `POST /api/v1/track/messages`: the lead writes in the widget's chat (continues the lead's open
/// chat conversation, reopens the latest closed one, or starts one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetSend {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$"))]
    pub visitor_id: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$", max_length = 10000))]
    pub body: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{8,64}$"))]
    pub idempotency_key: String,
}

/// `POST /api/v1/track/messages/seen`: the widget showed these messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetSeen {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$"))]
    pub visitor_id: String,
    #[cfg_attr(feature = "openapi", schema(max_items = 200))]
    pub message_ids: Vec<i64>,
}

/// `POST /api/v1/webhooks/inbound-email`: a reply mailed by the lead, as the mail provider's
/// inbound hook hands it over. `to` is the conversation's reply address
/// (`reply+<token>@<domain>`, the token a random 128-bit secret of the conversation), so a reply lands in its
/// conversation, and only there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboundEmail {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub subject: Option<String>,
    /// The plain-text part.
    pub text: String,
    /// The mail's `Message-ID`: the same one again is stored once.
    pub message_id: String,
}

/// The quoted history under a mailed reply ("On ... wrote:", "> ...") is not part of the answer.
pub fn strip_quoted_reply(text: &str) -> &str {
    let mut end = text.len();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let starts_quote = trimmed.starts_with('>')
            || (trimmed.starts_with("On ") && trimmed.ends_with("wrote:"))
            || trimmed.starts_with("-----Original Message-----");
        if starts_quote {
            end = offset;
            break;
        }
        offset += line.len();
    }
    text[..end].trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscription::{StatusEvent, SubscriptionStatus};

    fn settings() -> EmailSettings {
        EmailSettings::default()
    }

    #[test]
    fn messages_are_checked_with_the_field_named() {
        assert_eq!(check_message(Channel::Chat, "  ", None, "abcdefgh").unwrap_err().field, "body");
        let long = "x".repeat(MAX_BODY_CHARS + 1);
        assert_eq!(check_message(Channel::Chat, &long, None, "abcdefgh").unwrap_err().field, "body");
        assert_eq!(check_message(Channel::Chat, "hi", Some("S"), "abcdefgh").unwrap_err().field, "subject");
        assert_eq!(check_message(Channel::Email, "hi", Some("a\nb"), "abcdefgh").unwrap_err().field, "subject");
        assert_eq!(check_message(Channel::Chat, "hi", None, "short").unwrap_err().field, "idempotency_key");
        assert_eq!(check_message(Channel::Chat, "hi", None, "has space!").unwrap_err().field, "idempotency_key");
        let ok = check_message(Channel::Email, "  hello\n", Some(" Subject "), "0b7c-11ef_aa").unwrap();
        assert_eq!(ok.body, "hello");
        assert_eq!(ok.subject.as_deref(), Some("Subject"));
        assert_eq!(check_message(Channel::Email, "hi", Some("   "), "abcdefgh").unwrap().subject, None);
        assert_eq!(check_body("  hi \n", "text"), Ok("hi"));
        assert_eq!(check_body(" ", "text").unwrap_err().field, "text");
    }

    #[test]
    fn channels_follow_the_email_rules_and_the_widget() {
        let now = Utc::now();
        let s = settings();
        let subscribed = AddressState::new(true, &s);
        let unsubscribed = subscribed.apply(&StatusEvent::UnsubscribedByOperator, &s, now).unwrap();
        assert_eq!(unsubscribed.status, SubscriptionStatus::Unsubscribed);

        let on_site = ChannelFacts { has_visitor: true, address: Some(&unsubscribed) };
        let c = Channels::of(on_site, &s, now);
        assert!(c.chat.allowed && c.popup.allowed);
        assert!(!c.email.allowed);
        assert_eq!(c.email.reason.as_deref(), Some(crate::subscription::Refusal::Unsubscribed.to_string().as_str()));

        let mail_only = ChannelFacts { has_visitor: false, address: Some(&subscribed) };
        let c = Channels::of(mail_only, &s, now);
        assert!(c.chat.allowed && c.email.allowed && !c.popup.allowed);

        let nothing = ChannelFacts { has_visitor: false, address: None };
        let c = Channels::of(nothing, &s, now);
        assert!(!c.chat.allowed && !c.email.allowed && !c.popup.allowed);
        assert_eq!(c.email.reason.as_deref(), Some("the lead has no email address"));
    }

    #[test]
    fn chat_copies_go_only_to_offline_leads_that_may_be_mailed() {
        let now = Utc::now();
        let s = settings();
        let subscribed = AddressState::new(true, &s);
        let unsubscribed = subscribed.apply(&StatusEvent::UnsubscribedByOperator, &s, now).unwrap();
        assert!(chat_copy_by_email(Presence::Offline, Some(&subscribed), &s, now));
        assert!(!chat_copy_by_email(Presence::Online, Some(&subscribed), &s, now));
        assert!(!chat_copy_by_email(Presence::Sleeping, Some(&subscribed), &s, now));
        assert!(!chat_copy_by_email(Presence::Offline, Some(&unsubscribed), &s, now));
        assert!(!chat_copy_by_email(Presence::Offline, None, &s, now));
    }

    #[test]
    fn previews_are_one_line_and_cut() {
        assert_eq!(preview("  Hello\n\n  there  "), "Hello there");
        let long = "word ".repeat(100);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS);
        assert!(p.ends_with('…'));
        assert_eq!(preview(""), "");
    }

    #[test]
    fn links_are_found_and_everything_else_stays_text() {
        assert_eq!(
            linkify("See https://example.com/a?b=1. Thanks"),
            vec![Piece::Text("See "), Piece::Link("https://example.com/a?b=1"), Piece::Text(". Thanks")]
        );
        assert_eq!(
            linkify("(www.shop.test/x) and mailto:a@b.co!"),
            vec![
                Piece::Text("("),
                Piece::Link("www.shop.test/x"),
                Piece::Text(") and "),
                Piece::Link("mailto:a@b.co"),
                Piece::Text("!")
            ]
        );
        assert_eq!(
            linkify("https://en.wikipedia.org/wiki/Rust_(language)")[0].href().unwrap(),
            "https://en.wikipedia.org/wiki/Rust_(language)"
        );
        assert_eq!(linkify("www.a.test")[0].href().unwrap(), "https://www.a.test");
        let xss = "<script>alert(1)</script><img src=x onerror=alert(2)>";
        assert_eq!(linkify(xss), vec![Piece::Text(xss)]);
        assert_eq!(linkify("javascript:alert(1)"), vec![Piece::Text("javascript:alert(1)")]);
        assert_eq!(linkify("nohttps://x.y"), vec![Piece::Text("nohttps://x.y")]);
        assert_eq!(linkify("https:// alone"), vec![Piece::Text("https:// alone")]);
        assert_eq!(
            linkify("Привет https://пример.рф ok"),
            vec![Piece::Text("Привет "), Piece::Link("https://пример.рф"), Piece::Text(" ok")]
        );
        assert_eq!(linkify(""), Vec::<Piece<'_>>::new());
    }

    #[test]
    fn quoted_history_is_stripped() {
        assert_eq!(strip_quoted_reply("Yes please!\n\nOn Mon, Anna wrote:\n> Hi"), "Yes please!");
        assert_eq!(strip_quoted_reply("Fine\n> old"), "Fine");
        assert_eq!(strip_quoted_reply("Just text"), "Just text");
    }

    #[test]
    fn system_entries_read_as_sentences() {
        let a = SystemEntry::Assigned { by: "Anna".into(), to: Some("Boris".into()) };
        assert_eq!(a.text(), "Anna assigned this conversation to Boris");
        assert_eq!(
            SystemEntry::Assigned { by: "Anna".into(), to: Some("Anna".into()) }.text(),
            "Anna took this conversation"
        );
        assert_eq!(SystemEntry::Reopened { by: None }.text(), "The lead's new message reopened this conversation");
        let json = serde_json::to_string(&SystemEntry::Closed { by: "Anna".into() }).unwrap();
        assert_eq!(json, r#"{"kind":"closed","by":"Anna"}"#);
    }

    #[test]
    fn the_inbox_filter_reads_its_query_strictly_and_its_url_leniently() {
        assert_eq!(ConversationFilter::parse(None, None), Ok(ConversationFilter::new()));
        assert_eq!(ConversationFilter::parse(Some(""), Some("")), Ok(ConversationFilter::new()));
        let f = ConversationFilter::parse(Some("all"), Some("me")).unwrap();
        assert_eq!((f.status, f.assignee), (None, AssigneeChoice::Me));
        assert_eq!(f.query_pairs(), [("status", "all"), ("assignee", "me")]);
        let f = ConversationFilter::parse(Some("closed"), Some("unassigned")).unwrap();
        assert_eq!((f.status_str(), f.assignee.as_str()), ("closed", "unassigned"));
        assert_eq!(ConversationFilter::parse(Some("shut"), None).unwrap_err().field, "status");
        assert_eq!(ConversationFilter::parse(None, Some("you")).unwrap_err().field, "assignee");
        let lenient = ConversationFilter::from_url(Some("shut"), Some("me"));
        assert_eq!((lenient.status, lenient.assignee), (Some(ConversationStatus::Open), AssigneeChoice::Me));
        assert!(ConversationFilter::new().query_pairs().is_empty(), "the plain list has a plain URL");
    }

    #[test]
    fn email_subjects_continue_the_first() {
        let en = Language::En;
        assert_eq!(email_subject(en, Some("Hi"), Some("Old"), "Shop"), "Hi");
        assert_eq!(email_subject(en, None, Some("Your order"), "Shop"), "Re: Your order");
        assert_eq!(email_subject(en, None, Some("RE: Your order"), "Shop"), "RE: Your order");
        assert_eq!(email_subject(en, None, None, "Shop"), "Message from Shop");
        assert_eq!(email_subject(Language::Ru, None, None, "Shop"), "Сообщение от Shop");
    }

    #[test]
    fn a_chat_copy_names_the_operator_and_the_project_and_carries_the_message() {
        let (subject, text) = chat_copy(Language::En, "Anna", "Shop", "Your parcel left today.");
        assert_eq!(subject, "New message from Shop");
        assert!(text.starts_with("Anna from Shop wrote to you in the chat:\n\nYour parcel left today.\n"));
        // In Russian for a Russian-speaking lead; a body's braces are the lead's text, not placeholders.
        let (subject, text) = chat_copy(Language::Ru, "Анна", "Shop", "Ваш {project} заказ");
        assert_eq!(subject, "Новое сообщение от Shop");
        assert!(text.starts_with("Анна из Shop пишет вам в чате:\n\nВаш {project} заказ\n"), "{text}");
    }

    #[test]
    fn the_inbox_filter_decides_which_conversations_its_list_shows() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let conversation = |status, assignee: Option<i64>| Conversation {
            id: 1,
            lead: ConversationLead {
                id: 7,
                display_name: "Lena".into(),
                email: None,
                avatar_url: None,
                last_heartbeat: None,
                last_active: None,
            },
            channel: Channel::Chat,
            status,
            assignee: assignee.map(|id| OperatorRef { id, name: format!("Op {id}") }),
            unread: 0,
            last_message: None,
            last_activity_at: at,
            created_at: at,
        };
        let open_mine = conversation(ConversationStatus::Open, Some(3));
        let closed_free = conversation(ConversationStatus::Closed, None);
        let default = ConversationFilter::new();
        assert!(default.shows(&open_mine, Some(3)) && !default.shows(&closed_free, Some(3)));
        let all_mine = default.with_status("all").with_assignee("me");
        assert!(all_mine.shows(&open_mine, Some(3)) && !all_mine.shows(&open_mine, Some(4)));
        assert!(!all_mine.shows(&open_mine, None), "nobody is 'me' before the session is known");
        let closed_unassigned = default.with_status("closed").with_assignee("unassigned");
        assert!(closed_unassigned.shows(&closed_free, None) && !closed_unassigned.shows(&open_mine, None));
        assert_eq!(default.with_status("nonsense"), default, "the URL's unknown value reads as the default");
    }
}
