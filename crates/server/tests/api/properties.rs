//! Editing a card's properties: each operation, versions (ETag / If-Match, 428, 412 with the
//! current card), 422s naming the property with nothing half-applied, and the mirrored columns
//! and subscription status that follow a system property.

use leadcard_core::{PropertyValue, SubscriptionStatus};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, etag_version, property, spawn_app, text};

fn set(name: &str, ty: &str, value: Value) -> Value {
    json!({ "op": "set", "name": name, "value": { "type": ty, "value": value } })
}

/// PATCHes and expects 200; returns the card, after checking that its ETag is its version.
async fn patch_ok(app: &TestApp, id: i64, operations: Value, if_match: Option<i64>) -> Value {
    let response = app.patch(id, operations.clone(), if_match).await;
    let status = response.status();
    let etag = response.headers().get("etag").cloned();
    let card: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{operations}: {card}");
    assert_eq!(etag.unwrap().to_str().unwrap(), format!("\"{}\"", card["version"]));
    card
}

#[tokio::test]
async fn every_operation_applies_and_each_patch_moves_the_version_on_by_one() {
    let app = spawn_app().await;
    app.signed_in().await;
    let id = app.add_lead(&[("$name", text("Anna")), ("tags list", PropertyValue::List(vec!["a".into()]))], &[]).await;
    let response = app.get(&format!("/api/v1/leads/{id}")).await;
    let v = etag_version(&response);

    let card =
        patch_ok(&app, id, json!([set("plan", "text", json!("Pro")), set("amount", "number", json!(120.5))]), Some(v))
            .await;
    assert_eq!(card["version"], v + 1);
    assert_eq!(property(&card, "plan"), json!({ "type": "text", "value": "Pro" }));
    assert_eq!(property(&card, "amount"), json!({ "type": "number", "value": 120.5 }));

    let commuting = json!([
        { "op": "add", "name": "visits", "by": 2 },
        { "op": "add", "name": "visits", "by": 0.5 },
        { "op": "set_once", "name": "plan", "value": { "type": "text", "value": "Free" } },
        { "op": "set_once", "name": "signed up", "value": { "type": "date_time", "value": "2024-05-01T10:00:00Z" } },
        { "op": "append", "name": "tags list", "values": ["b", "a"] },
        { "op": "union", "name": "tags list", "values": ["a", "c"] },
        { "op": "exclude", "name": "tags list", "values": ["b"] },
    ]);
    let card = patch_ok(&app, id, commuting, None).await;
    assert_eq!(card["version"], v + 2, "one version per PATCH, however many operations");
    assert_eq!(property(&card, "visits"), json!({ "type": "number", "value": 2.5 }));
    assert_eq!(property(&card, "plan")["value"], "Pro", "set_once keeps a present value");
    assert_eq!(property(&card, "signed up")["type"], "date_time");
    assert_eq!(property(&card, "tags list")["value"], json!(["a", "a", "c"]));

    let card =
        patch_ok(&app, id, json!([{ "op": "delete", "name": "plan" }, set("vip", "bool", json!(true))]), Some(v + 2))
            .await;
    assert_eq!(card["version"], v + 3);
    assert_eq!(property(&card, "plan"), Value::Null);
    assert_eq!(property(&card, "vip")["value"], true);
    assert_eq!(app.card(id).await, card, "the response is the stored card");
}

