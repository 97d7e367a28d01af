//! Tags added and removed by hand (each moving the card's version on), and operators' notes (added,
//! edited and deleted by their author).

use serde_json::{Value, json};

use crate::helpers::{Events, error_of, etag_version, new_client, spawn_app, text};

#[tokio::test]
async fn tags_are_added_and_removed_sorted_and_each_change_moves_the_version_on() {
    let app = spawn_app().await;
    app.signed_in().await;
    let id = app.add_lead(&[("$name", text("Anna"))], &["imported"]).await;
    let v = app.card(id).await["version"].as_i64().unwrap();
    let tags_url = app.url(&format!("/api/v1/leads/{id}/tags"));

    let response = app.client.post(&tags_url).json(&json!({ "tag": "  VIP " })).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(etag_version(&response), v + 1);
    assert_eq!(response.json::<Value>().await.unwrap(), json!(["VIP", "imported"]));
    for tag in ["needs follow/up?", "Ärzte", "VIP"] {
        let response = app.client.post(&tags_url).json(&json!({ "tag": tag })).send().await.unwrap();
        assert_eq!(response.status(), 200, "{tag}");
    }
    let card = app.card(id).await;
    assert_eq!(card["tags"], json!(["VIP", "imported", "needs follow/up?", "Ärzte"]));
    assert_eq!(card["version"], v + 4);

    for (tag, message) in [(" ", "empty"), ("a\nb", "line breaks"), (&*"x".repeat(65), "64 characters")] {
        let (status, error) =
            error_of(app.client.post(&tags_url).json(&json!({ "tag": tag })).send().await.unwrap()).await;
        assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (422, Some("invalid"), Some("tag")));
        assert!(error["message"].as_str().unwrap().contains(message), "{}", error["message"]);
    }

    // The tag travels URL-encoded; the server decodes it.
    let response = app
        .client
        .delete(format!("{tags_url}/needs%20follow%2Fup%3F"))
        .header("x-requested-with", "leadcard")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(etag_version(&response), v + 5);
    assert_eq!(response.json::<Value>().await.unwrap(), json!(["VIP", "imported", "Ärzte"]));
    let response = app
        .client
        .delete(format!("{tags_url}/%C3%84rzte"))
        .header("x-requested-with", "leadcard")
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!(["VIP", "imported"]));
    assert_eq!(app.card(id).await["tags"], json!(["VIP", "imported"]));
    let suggestions = app.get_json("/api/v1/tags").await;
    assert!(suggestions.as_array().unwrap().iter().any(|t| t["tag"] == "VIP"));

    let missing = app.url(&format!("/api/v1/leads/{}/tags", id + 1000));
    let (status, error) = error_of(app.client.post(&missing).json(&json!({ "tag": "x" })).send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    let response =
        app.client.delete(format!("{missing}/x")).header("x-requested-with", "leadcard").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let response = app.client.delete(format!("{tags_url}/VIP")).send().await.unwrap();
    assert_eq!(error_of(response).await.1["code"], "csrf");
}

