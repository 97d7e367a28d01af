//! `seed`: many synthetic leads (properties, tags, address statuses, a few on the site,
//! events for a share of them) inserted as fast as the store allows; `ingest`: the tracking
//! writer against raw inserts; `core`: the core evaluator's cost for one card with 50 segments.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use leadcard_core::event::EventName;
use leadcard_core::tracking::CheckedEvent;
use leadcard_core::{BounceKind, PropertyName, PropertyValue, SubscriptionStatus};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::args::BenchIngestArgs;
use crate::simulate::Percentiles;

use leadcard_server::Clock;
use leadcard_server::demo::{BROWSERS, DOMAINS, FIRST_NAMES, INVALID_EMAILS, LAST_NAMES, PLACES, PLANS};
use leadcard_server::ingest::Ingest;
use leadcard_server::live::Live;
use leadcard_server::store::{
    EmailStatusChange, EventSource, NewEvent, NewLead, PreparedEvent, Store, StoreError, TrackKind, TrackWrite,
};

/// Leads per transaction.
const BATCH: u64 = 20_000;

/// The one JSON line `seed` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub leads: u64,
    pub seconds: f64,
    pub leads_per_sec: f64,
}

/// Inserts `leads` leads with `properties` properties each, in big transactions.
pub async fn bench_seed(
    store: &Store,
    leads: u64,
    properties: u32,
    page_views: u32,
    now: DateTime<Utc>,
) -> Result<BenchReport, StoreError> {
    let started = Instant::now();
    let mut first = 0;
    while first < leads {
        let last = (first + BATCH).min(leads);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(first);
        let mut statuses = Vec::new();
        let batch = (first..last)
            .map(|n| bench_lead(&mut rng, n, leads, properties as usize, page_views, now, &mut statuses))
            .collect::<Result<Vec<_>, _>>()?;
        store.create_leads(&batch).await?;
        store.set_email_statuses(&statuses).await?;
        first = last;
    }
    // What autovacuum does soon after a bulk load in production: statistics for the planner and
    // the visibility map that index-only scans need. Measured separately from the insert rate.
    let seconds = started.elapsed().as_secs_f64();
    store.analyze().await?;
    Ok(BenchReport { leads, seconds, leads_per_sec: if seconds > 0.0 { leads as f64 / seconds } else { 0.0 } })
}

