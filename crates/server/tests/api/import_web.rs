//! CSV import in the console (`POST /imports`, `POST /imports/{id}/run`): the upload's preview and
//! guessed mapping, a dry run that writes nothing, the import as a job with its report, imported
//! leads recomputed and announced, a cancel that keeps what was imported, and bad files, bad
//! mappings and oversized uploads refused by name.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, spawn_app, spawn_app_with};

async fn upload(app: &TestApp, name: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/imports"))
        .query(&[("name", name)])
        .header("x-requested-with", "leadcard")
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn uploaded(app: &TestApp, name: &str, body: &str) -> Value {
    let response = upload(app, name, body.to_owned()).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn run(app: &TestApp, upload: &Value, mapping: &Value, on_match: &str, dry_run: bool) -> Value {
    let id = upload["id"].as_str().unwrap();
    let body = json!({"mapping": mapping, "on_match": on_match, "dry_run": dry_run});
    let response = app.post_json(&format!("/api/v1/imports/{id}/run"), &body).await;
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

async fn ended(app: &TestApp, id: i64) -> Value {
    for _ in 0..1_200 {
        let job = app.get_json(&format!("/api/v1/jobs/{id}")).await;
        if job["state"] != "running" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} did not end");
}

const PEOPLE: &str = "Name,E-mail,Plan,Seats,Tags\r\n\
                      Ada,ada@example.com,pro,3,vip\r\n\
                      Bob,bob@example.com,free,many,\r\n\
                      Cy,cy@example.com,pro,5,vip; beta\r\n";

#[tokio::test]
async fn an_upload_is_previewed_checked_and_imported_as_a_job_with_its_report() {
    let app = spawn_app().await;
    app.signed_in().await;
    let segment = app
        .post_json(
            "/api/v1/segments",
            &json!({"name": "Pro", "filter": {"all": [{"kind": "property", "name": "Plan", "op": "equals", "value": "pro"}]}}),
        )
        .await;
    assert_eq!(segment.status(), 201);
    leadcard_server::segments::rebuild_pending(&app.state).await.unwrap();

    let file = uploaded(&app, "C:\\fakepath\\people.csv", PEOPLE).await;
    assert_eq!(file["name"], "people.csv");
    assert_eq!(file["size"], PEOPLE.len());
    assert_eq!(file["header"], json!(["Name", "E-mail", "Plan", "Seats", "Tags"]));
    assert_eq!(file["rows"].as_array().unwrap().len(), 3);
    assert_eq!(file["rows"][1], json!({"line": 3, "cells": ["Bob", "bob@example.com", "free", "many", ""]}));
    assert_eq!(file["mapping"][1], json!({"to": "property", "name": "$email", "ty": "text"}));
    assert_eq!(file["mapping"][4], json!({"to": "tags"}));
    let mut mapping = file["mapping"].clone();
    mapping[3] = json!({"to": "property", "name": "Seats", "ty": "number"});

    // The dry run names the bad row and writes nothing.
    let check = run(&app, &file, &mapping, "update", true).await;
    assert_eq!(check["kind"], "import");
    assert_eq!(check["summary"], "Check people.csv");
    let check = ended(&app, check["id"].as_i64().unwrap()).await;
    assert_eq!(check["state"], "done", "{check}");
    assert_eq!((check["done"].as_i64(), check["result"]["failed"].as_i64()), (Some(3), Some(1)));
    assert!(check["result"]["message"].as_str().unwrap().contains("2 can be imported, 1 cannot"), "{check}");
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 0);
    let problems = app.get_json(&format!("/api/v1/jobs/{}/problems", check["id"])).await;
    assert_eq!(problems["items"][0]["position"], 3);
    assert!(problems["items"][0]["reason"].as_str().unwrap().starts_with("column \"Seats\""), "{problems}");

    // The import itself, from the same upload.
    let job = run(&app, &file, &mapping, "update", false).await;
    assert_eq!(job["summary"], "Import people.csv");
    assert_eq!(job["by"]["name"], "Test Operator");
    let job = ended(&app, job["id"].as_i64().unwrap()).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(
        (job["result"]["created"].as_i64(), job["result"]["failed"].as_i64(), job["total"].as_i64()),
        (Some(2), Some(1), Some(3))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 2);
    let report = app.get(&format!("/api/v1/jobs/{}/report.csv", job["id"])).await;
    let text = report.text().await.unwrap();
    assert_eq!(text, "line,reason\r\n3,\"column \"\"Seats\"\": \"\"many\"\" is not a number\"\r\n");

    // Imported leads are in their segments (with why) and announced, as after an edit.
    let ada: i64 = app.count("SELECT id FROM leads WHERE email_norm = 'ada@example.com'").await;
    let history = app.get_json(&format!("/api/v1/leads/{ada}/segment-history")).await;
    let why = history.as_array().unwrap().iter().filter(|e| e["reason"] == "imported from people.csv").count();
    assert_eq!(why, 1, "{history}");
    // Kept as a message, read in the reader's language.
    let russian: Value = app.get_in("ru", &format!("/api/v1/leads/{ada}/segment-history")).await.json().await.unwrap();
    assert!(russian.as_array().unwrap().iter().any(|e| e["reason"] == "импортирован из people.csv"), "{russian}");
    let events = app.live_events().await;
    assert!(events.iter().any(|e| e["kind"] == "lead_changed" && e["lead_id"] == ada));
    assert!(events.iter().any(|e| e["kind"] == "job_changed" && e["job"]["state"] == "done"));
    let card = app.card(ada).await;
    assert_eq!(card["tags"], json!(["vip"]));

    // A real run used the upload up.
    let again = app
        .post_json(
            &format!("/api/v1/imports/{}/run", file["id"].as_str().unwrap()),
            &json!({"mapping": mapping, "on_match": "skip"}),
        )
        .await;
    assert_eq!(again.status(), 404);
    // Matches are skipped when asked, each named in the report.
    let file = uploaded(&app, "people.csv", PEOPLE).await;
    let job = run(&app, &file, &mapping, "skip", false).await;
    let job = ended(&app, job["id"].as_i64().unwrap()).await;
    assert_eq!((job["result"]["created"].as_i64(), job["result"]["skipped"].as_i64()), (Some(0), Some(2)));
    let problems = app.get_json(&format!("/api/v1/jobs/{}/problems", job["id"])).await;
    assert!(problems["items"][0]["reason"].as_str().unwrap().contains("skipped, it matches lead"), "{problems}");
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 2);
}

#[tokio::test]
async fn a_cancelled_import_keeps_what_it_imported_and_says_so() {
    let app = spawn_app().await;
    app.signed_in().await;
    let mut csv = String::from("Name,Email\n");
    for i in 0..40_000 {
        csv.push_str(&format!("Lead {i},lead{i}@example.com\n"));
    }
    let file = uploaded(&app, "big.csv", &csv).await;
    let job = run(&app, &file, &file["mapping"], "update", false).await;
    let id = job["id"].as_i64().unwrap();
    // Cancelled at once: the job hears it after a batch (500 rows), so some leads are imported,
    // and far from all of them. (Waiting for the first progress first let a fast machine finish
    // the whole file before the cancel.)
    let cancel = app.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await;
    assert_eq!(cancel.status(), 202, "the import ended before the cancel: make the file bigger");
    let job = ended(&app, id).await;
    assert_eq!(job["state"], "cancelled");
    let created = job["result"]["created"].as_i64().unwrap();
    assert!(created > 0 && created < 40_000, "{job}");
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, created, "what was imported stays");
    let message = job["result"]["message"].as_str().unwrap();
    assert!(message.starts_with("Cancelled after") && message.contains("stays"), "{message}");
}

