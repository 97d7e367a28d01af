//! The Leads Database matrix of `cargo xtask bench`: every condition kind and operator the filter
//! builder offers, the search forms and combinations of both, each over several values (the
//! figures must hold for other values than one chosen case), first page and page 20, over HTTP.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::bench::{encode, percentiles};

/// The seed creates lead `n` (id `n + 1` in a fresh database) this many seconds after lead `n - 1`
/// (crates/bench/src/seed.rs), the newest now.
const SEED_SPACING_SECS: u64 = 5;

/// A signed-in session against the bench's server.
pub struct Session<'a> {
    pub http: &'a ureq::Agent,
    pub base: &'a str,
    pub cookie: &'a str,
}

impl Session<'_> {
    /// `GET /api/v1/{path}?{query}`: how long it took and the JSON answered; any status but 200
    /// fails the bench.
    pub fn get(&self, path: &str, query: &str) -> Result<(Duration, Value)> {
        let start = Instant::now();
        let mut resp =
            self.http.get(format!("{}/api/v1/{path}?{query}", self.base)).header("Cookie", self.cookie).call()?;
        let body: Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
        let took = start.elapsed();
        if resp.status() != 200 {
            bail!("GET /api/v1/{path}?{query} answered {}: {body}", resp.status());
        }
        Ok((took, body))
    }
}

/// One row of the matrix: what it measures and the queries (`q=` / `filter=`) it cycles through.
struct Row {
    label: String,
    queries: Vec<String>,
}

fn filter_query(conditions: Value) -> String {
    format!("filter={}", encode(&json!({ "all": conditions }).to_string()))
}

fn row(label: &str, variants: impl IntoIterator<Item = Value>) -> Row {
    Row { label: label.to_owned(), queries: variants.into_iter().map(|c| filter_query(json!([c]))).collect() }
}

fn property(name: &str, op: &str, value: &str) -> Value {
    json!({ "kind": "property", "name": name, "op": op, "value": value })
}

fn event(name: &str, op: &str, count: u32, days: Option<u32>) -> Value {
    match days {
        Some(days) => json!({ "kind": "event", "event": name, "op": op, "count": count, "days": days }),
        None => json!({ "kind": "event", "event": name, "op": op, "count": count }),
    }
}

/// Seeded leads `n` whose values the search forms look for: spread over the data set, with a
/// valid address of their own (the seed gives every 50th lead an invalid one) and a phone (the
/// seed gives none to `n % 10 < 3`).
fn seeded_numbers(leads: u64) -> Vec<u64> {
    [0.91, 0.37, 0.63, 0.08, 0.77, 0.52].iter().map(|f| ((leads as f64 * f) as u64 / 50) * 50 + 14).collect()
}

fn search(q: &str) -> String {
    format!("q={}", encode(q))
}

