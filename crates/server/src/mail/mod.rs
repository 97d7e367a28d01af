//! Mail: the sender's set-up, composing messages with their signed links, SMTP delivery and the
//! worker that sends the outbox.

pub mod links;
pub mod smtp;
pub mod worker;

use std::net::SocketAddr;

use chrono::{DateTime, Duration, Utc};
use leadcard_core::locale::{fill, k};
use leadcard_core::{LiveEvent, MailKind};
use lettre::Address;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use url::Url;

use crate::config::MailArgs;
use crate::live::Live;
use crate::store::{AddressChange, ClaimedMail, Store, StoreError};
use links::LinkSigner;
use smtp::SmtpTarget;

/// How long a Double Opt-In link works.
pub const CONFIRMATION_VALID_FOR: Duration = Duration::days(7);
/// Shortest `--secret-key`.
const MIN_SECRET_KEY_CHARS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("--smtp-url: {0}")]
    SmtpUrl(String),
    #[error("--mail-from {0:?} is not a mailbox like `leadcard <no-reply@example.com>`")]
    MailFrom(String),
    #[error("--public-url {0:?} must be an http:// or https:// URL")]
    PublicUrl(String),
    #[error("--secret-key must have at least {MIN_SECRET_KEY_CHARS} characters")]
    SecretKey,
    #[error("--webhook-secret must not be empty")]
    WebhookSecret,
    #[error("--reply-domain {0:?} is not a mail domain like `reply.example.com`")]
    ReplyDomain(String),
    #[error("cannot generate a secret key: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything about sending mail that comes from the configuration.
#[derive(Debug)]
pub struct Mailer {
    pub from: Mailbox,
    /// Without a trailing slash, e.g. `https://crm.example.com`.
    pub public_url: String,
    pub links: LinkSigner,
    pub webhook_secret: Option<String>,
    /// None: no delivery; mail stays queued in the outbox.
    pub smtp: Option<SmtpTarget>,
    /// Conversations' reply addresses are `reply+<token>@<reply_domain>`.
    pub reply_domain: String,
}

/// A message ready for SMTP, with what the outbox records of it.
#[derive(Debug)]
pub struct Composed {
    pub to: Address,
    pub bytes: Vec<u8>,
    /// The extra headers it carries, as a JSON object.
    pub headers: String,
}

const LIST_UNSUBSCRIBE: &str = "List-Unsubscribe";
const LIST_UNSUBSCRIBE_POST: &str = "List-Unsubscribe-Post";
const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

impl Mailer {
    /// Checks the mail options; the secret key, when not configured, is the one stored in the
    /// database (generated at the first start).
    pub async fn from_args(args: &MailArgs, bound: SocketAddr, store: &Store) -> Result<Mailer, MailSetupError> {
        let smtp = args.smtp_url.as_deref().map(SmtpTarget::parse).transpose().map_err(MailSetupError::SmtpUrl)?;
        let from: Mailbox = args.mail_from.parse().map_err(|_| MailSetupError::MailFrom(args.mail_from.clone()))?;
        let public_url = match &args.public_url {
            Some(raw) => {
                let url = Url::parse(raw).map_err(|_| MailSetupError::PublicUrl(raw.clone()))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(MailSetupError::PublicUrl(raw.clone()));
                }
                raw.trim_end_matches('/').to_owned()
            }
            None => {
                let host = if bound.ip().is_unspecified() { "127.0.0.1".to_owned() } else { bound.ip().to_string() };
                format!("http://{host}:{}", bound.port())
            }
        };
        let webhook_secret = match &args.webhook_secret {
            Some(secret) if secret.trim().is_empty() => return Err(MailSetupError::WebhookSecret),
            other => other.clone(),
        };
        let key = match &args.secret_key {
            Some(key) if key.chars().count() < MIN_SECRET_KEY_CHARS => return Err(MailSetupError::SecretKey),
            Some(key) => key.clone(),
            None => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| MailSetupError::Random(e.to_string()))?;
                let candidate: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                store.secret_key_or_store(&candidate).await?
            }
        };
        let reply_domain = match &args.reply_domain {
            Some(domain) => {
                let domain = domain.trim().to_ascii_lowercase();
                format!("reply@{domain}")
                    .parse::<Address>()
                    .map_err(|_| MailSetupError::ReplyDomain(domain.clone()))?;
                domain
            }
            None => from.email.domain().to_ascii_lowercase(),
        };
        Ok(Mailer { from, public_url, links: LinkSigner::new(key.as_bytes()), webhook_secret, smtp, reply_domain })
    }

    /// A conversation's reply address.
    pub fn reply_address(&self, reply_token: &str) -> String {
        format!("reply+{reply_token}@{}", self.reply_domain)
    }

    /// The one-click unsubscribe link for an address (RFC 8058).
    pub fn unsubscribe_url(&self, email_norm: &str) -> String {
        format!("{}/u/{}", self.public_url, self.links.unsubscribe_token(email_norm))
    }

    /// A Double Opt-In link for an address, valid for [`CONFIRMATION_VALID_FOR`] from `now`.
    pub fn confirmation_url(&self, email_norm: &str, now: DateTime<Utc>) -> String {
        format!("{}/c/{}", self.public_url, self.links.confirmation_token(email_norm, now + CONFIRMATION_VALID_FOR))
    }

    /// The message for a mail of the outbox, as sent at `now`.
    pub fn compose(&self, mail: &ClaimedMail, now: DateTime<Utc>) -> Result<Composed, String> {
        let to: Address = mail.to.parse().map_err(|e| format!("the address {:?} cannot be mailed: {e}", mail.to))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to.clone()))
            .subject(match mail.kind {
                // Written with the body, in the lead's language.
                MailKind::ConfirmationRequest => k::MAIL_CONFIRM_SUBJECT.get(mail.language).to_owned(),
                _ => mail.subject.clone(),
            })
            .date(now.into())
            .header(ContentType::TEXT_PLAIN);
        let mut headers = serde_json::Map::new();
        if let Some(reply_to) = &mail.reply_to {
            let address: Address =
                reply_to.parse().map_err(|e| format!("the reply address {reply_to:?} cannot be used: {e}"))?;
            builder = builder.reply_to(Mailbox::new(None, address));
            headers.insert("Reply-To".to_owned(), reply_to.clone().into());
        }
        let body = match mail.kind {
            MailKind::ConfirmationRequest => {
                let days = u64::try_from(CONFIRMATION_VALID_FOR.num_days()).unwrap_or_default();
                fill(
                    k::MAIL_CONFIRM_BODY.get(mail.language),
                    &[
                        ("address", &mail.to),
                        ("link", &self.confirmation_url(&mail.email_norm, now)),
                        ("days", &k::MAIL_DAYS.get(mail.language, days)),
                    ],
                )
            }
            kind if kind.has_unsubscribe_link() => {
                let url = self.unsubscribe_url(&mail.email_norm);
                for (name, value) in
                    [(LIST_UNSUBSCRIBE, format!("<{url}>")), (LIST_UNSUBSCRIBE_POST, ONE_CLICK.to_owned())]
                {
                    builder = builder.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str(name), value.clone()));
                    headers.insert(name.to_owned(), value.into());
                }
                let line = fill(k::MAIL_UNSUBSCRIBE_LINE.get(mail.language), &[("link", &url)]);
                format!("{}\n\n--\n{line}\n", mail.body.trim_end())
            }
            _ => mail.body.clone(),
        };
        let message = builder.body(body).map_err(|e| format!("the mail cannot be built: {e}"))?;
        Ok(Composed { to, bytes: message.formatted(), headers: serde_json::Value::Object(headers).to_string() })
    }

    /// The envelope sender.
    pub fn sender(&self) -> &Address {
        &self.from.email
    }
}

