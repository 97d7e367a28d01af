//! `leadcard-bench inbox`: how long an operator's message takes to be visible to a second
//! operator. Operator A posts replies over HTTP one after another; operator B watches
//! `/api/v1/stream` and, on each `conversation_changed`, fetches the thread's messages after the
//! last it has (what the Inbox page does). The time from A's request to B holding the message is
//! the figure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leadcard_core::{LiveEvent, LiveMessage};
use rand::RngExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::args::BenchInboxArgs;
use crate::simulate::Percentiles;

/// The one JSON line `inbox` prints.
#[derive(Debug, Clone, Serialize)]
pub struct InboxBenchReport {
    pub sends: u32,
    /// A's request -> B has the message (stream event, then `messages?after=`).
    pub visible_ms: Percentiles,
    /// A's request -> A's answer.
    pub send_ms: Percentiles,
    /// Messages B never saw within 5 s.
    pub missed: u32,
}

async fn signed_in(base: &str, email: &str, password: &str) -> Result<reqwest::Client, String> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .map_err(|e| format!("signing in as {email}: {e}"))?;
    if !answer.status().is_success() {
        return Err(format!("signing in as {email} answered {}", answer.status()));
    }
    Ok(client)
}

pub async fn bench_inbox(args: BenchInboxArgs) -> Result<InboxBenchReport, String> {
    let base = args.url.trim_end_matches('/').to_owned();
    let a = signed_in(&base, &args.operator_a_email, &args.operator_a_password).await?;
    let b = signed_in(&base, &args.operator_b_email, &args.operator_b_password).await?;

    // The lead writes first in the widget: the conversation the operators answer in.
    let run: u32 = rand::rng().random();
    let opened: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/track/messages"))
        .header("content-type", "text/plain")
        .header("x-leadcard-key", &args.key)
        .body(
            json!({ "visitor_id": format!("bench-{run:08x}"), "body": "Hello, anyone there?",
                    "idempotency_key": format!("bench-{run:08x}-lead") })
            .to_string(),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let conversation = opened["conversation_id"].as_i64().ok_or_else(|| format!("no conversation: {opened}"))?;
    let first = opened["id"].as_i64().unwrap_or(0);

    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<(i64, Instant)>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let watcher = tokio::spawn(watch(b, base.clone(), conversation, first, seen_tx, ready_tx));
    ready_rx.await.map_err(|_| "the live stream did not open".to_owned())??;

    let mut visible = Vec::new();
    let mut sending = Vec::new();
    let mut missed = 0;
    let early: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    for i in 0..args.sends {
        let started = Instant::now();
        let answer = a
            .post(format!("{base}/api/v1/conversations/{conversation}/messages"))
            .json(&json!({ "body": format!("Reply number {i}"), "idempotency_key": format!("bench-{run:08x}-{i}") }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if answer.status().as_u16() != 201 {
            return Err(format!("a send answered {}", answer.status()));
        }
        let sent: Value = answer.json().await.map_err(|e| e.to_string())?;
        sending.push(started.elapsed().as_secs_f64() * 1000.0);
        let id = sent["message"]["id"].as_i64().ok_or("a send without a message id")?;
        let deadline = started + Duration::from_secs(5);
        let arrived = loop {
            if let Some(at) = early.lock().ok().and_then(|mut e| e.remove(&id)) {
                break Some(at);
            }
            match tokio::time::timeout_at(deadline, seen_rx.recv()).await {
                Ok(Some((seen, at))) if seen == id => break Some(at),
                Ok(Some((seen, at))) => {
                    if let Ok(mut e) = early.lock() {
                        e.insert(seen, at);
                    }
                }
                Ok(None) | Err(_) => break None,
            }
        };
        match arrived {
            Some(at) => visible.push((at - started).as_secs_f64() * 1000.0),
            None => missed += 1,
        }
    }
    watcher.abort();
    Ok(InboxBenchReport {
        sends: args.sends,
        visible_ms: Percentiles::of(visible),
        send_ms: Percentiles::of(sending),
        missed,
    })
}

/// Operator B's page: the live stream, and on each change of the conversation the messages
/// after the last it holds; reports each message id when it holds it.
async fn watch(
    client: reqwest::Client,
    base: String,
    conversation: i64,
    mut last_message: i64,
    seen: mpsc::UnboundedSender<(i64, Instant)>,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
) {
    let mut ready = Some(ready);
    let mut last_event: Option<i64> = None;
    loop {
        let mut request = client.get(format!("{base}/api/v1/stream"));
        if let Some(id) = last_event {
            request = request.header("last-event-id", id.to_string());
        }
        let mut response = match request.send().await {
            Ok(r) if r.status().is_success() => r,
            other => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(format!("the live stream: {other:?}")));
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if let Some(ready) = ready.take() {
            let _ = ready.send(Ok(()));
        }
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
                let Ok(message) = serde_json::from_str::<LiveMessage>(&data) else { continue };
                last_event = Some(message.id);
                let LiveEvent::ConversationChanged { conversation_id, .. } = message.event else { continue };
                if conversation_id != conversation {
                    continue;
                }
                let url = format!("{base}/api/v1/conversations/{conversation}/messages?after={last_message}");
                let Ok(answer) = client.get(url).send().await else { continue };
                let Ok(page) = answer.json::<Value>().await else { continue };
                let at = Instant::now();
                for item in page["items"].as_array().into_iter().flatten() {
                    if let Some(id) = item["id"].as_i64() {
                        last_message = last_message.max(id);
                        let _ = seen.send((id, at));
                    }
                }
            }
        }
    }
}
