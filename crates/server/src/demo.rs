//! Demo data for a fresh database: the demo operator and a few hundred realistic leads, generated
//! deterministically (same seed, same people) and without the network.

use chrono::{DateTime, Duration, Utc};
use leadcard_core::wire::Role;
use leadcard_core::{BounceKind, PropertyName, PropertyValue, SubscriptionStatus};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::json;

use crate::auth::password::{HashError, hash_password};
use crate::store::{
    EmailStatusChange, EventSource, NewEvent, NewLead, NewOperator, NewSiteSession, SeedConversation, Store, StoreError,
};
use leadcard_core::inbox::{Channel, OperatorRef};

pub const DEMO_OPERATOR_EMAIL: &str = "demo@leadcard.test";
pub const DEMO_OPERATOR_PASSWORD: &str = "leadcard-demo";
pub const DEMO_LEADS: usize = 300;
const SEED: u64 = 0x1ead_ca2d;

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("a demo value was refused: {0}")]
    Value(String),
}

pub const FIRST_NAMES: &[&str] = &[
    "Anna", "Lukas", "Sofia", "Mateo", "Emma", "Liam", "Olivia", "Noah", "Mia", "Elias", "Chloé", "Hugo", "Giulia",
    "Lorenzo", "Ingrid", "Lars", "Aiko", "Haruto", "Priya", "Arjun", "Fatima", "Omar", "Zofia", "Jakub", "Amara",
    "Kwame", "Camila", "Diego", "Yuki", "Mei", "Sven", "Freya", "Ivan", "Olga", "Nora", "Emil", "Léa", "Louis", "Sara",
    "Ahmed",
];
pub const LAST_NAMES: &[&str] = &[
    "Schmidt",
    "Müller",
    "García",
    "Rossi",
    "Dubois",
    "Nielsen",
    "Johansson",
    "Tanaka",
    "Sato",
    "Sharma",
    "Patel",
    "Haddad",
    "Nowak",
    "Kowalski",
    "Okafor",
    "Mensah",
    "Silva",
    "Santos",
    "Fernández",
    "Novak",
    "Smith",
    "Brown",
    "Wilson",
    "O'Connor",
    "Murphy",
    "Kim",
    "Chen",
    "Wang",
    "Petrov",
    "Ivanova",
    "Larsen",
    "Berg",
    "Moreau",
    "Laurent",
    "Romano",
    "Costa",
    "Hoffmann",
    "Weber",
    "Yilmaz",
    "Demir",
];
/// City, country, time zone, phone prefix.
pub const PLACES: &[(&str, &str, &str, &str)] = &[
    ("Berlin", "Germany", "Europe/Berlin", "+49 30"),
    ("Munich", "Germany", "Europe/Berlin", "+49 89"),
    ("Hamburg", "Germany", "Europe/Berlin", "+49 40"),
    ("Paris", "France", "Europe/Paris", "+33 1"),
    ("Lyon", "France", "Europe/Paris", "+33 4"),
    ("Madrid", "Spain", "Europe/Madrid", "+34 91"),
    ("Barcelona", "Spain", "Europe/Madrid", "+34 93"),
    ("Milan", "Italy", "Europe/Rome", "+39 02"),
    ("Rome", "Italy", "Europe/Rome", "+39 06"),
    ("Amsterdam", "Netherlands", "Europe/Amsterdam", "+31 20"),
    ("Copenhagen", "Denmark", "Europe/Copenhagen", "+45 3"),
    ("Stockholm", "Sweden", "Europe/Stockholm", "+46 8"),
    ("Warsaw", "Poland", "Europe/Warsaw", "+48 22"),
    ("London", "United Kingdom", "Europe/London", "+44 20"),
    ("Dublin", "Ireland", "Europe/Dublin", "+353 1"),
    ("New York", "United States", "America/New_York", "+1 212"),
    ("San Francisco", "United States", "America/Los_Angeles", "+1 415"),
    ("Austin", "United States", "America/Chicago", "+1 512"),
    ("Toronto", "Canada", "America/Toronto", "+1 416"),
    ("São Paulo", "Brazil", "America/Sao_Paulo", "+55 11"),
    ("Mexico City", "Mexico", "America/Mexico_City", "+52 55"),
    ("Tokyo", "Japan", "Asia/Tokyo", "+81 3"),
    ("Bangalore", "India", "Asia/Kolkata", "+91 80"),
    ("Dubai", "United Arab Emirates", "Asia/Dubai", "+971 4"),
    ("Lagos", "Nigeria", "Africa/Lagos", "+234 1"),
    ("Sydney", "Australia", "Australia/Sydney", "+61 2"),
];
pub const DOMAINS: &[&str] = &["example.com", "example.org", "example.net", "mail.test", "acme.test"];
/// Addresses that cannot exist (SPEC section 6), for the Invalid email status.
pub const INVALID_EMAILS: &[&str] =
    &["иван@пример.рф", "maria.garcia@", "no-at-sign.example.com", "a..b@example.com", "kim@localhost"];