#[tokio::test]
async fn bad_files_mappings_and_uploads_are_refused_by_name() {
    let app = spawn_app_with(|config| config.import_max_mb = 1).await;
    app.signed_in().await;
    let refused = |response: reqwest::Response| error_of(response);
    let (status, body) = refused(upload(&app, "empty.csv", "").await).await;
    assert_eq!((status, body["code"].as_str(), body["field"].as_str()), (422, Some("invalid_file"), Some("file")));
    assert!(body["message"].as_str().unwrap().contains("empty"), "{body}");
    let (status, body) = refused(upload(&app, "semi.csv", "Name;Email\nAda;a@example.com\n").await).await;
    assert_eq!(status, 422);
    assert!(body["message"].as_str().unwrap().starts_with("Line 1"), "{body}");
    let (status, body) = refused(upload(&app, "latin1.csv", b"Na\xefve,Email\n".to_vec()).await).await;
    assert_eq!(status, 422);
    assert!(body["message"].as_str().unwrap().contains("UTF-8"), "{body}");
    // No text of the API holds a NUL: a header with one is refused, a row's is shown replaced.
    let (status, body) = refused(upload(&app, "nul.csv", "Na\0me,Email\n").await).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("file")));
    assert!(body["message"].as_str().unwrap().contains("NUL"), "{body}");
    let file = uploaded(&app, "nul-row.csv", "Name,Email\nA\0da,ada@example.com\n").await;
    assert_eq!(file["rows"][0]["cells"][0], "A\u{fffd}da");
    let (status, body) = refused(upload(&app, "big.csv", vec![b'x'; (1 << 20) + 1]).await).await;
    assert_eq!((status, body["code"].as_str(), body["field"].as_str()), (413, Some("payload_too_large"), Some("file")));
    assert!(body["message"].as_str().unwrap().contains("1 MB"), "{body}");

    // Unbalanced quotes: previewed up to the open quote, the dry run names the line.
    let file = uploaded(
        &app,
        "quote.csv",
        "Name,Email\r\nAda,ada@example.com\r\n\"Bob,bob@example.com\r\nCy,cy@example.com\r\n",
    )
    .await;
    assert_eq!(file["rows"][0]["line"], 2);
    let check = run(&app, &file, &file["mapping"], "update", true).await;
    let check = ended(&app, check["id"].as_i64().unwrap()).await;
    let problems = app.get_json(&format!("/api/v1/jobs/{}/problems", check["id"])).await;
    assert_eq!(problems["items"][0]["position"], 3, "{problems}");

    let file = uploaded(&app, "people.csv", PEOPLE).await;
    let id = file["id"].as_str().unwrap();
    for (mapping, field) in [
        (json!([{"to": "skip"}]), "mapping"),
        (json!([{"to": "skip"}, {"to": "skip"}, {"to": "skip"}, {"to": "skip"}, {"to": "tags"}]), "mapping"),
        (
            json!([{"to": "property", "name": "$name", "ty": "number"}, {"to": "skip"}, {"to": "skip"}, {"to": "skip"}, {"to": "tags"}]),
            "mapping[0]",
        ),
        (
            json!([{"to": "property", "name": "$name", "ty": "text"}, {"to": "property", "name": "$last_seen", "ty": "date_time"}, {"to": "skip"}, {"to": "skip"}, {"to": "tags"}]),
            "mapping[1]",
        ),
        (json!([{"to": "nowhere"}, {"to": "skip"}, {"to": "skip"}, {"to": "skip"}, {"to": "skip"}]), "mapping[0].to"),
    ] {
        let response = app
            .post_json(&format!("/api/v1/imports/{id}/run"), &json!({"mapping": mapping, "on_match": "update"}))
            .await;
        let (status, body) = error_of(response).await;
        assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{mapping} {body}");
    }
    let response = app
        .post_json(&format!("/api/v1/imports/{id}/run"), &json!({"mapping": file["mapping"], "on_match": "merge"}))
        .await;
    assert_eq!(error_of(response).await.1["field"], "on_match");
    for unknown in ["0123456789abcdef0123456789abcdef", "ZZ", "x"] {
        let response = app
            .post_json(
                &format!("/api/v1/imports/{unknown}/run"),
                &json!({"mapping": file["mapping"], "on_match": "update"}),
            )
            .await;
        assert_eq!(response.status(), 404, "{unknown}");
    }
    // Without a session: nothing is taken.
    let stranger = crate::helpers::new_client();
    let response = stranger
        .post(app.url("/api/v1/imports"))
        .header("x-requested-with", "leadcard")
        .body(PEOPLE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
