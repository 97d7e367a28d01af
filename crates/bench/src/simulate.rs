//! `leadcard-bench simulate`: many visitors driving the real tracking API (session start, page
//! views, heartbeats with some activity, a few events), and — signed in as an operator — how long
//! each heartbeat takes to reach the operators' live stream as a `presence` event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leadcard_core::{LiveEvent, LiveMessage};
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use crate::args::SimulateArgs;

/// Heartbeats in flight, by the page URL that names them (`.../sim/<visitor>/<beat>`).
type Sent = Arc<Mutex<HashMap<String, Instant>>>;

/// The one JSON line `simulate` prints last.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SimulateReport {
    pub visitors: u32,
    pub seconds: u64,
    pub heartbeats: u64,
    pub events: u64,
    /// Calls answered with something other than 200, by status.
    pub refused: HashMap<u16, u64>,
    pub failed: u64,
    pub heartbeat_ms: Percentiles,
    /// Heartbeat sent -> its `presence` event read from `/api/v1/stream`.
    pub live_delay_ms: Option<Percentiles>,
    /// Heartbeats whose live event arrived.
    pub live_seen: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub samples: usize,
}

impl Percentiles {
    pub fn of(mut ms: Vec<f64>) -> Percentiles {
        if ms.is_empty() {
            return Percentiles::default();
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).saturating_sub(1).min(ms.len() - 1)];
        Percentiles { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: ms[ms.len() - 1], samples: ms.len() }
    }
}

#[derive(Default)]
struct Tally {
    heartbeats: u64,
    events: u64,
    refused: HashMap<u16, u64>,
    failed: u64,
    heartbeat_ms: Vec<f64>,
    live_ms: Vec<f64>,
}

