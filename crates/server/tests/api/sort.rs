//! The Leads Database's orders: every order, both ways, walked page by page (keyset), gives each
//! lead once in the order its key says, the same on both databases; bad values are refused by name.

use chrono::Duration;
use leadcard_core::PropertyValue;
use serde_json::Value;

use crate::helpers::{TestApp, error_of, ids, lead, spawn_app, text};

/// A seeded lead: id, name, email, last seen (ms, 0 for never).
type Seeded<'a> = (i64, Option<&'a str>, Option<&'a str>, i64);

/// Every page of `sort`, two leads a page, following `next`.
async fn walk(app: &TestApp, sort: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let mut query = vec![("sort", sort), ("limit", "2")];
        if !after.is_empty() {
            query.push(("after", &after));
        }
        let response = app.leads(&query).await;
        assert_eq!(response.status(), 200, "{sort} after {after}");
        let page: Value = response.json().await.unwrap();
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn every_order_both_ways_walks_each_lead_once_in_its_keys_order() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let seen = |minutes: i64| PropertyValue::DateTime(now - Duration::minutes(minutes));
    // (name, email, last seen minutes ago)
    let people: [(Option<&str>, Option<&str>, Option<i64>); 7] = [
        (Some("bob"), Some("Bob@example.com"), Some(5)),
        (Some("Alice"), Some("zed@example.com"), None),
        (None, Some("anon@example.com"), Some(50)),
        (Some("Ünal"), None, Some(5)),
        (Some("alice"), Some("alice@example.com"), Some(1)),
        (Some("Zed"), Some("Émile@example.com"), None),
        (Some("O'Hara"), Some("o'hara@example.com"), Some(500)),
    ];
    let mut leads = Vec::new();
    for (name, email, minutes) in people {
        let mut properties = Vec::new();
        if let Some(name) = name {
            properties.push(("$name", text(name)));
        }
        if let Some(email) = email {
            properties.push(("$email", text(email)));
        }
        if let Some(minutes) = minutes {
            properties.push(("$last_seen", seen(minutes)));
        }
        let id = app.store.create_lead(&lead(now, &properties, &[])).await.unwrap();
        let last_seen = minutes.map_or(0, |m| (now - Duration::minutes(m)).timestamp_millis());
        leads.push((id, name, email, last_seen));
    }
    let by = |key: &dyn Fn(&Seeded) -> (String, i64)| {
        let mut sorted: Vec<_> = leads.iter().map(|l| (key(l), l.0)).collect();
        sorted.sort();
        sorted.into_iter().map(|(_, id)| id).collect::<Vec<i64>>()
    };
    let name_key = |l: &Seeded| (l.1.unwrap_or("").to_ascii_lowercase(), 0);
    let email_key = |l: &Seeded| (l.2.map(leadcard_core::normalize_email).unwrap_or_default(), 0);
    let seen_key = |l: &Seeded| (String::new(), l.3);
    let created_key = |_: &Seeded| (String::new(), 0);
    for (sort, expected) in [
        ("name", by(&name_key)),
        ("email", by(&email_key)),
        ("last_seen", by(&seen_key)),
        ("created", by(&created_key)),
    ] {
        assert_eq!(walk(&app, sort).await, expected, "{sort}");
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(walk(&app, &format!("-{sort}")).await, reversed, "-{sort}");
    }
    // Without `sort`: newest first, as before.
    let mut newest_first = by(&created_key);
    newest_first.reverse();
    assert_eq!(walk(&app, "").await, newest_first);
    let names: Vec<i64> = by(&name_key);
    assert_eq!(names[0], leads[2].0, "no name comes first");
}

#[tokio::test]
async fn a_bad_order_or_another_orders_cursor_is_refused_by_name() {
    let app = spawn_app().await;
    app.signed_in().await;
    for i in 0..3 {
        app.add_lead(&[("$name", text(&format!("Lead {i}")))], &[]).await;
    }
    let (status, error) = error_of(app.leads(&[("sort", "colour")]).await).await;
    assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (422, Some("invalid"), Some("sort")));
    let page: Value = app.leads(&[("sort", "-name"), ("limit", "1")]).await.json().await.unwrap();
    let next = page["next"].as_str().unwrap().to_owned();
    for (sort, after) in [("created", next.as_str()), ("-last_seen", next.as_str()), ("-last_seen", "1.soon")] {
        let (status, error) = error_of(app.leads(&[("sort", sort), ("after", after)]).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some("after")), "{sort} {after}");
    }
    let hostile = "x\u{1F600}') OR 1=1 --";
    let response = app.leads(&[("sort", "name"), ("after", &format!("1.{hostile}"))]).await;
    assert_eq!(response.status(), 200);
}
