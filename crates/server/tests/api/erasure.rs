//! *Remove completely*: the lead and everything of it go in one transaction. The proof reads the
//! schema from the database itself, so a table added later is checked too.

use leadcard_server::store::{EventSource, NewEvent};
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::{TestApp, error_of, lead, spawn_app, text};

/// Every (table, column, type) of the schema, as the database lists it.
pub(crate) async fn columns(app: &TestApp) -> Vec<(String, String, String)> {
    let mut db = app.db().await;
    if app.database_url.starts_with("postgres") {
        let rows = sqlx::query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema()",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        return rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(&mut db)
            .await
            .unwrap();
    let mut all = Vec::new();
    for table in tables {
        let sql = format!("SELECT name, type FROM pragma_table_info('{table}')");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut db).await.unwrap();
        all.extend(rows.iter().map(|r| (table.clone(), r.get::<String, _>(0), r.get::<String, _>(1))));
    }
    all
}

/// Rows that still refer to the lead: by a lead id column, by its address, or holding its
/// address or name as text anywhere.
async fn references(app: &TestApp, id: i64, email_norm: &str, name: &str) -> Vec<String> {
    references_by(app, id, Some((email_norm, name))).await
}

/// Rows that still name the lead by id, in any lead id column of the schema.
pub(crate) async fn id_references(app: &TestApp, id: i64) -> Vec<String> {
    references_by(app, id, None).await
}

async fn references_by(app: &TestApp, id: i64, text_of: Option<(&str, &str)>) -> Vec<String> {
    let columns = columns(app).await;
    assert!(columns.iter().any(|(t, c, _)| t == "outbox" && c == "lead_id"), "the schema was read: {columns:?}");
    let mut found = Vec::new();
    for (table, column, ty) in &columns {
        let text = ty.to_lowercase().contains("text") || ty.to_lowercase().contains("char");
        let mut checks = Vec::new();
        if column == "lead_id" || column.ends_with("_lead_id") || (table == "leads" && column == "id") {
            checks.push(format!("\"{column}\" = {id}"));
        }
        if let Some((email_norm, name)) = text_of {
            if column == "email_norm" {
                checks.push(format!("\"{column}\" = '{email_norm}'"));
            }
            if text {
                checks.push(format!("LOWER(\"{column}\") LIKE '%{email_norm}%'"));
                checks.push(format!("LOWER(\"{column}\") LIKE '%{}%'", name.to_lowercase()));
            }
        }
        for check in checks {
            let n = app.count(&format!("SELECT COUNT(*) FROM \"{table}\" WHERE {check}")).await;
            if n > 0 {
                found.push(format!("{table}: {n} rows where {check}"));
            }
        }
    }
    found
}