/// Tells open pages about every card that shows the address, when its state changed.
pub async fn announce(live: &Live, change: &AddressChange) {
    if change.before != change.after {
        for &lead_id in &change.lead_ids {
            live.publish(LiveEvent::LeadChanged { lead_id }).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use leadcard_core::locale::Language;

    use super::*;

    fn mailer() -> Mailer {
        Mailer {
            from: "leadcard <no-reply@leadcard.test>".parse().unwrap(),
            public_url: "https://crm.example.com".to_owned(),
            links: LinkSigner::new(b"0123456789abcdef0123456789abcdef"),
            webhook_secret: None,
            smtp: None,
            reply_domain: "leadcard.test".to_owned(),
        }
    }

    fn claimed(kind: MailKind) -> ClaimedMail {
        ClaimedMail {
            id: 1,
            lead_id: Some(1),
            email_norm: "lena@example.com".to_owned(),
            to: "Lena@example.com".to_owned(),
            kind,
            subject: "News: Grüße".to_owned(),
            body: "Hello Lena".to_owned(),
            attempts: 1,
            reply_to: None,
            language: Language::En,
        }
    }

    #[test]
    fn campaign_mail_carries_one_click_unsubscribe() {
        let mailer = mailer();
        let composed = mailer.compose(&claimed(MailKind::Campaign), Utc::now()).unwrap();
        let text = String::from_utf8(composed.bytes).unwrap();
        let url = mailer.unsubscribe_url("lena@example.com");
        assert!(text.contains(&format!("List-Unsubscribe: <{url}>\r\n")), "{text}");
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), "{text}");
        assert!(text.is_ascii(), "the subject is encoded: {text}");
        assert!(composed.headers.contains("List-Unsubscribe-Post"));
    }

    #[test]
    fn conversation_mail_carries_its_reply_address() {
        let mailer = mailer();
        let mut mail = claimed(MailKind::ChatReplyCopy);
        mail.reply_to = Some(mailer.reply_address("abc123"));
        let composed = mailer.compose(&mail, Utc::now()).unwrap();
        let text = String::from_utf8(composed.bytes).unwrap();
        assert!(text.contains("Reply-To: reply+abc123@leadcard.test\r\n"), "{text}");
        assert!(!text.contains("List-Unsubscribe"));
        assert!(composed.headers.contains("Reply-To"));
    }

    #[test]
    fn confirmation_mail_links_to_a_token_for_its_address() {
        let mailer = mailer();
        let now = Utc::now();
        let composed = mailer.compose(&claimed(MailKind::ConfirmationRequest), now).unwrap();
        // The link's line is long, so the body is quoted-printable: undo its soft line breaks.
        let text = String::from_utf8(composed.bytes).unwrap().replace("=\r\n", "");
        assert!(!text.contains("List-Unsubscribe"));
        let token = text.split("https://crm.example.com/c/").nth(1).unwrap().split_whitespace().next().unwrap();
        assert_eq!(mailer.links.confirmation(token, now).map(|c| c.email_norm).as_deref(), Ok("lena@example.com"));
    }
}