fn rows(leads: u64) -> Vec<Row> {
    let now = Utc::now();
    let span = leads * SEED_SPACING_SECS;
    // Sign-up times a share of the seeded span ago (the seed's sign-up is its creation time).
    let ago = |share: f64| {
        (now - chrono::Duration::seconds((span as f64 * share) as i64)).to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    let days_span = (span / 86_400).max(1);
    let days = |share: f64| ((days_span as f64 * share) as u64).max(1).to_string();
    let countries = ["Germany", "France", "Japan", "Brazil", "United States"];
    let numbers = seeded_numbers(leads);
    let domains = ["example.com", "example.org", "example.net", "mail.test", "acme.test"];

    let mut rows = vec![
        row("property equals (`$country`)", countries.map(|c| property("$country", "equals", c))),
        row("property not equals (`plan`)", ["free", "pro", "starter"].map(|v| property("plan", "not_equals", v))),
        // Numbers as operators type them: as stored ("499.5") and otherwise ("12.30", "100.0").
        row(
            "property equals a number (`Last purchase amount`)",
            ["499.5", "12.30", "100.0", "999.99"].map(|v| property("Last purchase amount", "equals", v)),
        ),
        row(
            "property not equals a number (`Last purchase amount`)",
            ["500", "0.50"].map(|v| property("Last purchase amount", "not_equals", v)),
        ),
        row(
            "property contains (`$browser`, `$city`)",
            [("$browser", "fire"), ("$city", "par"), ("$browser", "saf"), ("$city", "tok")]
                .map(|(n, v)| property(n, "contains", v)),
        ),
        row("property exists (`$phone`, `Interests`)", ["$phone", "Interests"].map(|n| property(n, "exists", ""))),
        row("property not exists (`$phone`: 30% have none)", [property("$phone", "not_exists", "")]),
        row(
            "property greater (`Last purchase amount`)",
            ["900", "500", "990", "100"].map(|v| property("Last purchase amount", "greater", v)),
        ),
        row(
            "property less (`Last purchase amount`)",
            ["10", "100", "500", "950"].map(|v| property("Last purchase amount", "less", v)),
        ),
        row("property before (`Signed up`)", [0.2, 0.5, 0.8].map(|s| property("Signed up", "before", &ago(s)))),
        row("property after (`Signed up`)", [0.2, 0.5, 0.8].map(|s| property("Signed up", "after", &ago(s)))),
        row(
            "property within last days (`Signed up`)",
            [0.1, 0.5, 0.9].map(|s| property("Signed up", "within_last_days", &days(s))),
        ),
        row(
            "property list contains (`Interests`)",
            ["shoes", "sale", "outdoor"].map(|v| property("Interests", "list_contains", v)),
        ),
        row("tag has", ["vip", "enterprise", "churn-risk"].map(|t| json!({ "kind": "tag", "tag": t }))),
        row("tag has not", ["vip", "newsletter", "trial"].map(|t| json!({ "kind": "tag", "tag": t, "has": false }))),
        row(
            "subscription status",
            ["unsubscribed", "bounced", "waiting_for_confirmation", "subscribed", "invalid_email"]
                .map(|s| json!({ "kind": "subscription", "status": s })),
        ),
        row("presence", ["online", "sleeping", "offline"].map(|p| json!({ "kind": "presence", "presence": p }))),
        row("event at least", [event("Purchase", "at_least", 1, None), event("Added to cart", "at_least", 2, None)]),
        row(
            "event at least, in a window",
            [event("Added to cart", "at_least", 1, Some(7)), event("Purchase", "at_least", 1, Some(30))],
        ),
        row("event at most", [event("Added to cart", "at_most", 1, None), event("Purchase", "at_most", 0, None)]),
        row(
            "event at most, in a window",
            [event("Added to cart", "at_most", 1, Some(7)), event("Purchase", "at_most", 1, Some(14))],
        ),
        row(
            "event not performed",
            [event("Purchase", "not_performed", 0, None), event("Added to cart", "not_performed", 0, None)],
        ),
        row(
            "event not performed, in a window",
            [event("Purchase", "not_performed", 0, Some(30)), event("Added to cart", "not_performed", 0, Some(7))],
        ),
    ];
    rows.push(Row {
        label: "AND group (country and plan)".to_owned(),
        queries: countries
            .iter()
            .zip(["pro", "enterprise", "free", "starter", "pro"])
            .map(|(c, p)| filter_query(json!([property("$country", "equals", c), property("plan", "equals", p)])))
            .collect(),
    });
    rows.push(Row {
        label: "OR group (tag or plan)".to_owned(),
        queries: [("vip", "enterprise"), ("churn-risk", "pro"), ("enterprise", "starter")]
            .iter()
            .map(|(t, p)| {
                filter_query(json!([{ "kind": "group", "match": "any", "conditions": [
                    { "kind": "tag", "tag": t }, property("plan", "equals", p)] }]))
            })
            .collect(),
    });
    rows.push(Row {
        label: "search: exact email".to_owned(),
        queries: numbers.iter().map(|n| search(&format!("lead{n}@{}", domains[(n % 5) as usize]))).collect(),
    });
    rows.push(Row {
        label: "search: exact phone".to_owned(),
        queries: numbers.iter().map(|n| search(&format!("+1 555 {:03} {:04}", n / 10_000, n % 10_000))).collect(),
    });
    rows.push(Row {
        label: "search: exact user id".to_owned(),
        queries: numbers.iter().map(|n| search(&format!("bench-{n}"))).collect(),
    });
    rows.push(Row {
        label: "search: name fragment".to_owned(),
        queries: ["schmidt", "anna", "ssen", "okaf", "lorenzo"].map(search).to_vec(),
    });
    rows.push(Row {
        label: "search: email fragment".to_owned(),
        queries: numbers.iter().take(3).map(|n| search(&format!("ead{}", n / 10))).chain([search("@acme")]).collect(),
    });
    rows.push(Row {
        label: "search: any case, accents folded".to_owned(),
        queries: ["MÜLLER", "garcía", "CHLOÉ", "fernandez", "LÉA"].map(search).to_vec(),
    });
    rows.push(Row {
        label: "search + 2 conditions (name, country, tag)".to_owned(),
        queries: ["anna", "schmidt", "garcia"]
            .iter()
            .zip(countries)
            .map(|(q, c)| {
                let f = filter_query(
                    json!([property("$country", "equals", c), { "kind": "tag", "tag": "vip", "has": false }]),
                );
                format!("{}&{f}", search(q))
            })
            .collect(),
    });
    rows.push(Row {
        label: "search + 2 conditions (name, plan, event)".to_owned(),
        queries: ["müller", "rossi", "sato"]
            .iter()
            .zip(["pro", "free", "enterprise"])
            .map(|(q, p)| {
                let f = filter_query(json!([property("plan", "equals", p), event("Purchase", "at_least", 1, None)]));
                format!("{}&{f}", search(q))
            })
            .collect(),
    });
    rows.push(Row {
        label: "search + 2 conditions (email fragment, status, amount)".to_owned(),
        queries: ["lead1", "lead5", "example.net"]
            .iter()
            .map(|q| {
                let f = filter_query(json!([{ "kind": "subscription", "status": "subscribed" },
                    property("Last purchase amount", "greater", "300")]));
                format!("{}&{f}", search(q))
            })
            .collect(),
    });
    // Every order (issue 20) beside the default one, alone and with a condition: each is paged by
    // its own keyset over its own index, and should be as fast as newest first.
    rows.push(Row { label: "no filter, newest first (the default order)".to_owned(), queries: vec![String::new()] });
    for (label, sort) in [
        ("sorted by last seen, newest first", "-last_seen"),
        ("sorted by last seen, oldest first", "last_seen"),
        ("sorted by created, oldest first", "created"),
        ("sorted by name, A to Z", "name"),
        ("sorted by name, Z to A", "-name"),
        ("sorted by email, A to Z", "email"),
        ("sorted by email, Z to A", "-email"),
    ] {
        rows.push(Row { label: label.to_owned(), queries: vec![format!("sort={sort}")] });
    }
    rows.push(Row {
        label: "sorted by name + property equals (`$country`)".to_owned(),
        queries: countries
            .map(|c| format!("sort=name&{}", filter_query(json!([property("$country", "equals", c)]))))
            .to_vec(),
    });
    rows.push(Row {
        label: "sorted by last seen + search (name fragment)".to_owned(),
        queries: ["müller", "rossi", "sato"].iter().map(|q| format!("sort=-last_seen&{}", search(q))).collect(),
    });
    rows
}

/// The page of 50 rows; the page-20 figure walks each query's list to its 20th page first.
const LIMIT: usize = 50;
const DEEP_PAGE: usize = 20;

/// Runs the matrix and prints it as a Markdown table; fails when a request fails.
pub fn run(session: &Session, db_name: &str, leads: u64, samples: usize) -> Result<()> {
    let rows = rows(leads);
    println!("\n## Leads Database matrix — {db_name}, {leads} leads, {samples} samples per figure\n");
    println!(
        "| query | values | first page p50 / p95 | page {DEEP_PAGE} p50 / p95 | rows of the first value | count p50 / p95 |"
    );
    println!("|---|---|---|---|---|---|");
    for row in &rows {
        let page = |query: &str| format!("{query}&limit={LIMIT}");
        // Every value once first: each must answer, and the database's caches start alike.
        let mut firsts = Vec::new();
        for query in &row.queries {
            firsts.push(session.get("leads", &page(query))?.1);
        }
        let first = percentiles(
            (0..samples)
                .map(|i| session.get("leads", &page(&row.queries[i % row.queries.len()])).map(|r| r.0))
                .collect::<Result<Vec<_>>>()?,
        );
        let mut deep_queries = Vec::new();
        for (query, body) in row.queries.iter().zip(&firsts) {
            let mut body = body.clone();
            let mut n = 1;
            while n < DEEP_PAGE {
                let Some(next) = body["next"].as_str() else { break };
                let next = format!("{}&after={}", page(query), encode(next));
                body = session.get("leads", &next)?.1;
                n += 1;
                if n == DEEP_PAGE {
                    deep_queries.push(next);
                }
            }
        }
        let deep = if deep_queries.is_empty() {
            "— (fewer pages)".to_owned()
        } else {
            let p = percentiles(
                (0..samples)
                    .map(|i| session.get("leads", &deep_queries[i % deep_queries.len()]).map(|r| r.0))
                    .collect::<Result<Vec<_>>>()?,
            );
            format!("{:.1} / {:.1} ms ({} of {} values)", p.0, p.1, deep_queries.len(), row.queries.len())
        };
        let counted = percentiles(
            (0..samples.div_ceil(2))
                .map(|i| session.get("leads/count", &row.queries[i % row.queries.len()]).map(|r| r.0))
                .collect::<Result<Vec<_>>>()?,
        );
        let shown = firsts[0]["items"].as_array().map_or(0, Vec::len);
        let more = if firsts[0]["next"].is_string() { "+" } else { "" };
        println!(
            "| {} | {} | {:.1} / {:.1} ms | {deep} | {shown}{more} | {:.1} / {:.1} ms |",
            row.label,
            row.queries.len(),
            first.0,
            first.1,
            counted.0,
            counted.1
        );
    }
    println!("\n(goal: first page p95 <= 50 ms, page {DEEP_PAGE} within 1.5x; exact email/phone/user id p95 <= 10 ms)");
    export_all(session, leads)
}

/// The CSV export of every lead (`GET /leads/export`, the default columns), read to its end as a
/// browser downloads it: how long it takes, its size and rows.
fn export_all(session: &Session, leads: u64) -> Result<()> {
    let start = Instant::now();
    let mut resp =
        session.http.get(format!("{}/api/v1/leads/export", session.base)).header("Cookie", session.cookie).call()?;
    if resp.status() != 200 {
        bail!("GET /api/v1/leads/export answered {}", resp.status());
    }
    let mut reader = resp.body_mut().as_reader();
    let (mut bytes, mut rows, mut buffer) = (0u64, 0u64, vec![0u8; 1 << 16]);
    loop {
        let n = std::io::Read::read(&mut reader, &mut buffer)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        rows += buffer[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    let took = start.elapsed();
    println!(
        "\n| CSV export of every lead (default columns) | {leads} leads: {:.2} s, {:.0} leads/s, {:.1} MB, {} lines |",
        took.as_secs_f64(),
        leads as f64 / took.as_secs_f64(),
        bytes as f64 / 1e6,
        rows
    );
    Ok(())
}
