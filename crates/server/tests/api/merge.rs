//! Merging two cards of one person: everything of the other card moves to the kept one in one
//! transaction, nothing is lost, no row names the merged lead afterwards (the removal test's
//! schema-wide check), a stop on an address survives, and the merged id redirects.

use leadcard_core::PropertyValue;
use leadcard_server::segments::rebuild_pending;
use serde_json::{Value, json};

use crate::erasure::id_references;
use crate::helpers::{TestApp, error_of, property, spawn_app, text};
use crate::tracking::{newest_lead, site, visit};

/// Rows per lead in the tables whose rows a merge moves (not unions: those are checked apart).
const MOVED: [&str; 6] = ["events", "lead_notes", "conversations", "messages", "outbox", "site_sessions"];

async fn moved_rows(app: &TestApp, id: i64) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in MOVED {
        counts.push(app.count(&format!("SELECT COUNT(*) FROM {table} WHERE lead_id = {id}")).await);
    }
    counts
}

async fn note(app: &TestApp, id: i64, body: &str) {
    assert_eq!(app.post_json(&format!("/api/v1/leads/{id}/notes"), &json!({ "body": body })).await.status(), 201);
}

async fn mail(app: &TestApp, id: i64) {
    let message = json!({ "channel": "email", "subject": "Hello", "body": "A word",
                          "idempotency_key": format!("merge-key-{id}") });
    let response = app.post_json(&format!("/api/v1/leads/{id}/messages"), &message).await;
    let status = response.status();
    assert_eq!(status, 201, "{}", response.text().await.unwrap());
}

async fn merge(app: &TestApp, keep: i64, body: Value) -> reqwest::Response {
    app.post_json(&format!("/api/v1/leads/{keep}/merge"), &body).await
}

#[tokio::test]
async fn merging_moves_everything_to_the_kept_card_and_leaves_no_row_naming_the_other() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let site = site(&app).await;
    let response = app
        .post_json(
            "/api/v1/segments",
            &json!({ "name": "Pro plan", "filter": {"all": [{"kind": "property", "name": "plan", "op": "equals", "value": "Pro"}]} }),
        )
        .await;
    assert_eq!(response.status(), 201);
    rebuild_pending(&app.state).await.unwrap();

    // The other card: a visitor of the site (events, a site session, its visitor id), then
    // named by hand, with an address the person unsubscribed, a note, a mail and tags.
    visit(&app, &site.key, "v-merge", "s-merge", "https://shop.example/").await;
    let other = newest_lead(&app).await;
    let set = |name: &str, value: &str| json!({"op": "set", "name": name, "value": {"type": "text", "value": value}});
    let response = app
        .patch(
            other,
            json!([
                set("$name", "Ann Other"),
                set("$email", "ann.other@example.com"),
                set("plan", "Pro"),
                set("$city", "Berlin")
            ]),
            Some(app.card(other).await["version"].as_i64().unwrap()),
        )
        .await;
    assert_eq!(response.status(), 200);
    for tag in ["beta", "vip"] {
        assert_eq!(app.post_json(&format!("/api/v1/leads/{other}/tags"), &json!({ "tag": tag })).await.status(), 200);
    }
    note(&app, other, "Met at the fair").await;
    mail(&app, other).await;
    assert_eq!(app.post_empty(&format!("/api/v1/leads/{other}/unsubscribe")).await.status(), 200);
    assert_eq!(app.get_json(&format!("/api/v1/leads/{other}/segments")).await.as_array().unwrap().len(), 1);

    let keep = app
        .add_lead(&[("$name", text("Ann Keep")), ("$email", text("ann@example.com")), ("plan", text("Free"))], &["vip"])
        .await;
    note(&app, keep, "Called, wants a demo").await;
    mail(&app, keep).await;
    let before: Vec<i64> =
        moved_rows(&app, keep).await.iter().zip(moved_rows(&app, other).await).map(|(a, b)| a + b).collect();
    let history_before = app.count(&format!("SELECT COUNT(*) FROM segment_history WHERE lead_id = {other}")).await;
    assert!(before.iter().all(|n| *n > 0), "each table has rows to move: {before:?}");
    assert!(history_before > 0);

    let response = merge(&app, keep, json!({ "other": other, "take": ["plan"] })).await;
    assert_eq!(response.status(), 200);
    let card: Value = response.json().await.unwrap();
    assert_eq!(card["id"], keep);
    assert_eq!(property(&card, "$name"), json!({"type": "text", "value": "Ann Keep"}), "kept unless taken");
    assert_eq!(property(&card, "plan"), json!({"type": "text", "value": "Pro"}), "taken from the other card");
    assert_eq!(property(&card, "$city"), json!({"type": "text", "value": "Berlin"}), "only the other card had it");
    assert_eq!(card["tags"], json!(["beta", "vip"]));
    assert_eq!(card["subscription"]["email"], "ann@example.com");
    assert_eq!(card["subscription"]["status"], "unsubscribed", "the other address's unsubscribe is not lost");

    // Nothing lost, nothing left naming the other card.
    assert_eq!(moved_rows(&app, keep).await, before);
    assert!(app.count(&format!("SELECT COUNT(*) FROM segment_history WHERE lead_id = {keep}")).await > history_before);
    assert_eq!(id_references(&app, other).await, Vec::<String>::new());
    let segments = app.get_json(&format!("/api/v1/leads/{keep}/segments")).await;
    assert_eq!(segments.as_array().unwrap().len(), 1, "the kept card's segments are recomputed: {segments}");
    let events = app.live_events().await;
    assert!(events.iter().any(|e| e["kind"] == "lead_merged" && e["lead_id"] == other && e["into"] == keep));
    assert!(events.iter().any(|e| e["kind"] == "lead_changed" && e["lead_id"] == keep));

    // The old link opens the kept card; the visitor's next visit lands on it too.
    let response = app.get(&format!("/api/v1/leads/{other}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().path(), format!("/api/v1/leads/{keep}"));
    visit(&app, &site.key, "v-merge", "s-merge-2", "https://shop.example/again").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 1, "no new card for the merged visitor");

    // Merged again, the first merged id follows to the newest kept card.
    let last = app.add_lead(&[("$name", text("Ann Last"))], &[]).await;
    assert_eq!(merge(&app, last, json!({ "other": keep })).await.status(), 200);
    let response = app.get(&format!("/api/v1/leads/{other}")).await;
    assert_eq!(response.url().path(), format!("/api/v1/leads/{last}"));
    assert_eq!(app.card(last).await["subscription"]["status"], "unsubscribed");
}

