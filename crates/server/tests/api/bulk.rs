//! Bulk actions as jobs: every lead of a filter or of the ticked rows goes through the action,
//! each change announced live and its segments recomputed as a single edit's would be; a cancel
//! stops between batches and keeps what was done; bad input names its field.

use std::time::Duration;

use leadcard_core::PropertyValue;
use leadcard_server::segments::rebuild_pending;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, lead, property, spawn_app, spawn_app_with, text};

async fn start(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("/api/v1/leads/bulk", &body).await;
    let status = response.status();
    let job: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{body}: {job}");
    job
}

/// The job once it has finished.
async fn finished(app: &TestApp, id: i64) -> Value {
    for _ in 0..400 {
        let job = app.get_json(&format!("/api/v1/jobs/{id}")).await;
        if job["state"] != "running" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} still runs");
}

fn pro() -> Value {
    json!({"all": [{"kind": "property", "name": "plan", "op": "equals", "value": "Pro"}]})
}

#[tokio::test]
async fn tagging_every_lead_of_a_filter_changes_each_lead_as_an_edit_would() {
    let app = spawn_app().await;
    let operator = app.signed_in().await;
    let response = app
        .post_json("/api/v1/segments", &json!({ "name": "VIPs", "filter": {"all": [{"kind": "tag", "tag": "vip"}]} }))
        .await;
    assert_eq!(response.status(), 201);
    rebuild_pending(&app.state).await.unwrap();
    let plans: Vec<&str> = (0..1_100).map(|i| if i % 3 == 0 { "Free" } else { "Pro" }).collect();
    let new: Vec<_> = plans
        .iter()
        .enumerate()
        .map(|(i, plan)| lead(app.clock.now(), &[("$name", text(&format!("Lead {i}"))), ("plan", text(plan))], &[]))
        .collect();
    let ids = app.store.create_leads(&new).await.unwrap();
    let pros: Vec<i64> = ids.iter().zip(&plans).filter(|(_, plan)| **plan == "Pro").map(|(id, _)| *id).collect();
    let already = pros[0];
    assert_eq!(app.post_json(&format!("/api/v1/leads/{already}/tags"), &json!({"tag": "vip"})).await.status(), 200);

    let count = app.post_json("/api/v1/leads/bulk/count", &json!({"selection": {"filter": pro()}})).await;
    assert_eq!(count.json::<Value>().await.unwrap(), json!({"count": pros.len(), "exact": true}));
    let job = start(&app, json!({"selection": {"filter": pro()}, "action": {"kind": "add_tag", "tag": "vip"}})).await;
    assert_eq!(job["kind"], "bulk");
    assert_eq!(job["summary"], "Add tag vip to 733 leads");
    assert_eq!(job["total"], pros.len());
    let job = finished(&app, job["id"].as_i64().unwrap()).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["done"], pros.len());
    assert_eq!((job["result"]["changed"].as_u64(), job["result"]["skipped"].as_u64()), (Some(732), Some(1)));
    assert_eq!(job["by"]["id"], operator.id);

    let tagged = app.count("SELECT COUNT(*) FROM lead_tags WHERE tag = 'vip'").await;
    assert_eq!(tagged as usize, pros.len());
    let members = app.count("SELECT COUNT(*) FROM segment_members").await;
    assert_eq!(members as usize, pros.len(), "every tagged lead entered the segment");
    let history = app.get_json(&format!("/api/v1/leads/{}/segment-history", pros[1])).await;
    assert_eq!(history[0]["reason"], "tag vip added (bulk)", "{history}");
    let events = app.live_events().await;
    for id in &pros[1..] {
        assert!(events.iter().any(|e| e["kind"] == "lead_changed" && e["lead_id"] == *id), "lead {id} announced");
    }
    let version = app.card(pros[1]).await["version"].as_i64().unwrap();
    assert_eq!(version, 2, "the version moves on as an edit's does");
    let recorded: String =
        sqlx::query_scalar("SELECT params FROM jobs WHERE kind = 'bulk'").fetch_one(&mut app.db().await).await.unwrap();
    let recorded: Value = serde_json::from_str(&recorded).unwrap();
    assert_eq!(recorded["selection"]["filter"], pro(), "the job records the filter");
}

