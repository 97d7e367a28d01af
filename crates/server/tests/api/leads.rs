//! The Leads Database: search, every filter kind, errors, keyset pagination, the count, the card.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadcard_core::{BounceKind, PropertyValue, SubscriptionStatus};
use leadcard_server::store::TOTAL_CAP;
use serde_json::{Value, json};

use crate::helpers::{error_of, ids, lead, spawn_app, text};

fn filter(conditions: Value) -> Value {
    json!({ "all": conditions })
}

#[tokio::test]
async fn filter_errors_are_422_naming_the_condition_and_field() {
    let app = spawn_app().await;
    app.signed_in().await;
    let cases = [
        (
            r#"{"all":[{"kind":"tag","tag":"vip"},{"kind":"property","name":"plan","op":"greater","value":"abc"}]}"#,
            "filter.all[1].value",
        ),
        (r#"{"all":[{"kind":"property","name":"$nope","op":"exists"}]}"#, "filter.all[0].name"),
        (r#"{"all":[{"kind":"property","name":"Signed up","op":"after","value":"yesterday"}]}"#, "filter.all[0].value"),
        (r#"{"all":[{"kind":"tag","tag":"  "}]}"#, "filter.all[0].tag"),
        (r#"{"all":[{"kind":"sounds_like"}]}"#, "filter.all[0].kind"),
        ("not json", "filter"),
    ];
    for (raw, field) in cases {
        let (status, error) = error_of(app.leads(&[("filter", raw)]).await).await;
        assert_eq!(status, 422, "{raw}");
        assert_eq!(error["code"], "invalid_filter", "{raw}");
        assert_eq!(error["field"], field, "{raw}");
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    for (name, value, field) in
        [("after", "abc", "after"), ("limit", "0", "limit"), ("limit", "201", "limit"), ("limit", "x", "limit")]
    {
        let (status, error) = error_of(app.leads(&[(name, value)]).await).await;
        assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (422, Some("invalid"), Some(field)));
    }
}

#[tokio::test]
async fn walking_every_page_sees_each_lead_once_while_leads_are_added() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let batch: Vec<_> = (0..230).map(|i| lead(now, &[("$name", text(&format!("Lead {i}")))], &[])).collect();
    let original: HashSet<i64> = app.store.create_leads(&batch).await.unwrap().into_iter().collect();

    let store = app.store.clone();
    let writer = tokio::spawn(async move {
        for i in 0..60 {
            store.create_lead(&lead(now, &[("$name", text(&format!("New {i}")))], &[])).await.unwrap();
            tokio::task::yield_now().await;
        }
    });

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = vec![("limit", "7".to_owned())];
        if let Some(cursor) = &after {
            query.push(("after", cursor.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = app.leads(&query).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        assert!(page.get("total").is_none(), "the rows never wait for a count");
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 7);
        seen.extend(page_ids);
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    writer.await.unwrap();

    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
    let seen_original: Vec<i64> = seen.iter().copied().filter(|id| original.contains(id)).collect();
    assert_eq!(seen_original.len(), original.len(), "no lead of the original set skipped or repeated");
    assert_eq!(seen_original.iter().copied().collect::<HashSet<_>>(), original);
}

#[tokio::test]
async fn totals_are_exact_up_to_ten_thousand_then_capped_and_large_conditions_probe_correctly() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let batch: Vec<_> = (0..10_001)
        .map(|i| {
            let plan = text(if i < 3 { "pro" } else { "free" });
            let email = text(&format!("lead{i}@example.com"));
            let tags: &[&str] = if i < 3 { &["bulk", "vip"] } else { &["bulk"] };
            lead(now, &[("plan", plan), ("$email", email)], tags)
        })
        .collect();
    let all = app.store.create_leads(&batch).await.unwrap();
    let first_three: Vec<i64> = all[..3].iter().rev().copied().collect();
    app.add_lead(&[("$name", text("No plan, no address"))], &[]).await;

    let page: Value = app.leads(&[]).await.json().await.unwrap();
    assert_eq!(app.lead_count(&[]).await, json!({ "count": TOTAL_CAP, "exact": false }));
    assert_eq!(ids(&page).len(), 50);

    // Few rows: read as a set. Many rows: probed lead by lead. Both must give the same answers.
    let plan = |op: &str, value: &str| json!({ "kind": "property", "name": "plan", "op": op, "value": value });
    let cases = [
        (json!([plan("equals", "Pro")]), Some(first_three.clone()), 3),
        (
            json!([plan("not_equals", "free"), { "kind": "property", "name": "plan", "op": "exists" }]),
            Some(first_three.clone()),
            3,
        ),
        (json!([plan("equals", "free")]), None, 9_998),
        (json!([{ "kind": "tag", "tag": "bulk" }, { "kind": "tag", "tag": "vip" }]), Some(first_three.clone()), 3),
        (json!([{ "kind": "tag", "tag": "bulk", "has": false }]), None, 1),
        (
            json!([{ "kind": "subscription", "status": "subscribed" }, plan("equals", "pro")]),
            Some(first_three.clone()),
            3,
        ),
        (json!([{ "kind": "subscription", "status": "invalid_email" }]), None, 1),
    ];
    for (conditions, expected_ids, count) in cases {
        let query = filter(conditions.clone()).to_string();
        let page: Value = app.leads(&[("filter", &query)]).await.json().await.unwrap();
        let total = app.lead_count(&[("filter", &query)]).await;
        assert_eq!(total["count"], count.min(TOTAL_CAP), "{conditions}");
        assert_eq!(total["exact"], count <= TOTAL_CAP, "{conditions}");
        if let Some(expected) = expected_ids {
            assert_eq!(ids(&page), expected, "{conditions}");
            assert!(page["next"].is_null());
        }
    }
}

/// A `contains` common among the newest leads is probed lead by lead newest first (not sized); a
/// rare one is sized and read as a set. Both page the same leads as the core rule finds.
#[tokio::test]
async fn contains_pages_the_same_leads_whether_common_or_rare() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let batch: Vec<_> = (0..2_400)
        .map(|n| {
            let browser = match n {
                7 => "Netscape Navigator",
                n if n % 3 == 0 => "Firefox",
                _ => "Chrome",
            };
            let tags: &[&str] = if n % 2 == 0 { &["even"] } else { &[] };
            lead(now, &[("$name", text(&format!("Lead {n}"))), ("$browser", text(browser))], tags)
        })
        .collect();
    let created = app.store.create_leads(&batch).await.unwrap();
    let newest_first = |keep: &dyn Fn(usize) -> bool| -> Vec<i64> {
        (0..created.len()).rev().filter(|n| keep(*n)).map(|n| created[n]).collect()
    };
    let contains = |value: &str| json!({ "kind": "property", "name": "$browser", "op": "contains", "value": value });
    let cases = [
        (json!([contains("FIRE")]), newest_first(&|n| n % 3 == 0 && n != 7)),
        (json!([contains("fire"), { "kind": "tag", "tag": "even" }]), newest_first(&|n| n % 6 == 0)),
        (json!([contains("scape")]), vec![created[7]]),
        (json!([contains("nowhere")]), vec![]),
    ];
    for (conditions, expected) in cases {
        let query = filter(conditions.clone()).to_string();
        let found = app.all_lead_ids(&[("filter", &query)], 100).await;
        assert_eq!(found, expected, "{conditions}");
    }
}

#[tokio::test]
async fn search_looks_in_name_email_phone_and_user_id_case_insensitively() {
    let app = spawn_app().await;
    app.signed_in().await;
    let anna = app.add_lead(&[("$name", text("Anna Müller")), ("$email", text("anna@example.com"))], &[]).await;
    let phone = app.add_lead(&[("$name", text("Ben")), ("$phone", text("+49 30 1234 5678"))], &[]).await;
    let user = app.add_lead(&[("$user_id", text("CRM-42"))], &[]).await;
    let percent = app.add_lead(&[("$name", text("100% Cotton Ltd"))], &[]).await;
    app.add_lead(&[("$name", text("Other")), ("city", text("anna-town"))], &[]).await;

    for (q, expected) in [
        ("MÜLLER", vec![anna]),
        ("ANNA@EXAMPLE", vec![anna]),
        ("1234 5678", vec![phone]),
        ("crm-4", vec![user]),
        ("100%", vec![percent]),
        ("%", vec![percent]),
        ("nobody", vec![]),
    ] {
        let page: Value = app.leads(&[("q", q)]).await.json().await.unwrap();
        assert_eq!(ids(&page), expected, "q={q}");
    }
}

#[tokio::test]
async fn search_finds_exact_values_and_fragments_in_any_case_with_accents_folded() {
    let app = spawn_app().await;
    app.signed_in().await;
    let lea = app
        .add_lead(
            &[
                ("$name", text("Léa Ångström-Dupré")),
                ("$email", text("Lea.Dupre@Example.org")),
                ("$phone", text("+33 1 42 68 53 00")),
                ("$user_id", text("CRM-0042")),
            ],
            &[],
        )
        .await;
    let zoe = app.add_lead(&[("$name", text("ZOË O'Hara")), ("$email", text("zoe@mail.test"))], &["vip"]).await;
    let lena = app.add_lead(&[("$name", text("Lena Angstrom")), ("$email", text("lena@example.org"))], &[]).await;
    // Only other properties hold the text: not found by it.
    let other = app
        .add_lead(&[("$name", text("Other")), ("$city", text("Dupré-ville")), ("plan", text("crm-0042"))], &[])
        .await;

    for (q, expected) in [
        ("lea.dupre@example.org", vec![lea]),
        ("LEA.DUPRE@EXAMPLE.ORG", vec![lea]),
        ("+33 1 42 68 53 00", vec![lea]),
        ("33142685300", vec![lea]),
        ("01 42 68", vec![]),
        ("42 68 53", vec![lea]),
        ("crm-0042", vec![lea]),
        ("CRM-0042", vec![lea]),
        ("angstrom", vec![lena, lea]),
        ("ÅNGSTRÖM", vec![lena, lea]),
        ("dupre", vec![lea]),
        ("DUPRÉ", vec![lea]),
        ("zoe", vec![zoe]),
        ("o'hara", vec![zoe]),
        ("\"hara", vec![]),
        ("example.org", vec![lena, lea]),
        ("le", vec![lena, lea]),
        ("é", vec![other, lena, zoe, lea]),
    ] {
        let page: Value = app.leads(&[("q", q)]).await.json().await.unwrap();
        assert_eq!(ids(&page), expected, "q={q}");
        let total = app.lead_count(&[("q", q)]).await;
        assert_eq!(total, json!({ "count": expected.len(), "exact": true }), "q={q}");
    }

    // A search with conditions, counted the same way.
    let vip = filter(json!([{ "kind": "tag", "tag": "vip", "has": false }])).to_string();
    let page: Value = app.leads(&[("q", "example.org"), ("filter", &vip)]).await.json().await.unwrap();
    assert_eq!(ids(&page), [lena, lea]);
    assert_eq!(app.lead_count(&[("q", "zoe"), ("filter", &vip)]).await, json!({ "count": 0, "exact": true }));

    // A changed name is found by its new text only.
    let rename = json!([{ "op": "set", "name": "$name", "value": { "type": "text", "value": "Zoé Brontë" } }]);
    assert_eq!(app.patch(zoe, rename, Some(1)).await.status(), 200);
    let page: Value = app.leads(&[("q", "bronte")]).await.json().await.unwrap();
    assert_eq!(ids(&page), [zoe]);
    let page: Value = app.leads(&[("q", "hara")]).await.json().await.unwrap();
    assert_eq!(ids(&page), Vec::<i64>::new());
}

#[tokio::test]
async fn the_count_refuses_bad_input_naming_the_field() {
    let app = spawn_app().await;
    app.signed_in().await;
    let long = "x".repeat(256);
    for (name, value, code, field) in [
        ("q", long.as_str(), "invalid", "q"),
        ("filter", "not json", "invalid_filter", "filter"),
        ("filter", r#"{"all":[{"kind":"tag","tag":" "}]}"#, "invalid_filter", "filter.all[0].tag"),
        ("segment", "abc", "invalid", "segment"),
        ("segment", "999", "invalid", "segment"),
    ] {
        let response = app.client.get(app.url("/api/v1/leads/count")).query(&[(name, value)]).send().await.unwrap();
        let (status, error) = error_of(response).await;
        assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (422, Some(code), Some(field)), "{name}");
    }
    let signed_out = reqwest::Client::new().get(app.url("/api/v1/leads/count")).send().await.unwrap();
    assert_eq!(signed_out.status(), 401);
}

#[tokio::test]
async fn property_conditions_filter_by_text_number_date_and_presence_of_a_value() {
    let app = spawn_app().await;
    app.signed_in().await;
    let day = |d| PropertyValue::DateTime(Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap());
    let munich = app
        .add_lead(
            &[
                ("$city", text("München")),
                ("Last purchase amount", PropertyValue::Number(120.5)),
                ("Signed up", day(1)),
            ],
            &[],
        )
        .await;
    let berlin = app
        .add_lead(
            &[("$city", text("Berlin")), ("Last purchase amount", PropertyValue::Number(30.0)), ("Signed up", day(20))],
            &[],
        )
        .await;
    let nothing = app.add_lead(&[("$name", text("No city"))], &[]).await;
    let is = |op: &str, name: &str, value: &str| {
        filter(json!([{ "kind": "property", "name": name, "op": op, "value": value }]))
    };

    assert_eq!(app.ids_matching(is("equals", "$city", "MÜNCHEN")).await, [munich]);
    assert_eq!(app.ids_matching(is("not_equals", "$city", "münchen")).await, [nothing, berlin]);
    assert_eq!(app.ids_matching(is("contains", "$city", "erl")).await, [berlin]);
    assert_eq!(app.ids_matching(is("exists", "$city", "")).await, [berlin, munich]);
    assert_eq!(app.ids_matching(is("not_exists", "$city", "")).await, [nothing]);
    assert_eq!(app.ids_matching(is("greater", "Last purchase amount", "100")).await, [munich]);
    assert_eq!(app.ids_matching(is("less", "Last purchase amount", "100")).await, [berlin]);
    assert_eq!(app.ids_matching(is("equals", "Last purchase amount", "120.50")).await, [munich]);
    assert_eq!(app.ids_matching(is("before", "Signed up", "2026-03-10")).await, [munich]);
    assert_eq!(app.ids_matching(is("after", "Signed up", "2026-03-10")).await, [berlin]);
    let both = filter(json!([
        { "kind": "property", "name": "$city", "op": "exists" },
        { "kind": "property", "name": "Last purchase amount", "op": "greater", "value": "100" },
    ]));
    assert_eq!(app.ids_matching(both).await, [munich]);
}

#[tokio::test]
async fn tag_conditions_filter_by_having_a_tag_or_not() {
    let app = spawn_app().await;
    app.signed_in().await;
    let vip = app.add_lead(&[], &["vip", "newsletter"]).await;
    let plain = app.add_lead(&[], &["newsletter"]).await;
    assert_eq!(app.ids_matching(filter(json!([{ "kind": "tag", "tag": "vip" }]))).await, [vip]);
    assert_eq!(app.ids_matching(filter(json!([{ "kind": "tag", "tag": "vip", "has": false }]))).await, [plain]);
    let page: Value = app.leads(&[]).await.json().await.unwrap();
    assert_eq!(page["items"][1]["tags"], json!(["newsletter", "vip"]));
}

#[tokio::test]
async fn subscription_conditions_follow_the_shared_status_of_an_address() {
    let app = spawn_app().await;
    app.signed_in().await;
    let phone = app.add_lead(&[("$email", text("Lena@Example.com"))], &[]).await;
    let laptop = app.add_lead(&[("$email", text("lena@example.com "))], &[]).await;
    let other = app.add_lead(&[("$email", text("max@example.com"))], &[]).await;
    let cyrillic = app.add_lead(&[("$email", text("иван@пример.рф"))], &[]).await;
    let none = app.add_lead(&[("$name", text("No address"))], &[]).await;
    let bounced = app.add_lead(&[("$email", text("gone@example.com"))], &[]).await;
    let now = app.clock.now();
    app.store.set_email_status("LENA@example.com", SubscriptionStatus::Unsubscribed, None, None, now).await.unwrap();
    app.store
        .set_email_status(
            "gone@example.com",
            SubscriptionStatus::Bounced,
            Some(BounceKind::Hard),
            Some("550 5.1.1"),
            now,
        )
        .await
        .unwrap();

    let status = |s: &str| filter(json!([{ "kind": "subscription", "status": s }]));
    assert_eq!(app.ids_matching(status("unsubscribed")).await, [laptop, phone]);
    assert_eq!(app.ids_matching(status("subscribed")).await, [other]);
    assert_eq!(app.ids_matching(status("invalid_email")).await, [none, cyrillic]);
    assert_eq!(app.ids_matching(status("bounced")).await, [bounced]);
    assert_eq!(app.ids_matching(status("waiting_for_confirmation")).await, Vec::<i64>::new());

    let card = app.get_json(&format!("/api/v1/leads/{laptop}")).await;
    assert_eq!(card["subscription"]["status"], "unsubscribed");
    let card = app.get_json(&format!("/api/v1/leads/{bounced}")).await;
    assert_eq!(
        (card["subscription"]["bounce"].as_str(), card["subscription"]["reason"].as_str()),
        (Some("hard"), Some("550 5.1.1"))
    );
    let card = app.get_json(&format!("/api/v1/leads/{none}")).await;
    assert_eq!(
        card["subscription"],
        json!({
            "email": null, "status": "invalid_email", "bounce": null, "reason": null, "changed_at": null,
            "cool_down_until": null,
            "actions": {
                "unsubscribe": { "allowed": false, "reason": "the lead has no email address" },
                "send_confirmation": { "allowed": false, "reason": "the lead has no email address" },
            },
        })
    );
}

#[tokio::test]
async fn presence_conditions_use_heartbeats_and_activity_against_the_server_clock() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let mut online = lead(now, &[], &[]);
    online.last_heartbeat = Some(now - Duration::seconds(30));
    online.last_active = Some(now - Duration::seconds(30));
    let mut sleeping = lead(now, &[], &[]);
    sleeping.last_heartbeat = Some(now - Duration::seconds(30));
    sleeping.last_active = Some(now - Duration::minutes(5));
    let mut gone = lead(now, &[], &[]);
    gone.last_heartbeat = Some(now - Duration::minutes(3));
    gone.last_active = Some(now - Duration::minutes(3));
    let ids_of = app.store.create_leads(&[online, sleeping, gone, lead(now, &[], &[])]).await.unwrap();
    let (online, sleeping, gone, never) = (ids_of[0], ids_of[1], ids_of[2], ids_of[3]);

    let presence = |p: &str| filter(json!([{ "kind": "presence", "presence": p }]));
    assert_eq!(app.ids_matching(presence("online")).await, [online]);
    assert_eq!(app.ids_matching(presence("sleeping")).await, [sleeping]);
    assert_eq!(app.ids_matching(presence("offline")).await, [never, gone]);

    app.clock.advance(Duration::minutes(2));
    assert_eq!(app.ids_matching(presence("online")).await, Vec::<i64>::new());
    assert_eq!(app.ids_matching(presence("offline")).await, [never, gone, sleeping, online]);
}

#[tokio::test]
async fn the_card_lists_system_then_custom_properties_with_an_etag() {
    let app = spawn_app().await;
    app.signed_in().await;
    let id = app
        .add_lead(
            &[
                ("plan", text("pro")),
                ("$email", text("anna@example.com")),
                ("$name", text("Anna")),
                ("Interests", PropertyValue::List(vec!["shoes".into(), "bags".into()])),
            ],
            &["vip"],
        )
        .await;
    let response = app.get(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let card: Value = response.json().await.unwrap();
    assert_eq!(card["display_name"], "Anna");
    let names: Vec<&str> = card["properties"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["$name", "$email", "Interests", "plan"]);
    assert_eq!(card["properties"][2]["value"], json!({ "type": "list", "value": ["shoes", "bags"] }));
    assert_eq!(card["tags"], json!(["vip"]));
    assert_eq!(card["subscription"]["status"], "subscribed");
    assert_eq!(card["subscription"]["email"], "anna@example.com");

    for missing in ["999999", "abc", "-1"] {
        let (status, error) = error_of(app.get(&format!("/api/v1/leads/{missing}")).await).await;
        assert_eq!((status, error["code"].as_str()), (404, Some("not_found")), "{missing}");
    }
}

#[tokio::test]
async fn a_lead_without_a_name_shows_its_email_or_its_number() {
    let app = spawn_app().await;
    app.signed_in().await;
    let by_email = app.add_lead(&[("$email", text("zoe@example.com"))], &[]).await;
    let bare = app.add_lead(&[], &[]).await;
    let page: Value = app.leads(&[]).await.json().await.unwrap();
    assert_eq!(page["items"][0]["display_name"], format!("Lead #{bare}"));
    assert_eq!(page["items"][1]["display_name"], "zoe@example.com");
    assert_eq!(page["items"][1]["id"], by_email);
    assert_eq!(page["items"][1]["subscription"], "subscribed");
}

/// The search chooses its trigrams by an estimate of how common each is, taken from a sample of
/// the leads and kept for a while: one taken before any lead existed (everything looks rare) still
/// finds every lead that came after, alone, with a condition, and counted.
#[tokio::test]
async fn a_search_planned_by_an_estimate_from_before_the_leads_came_still_finds_them() {
    let app = spawn_app().await;
    app.signed_in().await;
    let page: Value = app.leads(&[("q", "anna")]).await.json().await.unwrap();
    assert_eq!(ids(&page), Vec::<i64>::new());
    let now = Utc::now();
    let batch: Vec<_> = (0..300)
        .map(|n| {
            let tags: &[&str] = if n % 3 == 0 { &["vip"] } else { &[] };
            lead(now, &[("$name", text(&format!("Anna Lind {n}"))), ("$email", text(&format!("a{n}@x.io")))], tags)
        })
        .collect();
    let created = app.store.create_leads(&batch).await.unwrap();
    let newest_first: Vec<i64> = created.iter().rev().copied().collect();
    assert_eq!(app.all_lead_ids(&[("q", "anna lind")], 100).await, newest_first);
    let vip = json!({ "all": [{ "kind": "tag", "tag": "vip" }] }).to_string();
    let vips: Vec<i64> = created.iter().step_by(3).rev().copied().collect();
    assert_eq!(app.all_lead_ids(&[("q", "ANNA"), ("filter", &vip)], 40).await, vips);
    assert_eq!(app.lead_count(&[("q", "lind 29")]).await, json!({ "count": 11, "exact": true }));
    assert_eq!(app.all_lead_ids(&[("q", "a123@x.io")], 100).await, vec![created[123]]);
}

/// Past 5,000 candidates the page walks the search index newest first (SQLite) instead of reading
/// the candidates as a set: the same leads, in the same order, across pages; an exact address
/// among thousands that share its domain and most of its trigrams is found alone; a search with a
/// condition and the count agree with what the leads hold. On PostgreSQL the same searches take
/// a window of the newest leads, then (its last pages) the rarest trigrams' candidates past it,
/// and sorted by name they walk the name order confirming each lead's text.
#[tokio::test]
async fn a_search_with_thousands_of_candidates_pages_and_counts_like_a_small_one() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = Utc::now();
    let batch: Vec<_> = (0..6_200)
        .map(|n| {
            let name = if n % 2 == 0 { format!("Anna Berg {n}") } else { format!("Jonas Berg {n}") };
            let email = format!("lead{n}@example.com");
            let tags: &[&str] = if n % 7 == 0 { &["vip"] } else { &[] };
            lead(now, &[("$name", text(&name)), ("$email", text(&email))], tags)
        })
        .collect();
    let created = app.store.create_leads(&batch).await.unwrap();
    let annas: Vec<i64> = created.iter().step_by(2).rev().copied().collect();

    let walk = |query: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.all_lead_ids(&query, 200).await
        }
    };
    assert_eq!(walk(vec![("q", "anna".to_owned())]).await, annas);
    assert_eq!(walk(vec![("q", "BERG".to_owned())]).await, created.iter().rev().copied().collect::<Vec<_>>());
    let vip_annas: Vec<i64> =
        created.iter().enumerate().filter(|(n, _)| n % 14 == 0).map(|(_, id)| *id).rev().collect();
    let vip = json!({ "all": [{ "kind": "tag", "tag": "vip" }] }).to_string();
    assert_eq!(walk(vec![("q", "anna".to_owned()), ("filter", vip.clone())]).await, vip_annas);
    // In another order, 5,000+ leads that truly match are confirmed along the order's own walk;
    // fewer (the Annas) are read as a set and sorted.
    let mut by_name: Vec<(String, i64)> = batch.iter().zip(&created).map(|(l, id)| (lead_name(l), *id)).collect();
    by_name.sort();
    let by_name: Vec<i64> = by_name.into_iter().map(|(_, id)| id).collect();
    assert_eq!(walk(vec![("q", "berg".to_owned()), ("sort", "name".to_owned())]).await, by_name);
    let by_name_desc: Vec<i64> = by_name.iter().rev().copied().collect();
    assert_eq!(walk(vec![("q", "berg".to_owned()), ("sort", "-name".to_owned())]).await, by_name_desc);
    let annas_by_name: Vec<i64> = by_name.iter().copied().filter(|id| annas.contains(id)).collect();
    assert_eq!(walk(vec![("q", "anna".to_owned()), ("sort", "name".to_owned())]).await, annas_by_name);
    let vips: Vec<i64> = created.iter().step_by(7).rev().copied().collect();
    assert_eq!(walk(vec![("q", "berg".to_owned()), ("filter", vip.clone())]).await, vips);
    assert_eq!(app.lead_count(&[("q", "berg"), ("filter", &vip)]).await, json!({ "count": vips.len(), "exact": true }));

    for (q, expected) in [("lead4321@example.com", vec![created[4321]]), ("LEAD17@EXAMPLE.COM", vec![created[17]])] {
        assert_eq!(walk(vec![("q", q.to_owned())]).await, expected, "q={q}");
        assert_eq!(app.lead_count(&[("q", q)]).await, json!({ "count": 1, "exact": true }), "q={q}");
    }
    assert_eq!(app.lead_count(&[("q", "anna")]).await, json!({ "count": TOTAL_CAP, "exact": false }));
    assert_eq!(
        app.lead_count(&[("q", "anna"), ("filter", &vip)]).await,
        json!({ "count": vip_annas.len(), "exact": true })
    );
}