#[tokio::test]
async fn notes_are_listed_newest_first_and_only_their_author_deletes_them() {
    let app = spawn_app().await;
    let anna = app.signed_in().await;
    let (_, ben) = app.operator_client("ben@leadcard.test").await;
    let id = app.add_lead(&[("$name", text("Lead"))], &[]).await;
    let notes_url = app.url(&format!("/api/v1/leads/{id}/notes"));
    assert_eq!(app.get_json(&format!("/api/v1/leads/{id}/notes")).await, json!([]));

    let response =
        app.client.post(&notes_url).json(&json!({ "body": "  Called.\nWants <b>Pro</b>.\n" })).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let first: Value = response.json().await.unwrap();
    assert_eq!(first["body"], "Called.\nWants <b>Pro</b>.", "trimmed, lines and markup kept as text");
    assert_eq!((first["author_id"].as_i64(), first["author_name"].as_str()), (Some(anna.id), Some("Test Operator")));
    let response = ben.post(&notes_url).json(&json!({ "body": "Sent the offer." })).send().await.unwrap();
    let second: Value = response.json().await.unwrap();

    let notes = app.get_json(&format!("/api/v1/leads/{id}/notes")).await;
    assert_eq!(notes, json!([second, first]), "newest first");

    for (body, message) in [(" \n ", "empty"), (&*"x".repeat(5001), "5000 characters"), ("a\u{7}b", "control")] {
        let (status, error) =
            error_of(app.client.post(&notes_url).json(&json!({ "body": body })).send().await.unwrap()).await;
        assert_eq!((status, error["field"].as_str()), (422, Some("body")));
        assert!(error["message"].as_str().unwrap().contains(message), "{}", error["message"]);
    }

    let first_url = format!("{notes_url}/{}", first["id"]);
    let (status, error) =
        error_of(ben.delete(&first_url).header("x-requested-with", "leadcard").send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("forbidden")));
    let response = app.client.delete(&first_url).header("x-requested-with", "leadcard").send().await.unwrap();
    assert_eq!(response.status(), 204);
    let (status, error) =
        error_of(app.client.delete(&first_url).header("x-requested-with", "leadcard").send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    assert_eq!(app.get_json(&format!("/api/v1/leads/{id}/notes")).await, json!([second]));

    // A note is reached only through its own lead.
    let other = app.add_lead(&[], &[]).await;
    let wrong_lead = app.url(&format!("/api/v1/leads/{other}/notes/{}", second["id"]));
    assert_eq!(ben.delete(&wrong_lead).header("x-requested-with", "leadcard").send().await.unwrap().status(), 404);

    let missing = format!("/api/v1/leads/{}/notes", id + 1000);
    assert_eq!(app.get(&missing).await.status(), 404);
    let response = app.client.post(app.url(&missing)).json(&json!({ "body": "x" })).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn only_its_author_edits_a_note_which_then_says_when_and_other_pages_hear_of_it() {
    let app = spawn_app().await;
    let anna = app.signed_in().await;
    let (_, ben) = app.operator_client("ben@leadcard.test").await;
    let id = app.add_lead(&[("$name", text("Lead"))], &[]).await;
    let notes_url = app.url(&format!("/api/v1/leads/{id}/notes"));
    let note: Value =
        app.client.post(&notes_url).json(&json!({ "body": "Called." })).send().await.unwrap().json().await.unwrap();
    assert!(note.get("edited_at").is_none(), "a note as written has no edit time: {note}");
    let note_url = format!("{notes_url}/{}", note["id"]);

    let mut events = Events::open(&app, None).await;
    let response =
        app.client.patch(&note_url).json(&json!({ "body": "  Called twice.\n<i>Busy</i> " })).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let edited: Value = response.json().await.unwrap();
    assert_eq!(edited["body"], "Called twice.\n<i>Busy</i>", "trimmed, markup kept as text");
    assert_eq!((edited["id"].clone(), edited["created_at"].clone()), (note["id"].clone(), note["created_at"].clone()));
    assert_eq!(edited["author_id"].as_i64(), Some(anna.id));
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert_eq!(events.next_of("lead_changed").await["lead_id"].as_i64(), Some(id), "other open pages reload it");
    assert_eq!(app.get_json(&format!("/api/v1/leads/{id}/notes")).await, json!([edited]));

    // Another operator may neither edit it nor learn anything by trying.
    let (status, error) =
        error_of(ben.patch(&note_url).json(&json!({ "body": "Mine now" })).send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("forbidden")));
    assert!(error["message"].as_str().unwrap().contains("Only the operator who wrote"), "{error}");
    assert_eq!(app.get_json(&format!("/api/v1/leads/{id}/notes")).await[0]["body"], "Called twice.\n<i>Busy</i>");

    // Bad bodies name the field, as when adding.
    for (body, message) in
        [(json!(" \n "), "empty"), (json!("x".repeat(5001)), "5000 characters"), (json!("a\u{7}b"), "control")]
    {
        let (status, error) =
            error_of(app.client.patch(&note_url).json(&json!({ "body": body })).send().await.unwrap()).await;
        assert_eq!((status, error["field"].as_str()), (422, Some("body")));
        assert!(error["message"].as_str().unwrap().contains(message), "{}", error["message"]);
    }
    let (status, error) = error_of(app.client.patch(&note_url).json(&json!({ "body": 5 })).send().await.unwrap()).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("body")));

    // A note is reached only through its own lead; a missing one is 404.
    let other = app.add_lead(&[], &[]).await;
    let wrong_lead = app.url(&format!("/api/v1/leads/{other}/notes/{}", note["id"]));
    let body = json!({ "body": "x" });
    assert_eq!(app.client.patch(&wrong_lead).json(&body).send().await.unwrap().status(), 404);
    assert_eq!(app.client.patch(format!("{notes_url}/999999")).json(&body).send().await.unwrap().status(), 404);
    assert_eq!(app.client.patch(format!("{notes_url}/abc")).json(&body).send().await.unwrap().status(), 404);
    assert_eq!(new_client().patch(&note_url).json(&body).send().await.unwrap().status(), 401);
}