#[tokio::test]
async fn a_cancelled_bulk_job_stops_between_batches_and_keeps_what_it_did() {
    let app = spawn_app_with(|config| config.test_mode = true).await;
    app.signed_in().await;
    for i in 0..200 {
        app.add_lead(&[("$name", text(&format!("Lead {i}")))], &[]).await;
    }
    let job = start(&app, json!({"selection": {}, "action": {"kind": "add_tag", "tag": "spring"}})).await;
    let id = job["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await.status(), 202);
    let job = finished(&app, id).await;
    assert_eq!(job["state"], "cancelled", "{job}");
    let changed = job["result"]["changed"].as_u64().unwrap();
    assert!(changed > 0 && changed < 200, "stopped halfway: {job}");
    assert_eq!(app.count("SELECT COUNT(*) FROM lead_tags WHERE tag = 'spring'").await as u64, changed);
    assert!(job["result"]["message"].as_str().unwrap().starts_with("Cancelled after"), "{job}");
}

#[tokio::test]
async fn each_action_of_the_card_works_on_ticked_rows_and_refusals_go_to_the_report() {
    let app = spawn_app().await;
    app.signed_in().await;
    let a = app.add_lead(&[("$email", text("a@example.com")), ("visits", PropertyValue::Number(1.0))], &["old"]).await;
    let b = app.add_lead(&[("$email", text("b@example.com")), ("visits", text("many"))], &["old"]).await;
    let c = app.add_lead(&[("$name", text("No Address"))], &[]).await;
    let twin = app.add_lead(&[("$email", text("A@example.com"))], &[]).await;
    let ids = json!([a, b, c]);

    let run = |action: Value| {
        let app = &app;
        let ids = ids.clone();
        async move {
            let job = start(app, json!({"selection": {"ids": ids}, "action": action})).await;
            finished(app, job["id"].as_i64().unwrap()).await
        }
    };
    let job = run(json!({"kind": "remove_tag", "tag": "old"})).await;
    assert_eq!(job["result"]["changed"], 2);
    assert_eq!(app.card(a).await["tags"], json!([]));

    let job = run(json!({"kind": "properties", "operations": [{"op": "add", "name": "visits", "by": 2}]})).await;
    assert_eq!((job["result"]["changed"].as_u64(), job["result"]["failed"].as_u64()), (Some(2), Some(1)), "{job}");
    assert_eq!(property(&app.card(a).await, "visits"), json!({"type": "number", "value": 3.0}));
    let report = app.get_json(&format!("/api/v1/jobs/{}/problems", job["id"])).await;
    assert_eq!(report["items"][0]["position"], b, "{report}");

    let job = run(json!({"kind": "unsubscribe"})).await;
    assert_eq!((job["result"]["changed"].as_u64(), job["result"]["failed"].as_u64()), (Some(2), Some(1)), "{job}");
    assert_eq!(app.card(twin).await["subscription"]["status"], "unsubscribed", "every card with the address follows");
    assert!(app.live_events().await.iter().any(|e| e["kind"] == "lead_changed" && e["lead_id"] == twin));

    let job = run(json!({"kind": "hide"})).await;
    assert_eq!(job["result"]["changed"], 3);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM leads WHERE hidden_at IS NOT NULL AND id = {a}")).await, 1);

    let (status, error) = error_of(
        app.post_json(
            "/api/v1/leads/bulk",
            &json!({"selection": {"ids": ids}, "action": {"kind": "remove", "confirm": "2"}}),
        )
        .await,
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("action.confirm")), "{error}");
    let job = run(json!({"kind": "remove", "confirm": "3"})).await;
    assert_eq!(job["result"]["changed"], 3);
    assert_eq!(app.get(&format!("/api/v1/leads/{a}")).await.status(), 404);
    assert_eq!(app.card(twin).await["subscription"]["status"], "unsubscribed", "the twin keeps its address");
    assert!(app.live_events().await.iter().any(|e| e["kind"] == "lead_removed" && e["lead_id"] == c));
}

#[tokio::test]
async fn bad_bulk_requests_name_their_field_and_start_nothing() {
    let app = spawn_app().await;
    app.signed_in().await;
    let lead = app.add_lead(&[("$name", text("One"))], &[]).await;
    let tag = json!({"kind": "add_tag", "tag": "x"});
    let cases = [
        (json!({"selection": {"ids": []}, "action": tag}), "selection.ids"),
        (json!({"selection": {"ids": [lead, -1]}, "action": tag}), "selection.ids[1]"),
        (json!({"selection": {"ids": [lead]}, "action": {"kind": "add_tag", "tag": " "}}), "action.tag"),
        (json!({"selection": {"ids": [lead]}, "action": {"kind": "shout"}}), "action.kind"),
        (
            json!({"selection": {"ids": [lead]}, "action": {"kind": "properties", "operations": [
                {"op": "set", "name": "$email", "value": {"type": "text", "value": "x@example.com"}}]}}),
            "$email",
        ),
        (
            json!({"selection": {"filter": {"all": [{"kind": "tag", "tag": " "}]}}, "action": tag}),
            "selection.filter.all[0].tag",
        ),
        (json!({"selection": {"q": "x".repeat(300)}, "action": tag}), "selection.q"),
        (json!({"selection": {"segment": 999}, "action": tag}), "selection.segment"),
        (json!({"selection": {"q": "nobody-at-all"}, "action": tag}), "selection"),
    ];
    for (body, field) in cases {
        let (status, error) = error_of(app.post_json("/api/v1/leads/bulk", &body).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{body}: {error}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 0);
}