/// A range condition with more than 5,000 matches is walked newest first through its own index
/// (migration 0015) instead of probing every lead: matches that are all the oldest leads, or
/// spread over them, alone and with a tag, page by page, in the same order as a small filter.
#[tokio::test]
async fn range_conditions_with_thousands_of_matches_page_newest_first() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = Utc::now();
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let batch: Vec<_> = (0..6_200)
        .map(|n| {
            let signed_up = PropertyValue::DateTime(start + Duration::minutes(n));
            let score = PropertyValue::Number((n % 1_000) as f64);
            let tags: &[&str] = if n % 7 == 0 { &["vip"] } else { &[] };
            lead(now, &[("$name", text(&format!("Lead {n}"))), ("Signed up", signed_up), ("Score", score)], tags)
        })
        .collect();
    let created = app.store.create_leads(&batch).await.unwrap();
    let expect = |keep: &dyn Fn(usize) -> bool| -> Vec<i64> {
        created.iter().enumerate().filter(|(n, _)| keep(*n)).map(|(_, id)| *id).rev().collect()
    };
    let before = (start + Duration::minutes(5_500)).to_rfc3339();
    let sign_up_before = json!({ "kind": "property", "name": "Signed up", "op": "before", "value": before });
    assert_eq!(app.all_ids_where(json!([sign_up_before])).await, expect(&|n| n < 5_500));
    let score_over = json!({ "kind": "property", "name": "Score", "op": "greater", "value": "100" });
    assert_eq!(app.all_ids_where(json!([score_over])).await, expect(&|n| n % 1_000 > 100));
    let vip = json!({ "kind": "tag", "tag": "vip" });
    assert_eq!(app.all_ids_where(json!([vip, sign_up_before])).await, expect(&|n| n < 5_500 && n % 7 == 0));
    assert_eq!(
        app.all_ids_where(json!([score_over, { "kind": "property", "name": "Score", "op": "less", "value": "900" }]))
            .await,
        expect(&|n| (101..900).contains(&(n % 1_000)))
    );
}