#[tokio::test]
async fn removing_a_lead_erases_every_row_of_the_schema_that_refers_to_it() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let now = app.clock.now();
    let mut full = lead(
        now,
        &[
            ("$name", text("Lena Erasure")),
            ("$email", text("Lena.Erasure@Example.com")),
            ("$city", text("Berlin")),
            ("plan", text("Pro")),
        ],
        &["vip", "beta"],
    );
    full.last_heartbeat = Some(now);
    full.last_active = Some(now);
    full.events = vec![NewEvent {
        name: "Added to cart".to_owned(),
        properties: json!({ "sku": "A1" }),
        occurred_at: now,
        source: EventSource::Tracked,
    }];
    let id = app.store.create_lead(&full).await.unwrap();
    let keep = app.add_lead(&[("$name", text("Max Keep")), ("$email", text("max@example.com"))], &["vip"]).await;
    for lead_id in [id, keep] {
        let response =
            app.post_json(&format!("/api/v1/leads/{lead_id}/notes"), &json!({ "body": "Called, wants a demo" })).await;
        assert_eq!(response.status(), 201);
    }
    let response =
        app.client.put(app.url("/api/v1/pins")).json(&json!({ "names": ["plan", "$city"] })).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = app.post_json("/api/v1/campaigns", &json!({ "subject": "News", "body": "Hello" })).await;
    assert_eq!(response.json::<Value>().await.unwrap()["recipients"], 2);
    // A conversation by email (its mail queued) and a reply in it, for each lead.
    for lead_id in [id, keep] {
        let message = json!({ "channel": "email", "subject": "Your demo", "body": "When suits you?",
                              "idempotency_key": format!("erasure-{lead_id}-first") });
        let response = app.post_json(&format!("/api/v1/leads/{lead_id}/messages"), &message).await;
        assert_eq!(response.status(), 201);
        let message =
            json!({ "channel": "email", "body": "Any news?", "idempotency_key": format!("erasure-{lead_id}-second") });
        assert_eq!(app.post_json(&format!("/api/v1/leads/{lead_id}/messages"), &message).await.status(), 201);
    }
    for table in ["conversations", "messages"] {
        assert!(app.count(&format!("SELECT COUNT(*) FROM {table} WHERE lead_id = {id}")).await > 0, "{table}");
    }
    assert_eq!(app.post_empty(&format!("/api/v1/leads/{id}/unsubscribe")).await.status(), 200);
    assert_eq!(app.post_empty(&format!("/api/v1/leads/{id}/hide")).await.status(), 204);
    let email_norm = "lena.erasure@example.com";
    assert!(!references(&app, id, email_norm, "Lena Erasure").await.is_empty(), "the lead is there to remove");

    let delete = |body: Option<Value>| {
        let request = app.client.delete(app.url(&format!("/api/v1/leads/{id}"))).header("x-requested-with", "leadcard");
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
        .send()
    };
    let (status, error) = error_of(delete(Some(json!({}))).await.unwrap()).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("confirm")));
    let (status, error) = error_of(delete(Some(json!({ "confirm": "Lena" }))).await.unwrap()).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("confirm")));
    assert_eq!(app.get(&format!("/api/v1/leads/{id}")).await.status(), 200, "nothing removed yet");

    let response = delete(Some(json!({ "confirm": " LENA.ERASURE@example.com " }))).await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(app.get(&format!("/api/v1/leads/{id}")).await.status(), 404);
    assert_eq!(delete(Some(json!({ "confirm": "x" }))).await.unwrap().status(), 404);
    let events = app.live_events().await;
    assert!(events.iter().any(|e| e["kind"] == "lead_removed" && e["lead_id"] == id));

    assert_eq!(references(&app, id, email_norm, "Lena Erasure").await, Vec::<String>::new());
    // The other lead keeps everything of its own.
    assert_eq!(app.card(keep).await["tags"], json!(["vip"]));
    for table in ["lead_properties", "lead_notes", "outbox", "conversations", "messages"] {
        let n = app.count(&format!("SELECT COUNT(*) FROM {table} WHERE lead_id = {keep}")).await;
        assert!(n > 0, "{table} keeps the other lead's rows");
    }
    assert_eq!(
        app.get_json("/api/v1/pins").await["names"],
        json!(["plan", "$city"]),
        "pins name properties, not leads"
    );
}

#[tokio::test]
async fn removing_one_of_two_leads_with_an_address_keeps_the_address_for_the_other() {
    let app = spawn_app().await;
    app.signed_in().await;
    let gone = app.add_lead(&[("$email", text("shared@example.com"))], &[]).await;
    let stays = app.add_lead(&[("$name", text("Stays")), ("$email", text("Shared@example.com"))], &[]).await;
    assert_eq!(app.post_empty(&format!("/api/v1/leads/{gone}/unsubscribe")).await.status(), 200);
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/leads/{gone}")))
        .json(&json!({ "confirm": "shared@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let card = app.card(stays).await;
    assert_eq!(card["subscription"]["status"], "unsubscribed", "the address's status stays with its other lead");

    // A lead with neither name nor email is confirmed by its display name.
    let nameless = app.add_lead(&[("plan", text("Free"))], &[]).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/leads/{nameless}")))
        .json(&json!({ "confirm": format!("lead #{nameless}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}
