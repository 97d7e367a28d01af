//! `bench-seed`: many synthetic leads (properties, tags, address statuses, a few on the site,
//! events for a share of them) inserted as fast as the store allows, for the benchmarks; and
//! `bench-core`: the core evaluator's cost for one card with 50 segments.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use leadcard_core::{BounceKind, PropertyName, PropertyValue, SubscriptionStatus};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::demo::{BROWSERS, DOMAINS, FIRST_NAMES, INVALID_EMAILS, LAST_NAMES, PLACES, PLANS};
use crate::store::{EmailStatusChange, EventSource, NewEvent, NewLead, Store, StoreError};

/// Leads per transaction.
const BATCH: u64 = 20_000;

/// The one JSON line `bench-seed` prints.
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
    now: DateTime<Utc>,
) -> Result<BenchReport, StoreError> {
    let started = Instant::now();
    let mut first = 0;
    while first < leads {
        let last = (first + BATCH).min(leads);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(first);
        let mut statuses = Vec::new();
        let batch = (first..last)
            .map(|n| bench_lead(&mut rng, n, leads, properties as usize, now, &mut statuses))
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
    let mut values: Vec<(String, PropertyValue)> = vec![
        ("$user_id".into(), text(&format!("bench-{n}"))),
        ("$name".into(), text(&format!("{first} {last}"))),
        ("$email".into(), text(&email)),
        ("$city".into(), text(city)),
        ("$country".into(), text(country)),
        ("$timezone".into(), text(timezone)),
        ("plan".into(), text(plan)),
        ("Last purchase amount".into(), PropertyValue::Number(f64::from(rng.random_range(100..100_000u32)) / 100.0)),
        ("Signed up".into(), PropertyValue::DateTime(created_at)),
        ("$browser".into(), text(BROWSERS.choose(rng).copied().unwrap_or("Chrome"))),
        ("$last_seen".into(), PropertyValue::DateTime(last_seen)),
        ("$sessions".into(), PropertyValue::Number(f64::from(rng.random_range(1..200u32)))),
    ];
    values.truncate(properties);
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
    Ok(NewLead { created_at, properties, tags, last_heartbeat, last_active, events: bench_events(rng, n, now) })
}

/// Events for a share of the leads, as segments count them: every fourth lead added to its cart
/// 1 to 3 times in the last 14 days, every tenth bought once in the last 60 days.
fn bench_events(rng: &mut Xoshiro256PlusPlus, n: u64, now: DateTime<Utc>) -> Vec<NewEvent> {
    let event = |name: &str, occurred_at| NewEvent {
        name: name.to_owned(),
        properties: serde_json::json!({}),
        occurred_at,
        source: EventSource::Tracked,
    };
    let mut events = Vec::new();
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

/// The one JSON line `bench-core` prints: evaluating every segment for one card, natively.
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