/// A range walk starts at the newest block of 16,384 lead ids that holds a match (migration
/// 0019): old leads that match and newer ones that do not, blocks apart, with one matching lead
/// among the newest and blocks with no lead at all between them; the page still finds every match,
/// newest first, page by page, and with another condition.
#[tokio::test]
async fn a_range_walk_passes_over_blocks_of_newer_leads_without_missing_a_match() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = Utc::now();
    let old = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let recent = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let signed_up = |at: DateTime<Utc>, n: i64| {
        let tags: &[&str] = if n % 5 == 0 { &["vip"] } else { &[] };
        lead(now, &[("Signed up", PropertyValue::DateTime(at + Duration::minutes(n)))], tags)
    };
    let olds = app.store.create_leads(&(0..5_200).map(|n| signed_up(old, n)).collect::<Vec<_>>()).await.unwrap();
    // The next lead ids three blocks on: blocks 1 and 2 hold no lead.
    let next = 3 * 16_384 + 100;
    let mut db = app.db().await;
    let restart = if app.database_url.starts_with("postgres") {
        format!("ALTER TABLE leads ALTER COLUMN id RESTART WITH {next}")
    } else {
        format!("UPDATE sqlite_sequence SET seq = {} WHERE name = 'leads'", next - 1)
    };
    sqlx::query(sqlx::AssertSqlSafe(restart)).execute(&mut db).await.unwrap();
    let mut newer: Vec<_> = (0..300).map(|n| signed_up(recent, n)).collect();
    // One old sign-up among the newest leads: the walk starts in their block, not below it.
    newer.insert(150, signed_up(old, 9_000));
    let newers = app.store.create_leads(&newer).await.unwrap();
    assert!(newers[0] >= next, "{newers:?}");

    let before = json!({ "kind": "property", "name": "Signed up", "op": "before", "value": "2026-01-01T00:00:00Z" });
    let mut expected = vec![newers[150]];
    expected.extend(olds.iter().rev());
    assert_eq!(app.all_ids_where(json!([before])).await, expected);
    let vip = json!({ "kind": "tag", "tag": "vip" });
    let vips: Vec<i64> = std::iter::once(newers[150])
        .chain(olds.iter().enumerate().filter(|(n, _)| n % 5 == 0).map(|(_, id)| *id).rev())
        .collect();
    assert_eq!(app.all_ids_where(json!([vip, before])).await, vips);
    let after = json!({ "kind": "property", "name": "Signed up", "op": "after", "value": "2026-01-01T00:00:00Z" });
    let recents: Vec<i64> = newers.iter().enumerate().filter(|(n, _)| *n != 150).map(|(_, id)| *id).rev().collect();
    assert_eq!(app.all_ids_where(json!([after])).await, recents);
}