#[tokio::test]
async fn set_and_delete_need_if_match_and_a_stale_version_gets_412_with_the_current_card() {
    let app = spawn_app().await;
    app.signed_in().await;
    let id = app.add_lead(&[("plan", text("Free"))], &[]).await;
    let v = app.card(id).await["version"].as_i64().unwrap();

    for operations in [json!([set("plan", "text", json!("Pro"))]), json!([{ "op": "delete", "name": "plan" }])] {
        let (status, error) = error_of(app.patch(id, operations.clone(), None).await).await;
        assert_eq!((status, error["code"].as_str()), (428, Some("precondition_required")), "{operations}");
    }
    let mixed = json!([{ "op": "add", "name": "visits", "by": 1 }, set("plan", "text", json!("Pro"))]);
    assert_eq!(app.patch(id, mixed, None).await.status(), 428, "one set in the batch is enough to need it");

    // Another operator's edit moves the card on; the first operator's version is now stale.
    patch_ok(&app, id, json!([set("plan", "text", json!("Team"))]), Some(v)).await;
    for operations in [json!([set("plan", "text", json!("Pro"))]), json!([{ "op": "add", "name": "visits", "by": 1 }])]
    {
        let response = app.patch(id, operations.clone(), Some(v)).await;
        assert_eq!(response.status(), 412, "{operations}");
        assert_eq!(etag_version(&response), v + 1);
        let conflict: Value = response.json().await.unwrap();
        assert_eq!(conflict["error"]["code"], "version_conflict");
        assert!(!conflict["error"]["message"].as_str().unwrap().is_empty());
        assert_eq!(conflict["current"]["version"], v + 1);
        assert_eq!(property(&conflict["current"], "plan")["value"], "Team", "the current card, not the attempt");
    }
    let card = app.card(id).await;
    assert_eq!((card["version"].as_i64(), property(&card, "plan")["value"].as_str()), (Some(v + 1), Some("Team")));

    let response = app
        .client
        .patch(app.url(&format!("/api/v1/leads/{id}/properties")))
        .header("if-match", "*")
        .json(&json!({ "operations": [set("plan", "text", json!("Pro"))] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "If-Match: * means whatever version the card has");
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/leads/{id}/properties")))
        .header("if-match", "W/\"3\"")
        .json(&json!({ "operations": [set("plan", "text", json!("Pro"))] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 412, "a weak tag never matches");

    for if_match in [None, Some(1)] {
        let (status, error) =
            error_of(app.patch(id + 1000, json!([{ "op": "add", "name": "n", "by": 1 }]), if_match).await).await;
        assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    }
    assert_eq!(app.patch(id + 1000, json!([set("plan", "text", json!("x"))]), Some(1)).await.status(), 404);
}

#[tokio::test]
async fn bad_operations_are_422_naming_the_property_and_nothing_is_half_applied() {
    let app = spawn_app().await;
    app.signed_in().await;
    let full = PropertyValue::List((0..30).map(|i| i.to_string()).collect());
    let id = app.add_lead(&[("plan", text("Free")), ("visits", PropertyValue::Number(3.0)), ("full", full)], &[]).await;
    let before = app.card(id).await;
    let v = before["version"].as_i64().unwrap();
    let ok = set("plan", "text", json!("Pro"));
    let too_many: Vec<String> = (0..31).map(|i| i.to_string()).collect();

    // (operations, code, field, a piece of the message)
    let cases = [
        (
            json!([ok.clone(), { "op": "multiply", "name": "visits", "by": 2 }]),
            "invalid",
            "operations[1].op",
            "multiply",
        ),
        (json!([ok.clone(), set("plan", "colour", json!("red"))]), "invalid", "operations[1]", "colour"),
        (json!([ok.clone(), { "op": "add", "name": "visits", "by": "two" }]), "invalid", "operations[1]", "string"),
        (json!([ok.clone(), set("$email", "number", json!(5))]), "invalid_property", "$email", "Text"),
        (
            json!([ok.clone(), set("note", "text", json!("x".repeat(256)))]),
            "invalid_property",
            "note",
            "255 characters",
        ),
        (
            json!([ok.clone(), { "op": "union", "name": "list", "values": too_many }]),
            "invalid_property",
            "list",
            "30 items",
        ),
        (json!([ok.clone(), set("$plan", "text", json!("x"))]), "invalid_property", "$plan", "reserved"),
        (
            json!([ok.clone(), set("$last_seen", "date_time", json!("2024-01-01T00:00:00Z"))]),
            "invalid_property",
            "$last_seen",
            "tracking only",
        ),
        (json!([ok.clone(), set("big", "number", json!(1e17))]), "invalid_property", "big", "2^53"),
        // Refused only against the stored value, inside the transaction: it must roll back.
        (json!([ok.clone(), { "op": "add", "name": "plan", "by": 1 }]), "invalid_property", "plan", "not Text"),
        (
            json!([ok.clone(), { "op": "append", "name": "full", "values": ["x"] }]),
            "invalid_property",
            "full",
            "30 items",
        ),
        (
            json!([{ "op": "add", "name": "visits", "by": 1 }, { "op": "union", "name": "visits", "values": ["x"] }]),
            "invalid_property",
            "visits",
            "a list",
        ),
    ];
    for (operations, code, field, message) in cases {
        let (status, error) = error_of(app.patch(id, operations.clone(), Some(v)).await).await;
        assert_eq!(status, 422, "{operations}");
        assert_eq!(error["code"], code, "{operations}");
        let got_field = error["field"].as_str().unwrap();
        assert!(got_field.starts_with(field), "{operations}: field {got_field}");
        assert!(error["message"].as_str().unwrap().contains(message), "{operations}: {}", error["message"]);
    }
    let too_many_ops: Vec<Value> = (0..251).map(|i| json!({ "op": "add", "name": format!("n{i}"), "by": 1 })).collect();
    let (status, error) = error_of(app.patch(id, json!(too_many_ops), None).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("operations")));

    assert_eq!(app.card(id).await, before, "nothing half-applied, and the version did not move");
}

#[tokio::test]
async fn changing_the_email_moves_the_card_to_the_new_address_status_and_the_columns_follow() {
    let app = spawn_app().await;
    app.signed_in().await;
    let id = app.add_lead(&[("$email", text("anna@example.com"))], &[]).await;
    app.add_lead(&[("$email", text("left@example.com"))], &[]).await;
    app.store
        .set_email_status("left@example.com", SubscriptionStatus::Unsubscribed, None, None, app.clock.now())
        .await
        .unwrap();
    let mut v = app.card(id).await["version"].as_i64().unwrap();

    // (new email, status the card then shows)
    let cases = [
        (" Left@Example.com ", "unsubscribed"),
        ("анна@пример.рф", "invalid_email"),
        ("no-at-sign", "invalid_email"),
        ("new@example.org", "subscribed"),
    ];
    for (email, status) in cases {
        let card = patch_ok(&app, id, json!([set("$email", "text", json!(email))]), Some(v)).await;
        v += 1;
        assert_eq!(property(&card, "$email")["value"], email, "an invalid address is still stored");
        assert_eq!(card["subscription"]["status"], status, "{email}");
        assert_eq!(card["subscription"]["email"], email.trim());
        assert_eq!(card["display_name"], email.trim());
    }
    let page = app.leads(&[("q", "new@example.org")]).await.json::<Value>().await.unwrap();
    assert_eq!(page["items"][0]["id"], id);
    assert_eq!(page["items"][0]["email"], "new@example.org");
    assert_eq!(page["items"][0]["subscription"], "subscribed");
    let invalid = json!({ "all": [{ "kind": "subscription", "status": "invalid_email" }] });
    assert!(!app.ids_matching(invalid.clone()).await.contains(&id));

    let card = patch_ok(
        &app,
        id,
        json!([
            set("$name", "text", json!("Anna Schmidt")),
            set("$city", "text", json!("Berlin")),
            set("$country", "text", json!("Germany")),
            set("$timezone", "text", json!("Europe/Berlin")),
            set("$avatar", "text", json!("https://example.com/a.png")),
            { "op": "delete", "name": "$email" },
        ]),
        Some(v),
    )
    .await;
    assert_eq!(card["display_name"], "Anna Schmidt");
    assert_eq!(card["avatar_url"], "https://example.com/a.png");
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
    let page = app.leads(&[("q", "Anna Schmidt")]).await.json::<Value>().await.unwrap();
    let item = &page["items"][0];
    assert_eq!(
        (item["id"].as_i64(), item["city"].as_str(), item["country"].as_str()),
        (Some(id), Some("Berlin"), Some("Germany"))
    );
    assert_eq!(item["email"], Value::Null);
    assert!(app.ids_matching(invalid).await.contains(&id), "no address: invalid_email");
}