pub async fn simulate(args: SimulateArgs) -> Result<SimulateReport, String> {
    let base = args.url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let sent: Sent = Arc::new(Mutex::new(HashMap::new()));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let watching = match (&args.operator_email, &args.operator_password) {
        (Some(email), Some(password)) => {
            let operator = reqwest::Client::builder().cookie_store(true).build().map_err(|e| e.to_string())?;
            let signed = operator
                .post(format!("{base}/api/v1/session"))
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .map_err(|e| format!("signing in: {e}"))?;
            if !signed.status().is_success() {
                return Err(format!("signing in as {email} answered {}", signed.status()));
            }
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            tokio::spawn(watch(operator, base.clone(), sent.clone(), tally.clone(), ready_tx));
            ready_rx.await.map_err(|_| "the live stream did not open".to_owned())??;
            true
        }
        _ => false,
    };

    let run: u32 = rand::rng().random();
    let period = Duration::from_secs(args.heartbeat_seconds.max(1));
    let end = Instant::now() + Duration::from_secs(args.seconds);
    let mut visitors = Vec::new();
    for v in 0..args.visitors {
        let offset = period.mul_f64(f64::from(v) / f64::from(args.visitors.max(1)));
        let visitor = Visitor {
            client: client.clone(),
            base: base.clone(),
            key: args.key.clone(),
            id: format!("sim-{run:08x}-{v}"),
            session: format!("s{run:08x}{v}"),
            number: v,
            sent: sent.clone(),
            tally: tally.clone(),
        };
        visitors.push(tokio::spawn(visitor.run(offset, period, end)));
    }
    for visitor in visitors {
        let _ = visitor.await;
    }
    if watching {
        // The last beats' live events are on their way.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let tally = std::mem::take(&mut *tally.lock().map_err(|_| "poisoned")?);
    Ok(SimulateReport {
        visitors: args.visitors,
        seconds: args.seconds,
        heartbeats: tally.heartbeats,
        events: tally.events,
        refused: tally.refused,
        failed: tally.failed,
        heartbeat_ms: Percentiles::of(tally.heartbeat_ms),
        live_seen: tally.live_ms.len() as u64,
        live_delay_ms: watching.then(|| Percentiles::of(tally.live_ms)),
    })
}

struct Visitor {
    client: reqwest::Client,
    base: String,
    key: String,
    id: String,
    session: String,
    number: u32,
    sent: Sent,
    tally: Arc<Mutex<Tally>>,
}

impl Visitor {
    async fn run(self, offset: Duration, period: Duration, end: Instant) {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(u64::from(self.number));
        tokio::time::sleep(offset).await;
        let page = |n: u32| format!("https://shop.example/sim/{}/{n}", self.number);
        let start = json!([
            { "name": "$session_start", "properties": { "url": format!("{}?utm_source=simulator", page(0)), "referrer": "https://www.google.com/" } },
            { "name": "$page_view", "properties": { "url": page(0), "title": "Home" } },
        ]);
        self.events(start).await;
        let mut beat = 0u32;
        let mut next = Instant::now();
        while next < end {
            beat += 1;
            let url = page(beat);
            if rng.random_bool(0.2) {
                let events = json!([
                    { "name": "$page_view", "properties": { "url": url, "title": format!("Product {beat}") } },
                    { "name": "Viewed product", "properties": { "product": format!("P{}", rng.random_range(1..50)), "price": 19.9 } },
                ]);
                self.events(events).await;
            }
            self.heartbeat(&url, rng.random_bool(0.7)).await;
            next += period;
            tokio::time::sleep_until(next.min(end)).await;
        }
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Option<u16> {
        let response = self
            .client
            .post(format!("{}/api/v1/track/{path}", self.base))
            .header("x-leadcard-key", &self.key)
            .json(&body);
        match response.send().await {
            Ok(r) => Some(r.status().as_u16()),
            Err(_) => None,
        }
    }

    fn count(&self, status: Option<u16>, f: impl FnOnce(&mut Tally)) {
        if let Ok(mut tally) = self.tally.lock() {
            match status {
                Some(200) => f(&mut tally),
                Some(other) => *tally.refused.entry(other).or_default() += 1,
                None => tally.failed += 1,
            }
        }
    }

    async fn events(&self, events: serde_json::Value) {
        let n = events.as_array().map_or(0, Vec::len) as u64;
        let body = json!({ "visitor_id": self.id, "session_id": self.session, "events": events });
        let status = self.post("events", body).await;
        self.count(status, |t| t.events += n);
    }

    async fn heartbeat(&self, url: &str, active: bool) {
        let started = Instant::now();
        if let Ok(mut sent) = self.sent.lock() {
            sent.insert(url.to_owned(), started);
        }
        let body =
            json!({ "visitor_id": self.id, "session_id": self.session, "url": url, "title": "Shop", "active": active });
        let status = self.post("heartbeat", body).await;
        let took = started.elapsed().as_secs_f64() * 1000.0;
        self.count(status, |t| {
            t.heartbeats += 1;
            t.heartbeat_ms.push(took);
        });
    }
}

/// Reads `/api/v1/stream` (reconnecting with Last-Event-ID) and times each heartbeat's event.
async fn watch(
    client: reqwest::Client,
    base: String,
    sent: Sent,
    tally: Arc<Mutex<Tally>>,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
) {
    let mut ready = Some(ready);
    let mut last_id: Option<i64> = None;
    loop {
        let mut request = client.get(format!("{base}/api/v1/stream"));
        if let Some(id) = last_id {
            request = request.header("last-event-id", id.to_string());
        }
        let mut response = match request.send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(format!("the live stream answered {}", r.status())));
                }
                return;
            }
            Err(e) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(format!("the live stream: {e}")));
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
            let received = Instant::now();
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
                let Ok(message) = serde_json::from_str::<LiveMessage>(&data) else { continue };
                last_id = Some(message.id);
                if let LiveEvent::Presence { page_url: Some(url), .. } = message.event {
                    let started = sent.lock().ok().and_then(|mut s| s.remove(&url));
                    if let (Some(started), Ok(mut tally)) = (started, tally.lock()) {
                        tally.live_ms.push((received - started).as_secs_f64() * 1000.0);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p95, p.p99, p.max, p.samples), (50.0, 95.0, 99.0, 100.0, 100));
        assert_eq!(Percentiles::of(vec![]).samples, 0);
    }
}