fn bench_lead(
    rng: &mut Xoshiro256PlusPlus,
    n: u64,
    total: u64,
    properties: usize,
    page_views: u32,
    now: DateTime<Utc>,
    statuses: &mut Vec<EmailStatusChange>,
) -> Result<NewLead, StoreError> {
    let first = *FIRST_NAMES.choose(rng).unwrap_or(&"Anna");
    let last = *LAST_NAMES.choose(rng).unwrap_or(&"Schmidt");
    let (city, country, timezone, _) = *PLACES.choose(rng).unwrap_or(&PLACES[0]);
    let created_at = now - Duration::seconds((total - n) as i64 * 5);
    let last_seen = created_at + Duration::seconds(rng.random_range(0..86_400)).min(now - created_at);
    let email = match n % 50 {
        0 => INVALID_EMAILS.choose(rng).copied().unwrap_or("nobody").to_owned(),
        // Every tenth lead shares the previous lead's address (one person, two devices).
        k if k % 10 == 1 && n > 0 => format!("lead{}@{}", n - 1, DOMAINS[((n - 1) % 5) as usize]),
        _ => format!("lead{n}@{}", DOMAINS[(n % 5) as usize]),
    };
    match n % 40 {
        3 => statuses.push(status(&email, SubscriptionStatus::Unsubscribed, None, now)),
        5 => statuses.push(status(&email, SubscriptionStatus::Bounced, Some(BounceKind::Hard), now)),
        7 => statuses.push(status(&email, SubscriptionStatus::Bounced, Some(BounceKind::Soft), now)),
        9 => statuses.push(status(&email, SubscriptionStatus::WaitingForConfirmation, None, now)),
        _ => {}
    }
    let plan = *PLANS.choose(rng).unwrap_or(&"free");
    let text = |s: &str| PropertyValue::Text(s.to_owned());
    let interests = INTERESTS.sample(rng, 1 + (n % 3) as usize).map(|i| (*i).to_owned()).collect();
    let mut values: Vec<(String, PropertyValue)> = vec![
        ("$user_id".into(), text(&bench_user_id(n))),
        ("$name".into(), text(&format!("{first} {last}"))),
        ("$email".into(), text(&email)),
        ("$phone".into(), text(&bench_phone(n))),
        ("$city".into(), text(city)),
        ("$country".into(), text(country)),
        ("plan".into(), text(plan)),
        ("Last purchase amount".into(), PropertyValue::Number(f64::from(rng.random_range(100..100_000u32)) / 100.0)),
        ("Signed up".into(), PropertyValue::DateTime(created_at)),
        ("$browser".into(), text(BROWSERS.choose(rng).copied().unwrap_or("Chrome"))),
        ("Interests".into(), PropertyValue::List(interests)),
        ("$timezone".into(), text(timezone)),
        ("$last_seen".into(), PropertyValue::DateTime(last_seen)),
        ("$sessions".into(), PropertyValue::Number(f64::from(rng.random_range(1..200u32)))),
    ];
    values.truncate(properties);
    // Three leads in ten left no phone number (so "has no phone" finds some).
    if n % 10 < 3 {
        values.retain(|(name, _)| name != "$phone");
    }
    for k in values.len()..properties {
        values.push((format!("Attribute {k}"), text(&format!("value {}", rng.random_range(0..100)))));
    }
    let properties = values
        .into_iter()
        .map(|(name, value)| {
            let name = PropertyName::parse(&name)
                .map_err(|source| StoreError::InvalidProperty { name: name.clone(), source })?;
            Ok((name, value))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;

    let mut tags = Vec::new();
    for (every, tag) in [(7, "vip"), (3, "newsletter"), (11, "churn-risk"), (13, "enterprise")] {
        if n.is_multiple_of(every) {
            tags.push(tag.to_owned());
        }
    }
    if plan == "free" {
        tags.push("trial".to_owned());
    }
    let (last_heartbeat, last_active) = match n % 1000 {
        0 => (Some(now - Duration::seconds(15)), Some(now - Duration::seconds(20))),
        1 => (Some(now - Duration::seconds(15)), Some(now - Duration::minutes(10))),
        _ => (Some(last_seen), Some(last_seen)),
    };
    Ok(NewLead {
        created_at,
        properties,
        tags,
        last_heartbeat,
        last_active,
        events: bench_events(rng, n, page_views, now),
    })
}

/// The items the seeded `Interests` lists hold.
const INTERESTS: &[&str] = &["shoes", "jackets", "bags", "sale", "outdoor", "new arrivals"];

/// The user id of the `n`-th seeded lead (the bench searches for it).
fn bench_user_id(n: u64) -> String {
    format!("bench-{n}")
}

/// The phone number of the `n`-th seeded lead: one per lead (the bench searches for it).
fn bench_phone(n: u64) -> String {
    format!("+1 555 {:03} {:04}", n / 10_000, n % 10_000)
}

/// Events for a share of the leads, as segments count them: every fourth lead added to its cart
/// 1 to 3 times in the last 14 days, every tenth bought once in the last 60 days; and
/// `page_views` page views each in the last 90 days.
fn bench_events(rng: &mut Xoshiro256PlusPlus, n: u64, page_views: u32, now: DateTime<Utc>) -> Vec<NewEvent> {
    let event = |name: &str, occurred_at| NewEvent {
        name: name.to_owned(),
        properties: serde_json::json!({}),
        occurred_at,
        source: EventSource::Tracked,
    };
    let mut events = Vec::with_capacity(page_views as usize + 4);
    for _ in 0..page_views {
        events.push(NewEvent {
            name: leadcard_core::event::PAGE_VIEW.to_owned(),
            properties: serde_json::json!({"url": format!("https://shop.example/product/{}", rng.random_range(0..500))}),
            occurred_at: now - Duration::seconds(rng.random_range(0..90 * 86_400)),
            source: EventSource::Tracked,
        });
    }
    if n.is_multiple_of(4) {
        for _ in 0..=(n / 4) % 3 {
            events.push(event(CART_EVENT, now - Duration::seconds(rng.random_range(0..14 * 86_400))));
        }
    }
    if n.is_multiple_of(10) {
        events.push(event("Purchase", now - Duration::seconds(rng.random_range(0..60 * 86_400))));
    }
    events
}

/// The event the benchmark's segment counts.
pub const CART_EVENT: &str = "Added to cart";

/// The one JSON line `core` prints: evaluating every segment for one card, natively.
#[derive(Debug, Clone, Serialize)]
pub struct CoreReport {
    pub segments: usize,
    pub samples: usize,
    pub p50_us: f64,
    pub p95_us: f64,
    pub matched: usize,
}

/// Times [`leadcard_core::matching_segments`] over 50 segments of 3 conditions each (property,
/// windowed event count, tag or an OR group) for one lead with 12 properties and 40 events, as
/// the card does after each edit.
pub fn core_segment_figures(samples: usize, now: DateTime<Utc>) -> CoreReport {
    use leadcard_core::{CheckedSegment, EventFacts, Filter, LeadFacts, matching_segments};

    let countries = ["Germany", "France", "Spain", "Italy", "Poland"];
    let segments: Vec<CheckedSegment> = (0..50)
        .filter_map(|i| {
            let json = serde_json::json!({"all": [
                {"kind": "property", "name": "$country", "op": "equals", "value": countries[i % 5]},
                {"kind": "event", "event": CART_EVENT, "op": "at_least", "count": 1 + i % 3, "days": 7 * (1 + i % 4)},
                if i % 2 == 0 {
                    serde_json::json!({"kind": "tag", "tag": "vip"})
                } else {
                    serde_json::json!({"kind": "group", "match": "any", "conditions": [
                        {"kind": "property", "name": "plan", "op": "equals", "value": "pro"},
                        {"kind": "property", "name": "Last purchase amount", "op": "greater", "value": "100"}]})
                }
            ]});
            let filter = Filter::from_json(json).ok()?.check().ok()?;
            Some(CheckedSegment { id: i as i64, name: format!("Segment {i}"), filter })
        })
        .collect();
    let mut facts = LeadFacts::default();
    let text = |s: &str| PropertyValue::Text(s.to_owned());
    for (name, value) in [
        ("$name", text("Anna Schmidt")),
        ("$email", text("anna@example.com")),
        ("$country", text("Germany")),
        ("$city", text("Berlin")),
        ("plan", text("pro")),
        ("Last purchase amount", PropertyValue::Number(120.5)),
        ("$sessions", PropertyValue::Number(12.0)),
        ("$browser", text("Firefox")),
        ("$os", text("Linux")),
        ("$timezone", text("Europe/Berlin")),
        ("$last_seen", PropertyValue::DateTime(now)),
        ("Signed up", PropertyValue::DateTime(now - Duration::days(90))),
    ] {
        facts.properties.insert(name.to_owned(), value);
    }
    facts.tags = vec!["newsletter".to_owned(), "vip".to_owned(), "trial".to_owned()];
    facts.subscription = SubscriptionStatus::Subscribed;
    let times: Vec<i64> = (0..40).map(|k| (now - Duration::hours(k * 17)).timestamp_millis()).rev().collect();
    facts.events.insert(CART_EVENT.to_owned(), EventFacts { count: 40, times });
    facts.times_since = Some((now - Duration::days(28)).timestamp_millis());

    let mut matched = 0;
    let mut us: Vec<f64> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            matched = std::hint::black_box(matching_segments(&segments, &facts, now)).len();
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    us.sort_by(f64::total_cmp);
    let at = |q: f64| us.get(((us.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    CoreReport { segments: segments.len(), samples, p50_us: at(0.5), p95_us: at(0.95), matched }
}

fn status(email: &str, status: SubscriptionStatus, bounce: Option<BounceKind>, at: DateTime<Utc>) -> EmailStatusChange {
    EmailStatusChange { email: email.to_owned(), status, bounce, reason: None, at }
}

/// The one JSON line `ingest` prints.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub events: u64,
    pub per_call: u32,
    pub concurrency: u32,
    pub batch: u32,
    pub writer_seconds: f64,
    pub writer_events_per_sec: f64,
    pub raw_seconds: f64,
    pub raw_events_per_sec: f64,
    /// Writer throughput as a share of raw batched inserts of the same rows.
    pub ratio: f64,
    /// Call submitted -> committed and answered.
    pub latency_ms: Percentiles,
}

/// Rounds the two runs alternate in, so that load from outside falls on both alike.
const INGEST_ROUNDS: u64 = 6;

/// The ingest writer at full load against raw batched inserts of the same rows, in alternating
/// rounds: raw, the rows go straight into the events table in transactions of `batch` rows;
/// writer, `concurrency` producers submit calls of `per_call` events for `visitors` visitors.
pub async fn bench_ingest(store: &Store, args: &BenchIngestArgs) -> Result<IngestReport, String> {
    let clock = Arc::new(Clock::default());
    let project = store.ensure_project(clock.now()).await.map_err(|e| e.to_string())?;
    let live =
        Live::start(store.clone(), clock.clone(), &args.database.database_url).await.map_err(|e| e.to_string())?;
    let ingest = Ingest::start(store.clone(), clock.clone(), live, args.tracking.ingest());
    let per_call = u64::from(args.per_call.max(1));
    let visitors = u64::from(args.visitors.max(1));
    // Every visitor exists first, as on a site with returning visitors.
    for v in 0..visitors {
        let kind = TrackKind::Heartbeat {
            session_key: format!("s{v}"),
            url: "https://shop.example/".to_owned(),
            title: None,
            active: true,
        };
        let write = TrackWrite { project_id: project.id, visitor_id: bench_visitor(v), received_at: clock.now(), kind };
        ingest.submit(write).await.map_err(|e| e.to_string())?;
    }
    let leads = store.visitor_leads(project.id).await.map_err(|e| e.to_string())?;

    let calls = args.events.div_ceil(per_call).div_ceil(INGEST_ROUNDS) * INGEST_ROUNDS;
    let per_round = calls / INGEST_ROUNDS;
    let (mut raw_seconds, mut writer_seconds) = (0.0, 0.0);
    let mut latencies = Vec::new();
    for round in 0..INGEST_ROUNDS {
        let first_call = round * per_round;
        let run_raw = async {
            let now = leadcard_server::clock::to_ms(clock.now());
            let rows = (first_call..first_call + per_round)
                .flat_map(|call| (0..per_call).map(move |i| (call, call * per_call + i)))
                .map(|(call, n)| {
                    let lead = leads.get(&bench_visitor(call % visitors)).copied().unwrap_or_default();
                    let event = bench_event(n);
                    let properties = serde_json::to_string(&event.properties).unwrap_or_default();
                    (lead, event.name.as_str().to_owned(), properties, now)
                })
                .collect::<Vec<_>>();
            let started = Instant::now();
            store.insert_events_raw(rows, args.tracking.ingest_batch as usize).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(started.elapsed().as_secs_f64())
        };
        let run_writer = async {
            let started = Instant::now();
            let found = writer_round(&ingest, &clock, project.id, first_call, per_round, args).await?;
            Ok::<_, String>((started.elapsed().as_secs_f64(), found))
        };
        // Each goes first every other round.
        if round % 2 == 0 {
            raw_seconds += run_raw.await?;
            let (seconds, found) = run_writer.await?;
            writer_seconds += seconds;
            latencies.extend(found);
        } else {
            let (seconds, found) = run_writer.await?;
            writer_seconds += seconds;
            latencies.extend(found);
            raw_seconds += run_raw.await?;
        }
    }
    let stored = calls * per_call;
    let rate = |seconds: f64| if seconds > 0.0 { stored as f64 / seconds } else { 0.0 };
    Ok(IngestReport {
        events: stored,
        per_call: args.per_call,
        concurrency: args.concurrency,
        batch: args.tracking.ingest_batch,
        writer_seconds,
        writer_events_per_sec: rate(writer_seconds),
        raw_seconds,
        raw_events_per_sec: rate(raw_seconds),
        ratio: rate(writer_seconds) / rate(raw_seconds).max(f64::MIN_POSITIVE),
        latency_ms: Percentiles::of(latencies),
    })
}

fn bench_visitor(v: u64) -> String {
    format!("bench-visitor-{v}")
}

/// Calls `first..first + calls` through the writer from `concurrency` producers; each call's
/// latency (submitted -> committed) in milliseconds.
async fn writer_round(
    ingest: &Ingest,
    clock: &Arc<Clock>,
    project_id: i64,
    first: u64,
    calls: u64,
    args: &BenchIngestArgs,
) -> Result<Vec<f64>, String> {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(first));
    let (per_call, visitors) = (u64::from(args.per_call.max(1)), u64::from(args.visitors.max(1)));
    let mut producers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (ingest, next, clock) = (ingest.clone(), next.clone(), clock.clone());
        producers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let call = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if call >= first + calls {
                    return Ok::<_, String>(latencies);
                }
                let events = (0..per_call)
                    .map(|i| PreparedEvent::new(bench_event(call * per_call + i), None))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?;
                let kind = TrackKind::Events { session_key: None, events };
                let write = TrackWrite {
                    project_id,
                    visitor_id: bench_visitor(call % visitors),
                    received_at: clock.now(),
                    kind,
                };
                let sent = Instant::now();
                ingest.submit(write).await.map_err(|e| e.to_string())?;
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    let mut latencies = Vec::new();
    for producer in producers {
        latencies.extend(producer.await.map_err(|e| e.to_string())??);
    }
    Ok(latencies)
}

fn bench_event(n: u64) -> CheckedEvent {
    let name = EventName::parse(["Viewed product", "Added to cart", "Searched", "Read article"][(n % 4) as usize])
        .unwrap_or_else(|_| unreachable!());
    let mut properties = BTreeMap::new();
    properties.insert("product".to_owned(), PropertyValue::Text(format!("P{}", n % 97)));
    properties.insert("price".to_owned(), PropertyValue::Number((n % 10_000) as f64 / 100.0));
    properties.insert("seq".to_owned(), PropertyValue::Number(n as f64));
    CheckedEvent { name, properties, time: None, page: None }
}
