//! Leads added by hand (`POST /leads`): the new card, the address's first status, duplicates and
//! bad input refused by name with nothing written.

use leadcard_core::EmailSettings;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, property, spawn_app};

fn set(name: &str, value: Value) -> Value {
    json!({ "name": name, "value": value })
}

fn text(value: &str) -> Value {
    json!({ "type": "text", "value": value })
}

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/leads", &body).await
}

#[tokio::test]
async fn a_lead_added_by_hand_opens_as_a_card_with_its_properties_tags_and_status() {
    let app = spawn_app().await;
    app.signed_in().await;
    let body = json!({
        "properties": [
            set("$name", text("  Ada Lovelace ")),
            set("$email", text("Ada@Example.com")),
            set("$phone", text("+44 20 7946 0000")),
            set("$user_id", text("u-ada")),
            set("plan", text("pro")),
            set("seats", json!({ "type": "number", "value": 12 })),
            set("$city", text("")),
        ],
        "tags": ["vip", "vip", "imported"],
    });
    let response = create(&app, body).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let card: Value = response.json().await.unwrap();
    let id = card["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/leads/{id}"));
    assert_eq!(etag, format!("\"{}\"", card["version"]));
    assert_eq!(card["display_name"], "Ada Lovelace");
    assert_eq!(property(&card, "$name")["value"], "Ada Lovelace");
    assert_eq!(property(&card, "$email")["value"], "Ada@Example.com");
    assert_eq!(property(&card, "$user_id")["value"], "u-ada");
    assert_eq!(property(&card, "seats")["value"], 12.0);
    assert!(card["properties"].as_array().unwrap().iter().all(|p| p["name"] != "$city"), "blank values are left out");
    assert_eq!(card["tags"], json!(["imported", "vip"]));
    assert_eq!(card["subscription"]["status"], "subscribed");
    assert_eq!(app.get_json(&location).await["id"], id);

    // The search finds it at once, by its phone's digits too.
    let page = app.get_json("/api/v1/leads?q=442079460000").await;
    assert_eq!(page["items"][0]["id"], id);
    assert!(app.live_events().await.iter().any(|e| e["kind"] == "lead_changed" && e["lead_id"] == id));
}

#[tokio::test]
async fn the_address_gets_its_status_by_the_usual_rules() {
    let app = spawn_app().await;
    app.signed_in().await;
    let invalid = create(&app, json!({ "properties": [set("$email", text("not an address"))] })).await;
    assert_eq!(invalid.status(), 201);
    let card: Value = invalid.json().await.unwrap();
    assert_eq!(card["subscription"]["status"], "invalid_email");

    app.store.set_email_settings(&EmailSettings { double_opt_in: true, ..EmailSettings::default() }).await.unwrap();
    let waiting = create(&app, json!({ "properties": [set("$email", text("grace@example.com"))] })).await;
    assert_eq!(waiting.status(), 201);
    let card: Value = waiting.json().await.unwrap();
    assert_eq!(card["subscription"]["status"], "waiting_for_confirmation");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE to_address = 'grace@example.com'").await, 1);
}

#[tokio::test]
async fn a_second_card_for_a_user_id_or_an_address_is_refused_naming_the_field() {
    let app = spawn_app().await;
    app.signed_in().await;
    let first =
        create(&app, json!({ "properties": [set("$user_id", text("u-1")), set("$email", text("lena@example.com"))] }))
            .await;
    assert_eq!(first.status(), 201);
    let first_id = first.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let cases = [
        (json!([set("$user_id", text(" u-1 ")), set("$name", text("Other"))]), "$user_id"),
        (json!([set("$email", text("LENA@example.com ")), set("$name", text("Other"))]), "$email"),
    ];
    for (properties, field) in cases {
        let (status, error) = error_of(create(&app, json!({ "properties": properties })).await).await;
        assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (409, Some("duplicate"), Some(field)));
        assert!(error["message"].as_str().unwrap().contains(&first_id.to_string()), "{error}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 1);
}

#[tokio::test]
async fn bad_input_is_refused_by_name_and_nothing_is_written() {
    let app = spawn_app().await;
    let unsigned = create(&app, json!({ "properties": [set("$name", text("A"))] })).await;
    assert_eq!(unsigned.status(), 401);
    app.signed_in().await;
    let cases = [
        (json!({ "properties": [set("plan", text("pro"))] }), "invalid", "properties"),
        (json!({ "properties": [] }), "invalid", "properties"),
        (
            json!({ "properties": [set("$name", text("A")), set("$last_seen", text("x"))] }),
            "invalid_property",
            "$last_seen",
        ),
        (json!({ "properties": [set("$plan", text("x"))] }), "invalid_property", "$plan"),
        (json!({ "properties": [set("$email", json!({"type": "number", "value": 3}))] }), "invalid_property", "$email"),
        (json!({ "properties": [set("$name", text(&"x".repeat(256)))] }), "invalid_property", "$name"),
        (json!({ "properties": [set("$name", text("A")), set("$name", text("B"))] }), "invalid_property", "$name"),
        (json!({ "properties": [set("$name", text("A"))], "tags": ["ok", "a\nb"] }), "invalid", "tags[1]"),
        (
            json!({ "properties": [set("$name", json!({"type": "colour", "value": "red"}))] }),
            "invalid",
            "properties[0].value.type",
        ),
        (json!({ "properties": "Ada" }), "invalid", "properties"),
    ];
    for (body, code, field) in cases {
        let (status, error) = error_of(create(&app, body.clone()).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!((error["code"].as_str(), error["field"].as_str()), (Some(code), Some(field)), "{body}: {error}");
    }
    let not_json = app
        .client
        .post(app.url("/api/v1/leads"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 0);
}