pub const PLANS: &[&str] = &["free", "starter", "pro", "enterprise"];
const TAGS: &[&str] = &["vip", "newsletter", "churn-risk", "trial", "enterprise", "beta-tester", "partner"];
const INTERESTS: &[&str] = &["shoes", "jackets", "bags", "sale", "new arrivals", "gift cards", "outdoor"];
pub const BROWSERS: &[&str] = &["Chrome", "Firefox", "Safari", "Edge"];
const SYSTEMS: &[&str] = &["Windows", "macOS", "iOS", "Android", "Linux"];
const REFERRERS: &[&str] =
    &["https://www.google.com/", "https://duckduckgo.com/", "https://news.ycombinator.com/", "https://t.co/"];
const UTM_SOURCES: &[&str] = &["newsletter", "google", "facebook", "partner"];
const PAGES: &[&str] = &["/", "/pricing", "/shop/shoes", "/shop/jackets", "/blog/spring-sale", "/checkout"];
const PRODUCTS: &[(&str, f64)] =
    &[("Trail runner", 129.0), ("Rain jacket", 189.5), ("Canvas tote", 39.9), ("Wool socks", 14.5)];

/// Seeds the demo operator and leads when the database has neither leads nor operators, and
/// records that it did (the demo shop opens only then); returns whether it did. A database that
/// holds anything is left alone: no known password, no demo shop.
pub async fn seed_if_empty(store: &Store, now: DateTime<Utc>) -> Result<bool, SeedError> {
    if store.holds_leads_or_operators().await? {
        tracing::warn!("--seed-demo: the database already holds leads or operators; no demo data, no demo shop");
        return Ok(false);
    }
    let password_hash = tokio::task::spawn_blocking(|| hash_password(DEMO_OPERATOR_PASSWORD))
        .await
        .map_err(|e| SeedError::Value(e.to_string()))??;
    let demo = NewOperator {
        email: DEMO_OPERATOR_EMAIL.to_owned(),
        name: "Demo Operator".to_owned(),
        role: Role::Admin,
        password_hash,
    };
    store.create_operator(&demo, now).await?;

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
    let mut emails: Vec<String> = Vec::new();
    let mut leads = Vec::with_capacity(DEMO_LEADS);
    for i in 0..DEMO_LEADS {
        let lead = demo_lead(&mut rng, i, now, &emails)?;
        if let Some(PropertyValue::Text(email)) = property(&lead, "$email") {
            emails.push(email.clone());
        }
        leads.push(lead);
    }
    let ids = store.create_leads(&leads).await?;
    store.set_email_statuses(&demo_statuses(&mut rng, &emails, now)).await?;
    // Visitors shows where the leads on the site are: their sessions and pages. A separate
    // generator, so the leads above stay what they were.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED + 1);
    let sessions = ids
        .iter()
        .zip(&leads)
        .filter_map(|(id, lead)| {
            lead.last_heartbeat.filter(|beat| now - *beat < Duration::minutes(2)).map(|b| (*id, b))
        })
        .map(|(id, beat)| demo_session(&mut rng, id, beat))
        .collect::<Vec<_>>();
    store.add_site_sessions(&sessions).await?;
    // Leads that have been on the site have a visitor id, as a tracked lead would.
    let project = store.ensure_project(now).await?;
    let visitors = ids
        .iter()
        .zip(&leads)
        .filter(|(_, lead)| lead.last_heartbeat.is_some())
        .map(|(id, _)| (format!("demo-visitor-{id}"), *id))
        .collect::<Vec<_>>();
    store.add_visitors(project.id, &visitors, now).await?;
    let operator = store
        .operator_by_email(DEMO_OPERATOR_EMAIL)
        .await?
        .map(|o| OperatorRef { id: o.operator.id, name: o.operator.name })
        .ok_or_else(|| SeedError::Value("the demo operator vanished".to_owned()))?;
    for conversation in demo_conversations(&ids, &leads, &operator) {
        store.seed_conversation(&conversation, now).await?;
    }
    store.mark_demo_seeded().await?;
    tracing::info!(leads = DEMO_LEADS, operator = DEMO_OPERATOR_EMAIL, "demo data seeded");
    Ok(true)
}

