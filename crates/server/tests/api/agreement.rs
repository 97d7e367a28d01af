//! The two evaluators of one condition agree: for random leads (properties of every type, tags,
//! statuses, presence, events around window edges) inserted in a real database and random
//! conditions (every kind, AND/OR groups, in / not in segments of random conditions, which may
//! name segments in turn), the SQL compiler's set of matching leads equals the
//! set the core evaluator (`ValidFilter::matches`, what the card runs) accepts. Seeded, so a
//! failure names the seed, the condition and the leads that differ.

use chrono::{DateTime, Duration, Utc};
use leadcard_core::{Filter, LeadFacts, PropertyValue, Segment, SubscriptionStatus, ValidFilter};
use leadcard_server::store::{EventSource, LeadScope, NewEvent, Plan};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{Rng, RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::helpers::{lead, spawn_app};

const LEADS: usize = 200;
const CONDITIONS: usize = 60;

const TEXTS: [&str; 16] = [
    "Pro",
    "pro",
    "PRO ",
    "Free",
    "Ärzte",
    "ärzte",
    "ΣΑΣ",
    "σας",
    "50%_off",
    "a\\b",
    "12.5",
    "12.50",
    "true",
    "",
    "İstanbul",
    "Straße",
];
const NUMBERS: [f64; 8] = [-1.0, 0.0, 3.0, 12.5, 100.0, 120.5, 1e15, 0.1];
const ITEMS: [&str; 5] = ["Shoes", "shoes", "hats, caps", "a", "Ä"];
const TAGS: [&str; 4] = ["vip", "VIP", "trial", "churn"];
const EVENTS: [&str; 3] = ["Added to cart", "Purchase", "$page_view"];
const DAYS: [i64; 3] = [1, 7, 30];
const PROPERTIES: [&str; 7] = ["plan", "amount", "vip", "signed_up", "interests", "$country", "mixed"];
/// Segments of random conditions that conditions may name; segment `n` may name those before it.
const SEGMENTS: i64 = 4;

/// A time near an interesting edge: a window's start, the presence window, now.
fn time_near(rng: &mut impl Rng, now: DateTime<Utc>) -> DateTime<Utc> {
    let base = match rng.random_range(0..5) {
        0 => now - Duration::days(*DAYS.choose(rng).unwrap()),
        1 => now - Duration::minutes(2),
        2 => now,
        3 => now - Duration::days(rng.random_range(0..60)),
        _ => now + Duration::days(1),
    };
    base + Duration::milliseconds(rng.random_range(-2..=2))
}

fn value(rng: &mut impl Rng, name: &str, now: DateTime<Utc>) -> PropertyValue {
    let kind = match name {
        "plan" | "$country" => 0,
        "amount" => 1,
        "vip" => 2,
        "signed_up" => 3,
        "interests" => 4,
        _ => rng.random_range(0..5),
    };
    match kind {
        0 => PropertyValue::Text((*TEXTS.choose(rng).unwrap()).to_owned()),
        1 => PropertyValue::Number(*NUMBERS.choose(rng).unwrap()),
        2 => PropertyValue::Bool(rng.random()),
        3 => PropertyValue::DateTime(time_near(rng, now)),
        _ => {
            let n = rng.random_range(0..4);
            PropertyValue::List((0..n).map(|_| (*ITEMS.choose(rng).unwrap()).to_owned()).collect())
        }
    }
}

fn condition_value(rng: &mut impl Rng, op: &str, now: DateTime<Utc>) -> String {
    match op {
        "greater" | "less" => match rng.random_range(0..3) {
            0 => NUMBERS.choose(rng).unwrap().to_string(),
            1 => "12.50".to_owned(),
            _ => rng.random_range(-5..200).to_string(),
        },
        "before" | "after" => {
            let t = time_near(rng, now);
            if rng.random() { t.format("%Y-%m-%d").to_string() } else { t.to_rfc3339() }
        }
        "within_last_days" => DAYS.choose(rng).unwrap().to_string(),
        "list_contains" => (*ITEMS.choose(rng).unwrap()).to_owned(),
        _ => match rng.random_range(0..5) {
            0 => NUMBERS.choose(rng).unwrap().to_string(),
            1 => "ä".to_owned(),
            // The same numbers written otherwise: equal as numbers, not as text.
            2 => {
                let n = NUMBERS.choose(rng).unwrap();
                match rng.random_range(0..3) {
                    0 => format!("{n:.2}"),
                    1 => format!(" {n} "),
                    _ => format!("{n:e}"),
                }
            }
            _ => {
                let text = TEXTS.choose(rng).unwrap().trim();
                if text.is_empty() { "x".to_owned() } else { text.to_owned() }
            }
        },
    }
}

/// A condition that is no group; `segments` is how many segments (ids 1..=segments) it may name.
fn leaf(rng: &mut impl Rng, now: DateTime<Utc>, segments: i64) -> Value {
    if segments > 0 && rng.random_range(0..8) == 0 {
        return json!({"kind": "segment", "segment": rng.random_range(1..=segments), "in": rng.random::<bool>()});
    }
    match rng.random_range(0..10) {
        0..=3 => {
            let ops = [
                "equals",
                "not_equals",
                "contains",
                "exists",
                "not_exists",
                "greater",
                "less",
                "before",
                "after",
                "within_last_days",
                "list_contains",
            ];
            let op = *ops.choose(rng).unwrap();
            json!({"kind": "property", "name": PROPERTIES.choose(rng).unwrap(), "op": op,
                   "value": condition_value(rng, op, now)})
        }
        4 => json!({"kind": "tag", "tag": TAGS.choose(rng).unwrap(), "has": rng.random::<bool>()}),
        5 => {
            let status = ["subscribed", "unsubscribed", "invalid_email", "bounced", "waiting_for_confirmation"];
            json!({"kind": "subscription", "status": status.choose(rng).unwrap()})
        }
        6 => {
            let presence = ["online", "sleeping", "offline"].choose(rng).unwrap();
            json!({"kind": "presence", "presence": presence})
        }
        _ => {
            let op = *["at_least", "at_most", "not_performed"].choose(rng).unwrap();
            let count = if op == "at_least" { rng.random_range(1..4) } else { rng.random_range(0..4) };
            let days = if rng.random_range(0..3) == 0 { Value::Null } else { json!(DAYS.choose(rng).unwrap()) };
            json!({"kind": "event", "event": EVENTS.choose(rng).unwrap(), "op": op, "count": count, "days": days})
        }
    }
}

fn filter(rng: &mut impl Rng, now: DateTime<Utc>, segments: i64) -> Value {
    let mode = if rng.random() { "all" } else { "any" };
    let conditions: Vec<Value> = (0..rng.random_range(1..4))
        .map(|_| {
            if rng.random_range(0..4) == 0 {
                let inner: Vec<Value> = (0..rng.random_range(1..4)).map(|_| leaf(rng, now, segments)).collect();
                let mode = if rng.random() { "all" } else { "any" };
                json!({"kind": "group", "match": mode, "conditions": inner})
            } else {
                leaf(rng, now, segments)
            }
        })
        .collect();
    json!({"match": mode, "all": conditions})
}

/// Saved segments 1..=SEGMENTS of random conditions, each naming only those before it.
fn library(rng: &mut impl Rng, now: DateTime<Utc>) -> Vec<Segment> {
    (1..=SEGMENTS)
        .map(|id| Segment {
            id,
            name: format!("S{id}"),
            filter: Filter::from_json(filter(rng, now, id - 1)).unwrap(),
            created_by: None,
            created_at: now,
            updated_at: now,
            members_ready: true,
        })
        .collect()
}

/// Runs one population; returns the cases checked and how many conditions split it (some leads
/// matching, some not).
async fn agree_on(seed: u64) -> (usize, usize) {
    let app = spawn_app().await;
    let now = app.clock.now();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut leads = Vec::new();
    for n in 0..LEADS {
        let mut properties: Vec<(&str, PropertyValue)> = Vec::new();
        for name in PROPERTIES {
            if rng.random_range(0..3) > 0 {
                properties.push((name, value(&mut rng, name, now)));
            }
        }
        let email = match rng.random_range(0..4) {
            0 => None,
            1 => Some("not an address".to_owned()),
            _ => Some(format!("lead{}@example.com", n % 150)),
        };
        if let Some(email) = &email {
            properties.push(("$email", PropertyValue::Text(email.clone())));
        }
        let tags: Vec<&str> = TAGS.iter().copied().filter(|_| rng.random_range(0..3) == 0).collect();
        let mut new = lead(now - Duration::days(90), &properties, &tags);
        new.last_heartbeat = rng.random::<bool>().then(|| time_near(&mut rng, now));
        new.last_active = rng.random::<bool>().then(|| time_near(&mut rng, now));
        for _ in 0..rng.random_range(0..7) {
            new.events.push(NewEvent {
                name: (*EVENTS.choose(&mut rng).unwrap()).to_owned(),
                properties: json!({}),
                occurred_at: time_near(&mut rng, now),
                source: EventSource::Tracked,
            });
        }
        leads.push(new);
    }
    let ids = app.store.create_leads(&leads).await.unwrap();
    for n in 0..20 {
        let status = [SubscriptionStatus::Unsubscribed, SubscriptionStatus::Bounced][n % 2];
        let email = format!("lead{n}@example.com");
        app.store.set_email_status(&email, status, None, None, now).await.unwrap();
    }

    let mut facts: Vec<(i64, LeadFacts)> = Vec::new();
    for (id, new) in ids.iter().zip(&leads) {
        let lead_facts = app.store.lead_facts(*id, &EVENTS, None, now).await.unwrap().unwrap();
        let events: usize = lead_facts.events.values().map(|e| e.count as usize).sum();
        assert_eq!(events, new.events.len(), "lead {id}: every event is a fact");
        assert_eq!(lead_facts.properties.len(), new.properties.len(), "lead {id}: every property is a fact");
        facts.push((*id, lead_facts));
    }

    let scope = LeadScope::Range { after: 0, upto: i64::MAX };
    let saved = library(&mut rng, now);
    let (mut cases, mut splitting) = (0, 0);
    for _ in 0..CONDITIONS {
        let json = filter(&mut rng, now, SEGMENTS);
        let Ok(valid): Result<ValidFilter, _> =
            Filter::from_json(json.clone()).and_then(|f| f.check_with(&saved, None))
        else {
            continue;
        };
        let core: Vec<i64> = facts.iter().filter(|(_, f)| valid.matches(f, now)).map(|(id, _)| *id).collect();
        for plan in [Plan::Sets, Plan::Probes] {
            let sql = app.store.ids_matching(&valid, &scope, now, plan).await.unwrap();
            if sql != core {
                let only_sql: Vec<_> = sql.iter().filter(|id| !core.contains(id)).collect();
                let only_core: Vec<_> = core.iter().filter(|id| !sql.contains(id)).collect();
                let example =
                    only_sql.first().or(only_core.first()).map(|id| &facts.iter().find(|(i, _)| i == *id).unwrap().1);
                panic!(
                    "seed {seed}, {plan:?}: {json}\nsegments: {saved:?}\nonly SQL: {only_sql:?}\nonly core: {only_core:?}\nfacts: {example:#?}"
                );
            }
        }
        let counted = app.store.count_matching(&valid, 100_000, now).await.unwrap();
        assert_eq!((counted.count as usize, counted.exact), (core.len(), true), "seed {seed}, the count of {json}");
        cases += LEADS;
        splitting += usize::from(!core.is_empty() && core.len() < LEADS);
    }
    (cases, splitting)
}

#[tokio::test]
async fn sql_and_the_core_evaluator_agree_on_every_generated_lead_and_condition() {
    let seed = std::env::var("LEADCARD_AGREEMENT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let sets = std::env::var("LEADCARD_AGREEMENT_SETS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let (mut cases, mut splitting) = (0, 0);
    for set in 0..sets {
        let (c, s) = agree_on(seed + set).await;
        cases += c;
        splitting += s;
    }
    println!(
        "{cases} (lead, condition) cases agree, each in set and probe form; {splitting} conditions split the leads"
    );
    assert!(cases >= 10_000 * sets as usize / 2, "only {cases} cases: most generated conditions did not check");
    assert!(splitting * 3 >= cases / LEADS, "too few conditions tell leads apart: {splitting}");
}