/// A search with conditions newest first tests a window of the newest leads sized by how many of
/// the sampled leads match (PostgreSQL): matches that are all old leads, behind a window with
/// none, and matches spread among the newest, are each found whole, newest first, page by page.
#[tokio::test]
async fn a_search_with_conditions_finds_old_matches_past_its_window_of_the_newest_leads() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = Utc::now();
    let batch: Vec<_> = (0..3_600)
        .map(|n| {
            let name = if n < 600 || n % 9 == 0 { format!("Anna Holm {n}") } else { format!("Jonas Holm {n}") };
            let tags: &[&str] = if n < 600 || n % 3 == 0 { &["vip"] } else { &[] };
            let country = if n % 2 == 0 { "Germany" } else { "France" };
            lead(now, &[("$name", text(&name)), ("$country", text(country))], tags)
        })
        .collect();
    let created = app.store.create_leads(&batch).await.unwrap();
    let expect = |keep: &dyn Fn(usize) -> bool| -> Vec<i64> {
        created.iter().enumerate().filter(|(n, _)| keep(*n)).map(|(_, id)| *id).rev().collect()
    };
    let filter = |conditions: Value| json!({ "all": conditions }).to_string();
    let vip = json!({ "kind": "tag", "tag": "vip" });
    let germany = json!({ "kind": "property", "name": "$country", "op": "equals", "value": "Germany" });
    let not_vip = json!({ "kind": "tag", "tag": "vip", "has": false });
    // Among the newest 3,000 leads every ninth is an Anna and every third a vip: 1 in 9 Annas is
    // both, but 600 old leads are Anna and vip, so most matches lie behind any window.
    let anna_vips = expect(&|n| n < 600 || n % 9 == 0);
    assert_eq!(
        app.all_lead_ids(&[("q", "anna"), ("filter", &filter(json!([vip, germany])))], 200).await,
        expect(&|n| (n < 600 || n % 9 == 0) && n % 2 == 0)
    );
    assert_eq!(app.all_lead_ids(&[("q", "anna"), ("filter", &filter(json!([vip])))], 200).await, anna_vips);
    assert_eq!(
        app.all_lead_ids(&[("q", "ANNA"), ("filter", &filter(json!([not_vip, germany])))], 200).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        app.all_lead_ids(&[("q", "jonas"), ("filter", &filter(json!([germany, not_vip])))], 200).await,
        expect(&|n| n >= 600 && n % 9 != 0 && n % 2 == 0 && n % 3 != 0)
    );
    // Hostile searches with conditions (the sample is searched in memory): a NUL is refused by
    // name, other control characters count as spaces, 4-byte characters and the longest search
    // match nothing.
    let (status, body) = error_of(app.leads(&[("q", "anna\u{0}holm"), ("filter", &filter(json!([vip])))]).await).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("q")), "{body}");
    assert_eq!(
        app.all_lead_ids(&[("q", "holm\u{7}1"), ("filter", &filter(json!([vip, germany])))], 200).await,
        expect(&|n| (n < 600 || n % 3 == 0) && n % 2 == 0 && format!("{n}").starts_with('1'))
    );
    let longest = "😀".repeat(255);
    assert_eq!(app.all_lead_ids(&[("q", &longest), ("filter", &filter(json!([vip])))], 200).await, Vec::<i64>::new());
}