/// A handful of conversations for the Inbox: chat with leads on the site now, email, a pop-up;
/// open and closed, some unread, some assigned to the demo operator.
fn demo_conversations(ids: &[i64], leads: &[NewLead], operator: &OperatorRef) -> Vec<SeedConversation> {
    let with_email: Vec<i64> = ids
        .iter()
        .zip(leads)
        .rev()
        .filter(|(_, lead)| {
            matches!(property(lead, "$email"), Some(PropertyValue::Text(e)) if e.contains('@') && e.is_ascii())
        })
        .map(|(id, _)| *id)
        .collect();
    let newest = |k: usize| ids[ids.len().saturating_sub(k + 1)];
    let me = || Some(operator.clone());
    let lead = |body: &str, ago: i64| (None, body.to_owned(), ago);
    let op = |body: &str, ago: i64| (Some(operator.clone()), body.to_owned(), ago);
    let conversation = |lead_id, channel, messages, unread| SeedConversation {
        lead_id,
        channel,
        closed_by: None,
        assignee: None,
        subject: None,
        messages,
        unread,
    };
    let email = |k: usize| with_email.get(k).copied().unwrap_or_else(|| newest(20 + k));
    vec![
        conversation(newest(0), Channel::Chat, vec![lead("Hi! Do you ship to Austria?", 3)], 1),
        SeedConversation {
            assignee: me(),
            ..conversation(
                newest(1),
                Channel::Chat,
                vec![
                    lead("Is the Rain jacket really waterproof?", 42),
                    op("Yes: taped seams and a 20,000 mm membrane. It kept me dry in Bergen!", 38),
                    lead("Great. Does it run small? I'm usually an M.", 6),
                ],
                1,
            )
        },
        conversation(
            newest(2),
            Channel::Popup,
            vec![op("Spring sale: 20% off every trail runner until Sunday.", 12)],
            0,
        ),
        SeedConversation {
            assignee: me(),
            subject: Some("Your order #1042".to_owned()),
            ..conversation(
                email(0),
                Channel::Email,
                vec![
                    op("Hello! Your order #1042 left our warehouse today. Tracking: https://track.example/1042", 2_880),
                    lead("Thanks! Could you deliver it to my office instead? Same city.", 1_440),
                ],
                1,
            )
        },
        SeedConversation {
            closed_by: me(),
            subject: Some("Invoice for March".to_owned()),
            ..conversation(
                email(1),
                Channel::Email,
                vec![
                    lead("Could I get an invoice with my company's VAT number?", 8_000),
                    op("Of course, it is attached to this mail. Anything else?", 7_900),
                    lead("That's all, thank you!", 7_800),
                ],
                0,
            )
        },
        SeedConversation {
            closed_by: me(),
            ..conversation(
                newest(30),
                Channel::Chat,
                vec![lead("Where do I enter a voucher code?", 20_000), op("In the cart, under the total.", 19_990)],
                0,
            )
        },
        conversation(
            newest(45),
            Channel::Chat,
            vec![
                lead("Hello?", 95),
                lead("The checkout says my card was declined twice <script>alert(1)</script>", 90),
            ],
            2,
        ),
        SeedConversation {
            subject: Some("Wholesale prices".to_owned()),
            ..conversation(
                email(2),
                Channel::Email,
                vec![
                    lead("We run a small shop in Lyon. Do you offer wholesale prices?", 600),
                    op("We do from 20 pieces; our price list is at www.example.com/wholesale.", 300),
                ],
                0,
            )
        },
    ]
}

fn property<'a>(lead: &'a NewLead, name: &str) -> Option<&'a PropertyValue> {
    lead.properties.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v)
}

fn pick<'a>(rng: &mut Xoshiro256PlusPlus, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