#[tokio::test]
async fn a_hard_bounce_of_the_dropped_address_carries_over_and_other_cards_of_the_address_follow() {
    let app = spawn_app().await;
    app.signed_in().await;
    let bounced = app.add_lead(&[("$email", text("old@example.com"))], &[]).await;
    app.store
        .set_email_status(
            "old@example.com",
            leadcard_core::SubscriptionStatus::Bounced,
            Some(leadcard_core::BounceKind::Hard),
            Some("550 5.1.1 no such user"),
            app.clock.now(),
        )
        .await
        .unwrap();
    let keep = app.add_lead(&[("$email", text("new@example.com"))], &[]).await;
    let twin = app.add_lead(&[("$email", text("New@example.com"))], &[]).await;
    let response = merge(&app, keep, json!({ "other": bounced })).await;
    assert_eq!(response.status(), 200);
    for id in [keep, twin] {
        let card = app.card(id).await;
        assert_eq!(
            (card["subscription"]["status"].as_str(), card["subscription"]["bounce"].as_str()),
            (Some("bounced"), Some("hard"))
        );
    }
    assert!(app.live_events().await.iter().any(|e| e["kind"] == "lead_changed" && e["lead_id"] == twin));
}

#[tokio::test]
async fn bad_merges_name_their_field_and_change_nothing() {
    let app = spawn_app().await;
    app.signed_in().await;
    let keep = app.add_lead(&[("$name", text("Keep")), ("$user_id", text("u-1"))], &[]).await;
    let other = app
        .add_lead(&[("$name", text("Other")), ("$user_id", text("u-2")), ("n", PropertyValue::Number(1.0))], &[])
        .await;
    let visitor = app.add_lead(&[("$name", text("Visitor"))], &[]).await;
    let cases = [
        (json!({ "other": keep }), 422, "other"),
        (json!({ "other": 999_999 }), 422, "other"),
        (json!({ "other": 0 }), 422, "other"),
        (json!({ "other": other, "take": ["$plan"] }), 422, "take[0]"),
        (json!({ "other": other, "take": ["$name", "$sessions"] }), 422, "take[1]"),
        (json!({ "other": visitor, "take": ["$name", "absent"] }), 422, "take[1]"),
        (json!({ "other": other, "take": ["a\u{0}b"] }), 422, "take[0]"),
        (json!({ "other": "x" }), 422, "other"),
        (json!({ "other": other }), 422, "other"),
    ];
    for (body, status, field) in cases {
        let (got, error) = error_of(merge(&app, keep, body.clone()).await).await;
        assert_eq!((got, error["field"].as_str()), (status, Some(field)), "{body}: {error}");
    }
    let (_, error) = error_of(merge(&app, keep, json!({ "other": other })).await).await;
    assert_eq!(error["code"], "merge_refused", "two user ids: {error}");
    let (status, _) = error_of(merge(&app, 999_999, json!({ "other": other })).await).await;
    assert_eq!(status, 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 3);
    assert_eq!(app.card(other).await["id"], other);
    assert_eq!(app.get("/api/v1/leads/999999").await.status(), 404);
}
