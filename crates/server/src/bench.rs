//! `bench-seed`: many synthetic leads (properties, tags, address statuses, a few on the site)
//! inserted as fast as the store allows, for the benchmarks.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use leadcard_core::{BounceKind, PropertyName, PropertyValue, SubscriptionStatus};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::demo::{BROWSERS, DOMAINS, FIRST_NAMES, INVALID_EMAILS, LAST_NAMES, PLACES, PLANS};
use crate::store::{EmailStatusChange, NewLead, Store, StoreError};

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
    let seconds = started.elapsed().as_secs_f64();
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
    Ok(NewLead { created_at, properties, tags, last_heartbeat, last_active, events: Vec::new() })
}

fn status(email: &str, status: SubscriptionStatus, bounce: Option<BounceKind>, at: DateTime<Utc>) -> EmailStatusChange {
    EmailStatusChange { email: email.to_owned(), status, bounce, reason: None, at }
}