fn ascii_slug(name: &str) -> String {
    let folded: String = name
        .chars()
        .map(|c| match c {
            'ä' | 'á' | 'à' | 'ã' => 'a',
            'é' | 'è' => 'e',
            'í' => 'i',
            'ö' | 'ó' => 'o',
            'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        })
        .collect();
    folded.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect()
}

fn demo_lead(
    rng: &mut Xoshiro256PlusPlus,
    i: usize,
    now: DateTime<Utc>,
    earlier_emails: &[String],
) -> Result<NewLead, SeedError> {
    let first = pick(rng, FIRST_NAMES);
    let last = pick(rng, LAST_NAMES);
    let (city, country, timezone, phone_prefix) = *PLACES.choose(rng).unwrap_or(&PLACES[0]);
    // Older leads first, so the newest id is the most recent lead.
    let created_at = now - Duration::minutes(((DEMO_LEADS - i) * 1750) as i64 + rng.random_range(0..600));
    // A handful of the newest leads are on the site now: some active, some with the tab idle.
    let on_site = match DEMO_LEADS - i {
        1..=6 => Some((now - Duration::seconds(20), now - Duration::seconds(45))),
        7..=10 => Some((now - Duration::seconds(30), now - Duration::minutes(9))),
        _ => None,
    };
    let last_seen = match on_site {
        Some((heartbeat, _)) => heartbeat,
        None => {
            (created_at + Duration::minutes(rng.random_range(0..=(now - created_at).num_minutes().max(1)))).min(now)
        }
    };

    let mut props: Vec<(&str, PropertyValue)> = Vec::new();
    let text = |s: &str| PropertyValue::Text(s.to_owned());
    if rng.random_bool(0.93) {
        props.push(("$name", text(&format!("{first} {last}"))));
    }
    let roll: f64 = rng.random();
    let email = if i % 37 == 5 {
        // Every kind of impossible address appears, the Cyrillic one first.
        Some(INVALID_EMAILS[(i / 37) % INVALID_EMAILS.len()].to_owned())
    } else if roll < 0.08 {
        None
    } else if roll < 0.18 && !earlier_emails.is_empty() {
        // The same person on another device: same address, sometimes typed differently.
        let shared = earlier_emails.choose(rng).cloned().unwrap_or_default();
        Some(if rng.random_bool(0.5) { shared.to_uppercase() } else { shared })
    } else {
        let number = if rng.random_bool(0.3) { rng.random_range(1..99).to_string() } else { String::new() };
        Some(format!("{}.{}{number}@{}", ascii_slug(first), ascii_slug(last), pick(rng, DOMAINS)))
    };
    if let Some(email) = &email {
        props.push(("$email", text(email)));
    }
    if rng.random_bool(0.7) {
        let phone = format!("{phone_prefix} {} {:04}", rng.random_range(100..999), rng.random_range(0..9999));
        props.push(("$phone", text(&phone)));
    }
    if rng.random_bool(0.6) {
        props.push(("$user_id", text(&format!("u-{}", 10_000 + i * 7))));
    }
    props.push(("$city", text(city)));
    props.push(("$country", text(country)));
    props.push(("$timezone", text(timezone)));
    props.push(("$first_seen", PropertyValue::DateTime(created_at)));
    props.push(("$last_seen", PropertyValue::DateTime(last_seen)));
    props.push(("$sessions", PropertyValue::Number(f64::from(rng.random_range(1..80u32)))));
    props.push(("$browser", text(pick(rng, BROWSERS))));
    props.push(("$os", text(pick(rng, SYSTEMS))));
    props.push(("$initial_referrer", text(pick(rng, REFERRERS))));
    if rng.random_bool(0.3) {
        props.push(("$utm_source", text(pick(rng, UTM_SOURCES))));
        props.push(("$utm_campaign", text("spring-sale")));
    }
    props.push(("plan", text(pick(rng, PLANS))));
    props.push(("Signed up", PropertyValue::DateTime(created_at + Duration::minutes(rng.random_range(0..120)))));
    if rng.random_bool(0.45) {
        let cents: u32 = rng.random_range(500..50_000);
        props.push(("Last purchase amount", PropertyValue::Number(f64::from(cents) / 100.0)));
    }
    if rng.random_bool(0.5) {
        let count = rng.random_range(1..=3);
        let interests = INTERESTS.sample(rng, count).map(|s| (*s).to_owned()).collect();
        props.push(("Interests", PropertyValue::List(interests)));
    }
    props.push(("Accepts marketing", PropertyValue::Bool(rng.random_bool(0.6))));

    let properties = props
        .into_iter()
        .map(|(name, value)| PropertyName::parse(name).map(|n| (n, value)).map_err(|e| SeedError::Value(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let tag_count = rng.random_range(0..=3);
    let tags = TAGS.sample(rng, tag_count).map(|s| (*s).to_owned()).collect();

    let (last_heartbeat, last_active) = match on_site {
        Some((heartbeat, active)) => (Some(heartbeat), Some(active)),
        None => (Some(last_seen), Some(last_seen)),
    };

    Ok(NewLead { created_at, properties, tags, last_heartbeat, last_active, events: demo_events(rng, now, created_at) })
}

fn demo_session(rng: &mut Xoshiro256PlusPlus, lead_id: i64, last_seen: DateTime<Utc>) -> NewSiteSession {
    let pages = rng.random_range(1..=5);
    let started_at = last_seen - Duration::seconds(rng.random_range(60..1500));
    let step = (last_seen - started_at).num_seconds() / (pages + 1);
    let (titles, paths) = (["Home", "Pricing", "Shoes", "Jackets", "Spring sale", "Checkout"], PAGES);
    let pages = (0..pages)
        .map(|n| {
            let k = rng.random_range(0..paths.len());
            (
                format!("https://shop.example{}", paths[k]),
                Some(titles[k].to_owned()),
                started_at + Duration::seconds(step * n),
            )
        })
        .collect();
    NewSiteSession {
        lead_id,
        started_at,
        last_seen,
        pages,
        referrer: Some(pick(rng, REFERRERS).to_owned()),
        browser: pick(rng, BROWSERS).to_owned(),
        os: pick(rng, SYSTEMS).to_owned(),
        device: "desktop",
    }
}

fn demo_events(rng: &mut Xoshiro256PlusPlus, now: DateTime<Utc>, created_at: DateTime<Utc>) -> Vec<NewEvent> {
    let since = created_at.max(now - Duration::days(30));
    let window = (now - since).num_minutes().max(1);
    let mut events = Vec::new();
    for _ in 0..rng.random_range(0..4) {
        let start = since + Duration::minutes(rng.random_range(0..window));
        let tracked = |name: &str, properties, at| NewEvent {
            name: name.to_owned(),
            properties,
            occurred_at: at,
            source: EventSource::Tracked,
        };
        events.push(tracked("$session_start", json!({ "referrer": pick(rng, REFERRERS) }), start));
        for step in 1..=rng.random_range(1..5) {
            let at = start + Duration::seconds(step * 40);
            events.push(tracked("$page_view", json!({ "url": pick(rng, PAGES) }), at));
        }
        if rng.random_bool(0.35) {
            let (product, price) = *PRODUCTS.choose(rng).unwrap_or(&PRODUCTS[0]);
            let at = start + Duration::minutes(4);
            events.push(tracked("Added to cart", json!({ "product": product, "price": price }), at));
            if rng.random_bool(0.5) {
                let at = start + Duration::minutes(7);
                events.push(tracked("Purchase", json!({ "product": product, "amount": price }), at));
            }
        }
    }
    if rng.random_bool(0.05) {
        events.push(NewEvent {
            name: "Called support".to_owned(),
            properties: json!({ "topic": "delivery" }),
            occurred_at: now - Duration::days(rng.random_range(1..20)),
            source: EventSource::Manual,
        });
    }
    events
}

/// Every status kind appears: some addresses unsubscribed, bounced (hard and soft) or waiting.
fn demo_statuses(rng: &mut Xoshiro256PlusPlus, emails: &[String], now: DateTime<Utc>) -> Vec<EmailStatusChange> {
    let mut changes = Vec::new();
    for email in emails.iter().filter(|e| leadcard_core::EmailAddress::parse(e).is_ok()) {
        let at = now - Duration::days(rng.random_range(1..60));
        let roll: f64 = rng.random();
        let (status, bounce, reason) = if roll < 0.08 {
            (SubscriptionStatus::Unsubscribed, None, Some("Unsubscribed with the link in an email"))
        } else if roll < 0.10 {
            (SubscriptionStatus::Bounced, Some(BounceKind::Hard), Some("550 5.1.1 The email account does not exist"))
        } else if roll < 0.12 {
            (SubscriptionStatus::Bounced, Some(BounceKind::Soft), Some("452 4.2.2 Mailbox full"))
        } else if roll < 0.16 {
            (SubscriptionStatus::WaitingForConfirmation, None, None)
        } else {
            continue;
        };
        changes.push(EmailStatusChange { email: email.clone(), status, bounce, reason: reason.map(str::to_owned), at });
    }
    changes
}
