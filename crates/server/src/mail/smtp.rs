//! One SMTP transaction per mail, command by command, so that a refusal is known by the command
//! it answered: a failure at RCPT TO or at the message's data is a bounce for that address
//! (RFC 3463 class 5 hard, class 4 soft); a failure anywhere else (connecting, TLS, AUTH,
//! MAIL FROM) is the server's or the set-up's, and the mail is tried again later.

use std::time::Duration;

use leadcard_core::Bounce;
use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use url::Url;

/// How long one SMTP command may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text (`smtp://`), for a relay on the same host or network.
    None,
    /// STARTTLS, required (`smtp://...?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

/// Where mail goes out, from `--smtp-url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: Security,
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

impl SmtpTarget {
    /// `smtp://[USER:PASSWORD@]HOST[:PORT][?tls=required]` or `smtps://[USER:PASSWORD@]HOST[:PORT]`.
    pub fn parse(raw: &str) -> Result<SmtpTarget, String> {
        let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        let (mut security, default_port) = match url.scheme() {
            "smtp" => (Security::None, 25),
            "smtps" => (Security::Tls, 465),
            other => return Err(format!("the scheme must be smtp or smtps, not {other:?}")),
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), security) {
                ("tls", "required", Security::None) => security = Security::StartTls,
                ("tls", "none", Security::None) => {}
                _ => return Err(format!("unknown option {key}={value} (use ?tls=required for STARTTLS)")),
            }
        }
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("the URL has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let decode = |s: &str| percent_decode(s).ok_or_else(|| "the user or password is not valid UTF-8".to_owned());
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => Some((decode(user)?, decode(password.unwrap_or(""))?)),
        };
        Ok(SmtpTarget { host, port: url.port().unwrap_or(default_port), security, credentials })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    /// The server refused the recipient or the message: a bounce for the address.
    Bounced(Bounce),
    /// The server could not be reached (refused, timed out, or turned us away at the greeting);
    /// worth another try later, and after the last a soft bounce ("not available").
    Unreachable(String),
    /// Anything else went wrong; worth another try later.
    Failed(String),
}

/// A refusal's reply code and text, when the error is a reply from the server.
fn reply_of(error: &lettre::transport::smtp::Error) -> Option<(u16, String)> {
    let code = u16::from(error.status()?);
    let text = std::error::Error::source(error).map(ToString::to_string).unwrap_or_default();
    Some((code, text))
}

fn bounce_or_failure(error: &lettre::transport::smtp::Error) -> Outcome {
    match reply_of(error).and_then(|(code, text)| Bounce::from_smtp_reply(code, &text)) {
        Some(bounce) => Outcome::Bounced(bounce),
        None => Outcome::Failed(error.to_string()),
    }
}

/// Sends one message (already encoded, ASCII) from `from` to `to` through `target`.
pub async fn send(target: &SmtpTarget, from: &Address, to: &Address, message: &[u8]) -> Outcome {
    let hello = ClientId::default();
    let tls = || TlsParameters::new(target.host.clone());
    let wrapper = match target.security {
        Security::Tls => match tls() {
            Ok(parameters) => Some(parameters),
            Err(e) => return Outcome::Failed(format!("TLS set-up: {e}")),
        },
        Security::None | Security::StartTls => None,
    };
    let connected =
        AsyncSmtpConnection::connect_tokio1((target.host.clone(), target.port), Some(TIMEOUT), &hello, wrapper, None);
    let mut connection = match tokio::time::timeout(TIMEOUT, connected).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => return Outcome::Unreachable(format!("cannot connect to {}:{}: {e}", target.host, target.port)),
        Err(_) => return Outcome::Unreachable(format!("cannot connect to {}:{}: timed out", target.host, target.port)),
    };
    let outcome = tokio::time::timeout(TIMEOUT * 4, transaction(&mut connection, target, &hello, from, to, message))
        .await
        .unwrap_or_else(|_| Outcome::Failed("the mail server took too long".to_owned()));
    if outcome == Outcome::Accepted {
        let _ = connection.quit().await;
    } else {
        connection.abort().await;
    }
    outcome
}

async fn transaction(
    connection: &mut AsyncSmtpConnection,
    target: &SmtpTarget,
    hello: &ClientId,
    from: &Address,
    to: &Address,
    message: &[u8],
) -> Outcome {
    if target.security == Security::StartTls {
        let upgraded = match TlsParameters::new(target.host.clone()) {
            Ok(parameters) => connection.starttls(parameters, hello).await,
            Err(e) => Err(e),
        };
        if let Err(e) = upgraded {
            return Outcome::Failed(format!("STARTTLS: {e}"));
        }
    }
    if let Some((user, password)) = &target.credentials {
        let credentials = Credentials::new(user.clone(), password.clone());
        if let Err(e) = connection.auth(&[Mechanism::Plain, Mechanism::Login], &credentials).await {
            return Outcome::Failed(format!("AUTH: {e}"));
        }
    }
    if let Err(e) = connection.command(Mail::new(Some(from.clone()), Vec::new())).await {
        return Outcome::Failed(format!("MAIL FROM: {e}"));
    }
    if let Err(e) = connection.command(Rcpt::new(to.clone(), Vec::new())).await {
        return bounce_or_failure(&e);
    }
    if let Err(e) = connection.command(Data).await {
        return bounce_or_failure(&e);
    }
    match connection.message(message).await {
        Ok(_) => Outcome::Accepted,
        Err(e) => bounce_or_failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_with_their_defaults() {
        let plain = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((plain.host.as_str(), plain.port, plain.security), ("127.0.0.1", 2525, Security::None));
        assert_eq!(plain.credentials, None);
        let starttls = SmtpTarget::parse("smtp://mail%40x.io:p%40ss@mail.example.com?tls=required").unwrap();
        assert_eq!((starttls.port, starttls.security), (25, Security::StartTls));
        assert_eq!(starttls.credentials, Some(("mail@x.io".to_owned(), "p@ss".to_owned())));
        let tls = SmtpTarget::parse("smtps://u:p@mail.example.com").unwrap();
        assert_eq!((tls.port, tls.security), (465, Security::Tls));
        assert!(!format!("{tls:?}").contains("\"p\""), "the password stays out of logs");
        for bad in
            ["mail.example.com", "http://mail.example.com", "smtp://", "smtp://h?tls=maybe", "smtps://h?tls=required"]
        {
            assert!(SmtpTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
