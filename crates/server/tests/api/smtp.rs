//! A real SMTP server on loopback for the tests: enough of RFC 5321 for a client to deliver
//! (greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-stuffing, RSET, NOOP, QUIT). It keeps
//! every accepted message with its envelope, and answers RCPT TO as the test says.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (dot-stuffing undone), CRLF line ends.
    pub data: String,
}

impl Received {
    /// The value of a header (unfolded), by name in any case.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    /// A header's value with its RFC 2047 encoded words (`=?utf-8?b?...?=`) decoded.
    pub fn decoded_header(&self, name: &str) -> Option<String> {
        use base64::Engine;
        let value = self.header(name)?;
        let words: Vec<String> = value
            .split_whitespace()
            .map(|word| {
                let inner = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?="));
                match inner.map(|w| w.splitn(3, '?').collect::<Vec<_>>()).as_deref() {
                    Some([_, encoding, text]) if encoding.eq_ignore_ascii_case("b") => String::from_utf8(
                        base64::engine::general_purpose::STANDARD.decode(text).expect("base64 in an encoded word"),
                    )
                    .unwrap(),
                    _ => format!(" {word}"),
                }
            })
            .collect();
        Some(words.concat().trim().to_owned())
    }

    /// The body as text, quoted-printable or base64 decoded when it is so encoded.
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        if self.header("Content-Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("base64")) {
            use base64::Engine;
            let joined: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD.decode(joined).expect("a base64 body");
            return String::from_utf8(bytes).unwrap();
        }
        let quoted =
            self.header("Content-Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("quoted-printable"));
        if !quoted {
            return body.to_owned();
        }
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// The first link in the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let body = self.body();
        let start = body.find(prefix)?;
        Some(body[start..].split_whitespace().next().unwrap_or_default().to_owned())
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// The reply to every RCPT TO; `None`: accept.
    rcpt_reply: Option<String>,
    rcpt_commands: usize,
}

/// The server; it runs until the test ends.
#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let for_task = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, for_task.clone()));
            }
        });
        SmtpServer { port, shared }
    }

    /// `--smtp-url` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Answer every RCPT TO with this reply from now on, e.g. `550 5.1.1 mailbox does not exist`.
    pub fn refuse_recipients(&self, reply: &str) {
        self.shared.lock().unwrap().rcpt_reply = Some(reply.to_owned());
    }

    /// Accept every recipient again.
    pub fn accept_recipients(&self) {
        self.shared.lock().unwrap().rcpt_reply = None;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// How many RCPT TO commands the server has seen.
    pub fn rcpt_commands(&self) -> usize {
        self.shared.lock().unwrap().rcpt_commands
    }

    /// Waits (up to 20 s) until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} messages, got {}", self.received().len());
    }
}

fn address_of(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..].find('>').map_or(argument.len(), |i| start + i);
    argument[start..end].to_owned()
}

async fn session(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 localhost ESMTP test server\r\n").await.is_err() {
        return;
    }
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            "250-localhost greets you\r\n250 8BITMIME".to_owned()
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 OK".to_owned()
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            "250 OK".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            from = address_of(&command[10..]);
            to.clear();
            "250 2.1.0 OK".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            let mut state = shared.lock().unwrap();
            state.rcpt_commands += 1;
            match &state.rcpt_reply {
                Some(refusal) => refusal.clone(),
                None => {
                    to.push(address_of(&command[8..]));
                    "250 2.1.5 OK".to_owned()
                }
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                "554 5.5.1 no valid recipients".to_owned()
            } else {
                if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let message = Received { from: from.clone(), to: std::mem::take(&mut to), data };
                shared.lock().unwrap().received.push(message);
                "250 2.0.0 queued".to_owned()
            }
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
            return;
        } else {
            "502 5.5.2 command not recognized".to_owned()
        };
        if write.write_all(format!("{answer}\r\n").as_bytes()).await.is_err() {
            return;
        }
    }
}