/// The lower-cased `$name` of a lead to create, as the list sorts by it.
fn lead_name(lead: &leadcard_server::store::NewLead) -> String {
    lead.properties
        .iter()
        .find(|(name, _)| name.as_str() == "$name")
        .and_then(|(_, value)| match value {
            PropertyValue::Text(t) => Some(t.to_lowercase()),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn list_contains_follows_every_change_of_the_list() {
    let app = spawn_app().await;
    app.signed_in().await;
    let list = |items: &[&str]| PropertyValue::List(items.iter().map(|s| (*s).to_owned()).collect());
    let shoes = app.add_lead(&[("Interests", list(&["Shoes", "Hats"]))], &[]).await;
    let both = app.add_lead(&[("Interests", list(&["Hats", "shoes", "Shoes"]))], &[]).await;
    let other = app.add_lead(&[("Hobbies", list(&["Shoes"]))], &[]).await;
    let contains =
        |item: &str| filter(json!([{ "kind": "property", "name": "Interests", "op": "list_contains", "value": item }]));
    assert_eq!(app.ids_matching(contains("Shoes")).await, [both, shoes]);
    assert_eq!(app.ids_matching(contains("shoes")).await, [both], "items match exactly");
    assert_eq!(app.ids_matching(contains("Hats, Shoes")).await, Vec::<i64>::new());

    // Remove an item, add one, replace the list by a text, delete it: the condition follows each.
    let ok = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap())
    };
    ok(app.patch(shoes, json!([{ "op": "exclude", "name": "Interests", "values": ["Shoes"] }]), None).await).await;
    assert_eq!(app.ids_matching(contains("Shoes")).await, [both]);
    ok(app.patch(shoes, json!([{ "op": "union", "name": "Interests", "values": ["Bags"] }]), None).await).await;
    assert_eq!(app.ids_matching(contains("Bags")).await, [shoes]);
    assert_eq!(app.ids_matching(contains("Hats")).await, [both, shoes]);
    // A list may hold an item twice (append): still one match, no error.
    ok(app.patch(shoes, json!([{ "op": "append", "name": "Interests", "values": ["Hats", "Hats"] }]), None).await)
        .await;
    assert_eq!(app.ids_matching(contains("Hats")).await, [both, shoes]);
    let version = app.card(both).await["version"].as_i64().unwrap();
    ok(app
        .patch(
            both,
            json!([{ "op": "set", "name": "Interests", "value": { "type": "text", "value": "Hats" } }]),
            Some(version),
        )
        .await)
    .await;
    assert_eq!(app.ids_matching(contains("Hats")).await, [shoes]);
    let version = app.card(shoes).await["version"].as_i64().unwrap();
    ok(app.patch(shoes, json!([{ "op": "delete", "name": "Interests" }]), Some(version)).await).await;
    assert_eq!(app.ids_matching(contains("Hats")).await, Vec::<i64>::new());
    assert_eq!(app.count("SELECT COUNT(*) FROM lead_list_items WHERE name = 'Interests'").await, 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM lead_list_items WHERE lead_id = {other}")).await, 1);
    // The count agrees with the list.
    let count = app
        .lead_count(&[(
            "filter",
            &filter(json!([{ "kind": "property", "name": "Hobbies", "op": "list_contains", "value": "Shoes" }]))
                .to_string(),
        )])
        .await;
    assert_eq!(count["count"], 1);
}
